/**
 * isolatedRecoveryCycle, read top to bottom as the process: PREFLIGHT → OPEN/REPLICATE → CONVERGE → CLOSE → LOCK →
 * VALIDATE → DECIDE → RECORD. Safety comes first: once a port may have gone up, the close path (close-path.ts) runs
 * whatever happened — failure, abort, cancel, the maxOpen timer — and retries until the gap is verified closed.
 *
 * Versioning: a cycle is PINNED to the worker deployment version that started it (workers/deployment.ts), so it
 * finishes on the code it began with and carries no patch branches; a change here is a new version.
 */
import { ApplicationFailure, CancellationScope, isCancellation, log, setHandler, setWorkflowOptions, workflowInfo } from '@temporalio/workflow';
import { awaitSnapshot, expireSnapshots, hashTree, lockCopy, openLink, preflight, probeImmutability, recordReport, snapshotAndSync, validateCopy } from './cycle-activities';
import { CycleBook, outcomeOf } from './cycle-book';
import { AirGap, BackupHold } from './close-path';
import { decisionNeeded, decisionOutcome, OperatorDesk } from './decide';
import { rootMessage } from './failure';
import { VaultHold } from './hold';
import { statusQuery, type CyclePolicy, type CycleResult } from './cycle-messages';
import { messageDescriptions } from './operator-messages';

type SyncPoint = Awaited<ReturnType<typeof snapshotAndSync>>;
type SourceManifest = Awaited<ReturnType<typeof hashTree>>;

setWorkflowOptions({ versioningBehavior: 'PINNED' }, isolatedRecoveryCycle);

export async function isolatedRecoveryCycle(vaultId: string, policyIn: Partial<CyclePolicy> = {}): Promise<CycleResult> {
  refuseServerTimeouts();
  const c = new Cycle(vaultId);
  try {
    await c.main.run(async () => {
      const policy = await c.preflight(policyIn);
      if (!policy) return; // not approved before the gap opened: nothing was touched
      const sync = await c.openAndReplicate(policy);
      const source = await c.converge(policy, sync);
      if ((policy.closeAfter ?? 'converge') === 'converge') await c.gap.close();
      await c.lock(policy);
      await c.validate(policy, source);
    });
  } catch (err) {
    c.interrupted(err);
  } finally {
    await c.gap.closeIfTouched(); // CLOSE on every path
    await c.backup.release();
  }
  await c.expireSnapshot();
  await c.decide();
  await c.probe();
  return c.record();
}

/** A server-side timeout would end the workflow without its close path: refuse to start under one. */
function refuseServerTimeouts(): void {
  const info = workflowInfo();
  if (!info.runTimeoutMs && !info.executionTimeoutMs) return;
  throw ApplicationFailure.nonRetryable(
    `isolatedRecoveryCycle must be started without a workflow run or execution timeout (got ${info.runTimeoutMs ?? info.executionTimeoutMs} ms): ` +
      'the server would end it without closing the air gap. Bound the exposure with policy.maxOpenSeconds instead.',
    'ConfigError',
  );
}

/** One run's steps and state. Each step is one phase of the process. */
class Cycle {
  readonly main = new CancellationScope();
  readonly book: CycleBook;
  readonly gap: AirGap;
  readonly backup: BackupHold;
  private readonly desk: OperatorDesk;
  private readonly hold: VaultHold;
  private failure: unknown;
  private snapshotRequested = false;

  constructor(private readonly vaultId: string) {
    this.book = new CycleBook(vaultId);
    const { status } = this.book;
    this.gap = new AirGap(vaultId, this.book, () => this.main.cancel());
    this.backup = new BackupHold(vaultId, this.book);
    setHandler(statusQuery, () => status, { description: messageDescriptions.status });
    // approve/reject/abort as updates and signals (workflows/decide.ts); abort before CLOSE cancels `main`.
    this.desk = new OperatorDesk(status, { abortRunning: () => this.main.cancel() });
    // One operation per vault: the vault's sentinel grants the hold (workflows/hold.ts, workflows/sentinel.ts).
    this.hold = new VaultHold(vaultId, (a) => {
      status.hold = a.state === 'granted' ? { state: 'held', since: a.at } : { state: 'waiting', heldBy: a.heldBy, since: a.since };
    });
    this.book.enter('PREFLIGHT');
  }

  private get status() {
    return this.book.status;
  }

