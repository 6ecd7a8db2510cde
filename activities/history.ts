/**
 * What Temporal's history holds about a vault's copies: each closed cycle's result (for a failed cycle, the
 * result in its failure's details), reduced to the roots, digests and chain heads the evidence is checked
 * against. Temporal's history is append-only and lives apart from the evidence folder.
 * Used by the scrub (through the activity's client) and by irctl.
 */
import { ApplicationFailure, WorkflowFailedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { HistoryRecord } from './evidence';
import type { CycleResult } from '../workflows/cycle-messages';

const VAULT_ID = /^[a-z0-9][a-z0-9-]{0,62}$/;

/** RUNNING, or how the run ended (TERMINATED, COMPLETED, FAILED, ...), or NOT_FOUND (gone from the namespace). */
export async function runStatus(client: Client, workflowId: string, runId: string): Promise<string> {
  try {
    return (await client.workflow.getHandle(workflowId, runId).describe()).status.name;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return 'NOT_FOUND';
    throw err;
  }
}

/** The result a closed cycle left in history, or null (cancelled, terminated, timed out: no result). */
export async function cycleResultOf(client: Client, workflowId: string, runId: string): Promise<CycleResult | null> {
  const handle = client.workflow.getHandle(workflowId, runId, { followRuns: false });
  if ((await handle.describe()).status.name === 'RUNNING') return null; // no result yet: never wait for one
  try {
    return (await handle.result()) as CycleResult;
  } catch (err) {
    if (err instanceof WorkflowFailedError && err.cause instanceof ApplicationFailure) {
      const details = err.cause.details?.[0] as CycleResult | undefined;
      return details && typeof details === 'object' && 'copyId' in details ? details : null;
    }
    if (err instanceof WorkflowFailedError) return null;
    throw err;
  }
}

export function toHistoryRecord(workflowId: string, runId: string, r: CycleResult): HistoryRecord {
  // Cycles from before the evidence seal still carry the copy manifest in their validation summary.
  const m = r.evidence?.copyManifest ?? (r.validation ? { path: r.validation.copy.path, root: r.validation.copy.root, digest: r.validation.copy.digest, algorithm: r.validation.copy.algorithm } : undefined);
  return {
    workflowId,
    runId,
    copyId: r.copyId,
    outcome: r.outcome,
    chain: r.evidence?.chain,
    copyManifest: m,
    lockedUntil: r.copy?.lockedUntil,
    mtreePath: r.copy?.mtreePath,
  };
}

/**
 * Every closed cycle of a vault, oldest first: the visibility listing by IrVault, plus executions named by the
 * caller (e.g. from the catalog) that visibility may not show yet.
 */
export async function vaultHistory(client: Client, vaultId: string, known: Array<{ workflowId: string; runId: string }> = []): Promise<HistoryRecord[]> {
  if (!VAULT_ID.test(vaultId)) throw new Error(`vault id ${JSON.stringify(vaultId)} is not a vault id (lowercase letters, digits and dashes)`);
  const runs = new Map<string, { workflowId: string; runId: string; start: number }>();
  const query = `WorkflowType = 'isolatedRecoveryCycle' AND IrVault = '${vaultId}' AND ExecutionStatus != 'Running'`;
  for await (const wf of client.workflow.list({ query })) runs.set(wf.runId, { workflowId: wf.workflowId, runId: wf.runId, start: wf.startTime.getTime() });
  for (const k of known) if (!runs.has(k.runId)) runs.set(k.runId, { ...k, start: Number.MAX_SAFE_INTEGER });
  const out: Array<HistoryRecord & { start: number }> = [];
  for (const run of runs.values()) {
    const r = await cycleResultOf(client, run.workflowId, run.runId).catch(() => null);
    if (r && r.vaultId === vaultId) out.push({ ...toHistoryRecord(run.workflowId, run.runId, r), start: run.start });
  }
  return out.sort((a, b) => a.start - b.start || a.copyId.localeCompare(b.copyId)).map(({ start: _start, ...h }) => h);
}
