/**
 * scripts/test-tools.js, the first thing `npm test` runs: a missing tool is named with the one command to
 * install it, within a second, or installed with apt-get when we are root. The machine's real tools are
 * hidden: PATH holds stand-ins for every tool but the ones a test leaves out, PG_BIN a stand-in initdb, and
 * IR_APT_GET a fake apt-get that logs its calls (the real install is shown in the transcript).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const SCRIPT = path.join(__dirname, '..', 'scripts', 'test-tools.js');
const TOOLS_ON_PATH = ['chromium', 'b3sum', 'sqlite3', 'ssh', 'ssh-keygen', 'curl', 'openssl', 'chattr', 'docker-compose', 'promtool'];

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ir-test-tools-'));
  fs.mkdirSync(path.join(dir, 'bin'));
  fs.mkdirSync(path.join(dir, 'pg'));
  stub(path.join(dir, 'pg', 'initdb'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

function stub(file: string, body = 'exit 0'): void {
  fs.writeFileSync(file, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
}

/** A PATH with every tool but `without`. */
function toolsExcept(...without: string[]): void {
  for (const t of TOOLS_ON_PATH.filter((x) => !without.includes(x))) stub(path.join(dir, 'bin', t));
}

/** An apt-get that logs "DEBIAN_FRONTEND args" per call and, on install, makes the named tools appear. */
function fakeApt(provides: string[]): string {
  const apt = path.join(dir, 'apt-get');
  const makes = provides.map((t) => `printf '#!/bin/sh\\n' > ${dir}/bin/${t}; /bin/chmod +x ${dir}/bin/${t}`).join('; ');
  stub(apt, `echo "$DEBIAN_FRONTEND $*" >> ${dir}/apt.log\ncase "$1" in install) ${makes || ':'};; esac`);
  return apt;
}

function runScript(env: Record<string, string>, ...args: string[]) {
  const t0 = Date.now();
  const r = spawnSync(process.execPath, [SCRIPT, ...args], {
    encoding: 'utf8',
    timeout: 10_000,
    env: { PATH: path.join(dir, 'bin'), PG_BIN: path.join(dir, 'pg'), HOME: dir, ...env },
  });
  return { status: r.status, stderr: r.stderr, ms: Date.now() - t0 };
}

test('every tool present: exits 0 at once and says nothing', () => {
  toolsExcept();
  const r = runScript({ IR_APT_GET: path.join(dir, 'no-apt-get'), IR_TOOLS_AS_ROOT: '0' });
  expect(r).toMatchObject({ status: 0, stderr: '' });
});

test('b3sum missing, not root: stops within seconds with the sudo command naming exactly b3sum', () => {
  toolsExcept('b3sum');
  const apt = fakeApt(['b3sum']);
  const r = runScript({ IR_APT_GET: apt, IR_TOOLS_AS_ROOT: '0' });
  expect(r.status).toBe(1);
  expect(r.ms).toBeLessThan(3000);
  expect(r.stderr).toContain('b3sum is missing');
  expect(r.stderr).toMatch(/Run:\n {2}sudo apt-get install -y b3sum\n$/);
  expect(fs.existsSync(path.join(dir, 'apt.log'))).toBe(false); // apt-get never ran
});

test('several missing, root but no apt-get: one command names each package once, in the list order', () => {
  toolsExcept('chromium', 'ssh-keygen', 'chattr');
  fs.rmSync(path.join(dir, 'pg', 'initdb'));
  const r = runScript({ IR_APT_GET: path.join(dir, 'no-apt-get'), IR_TOOLS_AS_ROOT: '1' });
  expect(r.status).toBe(1);
  expect(r.ms).toBeLessThan(3000);
  expect(r.stderr).toContain('apt-get not found');
  expect(r.stderr).toMatch(/Run:\n {2}apt-get install -y chromium postgresql openssh-client e2fsprogs\n$/);
});

test('--check never installs, even as root with apt-get', () => {
  toolsExcept('curl');
  const apt = fakeApt(['curl']);
  const r = runScript({ IR_APT_GET: apt, IR_TOOLS_AS_ROOT: '1' }, '--check');
  expect(r.status).toBe(1);
  expect(r.stderr).toMatch(/apt-get install -y curl\n$/);
  expect(fs.existsSync(path.join(dir, 'apt.log'))).toBe(false);
});

test('root with apt-get: updates, then installs only the missing packages, non-interactive, without recommends', () => {
  toolsExcept('b3sum', 'sqlite3');
  const apt = fakeApt(['b3sum', 'sqlite3']);
  const r = runScript({ IR_APT_GET: apt, IR_TOOLS_AS_ROOT: '1' });
  expect(r.stderr).toContain('installed b3sum sqlite3');
  expect(r.status).toBe(0);
  expect(fs.readFileSync(path.join(dir, 'apt.log'), 'utf8')).toBe(
    'noninteractive update\nnoninteractive install -y --no-install-recommends b3sum sqlite3\n',
  );
});

test('apt-get "succeeds" but the tool is still missing: stops and names it', () => {
  toolsExcept('openssl');
  const apt = fakeApt([]);
  const r = runScript({ IR_APT_GET: apt, IR_TOOLS_AS_ROOT: '1' });
  expect(r.status).toBe(1);
  expect(r.stderr).toContain('still missing after apt-get install');
  expect(r.stderr).toMatch(/apt-get install -y openssl\n$/);
});

test('apt-get failing stops with the command', () => {
  toolsExcept('openssl');
  const apt = path.join(dir, 'apt-get');
  stub(apt, 'exit 100');
  const r = runScript({ IR_APT_GET: apt, IR_TOOLS_AS_ROOT: '1' });
  expect(r.status).toBe(1);
  expect(r.stderr).toContain('apt-get failed');
  expect(r.stderr).toMatch(/apt-get install -y openssl\n$/);
});
