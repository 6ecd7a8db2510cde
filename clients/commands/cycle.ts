/**
 * `irctl cycle start|status|list|watch|abort|approve|reject`: a vault's cycles. The vault id is checked
 * against the configuration before anything is sent, so a typo is a usage error, not a cycle that fails later.
 */
import type { Client, WorkflowHandle, WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import { checkPolicyOverride } from '../../activities/preflight';
import { cycleWorkflowId, TASK_QUEUE, type CycleResult, type CycleStatus } from '../../workflows/cycle-messages';
import type { DecisionReply } from '../../workflows/operator-messages';
import type { SignedDecision } from '../../vocabulary/decision-signature';
import { CliError, ExitCode, parse, parseJsonOption, type Command, type CommandContext, type CommandGroup } from '../cli';
import { withClient } from '../connection';
import { CYCLE_WORKFLOW_TYPE, cycleQuery, findCycle, listCycles } from '../cycles';
import { ProgressTracker } from '../progress';
import { measuredCycleSeconds } from '../rpo';
import { operatorsForVault, type VaultConfig } from '../../config/schema';
import { configOf, vaultArg } from '../vaults';
import { checkDecisionText, cycleSigning, signForCycle, signingOptions } from './decision';
import { endedWithoutStatus } from './terminated';


/** The fields of a DECIDE question irctl shows (a subset of workflows/operator-messages.ts Decision). */
interface DecisionView {
  stage: string;
  state: string;
  why?: string;
  deadline?: string;
  onTimeout?: string;
  by?: string;
  reason?: string;
  ticket?: string;
  decidedAt?: string;
}

export function formatStatus(s: CycleStatus): string[] {
  const outcome = 'outcome' in s ? `  outcome ${(s as CycleResult).outcome}` : '';
  const lines = [`vault ${s.vaultId}  copy ${s.copyId}`, `phase ${s.phase}  gap ${s.gap}  verdict ${s.verdict}${outcome}`];
  if (s.exposure.openedAt) {
    lines.push(`exposure: opened ${s.exposure.openedAt}${s.exposure.closedAt ? `, closed ${s.exposure.closedAt} (${s.exposure.seconds?.toFixed(1)} s)` : ' (open now)'}, maxOpen ${s.exposure.maxOpenSeconds} s`);
  }
  for (const p of s.phases) lines.push(`  ${p.phase.padEnd(10)} ${p.startedAt}${p.seconds !== undefined ? `  ${p.seconds.toFixed(1)} s` : '  …'}`);
  if (s.abort) lines.push(`abort: by ${s.abort.by} at ${s.abort.at}: ${s.abort.reason}`);
  // DECIDE's questions and answers (workflows/operator-messages.ts Decision), the current one last.
  const decisions = (s as { decisions?: DecisionView[] }).decisions ?? [];
  for (const d of decisions) {
    lines.push(
      d.state === 'pending'
        ? `decision (${d.stage}): PENDING until ${d.deadline ?? '?'} (then ${d.onTimeout ?? '?'}): ${d.why ?? ''}; irctl cycle approve|reject ${s.vaultId} --reason ...`
        : `decision (${d.stage}): ${d.state} by ${d.by ?? '?'}${d.decidedAt ? ` at ${d.decidedAt}` : ''}${d.reason ? `: ${d.reason}` : ''}${d.ticket ? ` [${d.ticket}]` : ''}`,
    );
  }
  if (s.lastError) lines.push(`error: ${s.lastError}`);
  for (const m of s.rejectedMessages) lines.push(`rejected: ${m}`);
  for (const f of s.findings.slice(0, 10)) lines.push(`  ${f.severity} ${f.class} ${f.path}${f.detail ? ` — ${f.detail}` : ''}`);
  return lines;
}

/** A closed cycle's status is its result (kept in history, readable with no worker); a running one answers the query. */
async function statusOf(handle: WorkflowHandle): Promise<{ status?: CycleStatus | CycleResult; execution: string }> {
  const { status: execution } = await handle.describe();
  if (execution.name === 'RUNNING') return { status: await handle.query<CycleStatus>('status'), execution: execution.name };
  const status = await handle.result().catch((err: Error) => (err.cause as { details?: CycleResult[] } | undefined)?.details?.[0]);
  return { status, execution: execution.name };
}

const noCycle = (vaultId: string, running: boolean) =>
  new CliError(running ? `vault ${vaultId} has no running cycle; irctl cycle list --vault ${vaultId} shows past ones` : `no cycle has run on vault ${vaultId} (workflow ${cycleWorkflowId(vaultId)})`, ExitCode.NOT_FOUND);

/** Waits for the cycle to end, drawing its progress; exit 0 only when the copy validated (or was approved). */
async function follow(handle: WorkflowHandle, ctx: CommandContext, typicalSeconds?: number, intervalMs = 1000): Promise<number> {
  const tracker = new ProgressTracker(ctx, typicalSeconds);
  let done = false;
  const result = handle.result().then(
    (r: CycleResult) => r,
    (err: Error) => (err.cause as { details?: CycleResult[] } | undefined)?.details?.[0] ?? err,
  );
  void result.finally(() => (done = true));
  if (!ctx.json) {
    while (!done) {
      try {
        const status = await handle.query<CycleStatus>('status');
        tracker.show(await tracker.sample(handle, status));
      } catch {
        // the first workflow task has not run yet, or the cycle just ended
      }
      await Promise.race([result, new Promise((r) => setTimeout(r, intervalMs))]);
    }
    tracker.done();
  }
  const final = await result;
  if (final instanceof Error) throw new CliError(`the cycle ended without a result: ${final.message}`, ExitCode.FAILED);
  ctx.emit(final, () => formatStatus(final));
  return final.outcome === 'validated' || (final.outcome as string) === 'approved' ? ExitCode.OK : ExitCode.FAILED;
}

const workflowIdOption = { 'workflow-id': { type: 'string', short: 'w' } } as const;

const start: Command = {
  summary: 'start a cycle on a vault (one at a time per vault)',
  usage: "irctl cycle start VAULT [--policy '{\"maxOpenSeconds\":1800}'] [--wait] [--json]",
  async run(args, ctx) {
    const { values, positionals } = parse(args, ctx, { policy: { type: 'string' }, wait: { type: 'boolean', default: false } });
    const config = configOf(ctx);
    const vault = vaultArg(positionals, ctx, config);
    let policy = {};
    if (values.policy !== undefined) {
      const raw = parseJsonOption(values.policy as string, '--policy', `'{"maxOpenSeconds":1800}'`, ctx);
      try {
        policy = checkPolicyOverride(raw);
      } catch (err) {
        ctx.usageError(`--policy: ${(err as Error).message}`);
      }
    }
    return withClient(ctx.connection, async (client) => {
      const { WorkflowExecutionAlreadyStartedError } = await import('@temporalio/client');
      const running = await findCycle(client, vault.id, { runningOnly: true });
      if (running) {
        throw new CliError(`a cycle is already running on vault ${vault.id} (${running.workflowId}): one cycle per vault at a time; see irctl cycle watch ${vault.id}`, ExitCode.REFUSED);
      }
      const { IrVault } = await import('../../workflows/cycle-messages');
      let handle: WorkflowHandleWithFirstExecutionRunId;
      try {
        handle = await client.workflow.start(CYCLE_WORKFLOW_TYPE, {
          taskQueue: ctx.taskQueue ?? TASK_QUEUE,
          workflowId: cycleWorkflowId(vault.id),
          args: [vault.id, policy],
          workflowIdConflictPolicy: 'FAIL',
          typedSearchAttributes: [{ key: IrVault, value: vault.id }],
        });
      } catch (err) {
        if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
        throw new CliError(`a cycle is already running on vault ${vault.id} (${cycleWorkflowId(vault.id)}): one cycle per vault at a time; see irctl cycle status ${vault.id}`, ExitCode.REFUSED);
      }
      if (!values.wait) {
        ctx.emit({ workflowId: handle.workflowId, runId: handle.firstExecutionRunId, vaultId: vault.id }, () => [`started ${handle.workflowId} (run ${handle.firstExecutionRunId})`]);
        return ExitCode.OK;
      }
      if (!ctx.json) ctx.out(`started ${handle.workflowId} (run ${handle.firstExecutionRunId})`);
      const typical = await measuredCycleSeconds(config.evidenceDir, vault.id).then((d) => median(d));
      return follow(handle, ctx, typical);
    });
  },
};

const median = (xs: number[]) => (xs.length ? [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] : undefined);

async function requireCycle(client: Client, vaultId: string, workflowId: string | undefined, runningOnly: boolean): Promise<WorkflowHandle> {
  const handle = await findCycle(client, vaultId, { workflowId, runningOnly });
  if (!handle) throw noCycle(vaultId, runningOnly);
  return handle;
}

const status: Command = {
  summary: "show a vault's current or last cycle: phase, gap, exposure, decision, findings",
  usage: 'irctl cycle status VAULT [-w WORKFLOW_ID] [--json]',
  async run(args, ctx) {
    const { values, positionals } = parse(args, ctx, workflowIdOption);
    const vault = vaultArg(positionals, ctx);
    return withClient(ctx.connection, async (client) => {
      const handle = await requireCycle(client, vault.id, values['workflow-id'] as string | undefined, false);
      const { status: s, execution } = await statusOf(handle);
      if (!s) {
        const lines = await endedWithoutStatus(client, configOf(ctx), vault.id, handle.workflowId, String(execution), ctx.taskQueue ?? process.env.IR_TASK_QUEUE ?? TASK_QUEUE);
        throw new CliError(lines.join('\n'), ExitCode.FAILED);
      }
      ctx.emit({ workflowId: handle.workflowId, execution, ...s }, () => [`workflow ${handle.workflowId} (${execution})`, ...formatStatus(s)]);
      return ExitCode.OK;
    });
  },
};

const list: Command = {
  summary: 'list cycles (all vaults, or one), newest first, with phase, gap and verdict',
  usage: 'irctl cycle list [--vault VAULT] [--running] [--limit N] [--json]',
  async run(args, ctx) {
    const { values, positionals } = parse(args, ctx, { vault: { type: 'string' }, running: { type: 'boolean', default: false }, limit: { type: 'string', default: '20' } });
    if (positionals.length) ctx.usageError(`unexpected argument '${positionals[0]}'`);
    const limit = Number(values.limit);
    if (!Number.isInteger(limit) || limit <= 0) ctx.usageError(`--limit must be a positive integer, not '${values.limit}'`);
    const vaultId = values.vault === undefined ? undefined : vaultArg([values.vault as string], ctx).id;
    return withClient(ctx.connection, async (client) => {
      const query = vaultId
        ? cycleQuery(vaultId, values.running as boolean)
        : `WorkflowType="${CYCLE_WORKFLOW_TYPE}"${values.running ? ' AND ExecutionStatus="Running"' : ''}`;
      const { IrVault, IrPhase, IrGapState, IrVerdict } = await import('../../workflows/cycle-messages');
      const rows = (await listCycles(client, query, limit)).map((wf) => ({
        workflowId: wf.workflowId,
        runId: wf.runId,
        status: wf.status.name,
        vaultId: wf.typedSearchAttributes.get(IrVault),
        phase: wf.typedSearchAttributes.get(IrPhase),
        gap: wf.typedSearchAttributes.get(IrGapState),
        verdict: wf.typedSearchAttributes.get(IrVerdict),
        decision: (wf.searchAttributes as Record<string, unknown[] | undefined>)?.IrDecision?.[0],
        startTime: wf.startTime.toISOString(),
        closeTime: wf.closeTime?.toISOString(),
      }));
      ctx.emit(rows, () =>
        rows.length === 0
          ? ['no cycles']
          : rows.map((r) => `${r.startTime}  ${r.workflowId.padEnd(40)} ${r.status.padEnd(10)} ${String(r.phase ?? '-').padEnd(9)} gap ${String(r.gap ?? '-').padEnd(7)} ${r.verdict ?? '-'}${r.decision ? ` ${r.decision}` : ''}`),
      );
      return ExitCode.OK;
    });
  },
};

const watch: Command = {
  summary: "follow a vault's running cycle live (phase, bytes, exposure so far, ETA) until it ends",
  usage: 'irctl cycle watch VAULT [-w WORKFLOW_ID] [--json]',
  async run(args, ctx) {
    const { values, positionals } = parse(args, ctx, workflowIdOption);
    const config = configOf(ctx);
    const vault = vaultArg(positionals, ctx, config);
    return withClient(ctx.connection, async (client) => {
      const handle = await requireCycle(client, vault.id, values['workflow-id'] as string | undefined, false);
      if (!ctx.json) ctx.out(`watching ${handle.workflowId}`);
      return follow(handle, ctx, median(await measuredCycleSeconds(config.evidenceDir, vault.id)));
    });
  },
};

/** The update's failure as the workflow worded it (a validator's rejection), or undefined for other errors. */
async function rejection(err: unknown): Promise<string | undefined> {
  const { WorkflowUpdateFailedError } = await import('@temporalio/client');
  if (!(err instanceof WorkflowUpdateFailedError)) return undefined;
  return (err.cause as Error | undefined)?.message ?? err.message;
}

/**
 * The request to send. Signed with the operator's key when the cycle takes signed decisions (its vault has
 * operators configured: status.decisionSigning); else, or with --unsigned (a vault with approval.unsignedAbort), the
 * plain {by, reason, ticket}.
 */
async function operatorRequest(handle: WorkflowHandle, vault: VaultConfig, name: SignedDecision, values: Record<string, string | boolean | undefined>, ctx: CommandContext) {
  const configured = () => Boolean(operatorsForVault(configOf(ctx).operators, vault.id)?.length);
  // An unsigned request needs nothing from the cycle: a queued abort signal still goes out with no worker running.
  const state = values.unsigned || !configured() ? await cycleSigning(handle).catch(() => undefined) : await cycleSigning(handle);
  // Before PREFLIGHT has read the policy the cycle cannot say yet: irctl's configuration decides.
  const signed = state?.decisionSigning ? state.decisionSigning === 'signed' : configured();
  if (values.unsigned || !signed || !state) {
    const text = checkDecisionText(values, name, ctx);
    const by = text.by ?? process.env.USER ?? (name === 'abort' ? 'irctl' : undefined);
    if (!by) ctx.usageError('--by NAME is required for an unsigned decision (who decides; it goes into the report)');
    return { request: { by, reason: text.reason, ...(text.ticket ? { ticket: text.ticket } : {}) }, signer: undefined };
  }
  const result = await signForCycle(handle, state.copyId, name, values, ctx);
  return { request: result.payload, signer: result.signer };
}

const decisionOptions = { ...signingOptions, unsigned: { type: 'boolean', default: false } } as const;

function decisionCommand(name: SignedDecision): Command {
  const summaries = {
    approve: 'approve a suspect copy waiting in DECIDE (it then counts as good), signed with your SSH key',
    reject: 'reject a copy waiting in DECIDE (it stays locked, marked rejected), signed with your SSH key',
    abort: "abort a vault's running cycle, signed with your SSH key: it takes the close path (or ends a wait in DECIDE)",
  };
  return {
    summary: summaries[name],
    usage:
      `irctl cycle ${name} VAULT --reason TEXT [--ticket ID] [--key PATH] [--by NAME] [-w WORKFLOW_ID]${name === 'abort' ? ' [--signal]' : ''} [--unsigned] [--json]\n` +
      '  signed when the vault has operators configured: the key is --key, else $IR_OPERATOR_KEY, else ~/.ssh/id_ed25519;\n' +
      '  a .pub path (or a key ssh-agent holds) signs through ssh-agent. --unsigned sends {by, reason} (approval.unsignedAbort)',
    async run(args, ctx) {
      const { values, positionals } = parse(args, ctx, name === 'abort' ? { ...decisionOptions, signal: { type: 'boolean', default: false } } : decisionOptions);
      const vault = vaultArg(positionals, ctx);
      checkDecisionText(values, name, ctx);
      return withClient(ctx.connection, async (client) => {
        const handle = await requireCycle(client, vault.id, values['workflow-id'] as string | undefined, true);
        const { request, signer } = await operatorRequest(handle, vault, name, values, ctx);
        const signedBy = signer ? ` (signed with ${signer.fingerprint})` : '';
        let via: 'update' | 'signal' = values.signal ? 'signal' : 'update';
        let result: DecisionReply | undefined;
        if (via === 'update') {
          try {
            // The reply is the workflow's DecisionReply: {message, phase, decision}.
            result = await handle.executeUpdate<DecisionReply, [unknown]>(name, { args: [request] });
          } catch (err) {
            const reason = await rejection(err);
            if (reason === undefined) throw err;
            // A cycle started by older workflow code has the abort signal only.
            if (name !== 'abort' || !/no registered handler for update/i.test(reason)) throw new CliError(`${name} rejected by ${handle.workflowId}: ${reason}`, ExitCode.REFUSED);
            via = 'signal';
          }
        }
        if (via === 'signal') await handle.signal(name, request);
        ctx.emit({ workflowId: handle.workflowId, update: name, via, accepted: via === 'update', request, ...(name === 'abort' ? { abort: request } : {}), signer: signer ?? null, result: result ?? null }, () => [
          via === 'signal'
            ? `${name} sent to ${handle.workflowId} as a signal${signedBy} (a refusal shows in irctl cycle status)${name === 'abort' ? '; the cycle closes the gap and records a report' : ''}`
            : `${name} accepted by ${handle.workflowId}${signedBy}${result?.message ? `: ${result.message}` : ''}`,
        ]);
        return ExitCode.OK;
      });
    },
  };
}

export const command: CommandGroup = {
  summary: 'cycles of a vault',
  subcommands: { start, status, list, watch, abort: decisionCommand('abort'), approve: decisionCommand('approve'), reject: decisionCommand('reject') },
};
