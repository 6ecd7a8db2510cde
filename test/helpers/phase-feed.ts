/**
 * The phase feed: tells the lab the cycle's phase, so faults aimed with `cyclePhase` (docs/lab-protocol.md) are
 * live exactly while the cycle is in that phase. A worker interceptor: before each activity of a cycle runs, it
 * asks the workflow its phase (the `status` query an operator uses) and posts it to the lab's control API,
 * then lets the activity run. The workflow enters a phase before it schedules that phase's activities, so every
 * device command of a phase meets the lab already told; polling the query from outside could not promise that
 * (a CLOSE lasts a few hundred milliseconds).
 */
import type { Client } from '@temporalio/client';
import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import { statusQuery } from '../../workflows/cycle-messages';

export function phaseFeed(controlUrl: string, client: Client): ActivityInterceptorsFactory {
  return (ctx) => ({
    inbound: {
      async execute(input, next) {
        const { workflowType, workflowExecution } = ctx.info;
        if (workflowType === 'isolatedRecoveryCycle' && workflowExecution) {
          const { phase } = await client.workflow.getHandle(workflowExecution.workflowId, workflowExecution.runId).query(statusQuery);
          const res = await fetch(`${controlUrl}/cycle/phase`, { method: 'POST', body: JSON.stringify({ phase }) });
          if (!res.ok) throw new Error(`lab refused the cycle phase ${phase}: ${await res.text()}`);
        }
        return next(input);
      },
    },
  });
}
