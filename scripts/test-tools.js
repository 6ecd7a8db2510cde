#!/usr/bin/env node
// The system tools the tests use, and their Debian packages: the one list, used by `npm test` (first thing it
// runs) and by .ci/run. Missing tools are installed with apt-get when we run as root with apt-get available;
// otherwise it stops at once with the one command to run, so nothing fails minutes into the tests.
// Plain CommonJS with no dependencies: it runs before `npm install`.
//
// Knobs (for its own test and odd machines):
//   IR_APT_GET=<path>      the apt-get to use (default: apt-get on PATH; a path that does not exist = no apt)
//   IR_TOOLS_AS_ROOT=0|1   treat the process as root or not (default: the real uid)
//   PG_BIN=<dir>           PostgreSQL server binaries elsewhere (the lab and the drill checks honour it too)
//   --check                only report; never install
const { existsSync, readdirSync, statSync } = require('node:fs');
const { spawnSync } = require('node:child_process');
const { delimiter, join } = require('node:path');

/** Every tool a test runs, by the Debian package that provides it. */
const TOOLS = [
  { pkg: 'chromium', why: 'the Temporal UI and the compliance page in a real browser', found: () => onPath('chromium') },
  { pkg: 'b3sum', why: 'BLAKE3 manifests cross-checked with b3sum --check', found: () => onPath('b3sum') },
  { pkg: 'sqlite3', why: 'drills restore and query a real SQLite database', found: () => onPath('sqlite3') },
  { pkg: 'postgresql', why: 'drills start a real PostgreSQL cluster (initdb, pg_ctl)', found: postgresFound },
  { pkg: 'openssh-client', why: 'ssh and ssh-keygen into the lab', found: () => onPath('ssh') && onPath('ssh-keygen') },
  { pkg: 'curl', why: 'a real HTTPS client against the lab', found: () => onPath('curl') },
  { pkg: 'openssl', why: "the lab's appliance certificates", found: () => onPath('openssl') },
  { pkg: 'e2fsprogs', why: "chattr, the lab's WORM guard", found: () => onPath('chattr') },
  { pkg: 'docker-compose', why: 'docker-compose config -q checks docker-compose.yml (no engine needed)', found: () => onPath('docker-compose') },
  { pkg: 'prometheus', why: 'promtool checks and unit-tests the alert rules and the dashboard queries', found: () => onPath('promtool') },
];

function isExecutable(p) {
  try {
    return statSync(p).isFile() && (statSync(p).mode & 0o111) !== 0;
  } catch {
    return false;
  }
}

function onPath(name, path = process.env.PATH || '') {
  return path.split(delimiter).some((dir) => dir && isExecutable(join(dir, name)));
}

function postgresFound() {
  if (process.env.PG_BIN) return isExecutable(join(process.env.PG_BIN, 'initdb'));
  const root = '/usr/lib/postgresql';
  return existsSync(root) && readdirSync(root).some((v) => isExecutable(join(root, v, 'bin', 'initdb')));
}

const missingPackages = () => TOOLS.filter((t) => !t.found()).map((t) => t.pkg);

function aptGet() {
  if (process.env.IR_APT_GET !== undefined) return isExecutable(process.env.IR_APT_GET) ? process.env.IR_APT_GET : null;
  const dir = (process.env.PATH || '').split(delimiter).find((d) => d && isExecutable(join(d, 'apt-get')));
  return dir ? join(dir, 'apt-get') : null;
}

function isRoot() {
  if (process.env.IR_TOOLS_AS_ROOT === '1') return true;
  if (process.env.IR_TOOLS_AS_ROOT === '0') return false;
  return process.getuid?.() === 0;
}

function stop(pkgs, why) {
  const cmd = `${isRoot() ? '' : 'sudo '}apt-get install -y ${pkgs.join(' ')}`;
  console.error(`[test-tools] missing: ${pkgs.join(', ')} (${why}). Run:\n  ${cmd}`);
  process.exit(1);
}

function run(apt, args) {
  console.error(`[test-tools] ${apt} ${args.join(' ')}`);
  const r = spawnSync(apt, args, { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  return r.status === 0;
}

function main() {
  const missing = missingPackages();
  if (!missing.length) return;
  for (const t of TOOLS.filter((x) => missing.includes(x.pkg))) console.error(`[test-tools] ${t.pkg} is missing: ${t.why}`);
  const apt = aptGet();
  if (process.argv.includes('--check')) stop(missing, 'not installing: --check');
  if (!isRoot()) stop(missing, 'not root, so not installing');
  if (!apt) stop(missing, 'apt-get not found');
  if (!run(apt, ['update']) || !run(apt, ['install', '-y', '--no-install-recommends', ...missing])) stop(missing, 'apt-get failed');
  const still = missingPackages();
  if (still.length) stop(still, 'still missing after apt-get install');
  console.error(`[test-tools] installed ${missing.join(' ')}`);
}

if (require.main === module) main();
module.exports = { TOOLS, missingPackages };
