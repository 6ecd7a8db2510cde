/**
 * Signals, queries, search-attribute keys and the shapes they carry, shared by workflows and clients.
 * Nothing here may carry a secret: these values end up in workflow history and the UI.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { defineQuery, defineSignal } from '@temporalio/workflow';

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
  probe?: ProbeResult;
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

export const abortSignal = defineSignal<[AbortRequest?]>('abort');
export const statusQuery = defineQuery<CycleStatus>('status');

export const IrVault = defineSearchAttributeKey('IrVault', SearchAttributeType.KEYWORD);
export const IrPhase = defineSearchAttributeKey('IrPhase', SearchAttributeType.KEYWORD);
export const IrGapState = defineSearchAttributeKey('IrGapState', SearchAttributeType.KEYWORD);
export const IrVerdict = defineSearchAttributeKey('IrVerdict', SearchAttributeType.KEYWORD);
export const searchAttributeNames = [IrVault.name, IrPhase.name, IrGapState.name, IrVerdict.name];

/** Workflow id for a vault's cycle started by hand or by CI: one id per vault keeps one cycle at a time. */
export const cycleWorkflowId = (vaultId: string): string => `ir-cycle-${vaultId}`;
/** One scrub per vault at a time, too. */
export const scrubWorkflowId = (vaultId: string): string => `ir-scrub-${vaultId}`;

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
