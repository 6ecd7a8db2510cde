/**
 * isolatedRecoveryCycle: open the air gap, replicate, converge, lock a copy, validate it, close the gap,
 * record. Safety comes first: once a port may have gone up, the close path runs whatever happened
 * (failure, abort, cancel, the maxOpen timer) in a non-cancellable scope, and it retries until it succeeds.
 */
import {
  ActivityCancellationType,
  ApplicationFailure,
  CancellationScope,
  isCancellation,
  log,
  patched,
  proxyActivities,
  setHandler,
  sleep,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { createActivities } from '../activities';
import { BEFORE_OPEN_PATCH, DECIDE_PATCH, decisionNeeded, decisionOutcome, OperatorDesk } from './decide';
import { VaultHold } from './hold';
import {
  IrGapState,
  IrPhase,
  IrVault,
  IrVerdict,
  statusQuery,
  type CyclePolicy,
  type CycleResult,
  type CycleStatus,
  type GapState,
  type Outcome,
  type Phase,
  messageDescriptions,
} from './messages';
import { rootMessage } from './failure';

type Activities = ReturnType<typeof createActivities>;

/** Cycles from here on take the snapshot and ask for the sync while the link comes up, not after it. */
export const SNAPSHOT_WITH_OPEN_PATCH = 'ir-6-snapshot-with-open';

// Whether an error is worth retrying is the error's own classification, applied where it crosses into Temporal
// (activities/boundary.ts): no class-name lists here. Activities touching the gap heartbeat every second while
// they run (activities/liveness.ts), so a short heartbeat timeout hands a lost worker's attempt to another
// worker within seconds.

// These hold the vault (and the backup software's hold) while they run: a lost worker's attempt is retried after
// a missed heartbeat (every activity heartbeats each second), not after the whole start-to-close timeout.
const { preflight, recordReport, expireSnapshots } = proxyActivities<Activities>({
  startToCloseTimeout: '2 minutes',
  heartbeatTimeout: '10 seconds',
  retry: { maximumAttempts: 5, initialInterval: '1s' },
});

// Activities that open part of the gap: on abort the workflow waits until they have really stopped, so a
// late `no shutdown` or `replication enable` can never land after the close path verified the gap shut.
const { openLink, enableReplication, snapshotAndSync } = proxyActivities<Activities>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '5 seconds',
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  retry: { maximumAttempts: 3, initialInterval: '2s' },
});

// The immutability probe (activities/probe.ts): its own errors never fail the cycle, they go into the report.
const { probeImmutability } = proxyActivities<Activities>({
  startToCloseTimeout: '5 minutes',
  heartbeatTimeout: '10 seconds', // as below: a lost worker costs seconds, not the whole 5 minutes
  retry: { maximumAttempts: 3, initialInterval: '2s' },
});

const { lockCopy } = proxyActivities<Activities>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '5 seconds',
  retry: { maximumAttempts: 3, initialInterval: '2s' },
});

// Long polls and hashing heartbeat; a lost worker is noticed within the heartbeat timeout and the
// retry resumes from the last heartbeat's checkpoint.
const { awaitSync, awaitSnapshot, hashTree, validateCopy } = proxyActivities<Activities>({
  startToCloseTimeout: '24 hours',
  heartbeatTimeout: '5 seconds',
  retry: { maximumAttempts: 5, initialInterval: '1s' },
});

// The close path never gives up: unlimited attempts (maximumAttempts unset), backoff capped at a minute,
// every error retried.
const { closeLink } = proxyActivities<Activities>({
  startToCloseTimeout: '5 minutes',
  heartbeatTimeout: '5 seconds',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1 minute' }, // no maximumAttempts: unlimited
});

