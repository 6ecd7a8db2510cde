/**
 * The vault hold, seen from an operation: ask the vault's sentinel for the hold, give it back. The sentinel
 * (workflows/sentinel.ts) owns the hold and answers with the holdAnswer signal; signalWithStart starts the
 * sentinel when it is not running yet, so a raw start with any workflow id still goes through it.
 */
import { Context } from '@temporalio/activity';
import type { ActivityDeps } from './deps';
import { vaultAccess } from './deps';
import { releaseHoldSignal, requestHoldSignal, sentinelWorkflowId, type Holder } from '../workflows/sentinel-messages';

export function holdActivities(deps: ActivityDeps) {
  const signalSentinel = async (vaultId: string, send: (id: string, taskQueue: string) => Promise<unknown>) => {
    const { taskQueue } = Context.current().info;
    await send(sentinelWorkflowId(vaultId, taskQueue), taskQueue);
  };
  return {
    /** Asks for the vault; the answer comes back as a signal to the requesting workflow. */
    async requestVaultHold(vaultId: string, holder: Holder): Promise<{ onBusy: 'wait' | 'refuse' }> {
      const { hold, sentinel } = vaultAccess(deps, vaultId).vault; // also checks the vault id
      const { onBusy } = hold;
      await signalSentinel(vaultId, (workflowId, taskQueue) =>
        Context.current().client.workflow.signalWithStart('gapSentinel', {
          workflowId,
          taskQueue,
          args: [{ vaultId, periodSeconds: sentinel.period }],
          signal: requestHoldSignal,
          signalArgs: [{ ...holder, onBusy }],
        }),
      );
      return { onBusy };
    },

    /** Gives the vault back (or withdraws a request still waiting). Idempotent. */
    async releaseVaultHold(vaultId: string, holder: Holder): Promise<void> {
      await signalSentinel(vaultId, (workflowId, taskQueue) =>
        Context.current().client.workflow.signalWithStart('gapSentinel', {
          workflowId,
          taskQueue,
          args: [{ vaultId, periodSeconds: vaultAccess(deps, vaultId).vault.sentinel.period }],
          signal: releaseHoldSignal,
          signalArgs: [holder],
        }),
      );
    },
  };
}
