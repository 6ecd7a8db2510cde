/**
 * The `drill:` schedule of a vault as a Temporal schedule description (pure: no client, no I/O), for
 * `irctl schedule apply` to reconcile. Jitter spreads drills like cycles, so their time is not predictable.
 */
import type { VaultConfig } from '../config/schema';
import { drillWorkflowId } from '../workflows/drill-messages';
import { TASK_QUEUE } from '../workflows/messages';

export interface DrillScheduleSpec {
  scheduleId: string;
  spec: { intervals: Array<{ every: string }>; jitter: string };
  action: { type: 'startWorkflow'; workflowType: 'recoveryDrill'; workflowId: string; taskQueue: string; args: [string, { by: string }] };
  policies: { overlap: 'SKIP'; catchupWindow: string };
  state: { paused: boolean; note: string };
}

const ms = (seconds: number) => `${Math.round(seconds * 1000)}ms`;

/** null when the vault has no drill schedule. */
export function drillScheduleSpec(vault: VaultConfig, taskQueue = TASK_QUEUE): DrillScheduleSpec | null {
  const s = vault.drill?.schedule;
  if (!s) return null;
  return {
    scheduleId: `ir-drill-schedule-${vault.id}`,
    spec: { intervals: [{ every: ms(s.every) }], jitter: ms(s.jitter) },
    action: { type: 'startWorkflow', workflowType: 'recoveryDrill', workflowId: drillWorkflowId(vault.id), taskQueue, args: [vault.id, { by: 'schedule' }] },
    // A drill still running when the next is due is not doubled up; a missed one is not replayed later.
    policies: { overlap: 'SKIP', catchupWindow: '1 minute' },
    state: { paused: s.paused, note: `drills of vault ${vault.id} every ${s.every} s (jitter ${s.jitter} s), from the configuration` },
  };
}
