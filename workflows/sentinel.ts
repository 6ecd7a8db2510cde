/**
 * gapSentinel(vaultId): one per vault (fixed workflow id, see sentinelWorkflowId), long-running, continue-as-new.
 * It owns the vault hold (one operation per vault, however it was started) and watches the gap:
 * - hold: requests queue in order; the holder keeps the vault until it releases it. There is no lease: a holder is
 *   only ever dropped when Temporal says its run has ended (terminated, timed out, ...) without releasing, and then
 *   only after the sentinel itself has closed the gap.
 * - watch: every period, with no holder, it asks the devices whether any part of the gap is open; if so it takes
 *   the hold itself, closes the gap through the same close activity as the cycle, records an incident and alerts.
 * Operators can pause the watch for maintenance with a reason; a pause always expires by itself.
 */
import {
  allHandlersFinished,
  CancellationScope,
  condition,
  makeContinueAsNewFunc,
  getExternalWorkflowHandle,
  log,
  patched,
  proxyActivities,
  setHandler,
  setWorkflowOptions,
  workflowInfo,
} from '@temporalio/workflow';
import type { createActivities } from '../activities';
import { checkPauseRequest, holdAnswerSignal, pauseSentinelUpdate, releaseHoldSignal, requestHoldSignal, resumeSentinelUpdate, sentinelStatusQuery, type HoldAnswer, type HoldRequest, type Holder, type Incident, type SentinelBackupRelease, type SentinelStatus } from './sentinel-messages';
import { rootMessage } from './failure';

type Activities = ReturnType<typeof createActivities>;

const { checkGap, holderStatus, recordIncident } = proxyActivities<Activities>({
  startToCloseTimeout: '2 minutes',
  heartbeatTimeout: '5 seconds',
  retry: { initialInterval: '1s', maximumInterval: '30 seconds', maximumAttempts: 5 },
});

// The same close as the cycle's: unlimited retries, backoff capped at a minute.
const { closeLink } = proxyActivities<Activities>({
  startToCloseTimeout: '5 minutes',
  heartbeatTimeout: '5 seconds',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

// A backup hold an ended holder left behind (its jobs or schedules switched off): released with the close path's
// backoff, but a bounded number of attempts per round, so the gap watch never stalls behind a backup server that
// is down; a release that still fails is tried again every period until it succeeds (status.backupReleasePending).
const { backupRelease } = proxyActivities<Activities>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 5 },
});

/**
 * The patch id of the backup release after a holder ended without releasing (issue 11 item 5). Worker versioning
 * cannot replace this guard: the sentinel is AUTO_UPGRADE (below), so a run begun on an older version replays on
 * the newer code. Remove it (deprecatePatch first) once no sentinel run older than the patch exists.
 */
export const SENTINEL_BACKUP_RELEASE_PATCH = 'sentinel-backup-release';


export interface SentinelInput {
  vaultId: string;
  /** The vault's sentinel.period as the starter read it; every gap check re-reads the configuration. */
  periodSeconds?: number;
  /** Carried over continue-as-new. */
  state?: Omit<SentinelStatus, 'vaultId' | 'periodSeconds'> & { queue: HoldRequest[]; periodSeconds?: number };
}

const DEFAULT_PERIOD_SECONDS = 60;
const ITERATIONS_PER_RUN = 200; // a few events per period: far below the history limits, then continue-as-new

// The watch follows each release: its next task runs on the deployment's current version (patches guard the rest).
setWorkflowOptions({ versioningBehavior: 'AUTO_UPGRADE' }, gapSentinel);

