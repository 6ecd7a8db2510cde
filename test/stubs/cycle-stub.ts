/**
 * A stand-in for isolatedRecoveryCycle for irctl and schedule tests: it runs until told to stop, answers
 * the status query, has an `approve`/`reject` update whose validator refuses a payload without `by`, and
 * ends on the `abort` signal. It never touches a device: these tests are about the client and the schedule.
 */
import { condition, defineQuery, defineSignal, defineUpdate, setHandler, workflowInfo } from '@temporalio/workflow';

const statusQuery = defineQuery<unknown>('status');
const abortSignal = defineSignal<[{ by?: string; reason?: string }?]>('abort');
type Reply = { message: string; phase: string };
const approveUpdate = defineUpdate<Reply, [{ by?: string; reason?: string; ticket?: string }]>('approve');
const rejectUpdate = defineUpdate<Reply, [{ by?: string; reason?: string; ticket?: string }]>('reject');

export async function isolatedRecoveryCycle(vaultId: string): Promise<unknown> {
  const startedAt = new Date().toISOString();
  let abort: { by: string; reason: string; at: string } | undefined;
  let decision: { stage: string; state: string; by: string; reason: string; ticket?: string; decidedAt: string } | undefined;
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
    decisions: [decision ?? { stage: 'after-validate', state: abort ? 'aborted' : 'pending', why: 'verdict suspect', deadline: '2099-01-01T00:00:00Z', onTimeout: 'reject' }],
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
        decision = { stage: 'after-validate', state: name === 'approve' ? 'approved' : 'rejected', by: p.by!, reason: p.reason ?? '', ticket: p.ticket, decidedAt: new Date().toISOString() };
        return { message: `${decision.state} by ${p.by}`, phase: 'RECORD' };
      },
      {
        validator: (p) => {
          if (decision) throw new Error(`already ${decision.state} by ${decision.by}`);
          if (p.by === 'mallory') throw new Error('"mallory" is not in approval.approvers');
        },
      },
    );
  }
  await condition(() => abort !== undefined || decision !== undefined);
  // As the real cycle: an approved copy ends `approved`, a rejected one `rejected`.
  return { ...status(), outcome: abort ? 'aborted' : decision?.state === 'approved' ? 'approved' : 'rejected' };
}
