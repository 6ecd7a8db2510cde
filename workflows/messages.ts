/**
 * Signals, queries, search-attribute keys and the shapes they carry, shared by workflows and clients.
 * Nothing here may carry a secret: these values end up in workflow history and the UI.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';

export const TASK_QUEUE = 'isolated-recovery';

export type Phase =
  | 'PREFLIGHT'
  | 'OPEN'
  | 'REPLICATE'
  | 'CONVERGE'
  | 'LOCK'
  | 'VALIDATE'
  | 'CLOSE'
  | 'RECORD'
  | 'DONE';

/** closed: ports down and replication disabled; opening/open/closing while the cycle works the link. */
export type GapState = 'closed' | 'opening' | 'open' | 'closing' | 'unknown';
export type Verdict = 'clean' | 'suspect' | 'failed' | 'none';
export type Outcome = 'validated' | 'suspect' | 'failed' | 'aborted' | 'cancelled';

/** Values fixed for one run. Missing fields are taken from the vault's configuration at PREFLIGHT. */
export interface CyclePolicy {
  retentionSeconds: number; // how long the new copy is locked
  maxOpenSeconds: number; // the gap is forced closed after this long
  pollIntervalSeconds: number; // replication status polling while converging
  stallSeconds: number; // converging fails when no progress is seen for this long
  linkUpTimeoutSeconds: number; // ports must be oper-up within this
  algorithm: 'sha256' | 'blake3';
}

export interface AbortRequest {
  reason?: string;
  by?: string;
}

export interface PhaseTiming {
  phase: Phase;
  startedAt: string;
  endedAt?: string;
  seconds?: number;
}

export interface Finding {
  class: string;
  path: string;
  detail?: string;
  severity: 'critical' | 'high' | 'medium' | 'low' | 'info';
}

export interface CycleStatus {
  vaultId: string;
  copyId: string;
  phase: Phase;
  gap: GapState;
  startedAt: string;
  phases: PhaseTiming[];
  exposure: { openedAt?: string; closedAt?: string; seconds?: number; maxOpenSeconds?: number };
  verdict: Verdict;
  findings: Finding[];
  abort?: { by: string; reason: string; at: string };
  lastError?: string;
  rejectedMessages: string[];
  replication?: { syncPoint: string; syncedAsOf?: string; bytes?: number };
  copy?: CopyInfo;
  validation?: ValidationSummary;
  reportPath?: string;
  /** The vault hold (one operation per vault): waiting for another holder, or held since. */
  hold?: { state: 'waiting' | 'held' | 'released'; heldBy?: string; since?: string };
  /** The gap was found open at PREFLIGHT: what was open, since when at the latest, who closed it. */
  inheritedGap?: { found: string; openSinceAtLatest?: string; closedBy: string };
}

export interface CopyInfo {
  copyId: string;
  mtreePath: string; // e.g. /data/col1/ir-copies/<copyId>
  files: number;
  bytes: number;
  lockedUntil: string;
  lockMode: string;
  retentionAdjusted?: string; // why the requested retention was moved into the MTree's min/max
}

/** A manifest in the evidence store, referenced from history by path and digest (never the data). */
export interface ManifestRef {
  side: 'source' | 'copy';
  path: string;
  digest: string;
  root: string;
  algorithm: string;
  files: number;
  bytes: number;
  seconds: number;
}

export interface ValidationSummary {
  verdict: 'clean' | 'suspect';
  equal: boolean;
  counts: Record<string, number>;
  reasons: string[];
  scores: Record<string, number>;
  source: ManifestRef;
  copy: ManifestRef;
  previousCopyId?: string;
  detailPath: string; // full findings in the evidence store
}

export interface CycleResult extends CycleStatus {
  outcome: Outcome;
  report?: { path: string; digest: string; markdownPath: string };
}

export const abortSignal = defineSignal<[AbortRequest?]>('abort');
export const statusQuery = defineQuery<CycleStatus>('status');

export const IrVault = defineSearchAttributeKey('IrVault', SearchAttributeType.KEYWORD);
export const IrPhase = defineSearchAttributeKey('IrPhase', SearchAttributeType.KEYWORD);
export const IrGapState = defineSearchAttributeKey('IrGapState', SearchAttributeType.KEYWORD);
export const IrVerdict = defineSearchAttributeKey('IrVerdict', SearchAttributeType.KEYWORD);
export const searchAttributeNames = [IrVault.name, IrPhase.name, IrGapState.name, IrVerdict.name];

/** Workflow id for a vault's cycle started by hand or by CI: one id per vault keeps one cycle at a time. */
export const cycleWorkflowId = (vaultId: string): string => `ir-cycle-${vaultId}`;

/**
 * Checks an abort payload sent from the CLI or UI. Returns the request or an explanation naming the field.
 * Lenient on purpose where safety wins: no payload or a bare string still aborts.
 */
export function parseAbortRequest(input: unknown): { ok: true; value: Required<AbortRequest> } | { ok: false; error: string } {
  if (input === undefined || input === null) return { ok: true, value: { reason: 'no reason given', by: 'unknown' } };
  if (typeof input === 'string') return { ok: true, value: { reason: input || 'no reason given', by: 'unknown' } };
  if (typeof input !== 'object' || Array.isArray(input)) {
    return { ok: false, error: `abort payload must be an object like {"reason":"...","by":"..."}, got ${JSON.stringify(input)}` };
  }
  const obj = input as Record<string, unknown>;
  for (const key of Object.keys(obj)) {
    if (key !== 'reason' && key !== 'by') return { ok: false, error: `abort payload has unknown field "${key}": use only "reason" and "by"` };
  }
  if (obj.reason !== undefined && typeof obj.reason !== 'string') return { ok: false, error: 'abort payload field "reason" must be a string' };
  if (obj.by !== undefined && typeof obj.by !== 'string') return { ok: false, error: 'abort payload field "by" must be a string' };
  return { ok: true, value: { reason: (obj.reason as string) || 'no reason given', by: (obj.by as string) || 'unknown' } };
}

// ---- Vault hold and gap sentinel (workflows/sentinel.ts) ----

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
