/**
 * Backup-software coordination against the lab's Bareos and NetWorker simulators over real HTTPS (pinned
 * certificates): curl into both REST APIs; the drivers' job states, holds, re-login and faults; the hold
 * activities (wait for a running protected job, hold, re-assert after a Director reload, release only what
 * was held, a job that never finishes) and the release of a hold left behind.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { MockActivityEnvironment } from '@temporalio/testing';
import { startLab, type Lab } from '../lab';
import { parseConfig } from '../config/load';
import type { Config } from '../config/schema';
import { backupActivities, openBackup, releaseBackupHold, BackupDrainTimeoutError } from '../activities/backup';
import type { ActivityDeps, Alert } from '../activities/deps';
import { DeviceUnavailableError } from '../activities/drivers/rest-errors';
import { AuthenticationError, DeviceCommandError } from '../activities/drivers/errors';
import { curl, secret, waitFor } from './helpers/rest';

const HOUR = 3600_000;
let dir: string;
let lab: Lab;
const alerts: Alert[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'backup-'));
  lab = await startLab({
    dir: join(dir, 'lab'),
    ports: { switch: 0, sourceDd: 0, vaultDd: 0, control: 0 },
    seed: { files: 3, totalBytes: 3000 },
    // Scheduled runs far away: each test starts the runs it needs through the control API.
    rest: {
      bareosJobs: [
        { name: 'backup-prod-fs', client: 'prod-fs-fd', trigger: 'NightlyProd', everyMs: HOUR, durationMs: 1000 },
        { name: 'backup-prod-db', client: 'prod-db-fd', trigger: 'NightlyProd', everyMs: HOUR, durationMs: 1000 },
      ],
      networkerJobs: [{ name: 'prod-fs', client: 'prod-fs.lab', trigger: 'Gold/prod-fs', everyMs: HOUR, durationMs: 1000 }],
    },
  });
});

afterAll(async () => {
  await lab?.close();
  rmSync(dir, { recursive: true, force: true });
});

afterEach(async () => {
  lab.clearFaults();
  // Each test starts from a clean backup state, whatever the previous one left.
  rmSync(join(dir, 'evidence', 'v1', 'backup-hold.json'), { force: true });
  for (const tl of Object.values(lab.rest.timelines)) {
    tl.reload(false);
    for (const r of tl.running()) tl.cancel(r.id);
  }
  await waitFor(() => lab.rest.bareos.openConnections() === 0 && lab.rest.networker.openConnections() === 0, 5000, 'backup REST connections to close');
});

function config(software: 'bareos' | 'networker', over: Record<string, unknown> = {}): Config {
  const r = lab.endpoints.rest;
  const base = { url: '', tls: {}, pollInterval: '200ms', reassertInterval: '1s', drainTimeout: '30s', timeout: '5s' };
  const backup =
    software === 'bareos'
      ? { ...base, software, url: r.bareos.url, tls: { fingerprint: r.bareos.fingerprint, caFile: r.bareos.certFile }, username: r.bareos.username, password: { file: r.bareos.passwordFile }, protects: ['backup-prod-fs', 'backup-prod-db'], hold: { jobs: ['backup-prod-fs', 'backup-prod-db'] }, ...over }
      : { ...base, software, url: r.networker.url, tls: { fingerprint: r.networker.fingerprint, caFile: r.networker.certFile }, username: r.networker.username, password: { file: r.networker.passwordFile }, protects: ['prod-fs'], hold: { workflows: [{ policy: 'Gold', workflow: 'prod-fs' }] }, ...over };
  const e = lab.endpoints;
  const pin = { knownHostsFile: e.knownHostsFile };
  const dd = { host: e.host, port: e.vaultDd.port, username: 'sysadmin', password: { file: e.vaultDd.passwordFile }, hostKey: pin };
  return parseConfig(
    {
      evidenceDir: join(dir, 'evidence'),
      vaults: [
        {
          id: 'v1',
          switch: { platform: 'cisco-ios', host: e.host, port: e.switch.port, username: 'netops', password: { file: e.switch.passwordFile }, hostKey: pin, ports: e.switch.vaultPorts },
          source: { dd, mtree: e.sourceDd.mtree, mountPath: e.sourceDd.mountPath },
          vault: { dd, replicaMtree: e.vaultDd.replicaMtree, replicaMountPath: e.vaultDd.replicaMountPath, copiesMtree: e.vaultDd.copiesMtree, copiesMountPath: e.vaultDd.copiesMountPath },
          replication: { contexts: [e.context.destination] },
          backup,
        },
      ],
    },
    'test config',
    '/',
  );
}

const deps = (c: Config): ActivityDeps => ({
  config: c,
  openSwitch: () => Promise.reject(new Error('not used')),
  openDataDomain: () => Promise.reject(new Error('not used')),
  alert: async (a) => {
    alerts.push(a);
  },
});

const control = (p: string, body: unknown = {}) => fetch(`${lab.endpoints.control}${p}`, { method: 'POST', body: JSON.stringify(body) }).then((r) => r.json());
/** Runs an activity of one vault id in a mock activity context (heartbeats and cancellation work). */
const act = <T>(fn: (vaultId: string) => Promise<T>, env = new MockActivityEnvironment()): Promise<T> => env.run(fn, 'v1') as Promise<T>;
const sim = (s: 'bareos' | 'networker') => lab.rest.timelines[s];

