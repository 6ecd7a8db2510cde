/**
 * The drill's messages and result shapes, shared by the recoveryDrill workflow, its activities and irctl.
 * Like cycle-messages.ts: no secrets (vault ids, copy ids, paths, timings and check output only).
 */
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { AbortRequest } from './operator-messages';

export type DrillOutcome = 'passed' | 'recovery-failed' | 'objectives-missed' | 'refused' | 'aborted' | 'cancelled';

/** `by` of the drills the vault's drill schedule starts (clients/schedules.ts). */
export const DRILL_BY_SCHEDULE = 'schedule';

export interface DrillRequest {
  copyId?: string;
  /** Drill only these applications (names from the vault's `applications:`); all when absent. */
  applications?: string[];
  by?: string;
}

/** A step (restore, verify) or a check of one application, as a JUnit testcase. */
export interface DrillStep {
  name: string;
  kind: 'step' | 'check';
  status: 'passed' | 'failed' | 'skipped';
  seconds: number;
  message?: string;
  /** The command's output (checks) or the failing files (verify), capped. */
  output?: string;
}

export interface AppDrillResult {
  name: string;
  tier: number;
  rtoObjectiveSeconds: number;
  rpoObjectiveSeconds: number;
  /** restore + verify + checks, as measured by the workflow. */
  rtoSeconds?: number;
  /** Age of the copy's sync point when the drill ran. */
  rpoSeconds: number;
  /** Worst case under the vault's cycle interval (drill.cycleEvery), when configured. */
  rpoWorstCaseSeconds?: number;
  restoreSeconds?: number;
  files?: number;
  bytes?: number;
  recovered: boolean;
  rtoMet?: boolean;
  rpoMet: boolean;
  steps: DrillStep[];
}

export interface DrillPlanApp {
  name: string;
  tier: number;
  rtoSeconds: number;
  rpoSeconds: number;
  paths: string[];
  checks: Array<{ name: string; kind: string }>;
}

export interface DrillPlan {
  copyId: string;
  copyMtreePath: string;
  syncPoint: string;
  syncPointSource: string;
  manifest: { path: string; algorithm: string; files: number };
  sandbox: string;
  method: 'fastcopy' | 'copy';
  cycleEverySeconds?: number;
  apps: DrillPlanApp[];
}

export interface DrillStatus {
  drillId: string;
  vaultId: string;
  copyId?: string;
  startedAt: string;
  endedAt?: string;
  phase: 'PLAN' | 'RESTORE' | 'CLEAN' | 'RECORD' | 'DONE';
  current?: string;
  outcome?: DrillOutcome;
  apps: AppDrillResult[];
  sandbox?: { path: string; cleanedAt?: string };
  abort?: { by: string; reason: string; at: string };
  error?: string;
}

export interface DrillResult extends DrillStatus {
  outcome: DrillOutcome;
  report?: { json: string; markdown: string; junit: string };
}

export const abortDrillSignal = defineSignal<[AbortRequest?]>('abortDrill');
export const drillStatusQuery = defineQuery<DrillStatus>('drillStatus');

/** One drill per vault at a time, whoever starts it (operator, CI, schedule). */
export const drillWorkflowId = (vaultId: string): string => `ir-drill-${vaultId}`;

/** irctl drill run's exit codes (README "CI"). */
// 3, 4 and 5 are irctl's (Temporal unreachable, not found, refused): objectives missed is 6.
export const DRILL_EXIT = { passed: 0, recoveryFailed: 1, usage: 2, objectivesMissed: 6 } as const;

export function drillExitCode(outcome: DrillOutcome): number {
  if (outcome === 'passed') return DRILL_EXIT.passed;
  if (outcome === 'objectives-missed') return DRILL_EXIT.objectivesMissed;
  return DRILL_EXIT.recoveryFailed;
}
