/**
 * The cycle end to end with the second lock method and each backup software: (1) `lock.method: rest` with
 * Bareos — the cycle waits for a running protected job, holds the jobs before OPEN, re-asserts the hold after a
 * Director reload while the gap is open, locks every file through the DD REST API, releases after CLOSE;
 * (2) atime locks with NetWorker, aborted during CONVERGE — the hold is still released, after the gap closed.
 */
import { readFileSync } from 'node:fs';
import { Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createWorker } from '../workers/worker';
import { isolatedRecoveryCycle } from '../workflows';
import { statusQuery, type CycleResult, type Phase } from '../workflows/cycle-messages';
import { abortSignal } from '../workflows/operator-messages';
import { bundleWorkflows, connectTemporal, describeTemporal } from './helpers/temporal';
import { startTestLab, VAULT, type TestLab } from './helpers/lab';
import { waitFor, withRest } from './helpers/rest';

jest.setTimeout(180_000);

let bundle: WorkflowBundleWithSourceMap;
let temporal: Awaited<ReturnType<typeof connectTemporal>>;
let t: TestLab | undefined;
const HOUR = 3600_000;

/** Until the cycle is in one of `phases` (REPLICATE can pass within one workflow turn: its work starts with OPEN). */
async function waitForPhase(handle: WorkflowHandle, phases: Phase[], timeoutMs = 60_000): Promise<void> {
  await waitFor(async () => phases.includes((await handle.query(statusQuery).catch(() => undefined))?.phase as Phase), timeoutMs, `phase ${phases.join(' or ')}`);
}

