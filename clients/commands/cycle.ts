/**
 * Operator commands for a vault's cycle: `irctl start|status|abort VAULT`. They talk to Temporal
 * (TEMPORAL_ADDRESS, default 127.0.0.1:7233) and check the vault id against the configuration (IR_CONFIG)
 * before sending anything, so a typo is a clear usage error rather than a cycle that fails later.
 */
import { Client, Connection, WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/client';
import { findVault, loadConfig } from '../../config/load';
import { checkPolicyOverride } from '../../activities/preflight';
import { isolatedRecoveryCycle } from '../../workflows';
import { abortSignal, cycleWorkflowId, parseAbortRequest, statusQuery, TASK_QUEUE, type CycleResult, type CycleStatus } from '../../workflows/messages';
import type { Command, CommandContext } from '../irctl';
import { parse } from './manifest';

export async function withClient<T>(fn: (client: Client) => Promise<T>): Promise<T> {
  const address = process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233';
  const connection = await Connection.connect({ address, connectTimeout: 5000 }).catch((err: Error) => {
    throw new Error(`cannot reach Temporal at ${address} (${err.message}); set TEMPORAL_ADDRESS`);
  });
  try {
    return await fn(new Client({ connection, namespace: process.env.TEMPORAL_NAMESPACE ?? 'default' }));
  } finally {
    await connection.close();
  }
}

export function vaultArg(positionals: string[], ctx: CommandContext): string {
  if (positionals.length !== 1) ctx.usageError(positionals.length ? `unexpected argument '${positionals[1]}'` : 'missing VAULT');
  const vaultId = positionals[0];
  try {
    findVault(loadConfig(), vaultId);
  } catch (err) {
    ctx.usageError((err as Error).message);
  }
  return vaultId;
}

export function formatStatus(s: CycleStatus): string[] {
  const outcome = 'outcome' in s ? `  outcome ${(s as CycleResult).outcome}` : '';
  const lines = [`vault ${s.vaultId}  copy ${s.copyId}`, `phase ${s.phase}  gap ${s.gap}  verdict ${s.verdict}${outcome}`];
  if (s.exposure.openedAt) {
    lines.push(`exposure: opened ${s.exposure.openedAt}${s.exposure.closedAt ? `, closed ${s.exposure.closedAt} (${s.exposure.seconds?.toFixed(1)} s)` : ' (open now)'}, maxOpen ${s.exposure.maxOpenSeconds} s`);
  }
  for (const p of s.phases) lines.push(`  ${p.phase.padEnd(10)} ${p.startedAt}${p.seconds !== undefined ? `  ${p.seconds.toFixed(1)} s` : '  …'}`);
  if (s.abort) lines.push(`abort: by ${s.abort.by} at ${s.abort.at}: ${s.abort.reason}`);
  if (s.lastError) lines.push(`error: ${s.lastError}`);
  for (const m of s.rejectedMessages) lines.push(`rejected: ${m}`);
  for (const f of s.findings.slice(0, 10)) lines.push(`  ${f.severity} ${f.class} ${f.path}${f.detail ? ` — ${f.detail}` : ''}`);
  return lines;
}

export const startCommand: Command = {
  summary: 'start a cycle on a vault (one at a time per vault)',
  usage: "irctl start VAULT [--policy '{\"maxOpenSeconds\":1800}'] [--wait]",
  async run(args, ctx) {
    const { values, positionals } = parse(args, ctx, { policy: { type: 'string' }, wait: { type: 'boolean', default: false } });
    const vaultId = vaultArg(positionals, ctx);
    let policy = {};
    if (values.policy !== undefined) {
      try {
        policy = checkPolicyOverride(JSON.parse(values.policy as string));
      } catch (err) {
        ctx.usageError(`--policy: ${(err as Error).message}`);
      }
    }
    return withClient(async (client) => {
      let handle;
      try {
        handle = await client.workflow.start(isolatedRecoveryCycle, {
          taskQueue: process.env.IR_TASK_QUEUE ?? TASK_QUEUE,
          workflowId: cycleWorkflowId(vaultId),
          args: [vaultId, policy],
          workflowIdConflictPolicy: 'FAIL',
        });
      } catch (err) {
        if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
        ctx.err(`a cycle is already running on vault ${vaultId} (${cycleWorkflowId(vaultId)}): one cycle per vault at a time; see irctl status ${vaultId}`);
        return 1;
      }
      ctx.out(`started ${handle.workflowId} (run ${handle.firstExecutionRunId})`);
      if (!values.wait) return 0;
      const result = await handle.result().catch((err: Error) => {
        ctx.err((err.cause as Error | undefined)?.message ?? err.message);
        return undefined;
      });
      if (result) for (const line of formatStatus(result)) ctx.out(line);
      return result?.outcome === 'validated' ? 0 : 1;
    });
  },
};

export const statusCommand: Command = {
  summary: "show a vault's current or last cycle: phase, gap, exposure, findings",
  usage: 'irctl status VAULT [--json]',
  async run(args, ctx) {
    const { values, positionals } = parse(args, ctx, { json: { type: 'boolean', default: false } });
    const vaultId = vaultArg(positionals, ctx);
    return withClient(async (client) => {
      try {
        const handle = client.workflow.getHandle(cycleWorkflowId(vaultId));
        const { status: execution } = await handle.describe();
        // A closed cycle's status is its result (kept in history), readable with no worker running;
        // a running one answers the status query.
        const status =
          execution.name === 'RUNNING'
            ? await handle.query(statusQuery)
            : await handle.result().catch((err: Error) => (err.cause as { details?: CycleResult[] } | undefined)?.details?.[0]);
        if (!status) {
          ctx.err(`the last cycle on vault ${vaultId} ended ${execution.name} without a status (terminated?)`);
          return 1;
        }
        if (values.json) ctx.out(JSON.stringify(status, null, 2));
        else for (const line of formatStatus(status)) ctx.out(line);
        return 0;
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) {
          ctx.err(`no cycle has run on vault ${vaultId} (workflow ${cycleWorkflowId(vaultId)})`);
          return 1;
        }
        throw err;
      }
    });
  },
};

export const abortCommand: Command = {
  summary: "abort a vault's running cycle: it takes the close path",
  usage: 'irctl abort VAULT --reason TEXT [--by NAME]',
  async run(args, ctx) {
    const { values, positionals } = parse(args, ctx, { reason: { type: 'string' }, by: { type: 'string' } });
    const vaultId = vaultArg(positionals, ctx);
    if (!values.reason) ctx.usageError('--reason is required: say why, it goes into the report');
    const request = parseAbortRequest({ reason: values.reason, by: values.by ?? process.env.USER ?? 'irctl' });
    if (!request.ok) return ctx.usageError(request.error);
    return withClient(async (client) => {
      const handle = client.workflow.getHandle(cycleWorkflowId(vaultId));
      const { status } = await handle.describe();
      if (status.name !== 'RUNNING') {
        ctx.err(`vault ${vaultId} has no running cycle (last one is ${status.name})`);
        return 1;
      }
      await handle.signal(abortSignal, request.value);
      ctx.out(`abort sent to ${handle.workflowId}; the cycle closes the gap and records a report (irctl status ${vaultId})`);
      return 0;
    });
  },
};
