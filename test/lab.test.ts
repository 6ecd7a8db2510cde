/**
 * The Data Domain simulators and the shared lab state over real SSH: replication (throttled, atomic, mirror,
 * disconnect on link loss), retention lock, fastcopy, faults, the control API, ransomware, restart.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startLab, type Lab, type LabEndpoints } from '../lab';
import { listFiles } from '../lab/retention';
import { run as sshRun, type ExecResult } from '../lab/testing';

const KIB = 1024;
const MIB = 1024 * KIB;
const DEST = 'mtree://vault-dd.lab/data/col1/vault-prod';

let root: string;
let lab: Lab;
let e: LabEndpoints;

const labOptions = (dir: string) => ({
  dir,
  ports: { switch: 0, sourceDd: 0, vaultDd: 0, control: 0 },
  seed: { files: 40, totalBytes: 2 * MIB },
  bandwidthBytesPerSec: 4 * MIB,
  linkUpDelayMs: 100,
  retention: { minSeconds: 60, maxSeconds: 3600 },
});

beforeAll(async () => {
  root = fs.mkdtempSync(path.join(tmpdir(), 'lab-dd-'));
  lab = await startLab(labOptions(path.join(root, 'lab')));
  e = lab.endpoints;
});

afterAll(async () => {
  await lab?.close();
  if (root) fs.rmSync(root, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function waitFor(cond: () => boolean | Promise<boolean>, ms = 15000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(50);
  }
}

function dd(which: 'prod' | 'vault', command: string, stdin = ''): Promise<ExecResult> {
  const d = which === 'prod' ? e.sourceDd : e.vaultDd;
  const password = fs.readFileSync(d.passwordFile, 'utf8');
  return sshRun({ host: e.host, port: d.port, username: d.username, password, fingerprint: d.fingerprint }, command, stdin);
}

/** relative path → sha256 of every file in a folder */
function tree(dir: string): Record<string, string> {
  return Object.fromEntries(listFiles(dir).map((f) => [f, crypto.createHash('sha256').update(fs.readFileSync(path.join(dir, f))).digest('hex')]));
}

function stats(out: string): Record<string, string> {
  return Object.fromEntries(out.trim().split('\n').map((l) => [l.slice(0, 32).trim().replace(/:$/, ''), l.slice(32).trim()]));
}

function portsUp(): Promise<void> {
  for (const p of e.switch.vaultPorts) lab.setPort(p, 'up');
  return waitFor(() => Object.values(lab.portStates()).filter((_, i) => i < 2).every((s) => s.oper === 'up'));
}

function portsDown(): void {
  for (const p of e.switch.vaultPorts) lab.setPort(p, 'down');
}

