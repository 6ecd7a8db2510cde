/** The scrub's input and result shapes (workflows/scrub.ts): copies re-hashed against the roots in history. */
import type { ProbeResult } from './cycle-messages';

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

/** One scrub per vault at a time, too. */
export const scrubWorkflowId = (vaultId: string): string => `ir-scrub-${vaultId}`;
