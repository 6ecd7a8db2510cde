/** Shared by the DECIDE tests: a lab with an approval rule, a worker, waiting for a phase, golden histories. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { statusQuery, type CycleResult, type CycleStatus, type Phase } from '../../workflows/cycle-messages';

/** Polls the status query until `pred` holds (the first workflow task may not have run yet). */
export async function waitForStatus(handle: WorkflowHandle, pred: (s: CycleStatus) => boolean, what: string, timeoutMs = 90_000): Promise<CycleStatus> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const s = await handle.query(statusQuery);
      if (pred(s)) return s;
    } catch {
      // not started yet
    }
    if (Date.now() > deadline) throw new Error(`${what} not reached in ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export const waitForPhase = (handle: WorkflowHandle, phase: Phase, timeoutMs?: number) =>
  waitForStatus(handle, (s) => s.phase === phase, `phase ${phase}`, timeoutMs);

/** In DECIDE with the question asked (IrDecision pending). */
export const waitForDecide = (handle: WorkflowHandle, timeoutMs?: number) =>
  waitForStatus(handle, (s) => s.phase === 'DECIDE' && s.decisions?.at(-1)?.state === 'pending', 'DECIDE (pending)', timeoutMs);

/** IR_RECORD_HISTORIES=1 writes a golden history (replayed by test/replay.test.ts). */
export async function recordHistory(handle: WorkflowHandle, name: string): Promise<void> {
  if (process.env.IR_RECORD_HISTORIES !== '1') return;
  const dir = resolve(__dirname, '..', 'histories');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${name}.json`), historyToJSON(await handle.fetchHistory()));
}

/** The cycle's result whether it completed or failed (failures carry it in their details). */
export async function outcomeOf(handle: WorkflowHandle): Promise<{ result: CycleResult; message?: string }> {
  try {
    return { result: (await handle.result()) as CycleResult };
  } catch (err) {
    const cause = (err as any).cause;
    if (!cause?.details?.[0]) throw err;
    return { result: cause.details[0] as CycleResult, message: cause.message };
  }
}