async function recordHistory(handle: WorkflowHandle, name: string): Promise<void> {
  if (process.env.IR_RECORD_HISTORIES !== '1') return;
  const dir = resolve(__dirname, 'histories');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${name}.json`), historyToJSON(await handle.fetchHistory()));
}

const control = (p: string, body: unknown = {}) => fetch(`${t!.lab.endpoints.control}${p}`, { method: 'POST', body: JSON.stringify(body) }).then((r) => r.json());

describeTemporal('the cycle with the DD REST lock method and backup-software coordination', () => {
  beforeAll(async () => {
    bundle = await bundleWorkflows();
    temporal = await connectTemporal();
  });
  afterAll(async () => {
    await temporal?.close();
  });
  afterEach(async () => {
    expect(t!.lab.vaultPortsDown()).toBe(true);
    expect(t!.lab.replication().enabled).toBe(false);
    await t!.close();
    t = undefined;
  });

  test('rest lock + Bareos: waits for the running job, holds before OPEN, re-asserts after a reload, locks over REST, releases after CLOSE', async () => {
    t = await startTestLab({
      bandwidthBytesPerSec: 1024 * 1024, // ~4 s of replication: time for a Director reload while the gap is open
      rest: { bareosJobs: [{ name: 'backup-prod-fs', client: 'prod-fs-fd', trigger: 'NightlyProd', everyMs: HOUR, durationMs: 2000 }], networkerJobs: [] },
    });
    const config = withRest(t.config, t.lab, { lock: 'rest', backup: 'bareos' });
    const bareos = t.lab.rest.timelines.bareos;
    const w = await createWorker({ connection: temporal.native, config, taskQueue: 'rest-bareos', workflowBundle: bundle });
    const result = await w.runUntil(async () => {
      const job = (await control('/backup/bareos/jobs/backup-prod-fs/run', { durationMs: 8000 })) as { id: number };
      const handle = await temporal.client.workflow.start(isolatedRecoveryCycle, { taskQueue: 'rest-bareos', workflowId: `rest-bareos-${Date.now()}`, args: [VAULT, {}] });
      await waitForPhase(handle, ['REPLICATE', 'CONVERGE']); // the gap is open
      expect(bareos.isJobEnabled('backup-prod-fs')).toBe(false);
      expect(bareos.runs.find((r) => r.id === job.id)!.state).toBe('ok'); // the gap opened after the job finished
      await control('/backup/bareos/reload'); // resets the disable, as a real Director reload does
      await waitFor(() => !bareos.isJobEnabled('backup-prod-fs'), 15_000, 'the hold to be re-asserted');
      const r = await handle.result();
      await Worker.runReplayHistory({ workflowBundle: bundle }, await handle.fetchHistory(), handle.workflowId);
      await recordHistory(handle, 'cycle-rest-lock-bareos');
      return { r, job };
    });
    const { r, job } = result;
    expect(r.outcome).toBe('validated');
    expect(r.copy).toMatchObject({ lockMethod: 'rest', lockMode: 'governance' });
    const manifest = readFileSync(r.validation!.copy.path, 'utf8').split('\n')[0].replace(/^\\?[0-9a-f]+ [ *]/, '');
    const lock = t.lab.lockOf(`${r.copyId}/${manifest}`);
    expect(lock.locked).toBe(true);
    expect(lock.until!.getTime()).toBeGreaterThanOrEqual(Date.parse(r.copy!.lockedUntil) - 1000);
    // What was held and released, and when: the hold spans the whole exposure window.
    const b = r.backup!;
    expect(b.software).toBe('bareos');
    expect(b.items).toEqual([{ kind: 'job', name: 'backup-prod-fs', held: true }]);
    expect(b.waitedFor.map((j) => j.id)).toEqual([String(job.id)]);
    expect(Date.parse(b.heldAt!)).toBeLessThanOrEqual(Date.parse(r.exposure.openedAt!));
    expect(Date.parse(b.releasedAt!)).toBeGreaterThanOrEqual(Date.parse(r.exposure.closedAt!));
    expect(b.reasserted!.length).toBeGreaterThanOrEqual(1);
    expect(bareos.isJobEnabled('backup-prod-fs')).toBe(true);
    const md = readFileSync(r.report!.markdownPath, 'utf8');
    expect(md).toMatch(/\| backup hold \| bareos: waited [\d.]+ s for backup-prod-fs #\d+; held job backup-prod-fs at .*, released .*; hold re-asserted/);
    expect(md).toContain('set through the DD REST API');
    // No secret of the REST faces in the history.
    const hist = readFileSync(r.report!.path, 'utf8');
    for (const f of [t.lab.endpoints.rest.bareos.passwordFile, t.lab.endpoints.rest.vaultDdRest.passwordFile]) expect(hist).not.toContain(readFileSync(f, 'utf8').trim());
    await waitFor(() => t!.lab.rest.ddRest.openConnections() === 0 && t!.lab.rest.bareos.openConnections() === 0, 5000, 'connections to close');
    expect(t.lab.rest.ddRest.sessions()).toBe(0);
  });

  test('atime lock + NetWorker, aborted during CONVERGE: the gap closes, then the workflow hold is released', async () => {
    t = await startTestLab({
      bandwidthBytesPerSec: 64 * 1024, // converging takes a minute: time to abort
      rest: { bareosJobs: [], networkerJobs: [{ name: 'prod-fs', client: 'prod-fs.lab', trigger: 'Gold/prod-fs', everyMs: HOUR, durationMs: 1000 }] },
    });
    const config = withRest(t.config, t.lab, { lock: 'atime', backup: 'networker' });
    const nw = t.lab.rest.timelines.networker;
    const w = await createWorker({ connection: temporal.native, config, taskQueue: 'atime-nw', workflowBundle: bundle });
    const r = await w.runUntil(async () => {
      const handle = await temporal.client.workflow.start(isolatedRecoveryCycle, { taskQueue: 'atime-nw', workflowId: `atime-nw-${Date.now()}`, args: [VAULT, {}] });
      await waitForPhase(handle, ['CONVERGE']);
      expect(nw.isTriggerEnabled('Gold/prod-fs')).toBe(false);
      await handle.signal(abortSignal, { reason: 'drill the abort', by: 'dave' });
      const err = await handle.result().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(WorkflowFailedError);
      await recordHistory(handle, 'cycle-networker-aborted');
      return ((err as WorkflowFailedError).cause as any).details[0] as CycleResult;
    });
    expect(r.outcome).toBe('aborted');
    expect(r.backup).toMatchObject({ software: 'networker', items: [{ kind: 'workflow', name: 'Gold/prod-fs', held: true }] });
    expect(Date.parse(r.backup!.releasedAt!)).toBeGreaterThanOrEqual(Date.parse(r.exposure.closedAt!));
    expect(nw.isTriggerEnabled('Gold/prod-fs')).toBe(true);
    expect(readFileSync(r.report!.markdownPath, 'utf8')).toMatch(/\| backup hold \| networker: held workflow Gold\/prod-fs at .*, released 20/);
  });
});
