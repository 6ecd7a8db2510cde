/**
 * A stand-in for isolatedRecoveryCycle for irctl and schedule tests: it runs until told to stop, answers
 * the status query, has an `approve`/`reject` update whose validator refuses a payload without `by`, and
 * ends on the `abort` signal. It never touches a device: these tests are about the client and the schedule.
 */
import { condition, defineQuery, defineSignal, defineUpdate, setHandler, workflowInfo } from '@temporalio/workflow';

const statusQuery = defineQuery<unknown>('status');
const abortSignal = defineSignal<[{ by?: string; reason?: string }?]>('abort');
const approveUpdate = defineUpdate<string, [{ by?: string; reason?: string }]>('approve');
const rejectUpdate = defineUpdate<string, [{ by?: string; reason?: string }]>('reject');

export async function isolatedRecoveryCycle(vaultId: string): Promise<unknown> {
  const startedAt = new Date().toISOString();
  let abort: { by: string; reason: string; at: string } | undefined;
  let decision: { decision: string; by: string; reason: string; at: string } | undefined;
  const status = () => ({
    vaultId,
    copyId: workflowInfo().runId.slice(-8),
    phase: decision || abort ? 'DONE' : 'DECIDE',
    gap: 'closed',
    startedAt,
    phases: [{ phase: 'DECIDE', startedAt }],
    exposure: {},
    verdict: 'suspect',
    findings: [],
    rejectedMessages: [],
    abort,
    decision,
  });
  setHandler(statusQuery, status);
  setHandler(abortSignal, (p) => {
    abort = { by: p?.by ?? 'unknown', reason: p?.reason ?? 'no reason given', at: new Date().toISOString() };
  });
  for (const [update, name] of [
    [approveUpdate, 'approve'],
    [rejectUpdate, 'reject'],
  ] as const) {
    setHandler(
      update,
      (p) => {
        decision = { decision: name === 'approve' ? 'approved' : 'rejected', by: p.by!, reason: p.reason ?? '', at: new Date().toISOString() };
        return `${decision.decision} by ${p.by}`;
      },
      {
        validator: (p) => {
          if (decision) throw new Error(`already ${decision.decision} by ${decision.by}`);
          if (p.by === 'mallory') throw new Error('"mallory" is not in approval.approvers');
        },
      },
    );
  }
  await condition(() => abort !== undefined || decision !== undefined);
  return { ...status(), outcome: abort ? 'aborted' : decision?.decision === 'approved' ? 'validated' : 'suspect' };
}
