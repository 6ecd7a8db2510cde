/**
 * Finding a vault's cycle: started by hand it has the fixed id ir-cycle-<vault>; started by a schedule it
 * has that id plus the scheduled time, and carries IrVault from its start. Either way irctl finds it.
 */
import { WorkflowNotFoundError, type Client, type WorkflowExecutionInfo, type WorkflowHandle } from '@temporalio/client';
import { cycleWorkflowId } from '../workflows/cycle-messages';

export const CYCLE_WORKFLOW_TYPE = 'isolatedRecoveryCycle';

export const cycleQuery = (vaultId: string, running = false): string =>
  `WorkflowType="${CYCLE_WORKFLOW_TYPE}" AND IrVault="${vaultId}"${running ? ' AND ExecutionStatus="Running"' : ''}`;

/** Cycles of a vault (newest first) from visibility; empty when the server lacks the IrVault attribute. */
export async function listCycles(client: Client, query: string, limit = 20): Promise<WorkflowExecutionInfo[]> {
  const out: WorkflowExecutionInfo[] = [];
  try {
    for await (const wf of client.workflow.list({ query })) {
      out.push(wf);
      if (out.length >= limit) break;
    }
  } catch (err) {
    if (/IrVault|search attribute/i.test((err as Error).message)) return [];
    throw err;
  }
  return out;
}

async function describeOrUndefined(handle: WorkflowHandle) {
  try {
    return await handle.describe();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return undefined;
    throw err;
  }
}

/**
 * The vault's running cycle, else (unless `runningOnly`) its newest one. `workflowId` (-w) picks one
 * explicitly. Undefined when there is none.
 */
export async function findCycle(client: Client, vaultId: string, opts: { workflowId?: string; runningOnly?: boolean } = {}): Promise<WorkflowHandle | undefined> {
  if (opts.workflowId) {
    const handle = client.workflow.getHandle(opts.workflowId);
    const d = await describeOrUndefined(handle);
    if (!d || (opts.runningOnly && d.status.name !== 'RUNNING')) return undefined;
    return handle;
  }
  const fixed = client.workflow.getHandle(cycleWorkflowId(vaultId));
  const fixedInfo = await describeOrUndefined(fixed);
  if (fixedInfo?.status.name === 'RUNNING') return fixed;
  const running = await listCycles(client, cycleQuery(vaultId, true), 1);
  if (running[0]) return client.workflow.getHandle(running[0].workflowId, running[0].runId);
  if (opts.runningOnly) return undefined;
  const [newest] = await listCycles(client, cycleQuery(vaultId), 1);
  if (newest && (!fixedInfo || newest.startTime > fixedInfo.startTime)) return client.workflow.getHandle(newest.workflowId, newest.runId);
  return fixedInfo ? fixed : undefined;
}
