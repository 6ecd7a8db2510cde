/**
 * The Data Domain REST face of the lab and the REST driver, over real HTTPS with the appliance certificate
 * pinned: curl with --cacert, login and token re-login, retention-lock detail, rlfiles locks (never shortened;
 * governance revertible, compliance not), faults (5xx, 401, expired token, a hang past the timeout), a wrong
 * pin, and no connection left open afterwards. Also the DD CLI's everyday commands and the vault-full fault.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLab, type Lab } from '../lab';
import { run as sshRun } from '../lab/testing';
import { openDataDomainRest, type DataDomainRest, type DdRestTarget } from '../activities/drivers/datadomain/rest';
import { CertificatePinError, openHttps } from '../activities/drivers/https';
import { DeviceUnavailableError } from '../activities/drivers/rest-errors';
import { AuthenticationError, DeviceUnreachableError } from '../activities/drivers/errors';
import { curl, secret, waitFor } from './helpers/rest';

const COPIES = '/data/col1/ir-copies';
let dir: string;
let lab: Lab;

async function startAt(sub: string, mode?: 'governance' | 'compliance', tokenTtlMs?: number) {
  return startLab({
    rest: { tokenTtlMs },
    dir: join(dir, sub),
    ports: { switch: 0, sourceDd: 0, vaultDd: 0, control: 0 },
    seed: { files: 5, totalBytes: 20_000 },
    retention: { minSeconds: 60, maxSeconds: 30 * 86400, mode },
  });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'dd-rest-'));
  lab = await startAt('lab');
  for (const f of ['c1/a.bin', 'c1/b.bin', 'c1/sub/c.bin']) {
    await lab.tamper.write(f, Buffer.from(`data of ${f}`));
  }
});

afterAll(async () => {
  await lab?.close();
  rmSync(dir, { recursive: true, force: true });
});

afterEach(async () => {
  lab.clearFaults();
  // No driver leaves a connection or a session behind.
  await waitFor(() => lab.rest.ddRest.openConnections() === 0, 5000, 'DD REST connections to close');
  expect(lab.rest.ddRest.sessions()).toBe(0);
});

function target(over: Partial<DdRestTarget> = {}): DdRestTarget {
  const r = lab.endpoints.rest.vaultDdRest;
  return {
    baseUrl: r.url,
    tls: { fingerprint: r.fingerprint, caFile: r.certFile },
    tlsField: 'vaults[0].vault.dd.rest.tls',
    device: 'vault-dd REST',
    timeoutMs: 5000,
    username: r.username,
    password: secret(r.passwordFile),
    credential: { field: 'vaults[0].vault.dd.password', ref: { file: r.passwordFile }, username: r.username, usernameField: 'vaults[0].vault.dd.username' },
    ...over,
  };
}

async function using<T>(t: DdRestTarget, fn: (dd: DataDomainRest) => Promise<T>): Promise<T> {
  const dd = openDataDomainRest(openHttps, t);
  try {
    return await fn(dd);
  } finally {
    await dd.close();
  }
}

const api = (p: string) => `${lab.endpoints.rest.vaultDdRest.url}${p}`;
const mt = encodeURIComponent(COPIES);

async function curlLogin(l = lab): Promise<string> {
  const r = l.endpoints.rest.vaultDdRest;
  const res = await curl(r.certFile, 'POST', `${r.url}/rest/v1.0/auth`, { json: { username: r.username, password: secret(r.passwordFile) } });
  expect(res.status).toBe(201);
  return res.headers['x-dd-auth-token'];
}

test('curl with the pinned certificate: login, retention-lock detail, rlfiles, logout; without it curl refuses', async () => {
  const cert = lab.endpoints.rest.vaultDdRest.certFile;
  const token = await curlLogin();
  expect(token).toMatch(/^\S{20,}$/);
  const detail = await curl(cert, 'GET', api(`/rest/v2.0/dd-systems/0/mtrees/${mt}`), { headers: { 'X-DD-AUTH-TOKEN': token } });
  expect(detail.status).toBe(200);
  expect(detail.body.mtree_rl_detail).toMatchObject({ rl_status: 'enabled', rl_mode: 'governance', rl_min_period: 60, rl_max_period: 30 * 86400 });
  const v1 = await curl(cert, 'GET', api(`/rest/v1.0/dd-systems/0/mtrees/${mt}`), { headers: { 'X-DD-AUTH-TOKEN': token } });
  expect(v1.body.mtree_rl_detail).toMatchObject({ rl_status: 1, rl_mode: 1 });
  const files = await curl(cert, 'GET', api(`/rest/v1.0/dd-systems/0/mtrees/${mt}/rlfiles?filter=rl_filepath=c1/a.bin`), { headers: { 'X-DD-AUTH-TOKEN': token } });
  expect(files.body.rlfile).toEqual([expect.objectContaining({ rl_filepath: 'c1/a.bin', state: 'unlocked' })]);
  expect((await curl(cert, 'DELETE', api('/rest/v1.0/auth'), { headers: { 'X-DD-AUTH-TOKEN': token } })).status).toBe(200);
  expect((await curl(cert, 'GET', api(`/rest/v2.0/dd-systems/0/mtrees/${mt}`), { headers: { 'X-DD-AUTH-TOKEN': token } })).status).toBe(401);
  // Another certificate as trust anchor: curl's own verification fails.
  await expect(curl(lab.endpoints.rest.bareos.certFile, 'GET', api('/rest/v1.0/auth'))).rejects.toThrow(/SSL|certificate/i);
});

test('the driver reads the retention detail and locks files; the CLI report and the mount see the same locks', async () => {
  const until = new Date(Date.now() + 3600_000);
  const r = await using(target(), async (dd) => {
    expect(await dd.mtreeRetention(COPIES)).toMatchObject({ enabled: true, mode: 'governance', minSeconds: 60, maxSeconds: 30 * 86400 });
    const sent = await dd.lockFiles(COPIES, ['c1/a.bin', 'c1/b.bin'], until);
    const state = await dd.fileLocks(COPIES, ['c1/a.bin', 'c1/sub/c.bin']);
    return { sent, state, stats: dd.stats() };
  });
  expect(r.sent).toEqual({ sent: 2, alreadyLonger: 0 });
  expect(r.state[0]).toMatchObject({ path: 'c1/a.bin', state: 'locked', mode: 'governance' });
  expect(Math.abs(r.state[0].expires!.getTime() - until.getTime())).toBeLessThan(1000);
  expect(r.state[1]).toMatchObject({ path: 'c1/sub/c.bin', state: 'unlocked' });
  expect(lab.lockOf('c1/a.bin').locked).toBe(true);
  // Same state over SSH: the DD CLI's retention report lists the file.
  const e = lab.endpoints;
  const report = await sshRun({ host: e.host, port: e.vaultDd.port, username: 'sysadmin', password: secret(e.vaultDd.passwordFile), fingerprint: e.vaultDd.fingerprint }, `mtree retention-lock report generate retention-details mtrees ${COPIES}`);
  expect(report.stdout).toContain(`${COPIES}/c1/a.bin governance`);
});

test('a lock is never shortened: the driver skips files locked longer, and the DD refuses a shorter time', async () => {
  const long = new Date(Date.now() + 2 * 3600_000);
  const short = new Date(Date.now() + 1800_000);
  const r = await using(target(), async (dd) => {
    await dd.lockFiles(COPIES, ['c1/b.bin'], long);
    return dd.lockFiles(COPIES, ['c1/b.bin', 'c1/sub/c.bin'], short);
  });
  expect(r).toEqual({ sent: 1, alreadyLonger: 1 });
  expect(lab.lockOf('c1/b.bin').until!.getTime()).toBeGreaterThanOrEqual(long.getTime() - 1000);
  // Sent by hand, the shorter time is refused with the DD's words, and the lock stays.
  const token = await curlLogin();
  const cert = lab.endpoints.rest.vaultDdRest.certFile;
  const put = await curl(cert, 'PUT', api(`/rest/v1.0/dd-systems/0/mtrees/${mt}/rlfiles`), {
    headers: { 'X-DD-AUTH-TOKEN': token },
    json: { rlfile: [{ file_path: 'c1/b.bin', set_time: true, use_absolute_time: true, retention_time: Math.floor(short.getTime() / 1000) }] },
  });
  expect(put.body.service_status[0]).toMatchObject({ code: 5018, details: expect.stringMatching(/cannot be reduced/) });
  expect(lab.lockOf('c1/b.bin').until!.getTime()).toBeGreaterThanOrEqual(long.getTime() - 1000);
  // Governance: an administrator can revert (set_time false); the file is writable again.
  const revert = await curl(cert, 'PUT', api(`/rest/v1.0/dd-systems/0/mtrees/${mt}/rlfiles`), { headers: { 'X-DD-AUTH-TOKEN': token }, json: { rlfile: [{ file_path: 'c1/b.bin', set_time: false }] } });
  expect(revert.body.service_status[0].code).toBe(0);
  expect(lab.lockOf('c1/b.bin').locked).toBe(false);
  await curl(cert, 'DELETE', api('/rest/v1.0/auth'), { headers: { 'X-DD-AUTH-TOKEN': token } });
  // A time outside the MTree's min/max is refused by the device, and the driver says so with its words.
  await lab.tamper.write('c1/d.bin', Buffer.from('d'));
  await expect(using(target(), (dd) => dd.lockFiles(COPIES, ['c1/d.bin'], new Date(Date.now() + 10_000)))).rejects.toThrow(/refused to lock 1 of 1 files, e.g. c1\/d.bin: Retention time .* outside/);
  expect(lab.lockOf('c1/d.bin').locked).toBe(false);
});

test('compliance mode: a lock cannot be reverted, and the CLI shows RLCE with the mtree list legend', async () => {
  const c = await startAt('compliance', 'compliance');
  try {
    await c.tamper.write('x/f.bin', Buffer.from('x'));
    const r = c.endpoints.rest.vaultDdRest;
    const token = await curlLogin(c);
    const url = `${r.url}/rest/v1.0/dd-systems/0/mtrees/${mt}/rlfiles`;
    const lock = await curl(r.certFile, 'PUT', url, { headers: { 'X-DD-AUTH-TOKEN': token }, json: { rlfile: [{ file_path: 'x/f.bin', set_time: true, use_absolute_time: false, retention_time: 3600 }] } });
    expect(lock.body.service_status[0].code).toBe(0);
    const revert = await curl(r.certFile, 'PUT', url, { headers: { 'X-DD-AUTH-TOKEN': token }, json: { rlfile: [{ file_path: 'x/f.bin', set_time: false }] } });
    expect(revert.body.service_status[0]).toMatchObject({ code: 5018, details: expect.stringMatching(/compliance mode: the retention lock cannot be reverted/) });
    expect(c.lockOf('x/f.bin').locked).toBe(true);
    await expect(c.tamper.unlink('x/f.bin')).rejects.toThrow(/EACCES/);
    await curl(r.certFile, 'DELETE', `${r.url}/rest/v1.0/auth`, { headers: { 'X-DD-AUTH-TOKEN': token } });
    const e = c.endpoints;
    const list = await sshRun({ host: e.host, port: e.vaultDd.port, username: 'sysadmin', password: secret(e.vaultDd.passwordFile), fingerprint: e.vaultDd.fingerprint }, 'mtree list');
    expect(list.stdout).toMatch(/\/data\/col1\/ir-copies +\d+\.\d +RW\/RLCE\n/);
    expect(list.stdout).toContain(' RLCE : Retention-Lock Compliance Enabled');
  } finally {
    await c.close();
  }
});

test('an expired token (401 on a call) is answered by one fresh login; the call then succeeds', async () => {
  lab.addFault({ device: 'vault-dd-rest', match: '^GET /rest/v2.0/dd-systems/0/mtrees/', output: '{"code":5001,"details":"Unauthorized: the session has expired."}', exitCode: 401, times: 1 });
  const { rl, stats } = await using(target(), async (dd) => ({ rl: await dd.mtreeRetention(COPIES), stats: dd.stats() }));
  expect(rl.enabled).toBe(true);
  expect(stats.logins).toBe(2);
});

test('a session idle past its lifetime expires on the DD; the driver logs in again', async () => {
  const short = await startAt('ttl', undefined, 300);
  try {
    const r = short.endpoints.rest.vaultDdRest;
    const dd = openDataDomainRest(openHttps, target({ baseUrl: r.url, tls: { fingerprint: r.fingerprint, caFile: r.certFile }, password: secret(r.passwordFile) }));
    try {
      await dd.mtreeRetention(COPIES);
      await new Promise((res) => setTimeout(res, 700));
      expect((await dd.mtreeRetention(COPIES)).enabled).toBe(true);
      expect(dd.stats().logins).toBe(2);
    } finally {
      await dd.close();
    }
  } finally {
    await short.close();
  }
});

test('a 5xx is a retryable error with the device words; a refused login is permanent and names the field and the secret file', async () => {
  lab.addFault({ device: 'vault-dd-rest', match: 'rlfiles', output: '{"code":5000,"details":"Internal error: file system service unavailable"}', exitCode: 503 });
  const err = await using(target(), (dd) => dd.fileLocks(COPIES)).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(DeviceUnavailableError);
  expect((err as DeviceUnavailableError).retryable).toBe(true);
  expect((err as Error).name).toBe('DeviceUnavailableError'); // not in the cycle's permanent list: retried
  expect((err as Error).message).toMatch(/HTTP 503 \(retryable\): Internal error: file system service unavailable/);
  lab.clearFaults();

  const bad = join(dir, 'wrong-password');
  writeFileSync(bad, 'not-the-password', { mode: 0o600 });
  const denied = await using(target({ password: 'not-the-password', credential: { field: 'vaults[0].vault.dd.password', ref: { file: bad }, username: 'sysadmin', usernameField: 'vaults[0].vault.dd.username' } }), (dd) => dd.mtreeRetention(COPIES)).catch((e: unknown) => e);
  expect(denied).toBeInstanceOf(AuthenticationError);
  expect((denied as AuthenticationError).retryable).toBe(false);
  expect((denied as Error).message).toContain('Authentication failed: invalid username or password');
  expect((denied as Error).message).toContain(`vaults[0].vault.dd.password (file ${bad})`);
});

test('a hang past the request timeout fails retryable within the timeout, and leaves no connection', async () => {
  lab.addFault({ device: 'vault-dd-rest', match: '^GET ', kind: 'latency', ms: 60_000, times: 1 });
  const t0 = Date.now();
  const err = await using(target({ timeoutMs: 1500 }), (dd) => dd.mtreeRetention(COPIES)).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(DeviceUnreachableError);
  expect((err as DeviceUnreachableError).retryable).toBe(true);
  expect((err as Error).message).toMatch(/no answer to GET .* within 1500 ms/);
  expect(Date.now() - t0).toBeLessThan(10_000);
});

test('a certificate other than the pinned one is refused before any credential is sent', async () => {
  const other = lab.endpoints.rest.bareos;
  const before = lab.rest.ddRest.requests();
  // Right certificate file, wrong pin: the fingerprint check refuses.
  const e1 = await using(target({ tls: { fingerprint: other.fingerprint, caFile: lab.endpoints.rest.vaultDdRest.certFile } }), (dd) => dd.mtreeRetention(COPIES)).catch((e: unknown) => e);
  expect(e1).toBeInstanceOf(CertificatePinError);
  expect((e1 as Error).message).toMatch(/presented certificate .* but .* is pinned in vaults\[0\]\.vault\.dd\.rest\.tls\.fingerprint/);
  // Another certificate as trust anchor: TLS verification itself fails.
  const e2 = await using(target({ tls: { fingerprint: other.fingerprint, caFile: other.certFile } }), (dd) => dd.mtreeRetention(COPIES)).catch((e: unknown) => e);
  expect(e2).toBeInstanceOf(CertificatePinError);
  expect((e2 as Error).message).toContain('vaults[0].vault.dd.rest.tls.caFile');
  expect(lab.rest.ddRest.requests()).toBe(before);
});

test('DD CLI everyday commands, and a full vault refuses fastcopy with the DD words', async () => {
  const e = lab.endpoints;
  const o = { host: e.host, port: e.vaultDd.port, username: 'sysadmin', password: secret(e.vaultDd.passwordFile), fingerprint: e.vaultDd.fingerprint };
  expect((await sshRun(o, 'system show version')).stdout).toMatch(/^Data Domain OS \d+\.\d+/);
  const space = (await sshRun(o, 'filesys show space')).stdout;
  expect(space).toMatch(/^Active Tier:\nResource +Size GiB +Used GiB +Avail GiB +Use% +Cleanable GiB\*/);
  expect(space).toMatch(/\/data: post-comp +1024\.0 +\d+\.\d +\d+\.\d +\d+%/);
  expect((await sshRun(o, 'net show settings')).stdout).toMatch(/ethV1 +yes +running +no +10\.20\.0\.\d+ /); // part A's DdNet answers it
  expect((await sshRun(o, 'replication show config')).stdout).toContain(e.context.destination);
  const list = (await sshRun(o, 'mtree list')).stdout;
  expect(list).toMatch(/\/data\/col1\/ir-copies +\d+\.\d +RW\/RLGE\n/);
  expect(list).toContain(' RD   : Replication Destination');

  const res = await fetch(`${e.control}/vault-dd/full`, { method: 'POST', body: JSON.stringify({ full: true }) });
  expect(await res.json()).toEqual({ full: true });
  expect((await sshRun(o, 'filesys show space')).stdout).toMatch(/\/data: post-comp +1024\.0 +1024\.0 +0\.0 +100%/);
  const fc = await sshRun(o, `filesys fastcopy source ${e.vaultDd.replicaMtree} destination ${COPIES}/full-test`);
  expect(fc.code).toBe(1);
  expect(fc.stdout).toMatch(/^\*\*\*\* Operation failed: the file system is full/);
  await fetch(`${e.control}/vault-dd/full`, { method: 'POST', body: JSON.stringify({ full: false }) });
});

