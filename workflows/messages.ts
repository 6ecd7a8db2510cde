/**
 * Signals, queries, search-attribute keys and the shapes they carry, shared by workflows and clients.
 * Nothing here may carry a secret: these values end up in workflow history and the UI.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { ApprovalPolicy, CloseAfter } from '../config/schema';
import type { Phase } from '../vocabulary/phases';

export const TASK_QUEUE = 'isolated-recovery';

// The cycle's phases: one list in vocabulary/ (the lab aims faults at them too).
export { PHASES, type Phase } from '../vocabulary/phases';

/** closed: ports down and replication disabled; opening/open/closing while the cycle works the link. */
export type GapState = 'closed' | 'opening' | 'open' | 'closing' | 'unknown';
export type Verdict = 'clean' | 'suspect' | 'failed' | 'none';
/** approved: a suspect copy a person approved (counts as good); rejected: a person or the decision timeout said no. */
export type Outcome = 'validated' | 'suspect' | 'approved' | 'rejected' | 'failed' | 'aborted' | 'cancelled';

/** Values fixed for one run. Missing fields are taken from the vault's configuration at PREFLIGHT. */
export interface CyclePolicy {
  retentionSeconds: number; // how long the new copy is locked
  maxOpenSeconds: number; // the gap is forced closed after this long
  pollIntervalSeconds: number; // replication status polling while converging
  stallSeconds: number; // converging fails when no progress is seen for this long
  linkUpTimeoutSeconds: number; // ports must be oper-up within this
  algorithm: 'sha256' | 'blake3';
  approval?: ApprovalPolicy; // absent in runs started before DECIDE existed
  /**
   * When the gap closes: `converge` (default) right after the snapshot reached the replica and the source
   * manifest is built, so LOCK and VALIDATE run isolated; `validate` after VALIDATE (the seeds' order).
   */
  closeAfter?: CloseAfter;
}

/** Where the exposure went: replication and source hashing run side by side; the rest is orchestration. */
export interface ExposureSplit {
  order: CloseAfter;
  replicationSeconds: number; // sync request → the sync-point snapshot complete on the replica
  sourceHashSeconds: number; // source manifest from the production snapshot
  openSeconds: number; // OPEN phase (includes the devices' own link-up delay)
  closeSeconds: number; // CLOSE phase
  overheadSeconds: number; // exposure − max(replication, source hashing) [− landing and copy hashing with `validate`]
}

/** The MTree snapshot that defines the copy's instant (`ir-<copyId>`), made and expired by this cycle only. */
export interface SnapshotInfo {
  name: string;
  sourceMtree: string;
  createdAt?: string; // the source DD's clock when it was taken: the sync point
  replicatedAt?: string; // seen complete on the vault's replica
  expired?: { source: string; replica: string };
}

export interface AbortRequest {
  reason?: string;
  by?: string;
  ticket?: string;
}

/** The payload of `approve` and `reject` (update or signal): who decides, why, and an optional change ticket. */
export interface DecisionRequest {
  by: string;
  reason: string;
  ticket?: string;
}

export type DecisionStage = 'before-open' | 'after-validate';
export type DecisionState = 'pending' | 'approved' | 'rejected' | 'aborted' | 'cancelled';

/** One question put to people, and its answer. Also the value of the IrDecision search attribute (state). */
export interface Decision {
  stage: DecisionStage;
  why: string; // why a decision is asked
  askedAt: string;
  deadline: string;
  timeoutSeconds: number;
  onTimeout: 'approve' | 'reject';
  quorum: number;
  approvers?: string[];
  approvals: { by: string; reason: string; ticket?: string; at: string }[];
  state: DecisionState;
  decidedAt?: string;
  by?: string; // the deciders (comma-separated under quorum 2), or "timeout"
  reason?: string;
  ticket?: string;
  timedOut?: boolean;
}

/** What an approve/reject/abort update answers. */
export interface DecisionReply {
  message: string;
  phase: Phase;
  decision?: Decision;
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
  exposure: { openedAt?: string; closedAt?: string; seconds?: number; maxOpenSeconds?: number; split?: ExposureSplit };
  verdict: Verdict;
  findings: Finding[];
  abort?: { by: string; reason: string; at: string };
  lastError?: string;
  rejectedMessages: string[];
  decisions?: Decision[]; // every question asked in this cycle, the current one last
  replication?: { syncPoint: string; syncedAsOf?: string; bytes?: number };
  snapshot?: SnapshotInfo;
  copy?: CopyInfo;
  validation?: ValidationSummary;
  reportPath?: string;
  backup?: BackupRecord;
  /** The vault hold (one operation per vault): waiting for another holder, or held since. */
  hold?: { state: 'waiting' | 'held' | 'released'; heldBy?: string; since?: string };
  /** The gap was found open at PREFLIGHT: what was open, since when at the latest, who closed it. */
  inheritedGap?: { found: string; openSinceAtLatest?: string; closedBy: string };
  probe?: ProbeResult;
}