describe('lab layout', () => {
  test('endpoints.json matches the contract and the files it names exist', () => {
    const onDisk = JSON.parse(fs.readFileSync(path.join(root, 'lab', 'endpoints.json'), 'utf8'));
    expect(onDisk).toEqual(e);
    expect(e.switch).toMatchObject({ platform: 'cisco-ios', hostname: 'vault-sw1', username: 'netops', vaultPorts: ['GigabitEthernet1/0/1', 'GigabitEthernet1/0/2'] });
    expect(e.context).toEqual({ source: 'mtree://prod-dd.lab/data/col1/prod', destination: DEST });
    expect(e.vaultDd).toMatchObject({ replicaMtree: '/data/col1/vault-prod', copiesMtree: '/data/col1/ir-copies' });
    for (const f of [e.knownHostsFile, e.clientKeyFile, e.switch.passwordFile, e.switch.enableSecretFile, e.sourceDd.passwordFile]) {
      expect(path.isAbsolute(f)).toBe(true);
      expect(fs.existsSync(f)).toBe(true);
    }
    expect(fs.statSync(e.sourceDd.passwordFile).mode & 0o777).toBe(0o600);
    // One line per switch flavour, per DD, and the recovery host.
    expect(fs.readFileSync(e.knownHostsFile, 'utf8').trim().split('\n')).toHaveLength(e.switches.length + 3);
    expect(e.switches.map((s) => s.platform)).toEqual(['cisco-ios', 'cisco-nxos', 'arista-eos', 'junos']);
    for (const fp of [e.switch.fingerprint, e.sourceDd.fingerprint, e.vaultDd.fingerprint]) expect(fp).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
  });

  test('seed: deterministic mix with gzip files, nested folders and a name with spaces', () => {
    const files = listFiles(e.sourceDd.mountPath);
    expect(files).toHaveLength(40);
    expect(files).toContain('docs/Quarterly Report Q3 2026.txt');
    expect(files.some((f) => f.split('/').length >= 4)).toBe(true);
    const gz = files.filter((f) => f.endsWith('.gz'));
    expect(gz.length).toBeGreaterThan(0);
    expect(fs.readFileSync(path.join(e.sourceDd.mountPath, gz[0])).subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
    // same seed, same bytes
    const again = path.join(root, 'seed-again');
    const { seedProduction } = jest.requireActual('../lab/seed') as typeof import('../lab/seed');
    seedProduction(again, { files: 40, totalBytes: 2 * MIB });
    expect(tree(again)).toEqual(tree(e.sourceDd.mountPath));
  });
});

describe('Data Domain CLI', () => {
  test('system show date and errors', async () => {
    const date = await dd('vault', 'system show date');
    expect(date).toMatchObject({ code: 0 });
    expect(date.stdout).toMatch(/^(Sun|Mon|Tue|Wed|Thu|Fri|Sat) [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d UTC \d{4}\n$/);
    expect(await dd('vault', 'foo bar')).toMatchObject({ code: 1, stdout: '**** Unrecognized command "foo bar".\n' });
    const unknown = await dd('vault', 'replication enable mtree://nowhere/data/col1/x');
    expect(unknown.code).toBe(1);
    expect(unknown.stdout).toMatch(/^\*\*\*\* /);
  });

  test('mtree list and retention-lock status', async () => {
    const list = await dd('vault', 'mtree list');
    expect(list.stdout).toMatch(/^Name +Pre-Comp \(GiB\) +Status\n/);
    expect(list.stdout).toMatch(/\/data\/col1\/ir-copies +\d+\.\d +RW\/RLGE\n/);
    expect((await dd('prod', 'mtree list')).stdout).toMatch(/\/data\/col1\/prod +\d+\.\d +RW\n/);
    const st = await dd('vault', 'mtree retention-lock status mtree /data/col1/ir-copies');
    expect(st.stdout.split('\n').slice(0, 4)).toEqual([
      'Retention-lock                            enabled',
      'Retention-lock mode                       governance',
      'Retention-lock min-retention-period       1minutes',
      'Retention-lock max-retention-period       1hours',
    ]);
  });

  test('confirmation prompts read the answer from stdin', async () => {
    const cmd = 'mtree retention-lock set min-retention-period 2minutes mtree /data/col1/ir-copies';
    const no = await dd('vault', cmd, 'no\n');
    expect(no.code).toBe(1);
    expect(no.stdout).toContain('Do you want to proceed? (yes|no) [no]: ');
    const yes = await dd('vault', cmd, 'yes\n');
    expect(yes.code).toBe(0);
    expect((await dd('vault', 'mtree retention-lock status mtree /data/col1/ir-copies')).stdout).toContain('min-retention-period       2minutes');
    expect((await dd('vault', 'mtree retention-lock reset min-retention-period mtree /data/col1/ir-copies', 'yes\n')).code).toBe(0);
    expect((await dd('vault', 'mtree retention-lock status mtree /data/col1/ir-copies')).stdout).toContain('min-retention-period       1minutes');
  });
});

describe('replication', () => {
  test('sync with the gap closed: work is counted, nothing moves', async () => {
    expect(lab.vaultPortsDown()).toBe(true);
    expect((await dd('vault', `replication enable ${DEST}`)).stdout).toBe(`Replication enabled for "${DEST}".\n`);
    expect((await dd('prod', `replication sync ${DEST}`)).stdout).toBe(`Sync initiated for "${DEST}".\n`);
    const s = stats((await dd('vault', `replication show detailed-stats ${DEST}`)).stdout);
    expect(s).toMatchObject({ State: 'disconnected', Enabled: 'yes', Connection: 'disconnected', 'Files remaining': '40', 'Synced as of time': '-' });
    expect(Number(s['Pre-compressed bytes remaining'].replace(/,/g, ''))).toBeGreaterThan(1 * MIB);
    await sleep(300);
    expect(listFiles(e.vaultDd.replicaMountPath)).toEqual([]);
    const status = (await dd('vault', 'replication status')).stdout.split('\n');
    expect(status[0]).toBe("CTX   Destination                                   Enabled   Connection     Sync'ed-as-of-time");
    expect(status[2]).toMatch(/^1 +mtree:\/\/vault-dd\.lab\/data\/col1\/vault-prod +yes +disconnected +-$/);
  });

  test('ports up: converges at the configured bandwidth, replica equals source', async () => {
    const t0 = Date.now();
    await portsUp();
    await waitFor(() => lab.replication().syncedAsOf !== null);
    const took = Date.now() - t0;
    const bytes = listFiles(e.sourceDd.mountPath).reduce((n, f) => n + fs.statSync(path.join(e.sourceDd.mountPath, f)).size, 0);
    expect(took).toBeGreaterThan((bytes / (4 * MIB)) * 1000 * 0.6); // throttled (allowing for the burst credit)
    expect(lab.replication()).toMatchObject({ enabled: true, connection: 'connected', bytesRemaining: 0, filesRemaining: 0 });
    expect(tree(e.vaultDd.replicaMountPath)).toEqual(tree(e.sourceDd.mountPath));
    const s = stats((await dd('vault', `replication show detailed-stats ${DEST}`)).stdout);
    expect(s).toMatchObject({ State: 'normal', Connection: 'connected', 'Pre-compressed bytes remaining': '0', 'Files remaining': '0' });
    expect(s['Synced as of time']).toMatch(/^[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d$/);
    expect((await dd('vault', 'replication status')).stdout.split('\n')[2]).toMatch(/ yes +connected +[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d$/);
  });

  test('mirror: changes and deletions on the source reach the replica; syncedAsOf moves on', async () => {
    const before = lab.replication().syncedAsOf!;
    const victim = listFiles(e.sourceDd.mountPath)[3];
    fs.rmSync(path.join(e.sourceDd.mountPath, victim));
    fs.mkdirSync(path.join(e.sourceDd.mountPath, 'new/deeper'), { recursive: true });
    fs.writeFileSync(path.join(e.sourceDd.mountPath, 'new/deeper/file.txt'), 'hello\n');
    await dd('prod', `replication sync ${DEST}`);
    await waitFor(() => lab.replication().syncedAsOf! > before);
    expect(tree(e.vaultDd.replicaMountPath)).toEqual(tree(e.sourceDd.mountPath));
    expect(fs.existsSync(path.join(e.vaultDd.replicaMountPath, victim))).toBe(false);
  });

  test('a port going down mid-transfer disconnects and leaves no partial file', async () => {
    const big = path.join(e.sourceDd.mountPath, 'big.bin');
    fs.writeFileSync(big, crypto.randomBytes(6 * MIB));
    await dd('prod', `replication sync ${DEST}`); // ports are still up: it starts at once
    expect(lab.replication().bytesRemaining).toBeGreaterThan(0);
    await waitFor(() => lab.replication().bytesRemaining < 5 * MIB); // transfer under way
    lab.setPort('Gi1/0/2', 'down');
    await waitFor(() => lab.replication().connection === 'disconnected', 2000);
    const inReplica = fs.readdirSync(e.vaultDd.replicaMountPath);
    expect(inReplica).not.toContain('big.bin');
    expect(inReplica.filter((f) => f.startsWith('.'))).toEqual([]); // the temp file is gone
    const remaining = lab.replication().bytesRemaining;
    expect(remaining).toBeGreaterThanOrEqual(6 * MIB); // a dropped transfer starts over
    expect(stats((await dd('vault', `replication show detailed-stats ${DEST}`)).stdout).State).toBe('disconnected');
    await sleep(300);
    expect(lab.replication().bytesRemaining).toBe(remaining); // nothing moves with a port down
  });

  test('disabling replication stops it too; re-enabling with ports up completes the file', async () => {
    await portsUp();
    await waitFor(() => lab.replication().bytesRemaining < 5 * MIB);
    expect((await dd('vault', 'replication disable all')).stdout).toBe(`Replication disabled for "${DEST}".\n`);
    await waitFor(() => lab.replication().connection === 'disconnected', 2000);
    expect(fs.existsSync(path.join(e.vaultDd.replicaMountPath, 'big.bin'))).toBe(false);
    expect(stats((await dd('vault', `replication show detailed-stats ${DEST}`)).stdout)).toMatchObject({ State: 'disabled', Enabled: 'no' });
    await dd('vault', `replication enable ${DEST}`);
    await waitFor(() => lab.replication().bytesRemaining === 0 && lab.replication().filesRemaining === 0);
    expect(tree(e.vaultDd.replicaMountPath)).toEqual(tree(e.sourceDd.mountPath));
    await dd('vault', `replication disable ${DEST}`);
    portsDown();
  });
});

describe('fastcopy and retention lock', () => {
  const future = (s: number) => new Date(Date.now() + s * 1000);
  const atime = (rel: string, when: Date) => {
    const f = path.join(e.vaultDd.copiesMountPath, rel);
    fs.utimesSync(f, when, fs.statSync(f).mtime);
  };
  let files: string[];

  test('fastcopy copies the replica into ir-copies/<id> and refuses bad paths', async () => {
    const r = await dd('vault', 'filesys fastcopy source /data/col1/vault-prod destination /data/col1/ir-copies/c1');
    files = listFiles(e.vaultDd.replicaMountPath);
    expect(r).toMatchObject({ code: 0, stdout: `Fastcopy completed: ${files.length} files.\n` });
    expect(tree(path.join(e.vaultDd.copiesMountPath, 'c1'))).toEqual(tree(e.vaultDd.replicaMountPath));
    const again = await dd('vault', 'filesys fastcopy source /data/col1/vault-prod destination /data/col1/ir-copies/c1');
    expect(again.code).toBe(1);
    expect(again.stdout).toMatch(/^\*\*\*\* .*already exists/);
    expect((await dd('vault', 'filesys fastcopy source /data/col1/vault-prod/nope destination /data/col1/ir-copies/c2')).code).toBe(1);
    expect((await dd('vault', 'filesys fastcopy source /data/col1/ir-copies/c1 destination /data/col1/vault-prod/x')).code).toBe(1);
    expect((await dd('vault', 'mtree retention-lock report generate retention-details mtrees /data/col1/ir-copies')).stdout).toBe(
      'Report for mtree: /data/col1/ir-copies\nFile Path  Mode  Size(Bytes)  Expiration Date\nTotal files: 0\n',
    );
  });

  test('an atime within [now+min, now+max] locks; later extends; earlier is ignored; beyond max does not lock', async () => {
    const [a, b, c] = files.map((f) => `c1/${f}`);
    const t1 = future(600);
    atime(a, t1);
    expect(lab.lockOf(a)).toEqual({ locked: true, until: new Date(Math.floor(t1.getTime())) });
    const t2 = future(1200);
    if (e.worm.immutable) {
      // The immutable attribute cannot tell a longer atime from a shorter one: extending needs the guard lifted.
      expect(() => atime(a, t2)).toThrow(/EPERM/);
      expect(lab.lockOf(a).until!.getTime()).toBe(Math.floor(t1.getTime()));
      await lab.setTamper(true);
      atime(a, t2);
      expect(lab.lockOf(a).until!.getTime()).toBe(Math.floor(t2.getTime()));
      await lab.setTamper(false);
      expect(() => atime(a, future(900))).toThrow(/EPERM/);
    } else {
      atime(a, t2);
      expect(lab.lockOf(a).until!.getTime()).toBe(Math.floor(t2.getTime()));
      atime(a, future(900));
    }
    expect(lab.lockOf(a).until!.getTime()).toBe(Math.floor(t2.getTime()));
    atime(b, future(30)); // below min
    expect(lab.lockOf(b)).toEqual({ locked: false, until: null });
    atime(b, future(7200)); // beyond max (1 h in this lab)
    expect(lab.lockOf(b)).toEqual({ locked: false, until: null });
    atime(c, future(120));
    expect(lab.lockOf(c).locked).toBe(true);
  });

  test('locked files cannot be changed or deleted through the lab: EACCES', async () => {
    const [a, b] = files.map((f) => `c1/${f}`);
    await expect(lab.tamper.unlink(a)).rejects.toMatchObject({ code: 'EACCES' });
    await expect(lab.tamper.write(a, Buffer.from('x'))).rejects.toMatchObject({ code: 'EACCES' });
    expect(fs.existsSync(path.join(e.vaultDd.copiesMountPath, a))).toBe(true);
    await lab.tamper.write(b, Buffer.from('unlocked files can be changed'));
    await lab.tamper.unlink(b);
    expect(fs.existsSync(path.join(e.vaultDd.copiesMountPath, b))).toBe(false);
  });

  test('the report lists locked files with their expiry', async () => {
    const [a, , c] = files.map((f) => `c1/${f}`);
    const out = (await dd('vault', 'mtree retention-lock report generate retention-details mtrees /data/col1/ir-copies')).stdout.split('\n');
    expect(out[0]).toBe('Report for mtree: /data/col1/ir-copies');
    const size = fs.statSync(path.join(e.vaultDd.copiesMountPath, a)).size;
    expect(out).toContain(`/data/col1/ir-copies/${a} governance ${size} ${ddTime(lab.lockOf(a).until!)}`);
    expect(out.some((l) => l.startsWith(`/data/col1/ir-copies/${c} governance`))).toBe(true);
    expect(out).toContain('Total files: 2');
    const st = (await fetch(`${e.control}/state`).then((r) => r.json())) as { locks: Array<{ path: string }> };
    expect(st.locks.map((l) => l.path)).toEqual([`/data/col1/ir-copies/${a}`, `/data/col1/ir-copies/${c}`].sort());
  });
});

function ddTime(d: Date): string {
  const s = d.toUTCString(); // "Sun, 29 Nov 2026 13:30:00 GMT"
  const [wd, day, mon, year, time] = s.replace(',', '').split(' ');
  return `${wd} ${mon} ${day.replace(/^0/, ' ')} ${time} ${year}`;
}

describe('faults and the control API', () => {
  test('a DD fault prints its output and fails, `times` times', async () => {
    lab.addFault({ device: 'vault-dd', match: '^replication enable', output: '**** Replication is temporarily unavailable.', times: 1 });
    expect(await dd('vault', `replication enable ${DEST}`)).toMatchObject({ code: 1, stdout: '**** Replication is temporarily unavailable.\n' });
    expect((await dd('vault', `replication enable ${DEST}`)).code).toBe(0);
    lab.addFault({ device: 'source-dd', match: 'sync', output: 'boom', exitCode: 7 });
    expect(await dd('prod', `replication sync ${DEST}`)).toMatchObject({ code: 7, stdout: 'boom\n' });
    expect((await dd('vault', `replication sync ${DEST}`)).code).toBe(0); // other device unaffected
    lab.clearFaults();
    expect((await dd('prod', `replication sync ${DEST}`)).code).toBe(0);
    await dd('vault', `replication disable ${DEST}`);
  });

  test('HTTP: state, faults, ports', async () => {
    const api = (method: string, route: string, body?: unknown) =>
      fetch(e.control + route, { method, body: body === undefined ? undefined : JSON.stringify(body) }).then(async (r) => ({ status: r.status, json: (await r.json()) as any }));
    const st = await api('GET', '/state');
    expect(st.status).toBe(200);
    expect(st.json).toMatchObject({ vaultPortsDown: true, replication: { enabled: false } });
    expect(Object.keys(st.json.ports).slice(0, 3)).toEqual(['GigabitEthernet1/0/1', 'GigabitEthernet1/0/2', 'GigabitEthernet1/0/3']);
    expect(Object.keys(st.json.ports)).toContain('ge-0/0/1');
    expect((await api('POST', '/faults', { device: 'switch', match: 'x', output: 'y', times: 2 })).status).toBe(200);
    expect((await api('GET', '/state')).json.faults).toEqual([{ device: 'switch', match: 'x', kind: 'error', output: 'y', exitCode: 1, times: 2 }]);
    expect((await api('POST', '/faults', { device: 'router', match: 'x', output: 'y' })).status).toBe(400);
    expect((await api('DELETE', '/faults')).status).toBe(200);
    expect((await api('GET', '/state')).json.faults).toEqual([]);
    expect((await api('POST', '/ports/Gi1/0/1/up')).status).toBe(200);
    expect(lab.portStates()['GigabitEthernet1/0/1'].admin).toBe('up');
    // /link: the link alone, what a monitor polls (no locks, no walk of the copies).
    const link = (await api('GET', '/link')).json;
    expect(link).toEqual({ ports: lab.portStates(), vaultPortsDown: false, ddInterfaces: (await api('GET', '/state')).json.ddInterfaces });
    expect(link.ports['GigabitEthernet1/0/1'].admin).toBe('up');
    expect((await api('POST', `/ports/${encodeURIComponent('GigabitEthernet1/0/1')}/down`)).status).toBe(200);
    expect(lab.vaultPortsDown()).toBe(true);
    expect((await api('POST', '/ports/Gi7/0/1/up')).status).toBe(404);
  });
});

describe('ransomware', () => {
  const entropy = (buf: Buffer) => {
    const counts = new Array<number>(256).fill(0);
    for (const b of buf) counts[b]++;
    return -counts.filter((c) => c > 0).reduce((h, c) => h + (c / buf.length) * Math.log2(c / buf.length), 0);
  };

  test('encrypts files in prod, renames them, drops a note', async () => {
    const prod = e.sourceDd.mountPath;
    const before = listFiles(prod);
    const sizes = Object.fromEntries(before.map((f) => [f, fs.statSync(path.join(prod, f)).size]));
    const r = await lab.ransomware(5);
    expect(r.encrypted).toHaveLength(5);
    expect(r.note).toBe('README_TO_DECRYPT.txt');
    expect(fs.readFileSync(path.join(prod, r.note), 'utf8')).toMatch(/encrypted/);
    for (const f of r.encrypted) {
      expect(f).toMatch(/\.locky$/);
      const orig = f.replace(/\.locky$/, '');
      expect(before).toContain(orig);
      expect(fs.existsSync(path.join(prod, orig))).toBe(false);
      const data = fs.readFileSync(path.join(prod, f));
      expect(Math.abs(data.length - sizes[orig])).toBeLessThanOrEqual(16);
      if (data.length > 4096) expect(entropy(data)).toBeGreaterThan(7.9);
    }
    // over HTTP too; already encrypted files are not picked again
    const more = (await fetch(`${e.control}/ransomware`, { method: 'POST', body: JSON.stringify({ count: 2 }) }).then((x) => x.json())) as { encrypted: string[] };
    expect(more.encrypted).toHaveLength(2);
    expect(more.encrypted.every((f) => !r.encrypted.includes(f))).toBe(true);
  });

  test('which files is deterministic', async () => {
    const a = path.join(root, 'r1');
    const b = path.join(root, 'r2');
    const { seedProduction } = jest.requireActual('../lab/seed') as typeof import('../lab/seed');
    const { ransomware } = jest.requireActual('../lab/ransomware') as typeof import('../lab/ransomware');
    seedProduction(a, { files: 20, totalBytes: 100 * KIB });
    seedProduction(b, { files: 20, totalBytes: 100 * KIB });
    expect(ransomware(a, 4).encrypted).toEqual(ransomware(b, 4).encrypted);
  });
});

describe('restart', () => {
  test('host keys, secrets, port states, sync time and locks survive a restart', async () => {
    lab.setPort('Gi1/0/1', 'up');
    const before = { e, syncedAsOf: lab.replication().syncedAsOf, locks: (await fetch(`${e.control}/state`).then((r) => r.json()) as any).locks };
    const lockedRel = (before.locks[0].path as string).replace('/data/col1/ir-copies/', '');
    const until = lab.lockOf(lockedRel).until;
    await lab.close();
    lab = await startLab(labOptions(path.join(root, 'lab')));
    e = lab.endpoints;
    expect(e.switch.fingerprint).toBe(before.e.switch.fingerprint);
    expect(e.vaultDd.fingerprint).toBe(before.e.vaultDd.fingerprint);
    expect(fs.readFileSync(e.knownHostsFile, 'utf8')).toContain(`[127.0.0.1]:${e.vaultDd.port} ssh-ed25519`);
    expect(lab.portStates()['GigabitEthernet1/0/1']).toEqual({ admin: 'up', oper: 'up' });
    expect(lab.portStates()['GigabitEthernet1/0/2'].admin).toBe('down');
    expect(lab.replication().syncedAsOf).toEqual(before.syncedAsOf);
    expect(lab.lockOf(lockedRel)).toEqual({ locked: true, until });
    await expect(lab.tamper.unlink(lockedRel)).rejects.toMatchObject({ code: 'EACCES' });
    // still the same secrets: the old password logs in
    expect((await dd('vault', 'system show date')).code).toBe(0);
    // the seed is not applied again to a non-empty MTree
    expect(listFiles(e.sourceDd.mountPath).some((f) => f.endsWith('.locky'))).toBe(true);
  });
});