  /** PREFLIGHT: the vault hold, checks, approval before open, the backup software's hold. Undefined: not approved. */
  async preflight(policyIn: Partial<CyclePolicy>): Promise<CyclePolicy | undefined> {
    const { gapSeenClosedAt } = await this.hold.acquire();
    const plan = await preflight(this.vaultId, policyIn);
    const policy = (this.book.policy = plan.policy);
    this.desk.setPolicy(policy);
    this.status.exposure.maxOpenSeconds = policy.maxOpenSeconds;
    this.status.gap = plan.gapOpenAtStart ? 'open' : 'closed';
    if (plan.gapOpenAtStart) {
      // A gap found open (a hand-opened port, an earlier crash) is ours to close from here on.
      log.warn('gap found open at start', { detail: plan.gapDetail });
      this.status.inheritedGap = { found: plan.gapDetail, openSinceAtLatest: gapSeenClosedAt, closedBy: `this cycle's close path (${workflowInfo().workflowId})` };
    }
    if (policy.approval?.beforeOpen) {
      if (plan.gapOpenAtStart) {
        // Nobody waits with the gap open (invariant 4): close it now, and let the next start ask.
        this.gap.mustClose();
        throw ApplicationFailure.nonRetryable('the gap was found open at start: closed it instead of asking for approval with the gap open; start the cycle again', 'SafetyError');
      }
      const d = await this.desk.ask('before-open', 'approval before the gap opens (approval.beforeOpen)');
      if (d.state !== 'approved') return undefined;
    }
    // No protected backup job writes from here on, and none starts until the release after CLOSE.
    await this.backup.hold();
    return policy;
  }

  /**
   * OPEN and REPLICATE side by side: the snapshot (the sync point, on the production DD), `replication enable` on the
   * vault DD and the sync request need no link (replication waits for it), so they run while the link comes up.
   * Nothing else runs until both have stopped: the close path never races a late `replication enable`.
   */
  async openAndReplicate(policy: CyclePolicy): Promise<SyncPoint> {
    this.gap.opening(policy.maxOpenSeconds);
    const snapshot = this.snapshotName();
    // The snapshot outlives the cycle's worst case by a day, so it ends even if nobody can expire it.
    const retention = policy.maxOpenSeconds + 86400;
    this.snapshotRequested = true;
    this.status.snapshot = { name: snapshot, sourceMtree: '' };
    const replicatingScope = new CancellationScope(); // inside main: an abort or maxOpen cancels it too
    const replicating = replicatingScope.run(() => snapshotAndSync(this.vaultId, snapshot, retention));
    const [opened] = await Promise.allSettled([openLink(this.vaultId, policy.linkUpTimeoutSeconds, policy.maxOpenSeconds)]);
    if (opened.status === 'rejected') {
      replicatingScope.cancel();
      await Promise.allSettled([replicating]); // until it has really stopped (WAIT_CANCELLATION_COMPLETED)
      throw opened.reason;
    }
    this.status.gap = 'open';
    this.book.enter('REPLICATE'); // the link is up; the snapshot or the sync request may still be finishing
    const sync = await replicating;
    this.status.snapshot = { name: snapshot, sourceMtree: sync.sourceMtree, createdAt: sync.syncPoint };
    this.status.replication = { syncPoint: sync.syncPoint };
    return sync;
  }

  /** CONVERGE: the sync-point snapshot complete on the replica, while the source manifest is hashed from it. */
  async converge(policy: CyclePolicy, sync: SyncPoint): Promise<SourceManifest> {
    this.book.enter('CONVERGE');
    const snapshot = this.snapshotName();
    const [arrived, source] = await Promise.all([
      awaitSnapshot(this.vaultId, snapshot, policy.pollIntervalSeconds, policy.stallSeconds),
      hashTree(this.vaultId, 'source', this.status.copyId, policy.algorithm, snapshot),
    ]);
    // The replica holds the snapshot taken at the sync point: synced as of exactly that instant.
    this.status.replication!.syncedAsOf = sync.syncPoint;
    this.status.snapshot!.replicatedAt = arrived.replicatedAt;
    this.book.work = { replicationSeconds: arrived.seconds, sourceHashSeconds: source.seconds, isolatedDataSeconds: 0 };
    return source;
  }

  /** LOCK: land the copy from the replica's snapshot and retention-lock every file. */
  async lock(policy: CyclePolicy): Promise<void> {
    this.book.enter('LOCK');
    this.status.copy = await lockCopy(this.vaultId, this.status.copyId, policy.retentionSeconds, this.snapshotName());
  }