/** What the cycle held in the backup software and when (activities/backup.ts); names only, no secrets. */
export interface BackupRecord {
  software: 'bareos' | 'networker';
  /** held: this cycle switched it off (and switches it on again); false: it was already off, left alone. */
  items: Array<{ kind: 'job' | 'schedule' | 'workflow'; name: string; held: boolean }>;
  heldAt?: string;
  releasedAt?: string;
  waitedSeconds: number;
  waitedFor: Array<{ id: string; name: string; status: string }>;
  reasserted?: Array<{ at: string; item: string }>;
}

export interface CopyInfo {
  copyId: string;
  mtreePath: string; // e.g. /data/col1/ir-copies/<copyId>
  files: number;
  bytes: number;
  lockedUntil: string;
  lockMode: string;
  retentionAdjusted?: string; // why the requested retention was moved into the MTree's min/max
  /**
   * A retried attempt that continued from the last heartbeat's checkpoint (or found the fastcopy landed): whether
   * the first attempt's lock time was kept, files taken from the checkpoint (not looked at again) and files found
   * already locked to that time (not set again).
   */
  resumed?: { attempt: number; fastcopySkipped: boolean; untilKept: boolean; fromCheckpoint: number; alreadyLocked: number };
  lockMethod?: 'atime' | 'rest'; // absent: atime (cycles before issue 11)
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
  /** A retried attempt (the worker before it died) that continued from the last heartbeat's checkpoint. */
  resumed?: { attempt: number; files: number; bytes: number; hashedFiles: number };
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
  report?: { path: string; digest: string; markdownPath: string; evidence?: EvidenceSeal };
  /** What an auditor checks the evidence store against (irctl evidence verify, verify --copy, the scrub). */
  evidence?: EvidenceSeal;
}

/** The vault's evidence chain head after this cycle's records, and the copy's manifest root and digest. */
export interface EvidenceSeal {
  chain: { seq: number; head: string | null };
  copyManifest?: { path: string; root: string; digest: string; algorithm: string };
  openIncidents: number;
}

/** One attempt of an immutability probe on a canary file; every one must be refused. */
export interface ProbeAttempt {
  action: 'write' | 'append' | 'delete' | 'rename' | 'shorten-lock';
  refused: boolean;
  detail: string;
}

export interface ProbeResult {
  canary: string; // DD path of the canary (never real data)
  lockedUntil?: string;
  attempts: ProbeAttempt[];
  /** true only when the canary was locked and every attempt was refused. */
  worm: boolean;
  incidentId?: string;
  error?: string;
}

/** scrubCopies input; missing fields come from the vault's `scrub` configuration. */
export interface ScrubOptions {
  periodSeconds?: number; // every copy is re-hashed at least once per period
  intervalSeconds?: number; // how often the scrub runs (its schedule)
  maxBytesPerSecond?: number; // read-rate limit, so cycles keep their speed
  all?: boolean; // re-hash every copy now, whatever the rolling plan says
}

export interface ScrubTarget {
  copyId: string;
  workflowId: string;
  runId: string;
  mtreePath: string;
  lockedUntil: string;
  manifest: { path: string; root: string; digest: string; algorithm: string };
}

export interface CopyScrub {
  copyId: string;
  ok: boolean;
  root: string; // what the copy hashes to now
  expectedRoot: string; // from history
  files: number;
  bytes: number;
  seconds: number;
  problems: Array<{ class: string; path: string; detail?: string }>;
  incidentId?: string;
}

export interface ScrubResult {
  vaultId: string;
  scrubId: string;
  startedAt: string;
  copiesKnown: number;
  scrubbed: CopyScrub[];
  bytes: number;
  seconds: number;
  bytesPerSecond: number;
  maxBytesPerSecond: number;
  probe?: ProbeResult;
  recordPath?: string;
}

// Operators' messages. approve/reject/abort exist both as updates (the caller hears why a request was refused)
// and as signals of the same names (callers that cannot wait); both go through the same checks.
export const abortSignal = defineSignal<[AbortRequest?]>('abort');
export const approveSignal = defineSignal<[DecisionRequest]>('approve');
export const rejectSignal = defineSignal<[DecisionRequest]>('reject');
export const abortUpdate = defineUpdate<DecisionReply, [AbortRequest]>('abort');
export const approveUpdate = defineUpdate<DecisionReply, [DecisionRequest]>('approve');
export const rejectUpdate = defineUpdate<DecisionReply, [DecisionRequest]>('reject');
export const statusQuery = defineQuery<CycleStatus>('status');