test('curl into the Bareos REST API: token, jobs with jobstatus, disable/enable a job', async () => {
  const b = lab.endpoints.rest.bareos;
  const tok = await curl(b.certFile, 'POST', `${b.url}/token`, { form: { grant_type: 'password', username: b.username, password: secret(b.passwordFile) } });
  expect(tok.status).toBe(200);
  expect(tok.body.token_type).toBe('bearer');
  const auth = { authorization: `Bearer ${tok.body.access_token}` };
  await control('/backup/bareos/jobs/backup-prod-fs/run', { durationMs: 4000 }); // long enough for curl on a loaded machine
  const jobs = await curl(b.certFile, 'GET', `${b.url}/control/jobs?job=backup-prod-fs&jobstatus=R`, { headers: auth });
  expect(jobs.body.totalItems).toBeGreaterThanOrEqual(1);
  expect(jobs.body.jobs[0]).toMatchObject({ name: 'backup-prod-fs', jobstatus: 'R', type: 'B' });
  expect((await curl(b.certFile, 'PUT', `${b.url}/control/jobs/disable/backup-prod-fs`, { headers: auth })).status).toBe(204);
  expect(sim('bareos').isJobEnabled('backup-prod-fs')).toBe(false);
  expect((await curl(b.certFile, 'PUT', `${b.url}/control/jobs/enable/backup-prod-fs`, { headers: auth })).status).toBe(204);
  expect((await curl(b.certFile, 'PUT', `${b.url}/control/jobs/disable/no-such-job`, { headers: auth })).body).toEqual({ detail: 'Job "no-such-job" not found.' });
  expect((await curl(b.certFile, 'GET', `${b.url}/control/jobs`)).status).toBe(401);
  await waitFor(() => sim('bareos').running().length === 0, 20_000, 'the run to finish');
  const done = await curl(b.certFile, 'GET', `${b.url}/control/jobs?job=backup-prod-fs`, { headers: auth });
  expect(done.body.jobs.map((j: { jobstatus: string }) => j.jobstatus)).toContain('T');
});