  /** VALIDATE: hash the copy, compare it with the source manifest, look for signs of ransomware. */
  async validate(policy: CyclePolicy, source: SourceManifest): Promise<void> {
    this.book.enter('VALIDATE');
    const copy = await hashTree(this.vaultId, 'copy', this.status.copyId, policy.algorithm);
    const { findings, ...validation } = await validateCopy(this.vaultId, this.status.copyId, source, copy);
    this.status.validation = validation;
    this.status.verdict = validation.verdict;
    this.status.findings = findings;
    // With the seeds' order the gap was open for landing and hashing the copy too: data work, not overhead.
    if (!this.gap.closed) this.book.work.isolatedDataSeconds = this.book.phaseSeconds('LOCK') + this.book.runningPhaseSeconds();
  }

  /** Whatever interrupted the main scope: say why, in the operator's words where an abort or maxOpen did it. */
  interrupted(err: unknown): void {
    this.failure = err;
    this.status.lastError = this.gap.forcedClose
      ? `the gap was open for maxOpen (${this.book.policy?.maxOpenSeconds} s): forced closed`
      : this.aborted(err)
        ? `aborted by ${this.status.abort!.by}: ${this.status.abort!.reason}`
        : rootMessage(err);
    log.error('cycle interrupted', { phase: this.status.phase, error: this.status.lastError });
  }

  /** An abort that met a dying activity is still an abort. */
  private aborted(err: unknown): boolean {
    return Boolean(this.status.abort) && (isCancellation(err) || this.main.consideredCancelled);
  }

  /** This cycle's snapshot only (its name carries the copy id), on every path, gap already closed. */
  async expireSnapshot(): Promise<void> {
    const snapshot = this.status.snapshot;
    if (!this.snapshotRequested || !snapshot) return;
    snapshot.expired = await CancellationScope.nonCancellable(() => expireSnapshots(this.vaultId, snapshot.name)).catch((err: unknown) => ({
      source: `not expired: ${rootMessage(err)}`,
      replica: `not expired: ${rootMessage(err)}`,
    }));
    this.book.splitExposure();
  }

  /** DECIDE: after the close path (whatever the order of LOCK/VALIDATE and CLOSE), when the policy asks a person. */
  async decide(): Promise<void> {
    const why = this.failure ? undefined : decisionNeeded(this.book.policy, this.status.verdict);
    if (!why) return;
    this.book.enter('DECIDE');
    try {
      await this.desk.ask('after-validate', why);
    } catch (err) {
      this.failure = err;
      this.status.lastError = rootMessage(err);
    }
  }

  /** With the gap closed and a copy landed: does the storage really refuse to change a locked file? */
  async probe(): Promise<void> {
    if (!this.status.copy || this.cancelled()) return;
    this.status.probe = await probeImmutability(this.vaultId, this.status.copyId, `cycle ${this.status.copyId}`).catch((err: unknown) => ({
      canary: '',
      attempts: [],
      worm: false,
      error: rootMessage(err),
    }));
  }

  /** RECORD: the report, even when the workflow itself was cancelled; then the vault is free for the next operation. */
  async record(): Promise<CycleResult> {
    const { status } = this;
    const outcome = outcomeOf(status, {
      failure: this.failure,
      forcedClose: this.gap.forcedClose,
      aborted: this.aborted(this.failure),
      cancelled: this.cancelled(),
      decided: decisionOutcome(status),
    });
    if (this.failure && status.verdict === 'none') status.verdict = 'failed';
    this.book.enter('RECORD');
    const result: CycleResult = { ...status, outcome };
    result.report = await CancellationScope.nonCancellable(() => recordReport(this.vaultId, status.copyId, result));
    status.reportPath = result.report.path;
    await CancellationScope.nonCancellable(() => this.hold.release());
    if (status.hold) status.hold = { ...status.hold, state: 'released' };
    this.book.enter('DONE');
    Object.assign(result, status, { outcome, evidence: result.report.evidence });

    if (outcome === 'cancelled') throw this.failure;
    if (this.failure || outcome === 'aborted') {
      throw ApplicationFailure.create({
        type: outcome === 'aborted' ? 'CycleAborted' : 'CycleFailed',
        message: `${outcome === 'aborted' ? 'cycle aborted' : 'cycle failed'} in ${this.book.failedPhase()}: ${status.lastError}; gap ${status.gap}; report ${result.report.path}`,
        nonRetryable: true,
        details: [result],
      });
    }
    return result;
  }

  private cancelled(): boolean {
    return CancellationScope.current().consideredCancelled;
  }

  /** = snapshotNameFor(copyId) in activities/replication.ts */
  private snapshotName(): string {
    return `ir-${this.status.copyId}`;
  }
}