/** Shown by the Temporal UI next to each name in its signal/update/query dropdowns. */
export const messageDescriptions = {
  approve: 'Approve the copy waiting in DECIDE (it then counts as good). JSON: {"by":"alice","reason":"expected mass change","ticket":"CHG-1234"}',
  reject: 'Reject the copy waiting in DECIDE (it stays locked, marked rejected). JSON: {"by":"alice","reason":"encrypted files","ticket":"INC-42"}',
  abort: 'Abort the cycle: before CLOSE it takes the close path; in DECIDE it ends without a decision. JSON: {"by":"alice","reason":"change freeze"}',
  status: 'Phase, gap state, exposure so far, findings, decisions and rejected messages',
} as const;

export const IrVault = defineSearchAttributeKey('IrVault', SearchAttributeType.KEYWORD);
export const IrPhase = defineSearchAttributeKey('IrPhase', SearchAttributeType.KEYWORD);
export const IrGapState = defineSearchAttributeKey('IrGapState', SearchAttributeType.KEYWORD);
export const IrVerdict = defineSearchAttributeKey('IrVerdict', SearchAttributeType.KEYWORD);
export const IrDecision = defineSearchAttributeKey('IrDecision', SearchAttributeType.KEYWORD); // pending|approved|rejected|aborted
export const searchAttributeNames = [IrVault.name, IrPhase.name, IrGapState.name, IrVerdict.name, IrDecision.name];

/** Workflow id for a vault's cycle started by hand or by CI: one id per vault keeps one cycle at a time. */
export const cycleWorkflowId = (vaultId: string): string => `ir-cycle-${vaultId}`;
/** One scrub per vault at a time, too. */
export const scrubWorkflowId = (vaultId: string): string => `ir-scrub-${vaultId}`;

type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

const MAX_TEXT = 1000; // names and reasons end up in history, the UI and reports: keep them short

function checkFields(name: string, obj: Record<string, unknown>, example: string): string | undefined {
  for (const key of Object.keys(obj)) {
    if (!['by', 'reason', 'ticket'].includes(key)) return `${name} payload has unknown field "${key}": use only "by", "reason" and "ticket", e.g. ${example}`;
  }
  for (const key of ['by', 'reason', 'ticket']) {
    const v = obj[key];
    if (v === undefined) continue;
    if (typeof v !== 'string') return `${name} payload field "${key}" must be a string, e.g. ${example}`;
    if (v.length > MAX_TEXT) return `${name} payload field "${key}" is longer than ${MAX_TEXT} characters`;
  }
  return undefined;
}

/**
 * Checks an abort payload sent from the CLI or UI. Returns the request or an explanation naming the field.
 * Lenient on purpose where safety wins: no payload or a bare string still aborts.
 */
export function parseAbortRequest(input: unknown): Parsed<{ reason: string; by: string; ticket?: string }> {
  if (input === undefined || input === null) return { ok: true, value: { reason: 'no reason given', by: 'unknown' } };
  if (typeof input === 'string') return { ok: true, value: { reason: input || 'no reason given', by: 'unknown' } };
  const example = '{"reason":"...","by":"..."}';
  if (typeof input !== 'object' || Array.isArray(input)) {
    return { ok: false, error: `abort payload must be an object like ${example}, got ${JSON.stringify(input)}` };
  }
  const obj = input as Record<string, unknown>;
  const error = checkFields('abort', obj, example);
  if (error) return { ok: false, error };
  const value = { reason: (obj.reason as string) || 'no reason given', by: (obj.by as string) || 'unknown' };
  return { ok: true, value: obj.ticket ? { ...value, ticket: obj.ticket as string } : value };
}

/** Checks an approve/reject payload: `by` and `reason` are required (they go into the report), `ticket` optional. */
export function parseDecisionRequest(name: 'approve' | 'reject', input: unknown): Parsed<DecisionRequest> {
  const example = `{"by":"alice","reason":"...","ticket":"CHG-1234"}`;
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return { ok: false, error: `${name} payload must be an object like ${example}, got ${input === undefined ? 'nothing' : JSON.stringify(input)}` };
  }
  const obj = input as Record<string, unknown>;
  const error = checkFields(name, obj, example);
  if (error) return { ok: false, error };
  for (const key of ['by', 'reason'] as const) {
    if (typeof obj[key] !== 'string' || !(obj[key] as string).trim()) {
      return { ok: false, error: `${name} payload field "${key}" is required (${key === 'by' ? 'who decides' : 'why: it goes into the report'}), e.g. ${example}` };
    }
  }
  const value: DecisionRequest = { by: (obj.by as string).trim(), reason: (obj.reason as string).trim() };
  if (typeof obj.ticket === 'string' && obj.ticket.trim()) value.ticket = obj.ticket.trim();
  return { ok: true, value };
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
