/**
 * Worker Deployment versioning on the real dev server against the lab: a cycle started on version N finishes on
 * N's worker (PINNED) while N+1, made current, takes the new starts; the sentinel (AUTO_UPGRADE) moves to N+1.
 * Both versions run the same workflow code here: what is shown is where Temporal routes each task, read back from
 * the histories (every workflow task completed says which version completed it) and the server's describe.
 */
import type { WorkflowHandle } from '@temporalio/client';
import { toCanonicalString, type WorkerDeploymentVersion } from '@temporalio/common';
import type { WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { temporal as proto } from '@temporalio/proto';
import { createWorker } from '../workers/worker';
import { currentVersion, promote } from '../workers/deployment';
import { isolatedRecoveryCycle } from '../workflows';
import { type CycleResult } from '../workflows/cycle-messages';
import { approveUpdate } from '../workflows/operator-messages';
import { sentinelWorkflowId } from '../workflows/sentinel-messages';
import { bundleWorkflows, connectTemporal, describeTemporal } from './helpers/temporal';
import { startTestLab, VAULT, type TestLab } from './helpers/lab';
import { waitForDecide, waitForStatus } from './helpers/decide';

jest.setTimeout(180_000);

/** The versions that completed the run's workflow tasks, in order, deduplicated. */
async function taskVersions(handle: WorkflowHandle): Promise<string[]> {
  const history = await handle.fetchHistory();
  const seen: string[] = [];
  for (const e of history.events ?? []) {
    const a = e.workflowTaskCompletedEventAttributes;
    if (!a) continue;
    const v = a.deploymentVersion?.buildId ?? a.workerDeploymentVersion ?? '(unversioned)';
    if (seen.at(-1) !== v) seen.push(v);
  }
  return seen;
}

const { VersioningBehavior } = proto.api.enums.v1;

describeTemporal('worker versioning: pinned cycles finish on their version, new starts and the sentinel move on', () => {
  let bundle: WorkflowBundleWithSourceMap;
  let temporal: Awaited<ReturnType<typeof connectTemporal>>;
  let t: TestLab;

  beforeAll(async () => {
    bundle = await bundleWorkflows();
    temporal = await connectTemporal();
    t = await startTestLab({}, { approval: { when: 'always', approvers: ['alice'] } });
  });
  afterAll(async () => {
    await t?.close();
    await temporal?.close();
  });

  test('upgrade from N to N+1 while a cycle waits for a decision', async () => {
    // A deployment of this test's own, so the run's other workers (the test build's version) are not disturbed.
    const deploymentName = `ir-upgrade-${Date.now()}`;
    const n: WorkerDeploymentVersion = { deploymentName, buildId: '0.2.0-n' };
    const n1: WorkerDeploymentVersion = { deploymentName, buildId: '0.2.1-n1' };
    const taskQueue = `upgrade-${Date.now()}`;
    const { client } = temporal;
    const worker = (version: WorkerDeploymentVersion) => createWorker({ connection: temporal.native, config: t.config, taskQueue, workflowBundle: bundle, version });
    const start = (id: string) => client.workflow.start(isolatedRecoveryCycle, { taskQueue, workflowId: `${taskQueue}-${id}`, args: [VAULT, {}] });

    const wN = await worker(n);
    const runningN = wN.run();
    const running = [runningN];
    const workers = [wN];
    try {
      expect(await promote(client, n, 'always')).toBe(`${toCanonicalString(n)} is now the current version`);

      // Cycle A on N: it runs to DECIDE (approval.when: always) and waits there, gap closed.
      const a = await start('a');
      await waitForDecide(a);
      const sentinel = client.workflow.getHandle(sentinelWorkflowId(VAULT, taskQueue));

      // N+1 comes up beside N and becomes current (IR_PROMOTE=always, the default of workers/main.ts).
      const wN1 = await worker(n1);
      workers.push(wN1);
      running.push(wN1.run());
      expect(await promote(client, n1, 'always')).toBe(`${toCanonicalString(n1)} is now the current version (was ${toCanonicalString(n)}: its running cycles finish there)`);
      expect(await currentVersion(client, deploymentName)).toEqual(n1);
      // if-none leaves a current version alone; never registers only.
      expect(await promote(client, n, 'if-none')).toContain(`${toCanonicalString(n1)} stays current`);

      // Cycle B starts on N+1; it waits for the vault hold that A still has (one operation per vault).
      const b = await start('b');
      await waitForStatus(b, (s) => s.hold?.state === 'waiting', 'B waiting for the hold');

      // A is decided and finishes: on N, although N+1 is current.
      await a.executeUpdate(approveUpdate, { args: [{ by: 'alice', reason: 'upgrade test' }] });
      const resultA = (await a.result()) as CycleResult;
      expect(resultA.outcome).toBe('validated');
      await waitForDecide(b);
      await b.executeUpdate(approveUpdate, { args: [{ by: 'alice', reason: 'upgrade test' }] });
      const resultB = (await b.result()) as CycleResult;
      expect(resultB.outcome).toBe('validated');

      expect(await taskVersions(a)).toEqual([n.buildId]);
      expect(await taskVersions(b)).toEqual([n1.buildId]);
      const [descA, descB, descS] = await Promise.all([a.describe(), b.describe(), sentinel.describe()]);
      expect(descA.raw.workflowExecutionInfo?.versioningInfo?.behavior).toBe(VersioningBehavior.VERSIONING_BEHAVIOR_PINNED);
      expect(descA.raw.workflowExecutionInfo?.versioningInfo?.deploymentVersion?.buildId).toBe(n.buildId);
      expect(descB.raw.workflowExecutionInfo?.versioningInfo?.deploymentVersion?.buildId).toBe(n1.buildId);

      // The sentinel started on N (A asked it for the hold) and moved to N+1 with its next task: AUTO_UPGRADE.
      const sentinelVersions = await taskVersions(sentinel);
      expect(sentinelVersions[0]).toBe(n.buildId);
      expect(sentinelVersions.at(-1)).toBe(n1.buildId);
      expect(descS.raw.workflowExecutionInfo?.versioningInfo?.behavior).toBe(VersioningBehavior.VERSIONING_BEHAVIOR_AUTO_UPGRADE);
      expect(descS.raw.workflowExecutionInfo?.versioningInfo?.deploymentVersion?.buildId).toBe(n1.buildId);

      // The gap, asked of the lab: closed.
      expect(t.lab.vaultPortsDown()).toBe(true);
      expect(t.lab.replication().enabled).toBe(false);

      await sentinel.terminate('test over');
    } finally {
      for (const w of workers) w.shutdown();
      await Promise.all(running);
    }
  });
});