test('curl into the NetWorker REST API: jobs by state, workflow autoStartEnabled', async () => {
  const n = lab.endpoints.rest.networker;
  const user = `${n.username}:${secret(n.passwordFile)}`;
  const base = `${n.url}/nwrestapi/v3/global`;
  await control('/backup/networker/jobs/prod-fs/run', { durationMs: 4000, outcome: 'failed' });
  const active = await curl(n.certFile, 'GET', `${base}/jobs?q=${encodeURIComponent('name:prod-fs and state:Active')}`, { user });
  expect(active.body.count).toBe(1);
  expect(active.body.jobs[0]).toMatchObject({ name: 'prod-fs', state: 'Active' });
  await waitFor(() => sim('networker').running().length === 0, 20_000, 'the run to finish');
  const done = await curl(n.certFile, 'GET', `${base}/jobs/${active.body.jobs[0].id}`, { user });
  expect(done.body).toMatchObject({ state: 'Completed', completionStatus: 'Failed' });
  const wf = `${base}/protectionpolicies/Gold/workflows/prod-fs`;
  expect((await curl(n.certFile, 'GET', wf, { user })).body.autoStartEnabled).toBe(true);
  expect((await curl(n.certFile, 'PUT', wf, { user, json: { autoStartEnabled: false } })).status).toBe(204);
  expect((await curl(n.certFile, 'GET', wf, { user })).body.autoStartEnabled).toBe(false);
  await curl(n.certFile, 'PUT', wf, { user, json: { autoStartEnabled: true } });
  expect((await curl(n.certFile, 'GET', wf, { user: 'ir-operator:wrong' })).status).toBe(401);
});

test('Bareos: the hold waits for the running protected job, holds, is re-asserted after a Director reload, and is released', async () => {
  const c = config('bareos');
  const acts = backupActivities(deps(c));
  await control('/backup/bareos/jobs/backup-prod-fs/run', { durationMs: 3000 });
  const env = new MockActivityEnvironment();
  const beats: unknown[] = [];
  env.on('heartbeat', (d: unknown) => beats.push(d));
  const rec = await act(acts.backupHold, env);
  expect(rec).not.toBeNull();
  expect(rec!.waitedFor.map((j) => j.name)).toEqual(['backup-prod-fs']);
  expect(rec!.waitedSeconds).toBeGreaterThan(0);
  expect(beats.some((b) => JSON.stringify(b).includes('backup-prod-fs'))).toBe(true);
  expect(rec!.items).toEqual([
    { kind: 'job', name: 'backup-prod-fs', held: true },
    { kind: 'job', name: 'backup-prod-db', held: true },
  ]);
  expect(sim('bareos').running()).toEqual([]);
  expect(sim('bareos').isJobEnabled('backup-prod-fs')).toBe(false);

  // A Director reload re-enables every job: the keeper disables it again and says so.
  const keeper = new MockActivityEnvironment();
  const kept = act(acts.backupKeepHold, keeper).catch((e: unknown) => e);
  await control('/backup/bareos/reload');
  expect(sim('bareos').isJobEnabled('backup-prod-fs')).toBe(true);
  await waitFor(() => !sim('bareos').isJobEnabled('backup-prod-fs') && !sim('bareos').isJobEnabled('backup-prod-db'), 10_000, 'the hold to be re-asserted');
  keeper.cancel();
  await kept;
  expect(alerts.some((a) => /re-enabled job backup-prod-fs during the cycle .* hold re-asserted/.test(a.summary))).toBe(true);

  const released = await act(acts.backupRelease);
  expect(released!.releasedAt).toBeDefined();
  expect(released!.reasserted!.map((r) => r.item)).toEqual(expect.arrayContaining(['job backup-prod-fs', 'job backup-prod-db']));
  expect(sim('bareos').isJobEnabled('backup-prod-fs')).toBe(true);
  expect(sim('bareos').isJobEnabled('backup-prod-db')).toBe(true);
  expect(existsSync(join(dir, 'evidence', 'v1', 'backup-hold.json'))).toBe(false);
  expect(readdirSync(join(dir, 'evidence', 'v1')).some((f) => f.startsWith('backup-hold.released-'))).toBe(true);
  // Releasing again is a no-op.
  expect(await act(acts.backupRelease)).toBeNull();
});