test('the driver logs in under the runtime the worker and demo use (tsx), not only under Jest', async () => {
  // tsx honours tsconfig `paths`; a mapping of `got` to its .d.ts once made every REST call fail there.
  const r = lab.endpoints.rest.vaultDdRest;
  const code = `
    const { openDataDomainRest } = require('./activities/drivers/datadomain/rest');
    const { openHttps } = require('./activities/drivers/https');
    const t = JSON.parse(process.env.T);
    const dd = openDataDomainRest(openHttps, t);
    dd.mtreeRetention(${JSON.stringify(COPIES)}).then(async (x) => { console.log(JSON.stringify(x)); await dd.close(); }, (e) => { console.error(e.message); process.exit(3); });`;
  const t = { ...target(), password: secret(r.passwordFile) };
  const out = await new Promise<{ code: number | null; stdout: string; stderr: string }>((res) => {
    execFile(process.execPath, [require.resolve('tsx/cli'), '-e', code], { env: { ...process.env, T: JSON.stringify(t) }, timeout: 60_000 }, (err, stdout, stderr) =>
      res({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
  expect(out.stderr).not.toMatch(/is not defined|Error/);
  expect(out.code).toBe(0);
  expect(JSON.parse(out.stdout.trim().split('\n').pop()!)).toMatchObject({ mode: expect.stringMatching(/governance|compliance/) });
}, 90_000);
