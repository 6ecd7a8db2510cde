/**
 * The vault hold and the gap sentinel (workflows/sentinel.ts, workflows/hold.ts): requests, answers, incidents, the
 * sentinel's status and its maintenance pause.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import { TASK_QUEUE, type BackupRecord } from './cycle-messages';

/** Who holds (or asks for) a vault: a workflow execution, named by id and run. */
export interface Holder {
  workflowId: string;
  runId: string;
}

/** onBusy: what a second operation on a held vault does (vault config `hold.onBusy`). */
export interface HoldRequest extends Holder {
  onBusy: 'wait' | 'refuse';
}

/** The sentinel's answer to a hold request, sent to the requester as a signal. */
export type HoldAnswer =
  | { state: 'granted'; at: string; gapSeenClosedAt?: string }
  | { state: 'waiting' | 'refused'; heldBy: string; since: string };

export interface Incident {
  vaultId: string;
  kind: 'gap-open-without-holder' | 'holder-ended-without-release';
  found: string; // what the devices said was open
  openSinceAtLatest?: string; // the gap was open since this instant at the latest
  holder?: { workflowId: string; runId: string; status: string };
  closedAt: string;
  closedBy: string; // the sentinel's workflow id
  how: string;
  /**
   * holder-ended-without-release: the backup-software hold the holder left behind (activities/backup.ts), released
   * by the sentinel after the gap was closed. none: no hold was recorded; failed: retried every period until released.
   */
  backupHold?: SentinelBackupRelease;
}

/** What the sentinel did with a backup hold an ended holder left behind. */
export interface SentinelBackupRelease {
  state: 'released' | 'none' | 'failed';
  at: string;
  software?: BackupRecord['software'];
  /** What was switched back on, e.g. `job backup-prod-fs`. */
  released?: string[];
  error?: string;
}

export interface SentinelStatus {
  vaultId: string;
  holder?: Holder & { since: string };
  waiting: Holder[];
  pause?: { reason: string; by: string; until: string };
  lastCheck?: { at: string; open: boolean | null; detail: string }; // open null: the devices did not answer
  lastClosedAt?: string; // last instant the gap was seen closed
  incidents: number;
  lastIncident?: Incident;
  periodSeconds: number;
  /** A backup hold an ended holder left behind that could not be released yet: retried every period. */
  backupReleasePending?: { since: string; holder: string; lastError: string };
  lastBackupRelease?: SentinelBackupRelease;
}

export interface PauseRequest {
  reason: string;
  by: string;
  minutes: number;
}

export const requestHoldSignal = defineSignal<[HoldRequest]>('requestHold');
export const releaseHoldSignal = defineSignal<[Holder]>('releaseHold');
export const holdAnswerSignal = defineSignal<[HoldAnswer]>('holdAnswer');
export const sentinelStatusQuery = defineQuery<SentinelStatus>('sentinelStatus');
export const pauseSentinelUpdate = defineUpdate<SentinelStatus, [PauseRequest]>('pauseSentinel');
export const resumeSentinelUpdate = defineUpdate<SentinelStatus, [{ by: string }]>('resumeSentinel');

/** Longest pause an operator can ask for: a forgotten pause ends by itself. */
export const MAX_PAUSE_MINUTES = 24 * 60;

/**
 * The sentinel of a vault, one per vault and task queue (the workers serving one queue share one configuration,
 * so they are one deployment; a test's private queue gets its own sentinel).
 */
export const sentinelWorkflowId = (vaultId: string, taskQueue: string = TASK_QUEUE): string =>
  taskQueue === TASK_QUEUE ? `ir-sentinel-${vaultId}` : `ir-sentinel-${vaultId}@${taskQueue}`;

/** Checks a pause request; throws an Error naming the field and the fix (the update validator uses it). */
export function checkPauseRequest(input: unknown): PauseRequest {
  if (!input || typeof input !== 'object' || Array.isArray(input)) throw new Error('pause needs {"reason":"...","by":"...","minutes":N}');
  const o = input as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!['reason', 'by', 'minutes'].includes(k)) throw new Error(`pause has unknown field "${k}": use reason, by, minutes`);
  if (typeof o.reason !== 'string' || !o.reason.trim()) throw new Error('pause field "reason" is required: say why the sentinel must not close the gap');
  if (typeof o.by !== 'string' || !o.by.trim()) throw new Error('pause field "by" is required: who asks');
  if (typeof o.minutes !== 'number' || !Number.isFinite(o.minutes) || o.minutes <= 0 || o.minutes > MAX_PAUSE_MINUTES) {
    throw new Error(`pause field "minutes" must be a number in (0, ${MAX_PAUSE_MINUTES}]: a pause always ends by itself`);
  }
  return { reason: o.reason, by: o.by, minutes: o.minutes };
}