test('NetWorker: a workflow an operator had switched off stays off after the release', async () => {
  const c = config('networker');
  const acts = backupActivities(deps(c));
  sim('networker').setTriggerEnabled('Gold/prod-fs', false);
  const rec = await act(acts.backupHold);
  expect(rec!.items).toEqual([{ kind: 'workflow', name: 'Gold/prod-fs', held: false }]);
  await act(acts.backupRelease);
  expect(sim('networker').isTriggerEnabled('Gold/prod-fs')).toBe(false);
  sim('networker').setTriggerEnabled('Gold/prod-fs', true);
  // And one that was on is held, then released.
  const rec2 = await act(acts.backupHold);
  expect(rec2!.items[0].held).toBe(true);
  expect(sim('networker').isTriggerEnabled('Gold/prod-fs')).toBe(false);
  await act(acts.backupRelease);
  expect(sim('networker').isTriggerEnabled('Gold/prod-fs')).toBe(true);
});

test('a backup job that never finishes: the wait gives up at drainTimeout, names the job, holds nothing', async () => {
  const c = config('bareos', { drainTimeout: '1500ms' });
  const run = (await control('/backup/bareos/jobs/backup-prod-db/run', { outcome: 'hang' })) as { id: number };
  const err = await act(backupActivities(deps(c)).backupHold).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(BackupDrainTimeoutError);
  expect((err as Error).message).toMatch(new RegExp(`still runs backup-prod-db #${run.id} \\(R\\) after backup.drainTimeout \\(1.5 s\\); the gap was not opened`));
  expect(existsSync(join(dir, 'evidence', 'v1', 'backup-hold.json'))).toBe(false);
  expect(sim('bareos').isJobEnabled('backup-prod-db')).toBe(true);
  sim('bareos').cancel(run.id);
});

test('a hold left behind (the cycle was terminated) is released by releaseBackupHold, as the sentinel does', async () => {
  const c = config('networker');
  await act(backupActivities(deps(c)).backupHold);
  expect(sim('networker').isTriggerEnabled('Gold/prod-fs')).toBe(false);
  // No workflow state: only the vault id and the configuration.
  const released = await releaseBackupHold(deps(config('networker')), 'v1');
  expect(released?.items).toEqual([{ kind: 'workflow', name: 'Gold/prod-fs', held: true }]);
  expect(sim('networker').isTriggerEnabled('Gold/prod-fs')).toBe(true);
});

test('a terminated cycle: its still-running keeper does not re-assert a hold being released, and a hold it had not taken yet is not taken', async () => {
  // What Temporal answers for the cycle's run (the only stand-in here: the keeper asks describe() before re-asserting).
  let state = 'RUNNING';
  const client = { withAbortSignal: <T>(_s: AbortSignal, fn: () => Promise<T>) => fn(), workflow: { getHandle: () => ({ describe: async () => ({ status: { name: state } }) }) } } as unknown as Client;
  const inCycle = () => new MockActivityEnvironment({}, { client });
  const c = config('bareos');
  const acts = backupActivities(deps(c));
  await act(acts.backupHold, inCycle());
  expect(sim('bareos').isJobEnabled('backup-prod-fs')).toBe(false);
  const alertsBefore = alerts.length;
  const keeper = inCycle();
  const kept = act(acts.backupKeepHold, keeper);
  state = 'TERMINATED';
  // The sentinel's release switches the jobs on; a keeper that re-asserted now would switch them off again.
  await control('/backup/bareos/reload'); // and a Director reload meanwhile: also not re-asserted
  await expect(kept).resolves.toBeUndefined(); // the keeper ends by itself within one reassertInterval
  expect(sim('bareos').isJobEnabled('backup-prod-fs')).toBe(true);
  expect(alerts.slice(alertsBefore)).toEqual([]);
  await releaseBackupHold(deps(c), 'v1');
  expect(sim('bareos').isJobEnabled('backup-prod-fs')).toBe(true);
  // Terminated while waiting for the jobs to drain: no hold is taken afterwards (nobody would release it).
  const err = await act(acts.backupHold, inCycle()).catch((e: unknown) => e);
  expect((err as Error).message).toMatch(/the cycle test has ended; no backup hold taken/);
  expect(sim('bareos').isJobEnabled('backup-prod-fs')).toBe(true);
  expect(existsSync(join(dir, 'evidence', 'v1', 'backup-hold.json'))).toBe(false);
});