// Backup-software coordination (activities/backup.ts). Both wait for a cancelled activity to stop, so a hold
// being taken or re-asserted can never land after the release.
const { backupHold, backupKeepHold } = proxyActivities<Activities>({
  startToCloseTimeout: '24 hours', // bounded by backup.drainTimeout inside
  heartbeatTimeout: '30 seconds',
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  retry: { maximumAttempts: 3, initialInterval: '2s' },
});
// Releasing a hold retries like the close path: a backup schedule left disabled is an outage of its own.
const { backupRelease } = proxyActivities<Activities>({
  startToCloseTimeout: '2 minutes',
  heartbeatTimeout: '10 seconds', // a lost worker must not keep the backups held for the whole 2 minutes
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

function copyIdFor(startTime: Date, runId: string): string {
  const stamp = startTime.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  // Run ids are UUIDv7: the head is a timestamp, the tail is random.
  return `${stamp}-${runId.replace(/-/g, '').slice(-8)}`;
}


export async function isolatedRecoveryCycle(vaultId: string, policyIn: Partial<CyclePolicy> = {}): Promise<CycleResult> {
  const info = workflowInfo();
  // A server-side timeout ends the workflow without running its close path: refuse to start under one.
  if (info.runTimeoutMs || info.executionTimeoutMs) {
    throw ApplicationFailure.nonRetryable(
      `isolatedRecoveryCycle must be started without a workflow run or execution timeout (got ${info.runTimeoutMs ?? info.executionTimeoutMs} ms): ` +
        'the server would end it without closing the air gap. Bound the exposure with policy.maxOpenSeconds instead.',
      'ConfigError',
    );
  }
  const status: CycleStatus = {
    vaultId,
    copyId: copyIdFor(info.startTime, info.runId),
    phase: 'PREFLIGHT',
    gap: 'unknown',
    startedAt: new Date().toISOString(),
    phases: [],
    exposure: {},
    verdict: 'none',
    findings: [],
    rejectedMessages: [],
  };
  const main = new CancellationScope();
  const maxOpenTimer = new CancellationScope();
  let forcedClose = false;

  setHandler(statusQuery, () => status, { description: messageDescriptions.status });
  // approve/reject/abort as updates and signals (workflows/decide.ts); abort before CLOSE cancels `main`.
  const desk = new OperatorDesk(status, { abortRunning: () => main.cancel() });

  const enter = (phase: Phase, gap?: GapState) => {
    const now = new Date().toISOString();
    const last = status.phases[status.phases.length - 1];
    if (last && !last.endedAt) {
      last.endedAt = now;
      last.seconds = (Date.parse(now) - Date.parse(last.startedAt)) / 1000;
    }
    status.phase = phase;
    if (gap) status.gap = gap;
    if (phase !== 'DONE') status.phases.push({ phase, startedAt: now });
    upsertSearchAttributes([
      { key: IrVault, value: vaultId },
      { key: IrPhase, value: phase },
      { key: IrGapState, value: status.gap },
      { key: IrVerdict, value: status.verdict },
    ]);
  };

  // The gap closes once: right after CONVERGE with closeAfter=converge, else in the finally below.
  let gapClosed = false;
  const closeGap = async () => {
    if (gapClosed) return;
    maxOpenTimer.cancel();
    enter('CLOSE', 'closing');
    const closed = await CancellationScope.nonCancellable(() => closeLink(vaultId));
    gapClosed = true;
    status.gap = 'closed';
    status.exposure.closedAt = closed.verifiedAt;
    if (status.exposure.openedAt) {
      status.exposure.seconds = (Date.parse(closed.verifiedAt) - Date.parse(status.exposure.openedAt)) / 1000;
    }
  };
  const phaseSeconds = (phase: Phase) => status.phases.filter((p) => p.phase === phase).reduce((n, p) => n + (p.seconds ?? 0), 0);
  let snapshotRequested = false;
  let work = { replicationSeconds: 0, sourceHashSeconds: 0, isolatedDataSeconds: 0 };

  // One operation per vault: the vault's sentinel grants the hold (workflows/hold.ts, workflows/sentinel.ts).
  const hold = new VaultHold(vaultId, (a) => {
    status.hold = a.state === 'granted' ? { state: 'held', since: a.at } : { state: 'waiting', heldBy: a.heldBy, since: a.since };
  });
  let gapSeenClosedAt: string | undefined;

  enter('PREFLIGHT');
  let gapTouched = false;
  let failure: unknown;
  let policy: CyclePolicy | undefined;
  const backupScope = new CancellationScope();
  let backupTouched = false;
  let backupKept: Promise<unknown> | undefined;
  try {
    await main.run(async () => {
      if (patched('vault-hold')) gapSeenClosedAt = (await hold.acquire()).gapSeenClosedAt;
      const plan = await preflight(vaultId, policyIn);
      policy = plan.policy;
      desk.setPolicy(policy);
      status.exposure.maxOpenSeconds = policy.maxOpenSeconds;
      // A gap found open (a hand-opened port, an earlier crash) is ours to close from here on.
      status.gap = plan.gapOpenAtStart ? 'open' : 'closed';
      if (plan.gapOpenAtStart) {
        log.warn('gap found open at start', { detail: plan.gapDetail });
        status.inheritedGap = { found: plan.gapDetail, openSinceAtLatest: gapSeenClosedAt, closedBy: `this cycle's close path (${info.workflowId})` };
      }
      // approval.beforeOpen: a person approves before the gap opens; no approval, the gap is never touched.
      if (policy.approval?.beforeOpen && patched(BEFORE_OPEN_PATCH)) {
        if (plan.gapOpenAtStart) {
          // Nobody waits with the gap open (invariant 4): close it now, and let the next start ask.
          gapTouched = true;
          throw ApplicationFailure.nonRetryable('the gap was found open at start: closed it instead of asking for approval with the gap open; start the cycle again', 'SafetyError');
        }
        const d = await desk.ask('before-open', 'approval before the gap opens (approval.beforeOpen)');
        if (d.state !== 'approved') return;
      }

      if (patched('issue-11-backup-hold')) {
        // No protected backup job writes from here on, and none starts until the release below.
        backupTouched = true;
        status.backup = (await backupHold(vaultId)) ?? undefined;
        if (status.backup) backupKept = backupScope.run(() => backupKeepHold(vaultId)).catch(() => undefined);
      }

      // From here on a port may be up: the close path is armed before the first command.
      gapTouched = true;
      status.exposure.openedAt = new Date().toISOString();
      enter('OPEN', 'opening');
      const maxOpenMs = policy.maxOpenSeconds * 1000;
      maxOpenTimer
        .run(() => sleep(maxOpenMs))
        .then(
          () => {
            forcedClose = true;
            log.warn('maxOpen reached: forcing the close path', { maxOpenSeconds: policy?.maxOpenSeconds });
            main.cancel();
          },
          () => undefined, // timer cancelled: the cycle closed in time
        );
      const snapshot = `ir-${status.copyId}`; // = snapshotNameFor(copyId) in activities/replication.ts
      // The snapshot outlives the cycle's worst case by a day, so it ends even if nobody can expire it.
      const snapshotRetention = policy.maxOpenSeconds + 86400;
      let taken: Awaited<ReturnType<typeof snapshotAndSync>> | undefined;
      if (patched(SNAPSHOT_WITH_OPEN_PATCH)) {
        // REPLICATE starts with OPEN: the snapshot (the sync point, on the production DD), `replication enable` on
        // the vault DD and the sync request need no link (replication waits for it), so they run while the link
        // comes up and cost the window one round less. Nothing else runs until both have stopped (allSettled):
        // the close path never races a late `replication enable`.
        snapshotRequested = true;
        status.snapshot = { name: snapshot, sourceMtree: '' };
        const replicatingScope = new CancellationScope(); // inside main: an abort or maxOpen cancels it too
        const replicating = replicatingScope.run(() => snapshotAndSync(vaultId, snapshot, snapshotRetention));
        const [opened] = await Promise.allSettled([openLink(vaultId, policy.linkUpTimeoutSeconds, policy.maxOpenSeconds)]);
        if (opened.status === 'rejected') {
          replicatingScope.cancel();
          await Promise.allSettled([replicating]); // until it has really stopped (WAIT_CANCELLATION_COMPLETED)
          throw opened.reason;
        }
        status.gap = 'open';
        enter('REPLICATE'); // the link is up; the snapshot or the sync request may still be finishing
        taken = await replicating;
      } else {
        await openLink(vaultId, policy.linkUpTimeoutSeconds, policy.maxOpenSeconds);
        status.gap = 'open';
      }

      if (taken || patched('ir-6-snapshot-sync-point')) {
        // Point-in-time copies (issue 6): a snapshot defines the instant; the gap stays open only to move data.
        const order = policy.closeAfter ?? 'converge';
        let sync = taken;
        if (!sync) {
          enter('REPLICATE');
          snapshotRequested = true;
          status.snapshot = { name: snapshot, sourceMtree: '' };
          sync = await snapshotAndSync(vaultId, snapshot, snapshotRetention);
        }
        status.snapshot = { name: snapshot, sourceMtree: sync.sourceMtree, createdAt: sync.syncPoint };
        status.replication = { syncPoint: sync.syncPoint };

        enter('CONVERGE');
        const [arrived, source] = await Promise.all([
          awaitSnapshot(vaultId, snapshot, policy.pollIntervalSeconds, policy.stallSeconds),
          hashTree(vaultId, 'source', status.copyId, policy.algorithm, snapshot),
        ]);
        // The replica holds the snapshot taken at the sync point: synced as of exactly that instant.
        status.replication.syncedAsOf = sync.syncPoint;
        status.snapshot.replicatedAt = arrived.replicatedAt;
        work = { replicationSeconds: arrived.seconds, sourceHashSeconds: source.seconds, isolatedDataSeconds: 0 };

        if (order === 'converge') await closeGap();

        enter('LOCK');
        status.copy = await lockCopy(vaultId, status.copyId, policy.retentionSeconds, snapshot);

        enter('VALIDATE');
        const copy = await hashTree(vaultId, 'copy', status.copyId, policy.algorithm);
        const { findings, ...validation } = await validateCopy(vaultId, status.copyId, source, copy);
        status.validation = validation;
        status.verdict = validation.verdict;
        status.findings = findings;
        // With the seeds' order the gap was open for landing and hashing the copy too: data work, not overhead.
        if (!gapClosed) work.isolatedDataSeconds = phaseSeconds('LOCK') + (Date.now() - Date.parse(status.phases[status.phases.length - 1].startedAt)) / 1000;
        return;
      }

      enter('REPLICATE');
      const { syncPoint } = await enableReplication(vaultId);
      status.replication = { syncPoint };

      enter('CONVERGE');
      const synced = await awaitSync(vaultId, syncPoint, policy.pollIntervalSeconds, policy.stallSeconds);
      status.replication.syncedAsOf = synced.syncedAsOf;

      enter('LOCK');
      status.copy = await lockCopy(vaultId, status.copyId, policy.retentionSeconds);

      enter('VALIDATE');
      const [source, copy] = await Promise.all([
        hashTree(vaultId, 'source', status.copyId, policy.algorithm),
        hashTree(vaultId, 'copy', status.copyId, policy.algorithm),
      ]);
      const { findings, ...validation } = await validateCopy(vaultId, status.copyId, source, copy);
      status.validation = validation;
      status.verdict = validation.verdict;
      status.findings = findings;
    });
  } catch (err) {
    failure = err;
    status.lastError = forcedClose
      ? `the gap was open for maxOpen (${policy?.maxOpenSeconds} s): forced closed`
      : status.abort && (isCancellation(err) || main.consideredCancelled) // an abort that met a dying activity is still an abort
        ? `aborted by ${status.abort.by}: ${status.abort.reason}`
        : rootMessage(err);
    log.error('cycle interrupted', { phase: status.phase, error: status.lastError });
  } finally {
    maxOpenTimer.cancel();
    if (gapTouched) {
      await closeGap();
    } else {
      status.gap = 'closed';
    }
    if (backupTouched) {
      backupScope.cancel();
      await backupKept;
      const released = await CancellationScope.nonCancellable(() => backupRelease(vaultId));
      if (released) status.backup = released;
    }
  }

  if (snapshotRequested && status.snapshot) {
    // This cycle's snapshot only (its name carries the copy id), on every path, gap already closed.
    const name = status.snapshot.name;
    status.snapshot.expired = await CancellationScope.nonCancellable(() => expireSnapshots(vaultId, name)).catch((err: unknown) => ({
      source: `not expired: ${rootMessage(err)}`,
      replica: `not expired: ${rootMessage(err)}`,
    }));
    if (status.exposure.seconds !== undefined && status.replication?.syncedAsOf) {
      const data = Math.max(work.replicationSeconds, work.sourceHashSeconds) + work.isolatedDataSeconds;
      status.exposure.split = {
        order: policy?.closeAfter ?? 'converge',
        replicationSeconds: work.replicationSeconds,
        sourceHashSeconds: work.sourceHashSeconds,
        openSeconds: phaseSeconds('OPEN'),
        closeSeconds: phaseSeconds('CLOSE'),
        overheadSeconds: Math.max(0, status.exposure.seconds - data),
      };
    }
  }

  // DECIDE: after the close path (whatever the order of LOCK/VALIDATE and CLOSE), before RECORD.
  const why = failure ? undefined : decisionNeeded(policy, status.verdict);
  if (why && patched(DECIDE_PATCH)) {
    enter('DECIDE');
    try {
      await desk.ask('after-validate', why);
    } catch (err) {
      failure = err;
      status.lastError = rootMessage(err);
    }
  }

  const cancelled = CancellationScope.current().consideredCancelled;
  const outcome: Outcome = !failure
    ? (decisionOutcome(status) ?? (status.verdict === 'clean' ? 'validated' : 'suspect'))
    : forcedClose
      ? 'failed'
      : status.abort && (isCancellation(failure) || main.consideredCancelled)
        ? 'aborted'
        : cancelled
          ? 'cancelled'
          : 'failed';
  if (failure && status.verdict === 'none') status.verdict = 'failed';

  // With the gap closed and a copy landed: does the storage really refuse to change a locked file?
  if (status.copy && !cancelled && patched('worm-probe')) {
    status.probe = await probeImmutability(vaultId, status.copyId, `cycle ${status.copyId}`).catch((err: unknown) => ({
      canary: '',
      attempts: [],
      worm: false,
      error: rootMessage(err),
    }));
  }

  enter('RECORD');
  const result: CycleResult = { ...status, outcome };
  // Recording runs even when the workflow itself was cancelled: the report says exactly what happened.
  result.report = await CancellationScope.nonCancellable(() => recordReport(vaultId, status.copyId, result));
  status.reportPath = result.report.path;
  // The gap is closed and the report written: the vault is free for the next operation.
  await CancellationScope.nonCancellable(() => hold.release());
  if (status.hold) status.hold = { ...status.hold, state: 'released' };
  enter('DONE');
  Object.assign(result, status, { outcome, evidence: result.report.evidence });

  if (outcome === 'cancelled') throw failure;
  if (failure || outcome === 'aborted') {
    throw ApplicationFailure.create({
      type: outcome === 'aborted' ? 'CycleAborted' : 'CycleFailed',
      message: `${outcome === 'aborted' ? 'cycle aborted' : 'cycle failed'} in ${failedPhase(status)}: ${status.lastError}; gap ${status.gap}; report ${result.report.path}`,
      nonRetryable: true,
      details: [result],
    });
  }
  return result;
}

function failedPhase(status: CycleStatus): Phase {
  const beforeClose = status.phases.filter((p) => !['CLOSE', 'RECORD', 'DONE'].includes(p.phase));
  return beforeClose[beforeClose.length - 1]?.phase ?? 'PREFLIGHT';
}
