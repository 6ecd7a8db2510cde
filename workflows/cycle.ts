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
import {
  abortSignal,
  IrGapState,
  IrPhase,
  IrVault,
  IrVerdict,
  parseAbortRequest,
  statusQuery,
  type CyclePolicy,
  type CycleResult,
  type CycleStatus,
  type GapState,
  type Outcome,
  type Phase,
} from './messages';

type Activities = ReturnType<typeof createActivities>;

// Errors that retrying cannot fix: bad config, a host key nobody pinned, wrong credentials, a device saying no.
const permanent = ['ConfigError', 'UnknownHostKeyError', 'HostKeyMismatchError', 'AuthenticationError', 'DeviceCommandError', 'LockError'];

const { preflight, recordReport } = proxyActivities<Activities>({
  startToCloseTimeout: '2 minutes',
  retry: { maximumAttempts: 5, initialInterval: '1s', nonRetryableErrorTypes: permanent },
});

// Activities that open part of the gap: on abort the workflow waits until they have really stopped, so a
// late `no shutdown` or `replication enable` can never land after the close path verified the gap shut.
const { openLink, enableReplication } = proxyActivities<Activities>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '30 seconds',
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  retry: { maximumAttempts: 3, initialInterval: '2s', nonRetryableErrorTypes: permanent },
});

// The immutability probe (activities/probe.ts): its own errors never fail the cycle, they go into the report.
const { probeImmutability } = proxyActivities<Activities>({
  startToCloseTimeout: '5 minutes',
  retry: { maximumAttempts: 3, initialInterval: '2s', nonRetryableErrorTypes: permanent },
});

const { lockCopy } = proxyActivities<Activities>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '30 seconds',
  retry: { maximumAttempts: 3, initialInterval: '2s', nonRetryableErrorTypes: permanent },
});

// Long polls and hashing heartbeat; a lost worker is noticed within the heartbeat timeout and the
// retry resumes from the last heartbeat's checkpoint.
const { awaitSync, hashTree, validateCopy } = proxyActivities<Activities>({
  startToCloseTimeout: '24 hours',
  heartbeatTimeout: '10 seconds',
  retry: { maximumAttempts: 5, initialInterval: '1s', nonRetryableErrorTypes: [...permanent, 'SyncStalledError'] },
});

// The close path never gives up: unlimited attempts (maximumAttempts unset), backoff capped at a minute,
// every error retried.
const { closeLink } = proxyActivities<Activities>({
  startToCloseTimeout: '5 minutes',
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1 minute' }, // no maximumAttempts: unlimited
});

function copyIdFor(startTime: Date, runId: string): string {
  const stamp = startTime.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  // Run ids are UUIDv7: the head is a timestamp, the tail is random.
  return `${stamp}-${runId.replace(/-/g, '').slice(-8)}`;
}

function rootMessage(err: unknown): string {
  let e: any = err;
  while (e?.cause) e = e.cause;
  return e?.message ?? String(err);
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

  setHandler(statusQuery, () => status);
  setHandler(abortSignal, (payload) => {
    const parsed = parseAbortRequest(payload);
    if (!parsed.ok) {
      // A signal cannot answer its sender: say it in the log and the status query, change nothing.
      status.rejectedMessages.push(`abort rejected: ${parsed.error}`);
      log.warn('abort signal rejected', { error: parsed.error });
      return;
    }
    if (status.abort) return;
    if (!['PREFLIGHT', 'OPEN', 'REPLICATE', 'CONVERGE', 'LOCK', 'VALIDATE'].includes(status.phase)) {
      status.rejectedMessages.push(`abort from ${parsed.value.by} arrived in ${status.phase}: the gap is already being closed or is closed`);
      return;
    }
    status.abort = { ...parsed.value, at: new Date().toISOString() };
    log.warn('abort requested', { by: parsed.value.by, reason: parsed.value.reason, phase: status.phase });
    main.cancel();
  });

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

  enter('PREFLIGHT');
  let gapTouched = false;
  let failure: unknown;
  let policy: CyclePolicy | undefined;
  try {
    await main.run(async () => {
      const plan = await preflight(vaultId, policyIn);
      policy = plan.policy;
      status.exposure.maxOpenSeconds = policy.maxOpenSeconds;
      // A gap found open (a hand-opened port, an earlier crash) is ours to close from here on.
      status.gap = plan.gapOpenAtStart ? 'open' : 'closed';
      if (plan.gapOpenAtStart) log.warn('gap found open at start', { detail: plan.gapDetail });

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
      await openLink(vaultId, policy.linkUpTimeoutSeconds, policy.maxOpenSeconds);
      status.gap = 'open';

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
      : status.abort && isCancellation(err)
        ? `aborted by ${status.abort.by}: ${status.abort.reason}`
        : rootMessage(err);
    log.error('cycle interrupted', { phase: status.phase, error: status.lastError });
  } finally {
    maxOpenTimer.cancel();
    if (gapTouched) {
      enter('CLOSE', 'closing');
      const closed = await CancellationScope.nonCancellable(() => closeLink(vaultId));
      status.gap = 'closed';
      status.exposure.closedAt = closed.verifiedAt;
      if (status.exposure.openedAt) {
        status.exposure.seconds = (Date.parse(closed.verifiedAt) - Date.parse(status.exposure.openedAt)) / 1000;
      }
    } else {
      status.gap = 'closed';
    }
  }

  const cancelled = CancellationScope.current().consideredCancelled;
  const outcome: Outcome = !failure
    ? status.verdict === 'clean'
      ? 'validated'
      : 'suspect'
    : forcedClose
      ? 'failed'
      : status.abort && isCancellation(failure)
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
  enter('DONE');
  Object.assign(result, status, { outcome, evidence: result.report.evidence });

  if (outcome === 'cancelled') throw failure;
  if (failure) {
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
