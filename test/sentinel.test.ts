/**
 * Safety beyond one cycle, on the dev server against the lab: the gap sentinel closes what a terminated cycle
 * left open, one operation per vault whatever the workflow id, and the error boundary's retry decisions.
 * The gap is always judged by the lab's switch and vault DD.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { existsSync, readdirSync } from 'node:fs';
import { Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { stringify } from 'yaml';
import { irctlWith } from './helpers/irctl';
import { createWorker } from '../workers/worker';
import { ensureSentinels } from '../workers/sentinels';
import { isolatedRecoveryCycle } from '../workflows';
import { readGapIncidents } from '../activities/incidents';
import { cycleWorkflowId, statusQuery, type CycleResult, type CycleStatus, type Phase } from '../workflows/cycle-messages';
import { pauseSentinelUpdate, sentinelStatusQuery, sentinelWorkflowId } from '../workflows/sentinel-messages';
import { bundleWorkflows, connectTemporal, describeTemporal } from './helpers/temporal';
import { startTestLab, VAULT, type TestLab } from './helpers/lab';
import { curl, secret, withRest } from './helpers/rest';

jest.setTimeout(240_000);

const PERIOD = 3;
let bundle: WorkflowBundleWithSourceMap;
let temporal: Awaited<ReturnType<typeof connectTemporal>>;
let t: TestLab;
let seq = 0;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await Promise.resolve(fn()).catch(() => undefined);
    if (v !== undefined && v !== false) return v as T;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(100);
  }
}

const HOUR = 3600_000;

/** What the lab's Bareos Director says over its own REST API (curl with its certificate), not what our code believes. */
async function bareosEnabled(kind: 'jobs' | 'schedules', name: string): Promise<boolean> {
  const b = t.lab.endpoints.rest.bareos;
  const tok = await curl(b.certFile, 'POST', `${b.url}/token`, { form: { grant_type: 'password', username: b.username, password: secret(b.passwordFile) } });
  const r = await curl(b.certFile, 'GET', `${b.url}/configuration/${kind}/${name}`, { headers: { authorization: `Bearer ${tok.body.access_token}` } });
  if (r.status !== 200) throw new Error(`GET /configuration/${kind}/${name}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.enabled as boolean;
}

/** Replication stalls (the lab's fault): a cycle stays in CONVERGE with its gap open until it moves again. */
const stall = async (stalled: boolean) => {
  const res = await fetch(`${t.lab.endpoints.control}/replication/stall`, { method: 'POST', body: JSON.stringify({ stalled }) });
  expect(res.status).toBe(200);
};

const phaseOf = async (h: WorkflowHandle): Promise<Phase | undefined> => ((await h.query(statusQuery)) as CycleStatus).phase;
const gapClosed = () => t.lab.vaultPortsDown() && !t.lab.replication().enabled;

async function lab(options: Parameters<typeof startTestLab>[0], onBusy: 'wait' | 'refuse' = 'wait') {
  t = await startTestLab(options);
  const v = t.config.vaults[0];
  v.sentinel.period = PERIOD;
  v.hold.onBusy = onBusy;
}

function start(taskQueue: string, workflowId = `sentinel-test-${Date.now()}-${seq++}`) {
  return temporal.client.workflow.start(isolatedRecoveryCycle, { taskQueue, workflowId, args: [VAULT, {}] });
}

/** IR_RECORD_HISTORIES=1 keeps the sentinel's history as a golden fixture (test/replay.test.ts replays it). */
async function recordHistory(handle: WorkflowHandle, name: string): Promise<void> {
  if (process.env.IR_RECORD_HISTORIES !== '1') return;
  writeFileSync(join(__dirname, 'histories', `${name}.json`), historyToJSON(await handle.fetchHistory()));
}

/** irctl in process, against this test's lab config and task queue. */
async function irctl(tq: string, ...argv: string[]) {
  const configPath = join(t.dir, 'config.yaml');
  writeFileSync(configPath, stringify(t.config));
  return irctlWith({ IR_CONFIG: configPath, TEMPORAL_ADDRESS: process.env.TEMPORAL_TEST_ADDRESS, IR_TASK_QUEUE: tq })(...argv);
}

describeTemporal('gap sentinel, vault hold and error boundary against the lab', () => {
  beforeAll(async () => {
    bundle = await bundleWorkflows();
    temporal = await connectTemporal();
  });
  afterAll(async () => {
    await temporal?.close();
  });
  afterEach(async () => {
    if (!gapClosed()) console.error('gap open after test', t.lab.portStates(), t.lab.replication());
    expect(gapClosed()).toBe(true);
    await t.close();
  });

  const worker = (taskQueue: string) => createWorker({ connection: temporal.native, config: t.config, taskQueue, workflowBundle: bundle });
  const sentinel = (tq: string) => temporal.client.workflow.getHandle(sentinelWorkflowId(VAULT, tq));

  test('a cycle terminated during CONVERGE: the sentinel closes the gap within one period and records an incident', async () => {
    await lab({});
    await stall(true); // the cycle stays in CONVERGE, gap open, until terminated
    const tq = `term-${seq}`;
    const w = await worker(tq);
    await w.runUntil(async () => {
      const handle = await start(tq, cycleWorkflowId(VAULT));
      await waitFor('CONVERGE', async () => (await phaseOf(handle)) === 'CONVERGE');
      expect(gapClosed()).toBe(false);
      const at = Date.now();
      await handle.terminate('test: terminate mid-cycle');
      const early = await irctl(tq, 'cycle', 'status', VAULT);
      expect(early.code).toBe(1);
      expect(early.err).toContain('ended TERMINATED without running its close path: the gap may have been left open');
      expect(early.err).toMatch(/devices now: gap (OPEN|closed)/);
      await waitFor('gap closed by the sentinel', () => gapClosed(), (PERIOD + 20) * 1000);
      const seconds = (Date.now() - at) / 1000;
      expect(seconds).toBeLessThan(PERIOD + 20); // one period plus the close itself, on a loaded 2-core machine
      const incidents = await waitFor('incident recorded', async () => {
        const list = await readGapIncidents(t.config.evidenceDir, VAULT);
        return list.length ? list : undefined;
      });
      expect(incidents[0]).toMatchObject({ vaultId: VAULT, kind: 'holder-ended-without-release', holder: { workflowId: handle.workflowId, status: 'TERMINATED' } });
      expect(incidents[0].found).toMatch(/ports up|replication enabled/);
      const later = await irctl(tq, 'cycle', 'status', VAULT);
      expect(later.err).toContain('devices now: gap closed');
      expect(later.err).toContain('sentinel: last incident holder-ended-without-release');
      const s = await sentinel(tq).query(sentinelStatusQuery);
      expect(s.holder).toBeUndefined();
      expect(s.incidents).toBe(1);
      // The next cycle runs (the hold was freed after the close) and validates.
      await stall(false);
      const next = await (await start(tq)).result();
      expect(next.outcome).toBe('validated');
      await recordHistory(sentinel(tq), 'sentinel-terminated-holder');
      await sentinel(tq).terminate('test done');
    });
  });

  test('two cycles for one vault under different workflow ids: the second waits visibly and never runs beside the first', async () => {
    await lab({});
    await stall(true); // the first cycle holds the vault, gap open, until replication moves again
    const tq = `two-${seq}`;
    const w = await worker(tq);
    const [a, b] = await w.runUntil(async () => {
      const first = await start(tq, `first-${Date.now()}`);
      await waitFor('first in CONVERGE', async () => (await phaseOf(first)) === 'CONVERGE');
      const second = await start(tq, `other-${Date.now()}`);
      const waiting = await waitFor('second waiting', async () => {
        const s = (await second.query(statusQuery)) as CycleStatus;
        return s.hold?.state === 'waiting' ? s : undefined;
      });
      expect(waiting.hold?.heldBy).toBe(first.workflowId);
      expect(waiting.phase).toBe('PREFLIGHT');
      await stall(false);
      const results = await Promise.all([first.result(), second.result()]);
      await recordHistory(second, 'cycle-waited-for-hold');
      return results;
    });
    expect(a.outcome).toBe('validated');
    expect(b.outcome).toBe('validated');
    const closeEnd = Date.parse(a.phases.find((p) => p.phase === 'CLOSE')!.endedAt!);
    const openStart = Date.parse(b.phases.find((p) => p.phase === 'OPEN')!.startedAt);
    expect(openStart).toBeGreaterThanOrEqual(closeEnd);
  });

  test('with hold.onBusy refuse, a second cycle is refused naming the holder and touches nothing', async () => {
    await lab({}, 'refuse');
    await stall(true); // the first cycle holds the vault, gap open, until replication moves again
    const tq = `refuse-${seq}`;
    const w = await worker(tq);
    await w.runUntil(async () => {
      const first = await start(tq, `holder-${Date.now()}`);
      await waitFor('first in CONVERGE', async () => (await phaseOf(first)) === 'CONVERGE');
      const second = await start(tq, `intruder-${Date.now()}`);
      const err = await second.result().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(WorkflowFailedError);
      const cause = (err as WorkflowFailedError).cause as any;
      expect(cause.message).toContain(`held by workflow ${first.workflowId}`);
      const result = cause.details[0] as CycleResult;
      expect(result.phases.map((p) => p.phase)).not.toContain('OPEN');
      expect(gapClosed()).toBe(false); // the first cycle's gap was not touched by the refused one
      await stall(false);
      expect((await first.result()).outcome).toBe('validated');
    });
  });

  test('a gap opened by hand with no cycle running is closed by the sentinel the worker starts', async () => {
    await lab({});
    const tq = `hand-${seq}`;
    const w = await worker(tq);
    await w.runUntil(async () => {
      await ensureSentinels(temporal.client, t.config, tq);
      await ensureSentinels(temporal.client, t.config, tq); // idempotent: the same one keeps running
      await waitFor('first check', async () => (await sentinel(tq).query(sentinelStatusQuery)).lastCheck);
      t.lab.setPort('GigabitEthernet1/0/2', 'up');
      await waitFor('port back down', () => t.lab.vaultPortsDown(), (PERIOD + 20) * 1000);
      const [incident] = await waitFor('incident', async () => {
        const l = await readGapIncidents(t.config.evidenceDir, VAULT);
        return l.length ? l : undefined;
      });
      expect(incident).toMatchObject({ vaultId: VAULT, kind: 'gap-open-without-holder' });
      expect(incident.found).toContain('GigabitEthernet1/0/2');
      expect(incident.openSinceAtLatest).toBeDefined();
      // A pause needs a reason and ends by itself.
      const refused = (args: unknown) => sentinel(tq).executeUpdate('pauseSentinel', { args: [args] }).then(() => 'accepted', (e: any) => String(e.cause?.message));
      expect(await refused({ by: 'ops', minutes: 10 })).toMatch(/"reason" is required/);
      expect(await refused({ reason: 'switch firmware upgrade', by: 'ops', minutes: 100000 })).toMatch(/"minutes" must be .* ends by itself/);
      const paused = await sentinel(tq).executeUpdate(pauseSentinelUpdate, { args: [{ reason: 'switch firmware upgrade', by: 'ops', minutes: 1 / 60 }] });
      expect(paused.pause).toMatchObject({ reason: 'switch firmware upgrade', by: 'ops' });
      await waitFor('pause expired by itself', async () => !(await sentinel(tq).query(sentinelStatusQuery)).pause, 30_000);
      await recordHistory(sentinel(tq), 'sentinel-hand-opened');
      await sentinel(tq).terminate('test done');
    });
  });

  test('a cycle terminated while it holds the backup software: the sentinel closes the gap, then switches back on what the cycle held, and records both', async () => {
    await lab({
      bandwidthBytesPerSec: 8 * 1024 * 1024,
      rest: {
        bareosJobs: [
          { name: 'backup-prod-fs', client: 'prod-fs-fd', trigger: 'NightlyProd', everyMs: HOUR, durationMs: 2000 },
          { name: 'backup-prod-db', client: 'prod-db-fd', trigger: 'NightlyDb', everyMs: HOUR, durationMs: 2000 },
        ],
        networkerJobs: [],
      },
    });
    const hold = { jobs: ['backup-prod-fs', 'backup-prod-db'], schedules: ['NightlyProd'] };
    t.config = withRest(t.config, t.lab, { backup: 'bareos', backupOver: { hold } });
    t.config.vaults[0].sentinel.period = PERIOD;
    const b = t.lab.endpoints.rest.bareos;
    const auth = async () => ({ authorization: `Bearer ${(await curl(b.certFile, 'POST', `${b.url}/token`, { form: { grant_type: 'password', username: b.username, password: secret(b.passwordFile) } })).body.access_token}` });
    // An operator disabled one job before the cycle: the release must leave it off.
    expect((await curl(b.certFile, 'PUT', `${b.url}/control/jobs/disable/backup-prod-db`, { headers: await auth() })).status).toBe(204);
    await stall(true); // the cycle stays in CONVERGE, hold in place, until terminated
    const tq = `term-backup-${seq}`;
    const w = await worker(tq);
    await w.runUntil(async () => {
      const handle = await start(tq, cycleWorkflowId(VAULT));
      await waitFor('CONVERGE', async () => (await phaseOf(handle)) === 'CONVERGE');
      expect(gapClosed()).toBe(false);
      expect(await bareosEnabled('jobs', 'backup-prod-fs')).toBe(false); // held by the cycle
      expect(await bareosEnabled('schedules', 'NightlyProd')).toBe(false);
      await handle.terminate('test: terminate with the backup hold in place');
      const terminatedAt = Date.now();
      // Nothing else runs to release it: the sentinel must, after closing the gap.
      await waitFor('gap closed by the sentinel', () => gapClosed(), (PERIOD + 30) * 1000);
      await waitFor('job and schedule switched back on', async () => (await bareosEnabled('jobs', 'backup-prod-fs')) && (await bareosEnabled('schedules', 'NightlyProd')), 60_000);
      const seconds = (Date.now() - terminatedAt) / 1000;
      expect(await bareosEnabled('jobs', 'backup-prod-db')).toBe(false); // the operator's disable stands
      const [incident] = await waitFor('incident recorded', async () => {
        const list = await readGapIncidents(t.config.evidenceDir, VAULT);
        return list.length ? list : undefined;
      });
      expect(incident).toMatchObject({
        vaultId: VAULT,
        kind: 'holder-ended-without-release',
        holder: { workflowId: handle.workflowId, status: 'TERMINATED' },
        backupHold: { state: 'released', software: 'bareos', released: ['job backup-prod-fs', 'schedule NightlyProd'] },
      });
      expect(Date.parse(incident.backupHold!.at)).toBeGreaterThanOrEqual(Date.parse(incident.closedAt)); // the gap first
      // The evidence store keeps what was released; no hold is recorded any more.
      const dir = join(t.config.evidenceDir, VAULT);
      expect(existsSync(join(dir, 'backup-hold.json'))).toBe(false);
      expect(readdirSync(dir).filter((f) => f.startsWith('backup-hold.released-'))).toHaveLength(1);
      // The incident file is written before the sentinel's activity returns: then it frees the vault.
      const s = await waitFor('the sentinel to free the vault', async () => {
        const st = await sentinel(tq).query(sentinelStatusQuery);
        return st.holder ? undefined : st;
      });
      expect(s.backupReleasePending).toBeUndefined();
      expect(s.lastIncident?.backupHold?.state).toBe('released');
      const said = await irctl(tq, 'cycle', 'status', VAULT);
      expect(said.err).toMatch(/sentinel: released the backup hold left behind at .*: bareos job backup-prod-fs, schedule NightlyProd switched back on/);
      process.stdout.write(`sentinel: gap closed and backup hold released ${seconds.toFixed(1)} s after the terminate (period ${PERIOD} s)\n`);
      // The next cycle takes and releases its own hold as usual.
      await stall(false);
      const next = await (await start(tq)).result();
      expect(next.outcome).toBe('validated');
      expect(next.backup?.items.filter((i) => i.held).map((i) => `${i.kind} ${i.name}`)).toEqual(['job backup-prod-fs', 'schedule NightlyProd']);
      expect(await bareosEnabled('jobs', 'backup-prod-fs')).toBe(true);
      // The sentinel's history with the new command replays on the current code.
      await Worker.runReplayHistory({ workflowBundle: bundle }, await sentinel(tq).fetchHistory(), sentinel(tq).workflowId);
      await recordHistory(sentinel(tq), 'sentinel-terminated-holder-backup-release');
      await sentinel(tq).terminate('test done');
    });
  });

  test('error boundary: a DD channel cut at `replication enable` (REPLICATE, begun beside OPEN) is retried and the cycle completes; a rejected login fails at once', async () => {
    await lab({});
    const tq = `boundary-${seq}`;
    t.lab.addFault({ device: 'vault-dd', match: '^replication enable', kind: 'drop', times: 1 });
    const w = await worker(tq);
    await w.runUntil(async () => {
      const result = await (await start(tq)).result();
      expect(result.outcome).toBe('validated');
    });
    // Wrong password for the vault DD: AuthenticationError is not retryable, PREFLIGHT fails on its first attempt.
    const bad = join(t.dir, 'wrong-password');
    writeFileSync(bad, 'not-the-password\n', { mode: 0o600 });
    t.config.vaults[0].vault.dd.password = { file: bad };
    const tq2 = `auth-${seq}`;
    const w2 = await worker(tq2);
    await w2.runUntil(async () => {
      const handle = await start(tq2);
      const err = await handle.result().catch((e: unknown) => e);
      expect(((err as WorkflowFailedError).cause as Error).message).toMatch(/rejected the login/);
      const history = await handle.fetchHistory();
      const starts = (history.events ?? []).filter((e) => e.activityTaskStartedEventAttributes);
      expect(starts.every((e) => (e.activityTaskStartedEventAttributes!.attempt ?? 1) === 1)).toBe(true);
      const failed = (history.events ?? []).find((e) => e.activityTaskFailedEventAttributes);
      expect(failed?.activityTaskFailedEventAttributes?.failure?.applicationFailureInfo).toMatchObject({ type: 'AuthenticationError', nonRetryable: true });
    });
    await sentinel(tq).terminate('test done').catch(() => undefined);
    await sentinel(tq2).terminate('test done').catch(() => undefined);
  });
});