test('a recorded hold that does not match the configuration stops the next cycle in PREFLIGHT, naming the file', async () => {
  await act(backupActivities(deps(config('networker'))).backupHold);
  const err = await act(backupActivities(deps(config('bareos'))).backupHold).catch((e: unknown) => e);
  expect((err as Error).name).toBe('ConfigError');
  expect((err as Error).message).toMatch(/backup-hold\.json records a networker hold of workflow Gold\/prod-fs that does not match vaults\[0\]\.backup \(bareos\)/);
  expect(sim('bareos').isJobEnabled('backup-prod-fs')).toBe(true); // nothing held on the other side
  await releaseBackupHold(deps(config('networker')), 'v1');
  expect(sim('networker').isTriggerEnabled('Gold/prod-fs')).toBe(true);
});

test('driver faults: 5xx retryable with the words, refused login permanent naming the field and file, expired token re-login', async () => {
  const c = config('bareos');
  const open = () => openBackup(deps(c), 'v1')!.driver;
  lab.addFault({ device: 'bareos', match: '^GET /control/jobs', output: '{"detail":"Director not reachable: bconsole connection refused"}', exitCode: 502, times: 1 });
  let d = open();
  const e1 = await d.activeJobs(['backup-prod-fs']).catch((e: unknown) => e);
  await d.close();
  expect(e1).toBeInstanceOf(DeviceUnavailableError);
  expect((e1 as DeviceUnavailableError).retryable).toBe(true);
  expect((e1 as Error).message).toMatch(/HTTP 502 \(retryable\): Director not reachable: bconsole connection refused/);

  lab.addFault({ device: 'bareos', match: '^GET /control/jobs', output: '{"detail":"Could not validate credentials"}', exitCode: 401, times: 1 });
  d = open();
  await expect(d.activeJobs(['backup-prod-fs'])).resolves.toEqual([]);
  expect(d.stats().logins).toBe(2);
  await d.close();

  // A 4xx is the device saying no: permanent, with its words.
  d = open();
  const e4 = await d.setEnabled({ kind: 'job', name: 'no-such-job' }, false).catch((e: unknown) => e);
  await d.close();
  expect(e4).toBeInstanceOf(DeviceCommandError);
  expect((e4 as DeviceCommandError).retryable).toBe(false);
  expect((e4 as Error).message).toContain('HTTP 404: Job "no-such-job" not found.');

  lab.addFault({ device: 'bareos', match: '^POST /token', output: '{"detail":"Incorrect username or password"}', exitCode: 401 });
  d = open();
  const e2 = await d.activeJobs(['backup-prod-fs']).catch((e: unknown) => e);
  await d.close();
  expect(e2).toBeInstanceOf(AuthenticationError);
  expect((e2 as Error).message).toContain('Incorrect username or password');
  expect((e2 as Error).message).toContain(`vaults[0].backup.password (file ${lab.endpoints.rest.bareos.passwordFile})`);

  lab.addFault({ device: 'networker', match: 'jobs', output: '{"message":"Service unavailable","status":{"code":503}}', exitCode: 503, times: 1 });
  const nw = openBackup(deps(config('networker')), 'v1')!.driver;
  const e3 = await nw.activeJobs(['prod-fs']).catch((e: unknown) => e);
  await nw.close();
  expect((e3 as DeviceUnavailableError).retryable).toBe(true);
  expect((e3 as Error).message).toContain('Service unavailable');
});