export async function gapSentinel(input: SentinelInput): Promise<never> {
  const { vaultId } = input;
  const me = { workflowId: workflowInfo().workflowId, runId: workflowInfo().runId };
  const carried = input.state;
  const status: SentinelStatus = {
    vaultId,
    holder: carried?.holder,
    waiting: [],
    pause: carried?.pause,
    lastCheck: carried?.lastCheck,
    lastClosedAt: carried?.lastClosedAt,
    incidents: carried?.incidents ?? 0,
    lastIncident: carried?.lastIncident,
    backupReleasePending: carried?.backupReleasePending,
    lastBackupRelease: carried?.lastBackupRelease,
    periodSeconds: carried?.periodSeconds ?? input.periodSeconds ?? DEFAULT_PERIOD_SECONDS,
  };
  const queue: HoldRequest[] = [...(carried?.queue ?? [])];
  const answers: Array<{ to: Holder; answer: HoldAnswer }> = [];
  let generation = 0; // bumped whenever the hold changes hands: a gap reading older than that is stale
  let wake = false;

  const same = (a?: Holder, b?: Holder) => !!a && !!b && a.workflowId === b.workflowId && a.runId === b.runId;
  const heldBySelf = () => same(status.holder, me);
  const now = () => new Date().toISOString();
  const paused = () => !!status.pause && Date.parse(status.pause.until) > Date.now();

  setHandler(sentinelStatusQuery, () => ({ ...status, waiting: queue.map(({ workflowId, runId }) => ({ workflowId, runId })) }));

  setHandler(requestHoldSignal, (req) => {
    if (!req || typeof req.workflowId !== 'string' || typeof req.runId !== 'string') {
      log.warn('hold request rejected: malformed', { req });
      return;
    }
    if (same(status.holder, req)) {
      answers.push({ to: req, answer: { state: 'granted', at: status.holder!.since } }); // a retried request
    } else if (!status.holder && queue.length === 0) {
      status.holder = { workflowId: req.workflowId, runId: req.runId, since: now() };
      generation++;
      answers.push({ to: req, answer: { state: 'granted', at: status.holder.since, gapSeenClosedAt: status.lastClosedAt } });
    } else {
      const heldBy = status.holder?.workflowId ?? queue[0].workflowId;
      const since = status.holder?.since ?? now();
      if (req.onBusy === 'refuse') {
        answers.push({ to: req, answer: { state: 'refused', heldBy, since } });
      } else {
        if (!queue.some((q) => same(q, req))) queue.push(req);
        answers.push({ to: req, answer: { state: 'waiting', heldBy, since } });
      }
    }
    wake = true;
  });

  setHandler(releaseHoldSignal, (h) => {
    if (same(status.holder, h)) {
      status.holder = undefined;
      generation++;
    }
    const i = queue.findIndex((q) => same(q, h));
    if (i >= 0) queue.splice(i, 1); // a waiting request withdrawn
    wake = true;
  });

  setHandler(
    pauseSentinelUpdate,
    (req) => {
      status.pause = { reason: req.reason, by: req.by, until: new Date(Date.now() + req.minutes * 60_000).toISOString() };
      log.warn('sentinel paused', { vaultId, ...status.pause });
      wake = true;
      return status;
    },
    { validator: (req) => void checkPauseRequest(req), description: 'Pause the gap watch for maintenance: {"reason","by","minutes"}; it ends by itself.' },
  );
  setHandler(
    resumeSentinelUpdate,
    () => {
      status.pause = undefined;
      wake = true;
      return status;
    },
    { description: 'End a pause now: {"by"}' },
  );

  /** Sends queued answers; a requester that has gone away is dropped from the queue. */
  const sendAnswers = async () => {
    while (answers.length) {
      const { to, answer } = answers.shift()!;
      try {
        await getExternalWorkflowHandle(to.workflowId, to.runId).signal(holdAnswerSignal, answer);
      } catch (err) {
        log.warn('hold answer not delivered: requester gone', { to, error: (err as Error).message });
        if (same(status.holder, to) && answer.state === 'granted' && !heldBySelf()) {
          status.holder = undefined;
          generation++;
        }
        const i = queue.findIndex((q) => same(q, to));
        if (i >= 0) queue.splice(i, 1);
      }
    }
  };

  const grantNext = () => {
    if (status.holder || !queue.length) return;
    const next = queue.shift()!;
    status.holder = { workflowId: next.workflowId, runId: next.runId, since: now() };
    generation++;
    answers.push({ to: next, answer: { state: 'granted', at: status.holder.since, gapSeenClosedAt: status.lastClosedAt } });
  };

  // A question the world did not answer (devices unreachable after the retries): say so, and ask again next period.
  const unanswered = (what: string) => (err: unknown) => {
    log.error(`sentinel: ${what} failed`, { vaultId, error: (err as Error).message });
    status.lastCheck = { at: now(), open: null, detail: `${what} failed: ${(err as Error).message}` };
    return undefined;
  };

  /**
   * Releases the backup hold recorded for the vault (activities/backup.ts: only what the ended holder switched off
   * is switched on again). Call it holding the vault: no operation may take a backup hold meanwhile.
   */
  const releaseBackupAsSentinel = async (holder: string): Promise<SentinelBackupRelease> => {
    let r: SentinelBackupRelease;
    try {
      const rec = await CancellationScope.nonCancellable(() => backupRelease(vaultId));
      r = rec
        ? { state: 'released', at: rec.releasedAt ?? now(), software: rec.software, released: rec.items.filter((i) => i.held).map((i) => `${i.kind} ${i.name}`) }
        : { state: 'none', at: now() };
      if (rec) log.warn('released the backup hold an ended holder left behind', { vaultId, holder, released: r.released });
      status.backupReleasePending = undefined;
    } catch (err) {
      r = { state: 'failed', at: now(), error: rootMessage(err) };
      log.error('backup hold left behind not released: trying again next period', { vaultId, holder, error: r.error });
      status.backupReleasePending = { since: status.backupReleasePending?.since ?? now(), holder, lastError: r.error! };
    }
    status.lastBackupRelease = r;
    return r;
  };

  /** Closes the gap holding the vault itself (then, for an ended holder, releases its backup hold) and records the incident. */
  const closeAsSentinel = async (incident: Omit<Incident, 'closedAt' | 'closedBy' | 'how'>, releaseBackup = false) => {
    status.holder = { ...me, since: now() };
    generation++;
    const closed = await closeLink(vaultId);
    status.lastClosedAt = closed.verifiedAt;
    // The gap first, then the backup software: the jobs the ended holder held run again once the gap is shut.
    const backupHold = releaseBackup ? await releaseBackupAsSentinel(incident.holder?.workflowId ?? 'unknown') : undefined;
    const full: Incident = {
      ...incident,
      closedAt: closed.verifiedAt,
      closedBy: me.workflowId,
      how: 'closeLink: replication disabled, every vault port shut and verified down',
      ...(backupHold ? { backupHold } : {}),
    };
    status.incidents++;
    status.lastIncident = full;
    await recordIncident(full);
    status.holder = undefined;
    generation++;
  };

  for (let i = 0; i < ITERATIONS_PER_RUN && !workflowInfo().continueAsNewSuggested; i++) {
    await sendAnswers();

    // A holder that Temporal says has ended without releasing the vault: close the gap first, then free it.
    if (status.holder && !heldBySelf()) {
      const held = status.holder;
      const state = await holderStatus({ workflowId: held.workflowId, runId: held.runId }).catch(unanswered('holder status'));
      if (state && state !== 'RUNNING' && same(status.holder, held)) {
        const check = (await checkGap(vaultId).catch(unanswered('gap check'))) ?? { detail: 'the devices did not answer' };
        log.warn('holder ended without releasing the vault: closing the gap', { vaultId, holder: held, state });
        await closeAsSentinel(
          {
            vaultId,
            kind: 'holder-ended-without-release',
            found: check.detail,
            openSinceAtLatest: held.since,
            holder: { workflowId: held.workflowId, runId: held.runId, status: state },
          },
          patched(SENTINEL_BACKUP_RELEASE_PATCH), // the holder may have left backup jobs switched off
        );
      }
    }

    // A backup hold that could not be released before: again, holding the vault so no operation takes one meanwhile.
    if (status.backupReleasePending && !status.holder) {
      status.holder = { ...me, since: now() };
      generation++;
      await releaseBackupAsSentinel(status.backupReleasePending.holder);
      status.holder = undefined;
      generation++;
    }

    grantNext();
    await sendAnswers();

    if (!status.holder && !paused()) {
      const before = generation;
      const check = await checkGap(vaultId).catch(unanswered('gap check'));
      if (!check) {
        await condition(() => wake, status.periodSeconds * 1000);
        continue;
      }
      status.periodSeconds = check.periodSeconds;
      status.lastCheck = { at: check.at, open: check.open, detail: check.detail };
      if (!check.open) status.lastClosedAt = check.at;
      // Act only on a reading no hold change has overtaken: an operation granted meanwhile owns the gap.
      else if (generation === before && !status.holder && !queue.length) {
        log.warn('gap open with no operation holding the vault: closing it', { vaultId, detail: check.detail });
        await closeAsSentinel({ vaultId, kind: 'gap-open-without-holder', found: check.detail, openSinceAtLatest: status.lastClosedAt });
      }
    }
    if (status.pause && !paused()) status.pause = undefined; // expired by itself

    grantNext();
    await sendAnswers();
    wake = false;
    await condition(() => wake || answers.length > 0, status.periodSeconds * 1000);
  }

  await condition(allHandlersFinished);
  await sendAnswers();
  // The next run starts on the deployment's current version (a new release takes the watch over at once).
  return makeContinueAsNewFunc<typeof gapSentinel>({ initialVersioningBehavior: 'AUTO_UPGRADE' })({
    vaultId,
    state: { ...status, waiting: [], queue, periodSeconds: status.periodSeconds },
  });
}
