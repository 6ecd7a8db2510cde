/**
 * The cycle's status and result shapes, its status query, the search attributes and the workflow ids, shared by the
 * workflows, the activities and the clients. Nothing here may carry a secret: these values end up in workflow history
 * and the UI. (Operators' messages: operator-messages.ts; the sentinel and the vault hold: sentinel-messages.ts;
 * scrubs: scrub-messages.ts; drills: drill-messages.ts.)
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { defineQuery } from '@temporalio/workflow';
import type { ApprovalPolicy, CloseAfter, PolicyOperator } from '../config/schema';
import type { Phase } from '../vocabulary/phases';
import type { Decision, DecisionSignature } from './operator-messages';

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
  /**
   * The vault's operators (names, roles, SSH public keys) from the configuration at PREFLIGHT, never from a run's
   * input. Present: decisions must be signed by one of these keys. Absent: no operators configured, decisions
   * are taken unsigned (`status.decisionSigning: unsigned`).
   */
  operators?: PolicyOperator[];
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
  abort?: { by: string; reason: string; ticket?: string; at: string; signed?: DecisionSignature };
  lastError?: string;
  rejectedMessages: string[];
  /** signed: operators are configured and decisions must carry their signatures; unsigned: `by` is only a claim. */
  decisionSigning?: 'signed' | 'unsigned';
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


export const statusQuery = defineQuery<CycleStatus>('status');

export const IrVault = defineSearchAttributeKey('IrVault', SearchAttributeType.KEYWORD);
export const IrPhase = defineSearchAttributeKey('IrPhase', SearchAttributeType.KEYWORD);
export const IrGapState = defineSearchAttributeKey('IrGapState', SearchAttributeType.KEYWORD);
export const IrVerdict = defineSearchAttributeKey('IrVerdict', SearchAttributeType.KEYWORD);
export const IrDecision = defineSearchAttributeKey('IrDecision', SearchAttributeType.KEYWORD); // pending|approved|rejected|aborted
export const searchAttributeNames = [IrVault.name, IrPhase.name, IrGapState.name, IrVerdict.name, IrDecision.name];

/** Workflow id for a vault's cycle started by hand or by CI: one id per vault keeps one cycle at a time. */
export const cycleWorkflowId = (vaultId: string): string => `ir-cycle-${vaultId}`;
