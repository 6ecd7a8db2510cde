/**
 * `irctl decision sign`: a signed approve/reject/abort payload (one JSON line) for the Temporal UI's update dialog
 * or `temporal workflow update execute -i`. Also the signing steps `irctl cycle approve|reject|abort` share: the
 * cycle's identity (namespace, workflow id, copy id) from the server, the statement signed with the operator's key.
 */
import type { WorkflowHandle } from '@temporalio/client';
import { SIGNED_DECISIONS, type SignedDecision } from '../../vocabulary/decision-signature';
import { CliError, ExitCode, parse, UsageError, type Command, type CommandContext, type CommandGroup } from '../cli';
import { withClient } from '../connection';
import { findCycle } from '../cycles';
import { operatorKeyPath, signDecision, SigningError, type SignedDecisionResult } from '../decision-signing';
import { vaultArg } from '../vaults';

/** The options every signing command takes. */
export const signingOptions = {
  reason: { type: 'string' },
  ticket: { type: 'string' },
  key: { type: 'string' },
  by: { type: 'string' },
  'workflow-id': { type: 'string', short: 'w' },
} as const;

const MAX_TEXT = 1000; // as the workflow's payload check: reasons end up in history, the UI and reports

/** Checks the texts before any key is touched; a usage error names the option. */
export function checkDecisionText(values: Record<string, string | boolean | undefined>, decision: SignedDecision, ctx: Pick<CommandContext, 'usageError'>): { reason: string; ticket?: string; by?: string } {
  const reason = typeof values.reason === 'string' ? values.reason.trim() : '';
  // (abort's wording has always been the shorter one; scripts may match either)
  if (!reason) ctx.usageError(`${decision === 'abort' ? '--reason is required' : '--reason TEXT is required'}: say why, it goes into the report`);
  for (const key of ['reason', 'ticket', 'by'] as const) {
    const v = values[key];
    if (typeof v === 'string' && v.length > MAX_TEXT) ctx.usageError(`--${key} is longer than ${MAX_TEXT} characters`);
  }
  const ticket = typeof values.ticket === 'string' && values.ticket.trim() ? values.ticket.trim() : undefined;
  const by = typeof values.by === 'string' && values.by.trim() ? values.by.trim() : undefined;
  return { reason, ticket, by };
}

/** What signing needs from the cycle's status query: its copy id, and whether it takes signed decisions. */
export interface CycleSigning {
  copyId: string;
  /** 'signed' when the vault has operators configured; undefined from workflow code older than signing. */
  decisionSigning?: 'signed' | 'unsigned';
}

export async function cycleSigning(handle: WorkflowHandle): Promise<CycleSigning> {
  const status = await handle.query<Partial<CycleSigning>>('status').catch((err: Error) => {
    throw new CliError(`cannot read ${handle.workflowId}'s status, which names the copy a signed decision is bound to (${err.message}); is a worker running on its task queue?`, ExitCode.UNAVAILABLE);
  });
  if (!status?.copyId) throw new CliError(`${handle.workflowId} answered its status without a copyId: is it an isolated-recovery cycle?`, ExitCode.NOT_FOUND);
  return { copyId: status.copyId, decisionSigning: status.decisionSigning };
}

/** Signs `decision` for the running cycle behind `handle`; a key problem is a usage error (nothing was sent). */
export async function signForCycle(
  handle: WorkflowHandle,
  copyId: string,
  decision: SignedDecision,
  values: Record<string, string | boolean | undefined>,
  ctx: CommandContext,
): Promise<SignedDecisionResult> {
  const text = checkDecisionText(values, decision, ctx);
  try {
    const keyPath = operatorKeyPath(values.key as string | undefined);
    return await signDecision({ namespace: ctx.connection.namespace, workflowId: handle.workflowId, copyId, decision, ...text, keyPath });
  } catch (err) {
    if (err instanceof SigningError) throw new UsageError(err.message);
    throw err;
  }
}

/** The running cycle named by VAULT (its current one) or -w WORKFLOW_ID; not found is exit 4. */
export async function runningCycle(client: Parameters<typeof findCycle>[0], vaultId: string | undefined, workflowId: string | undefined): Promise<WorkflowHandle> {
  if (vaultId) {
    const handle = await findCycle(client, vaultId, { workflowId, runningOnly: true });
    if (!handle) throw new CliError(`vault ${vaultId} has no running cycle${workflowId ? ` with id ${workflowId}` : ''}; irctl cycle list --vault ${vaultId} shows past ones`, ExitCode.NOT_FOUND);
    return handle;
  }
  const handle = client.workflow.getHandle(workflowId!);
  const { status } = await handle.describe().catch((err: Error) => {
    throw new CliError(`no workflow ${workflowId} (${err.message})`, ExitCode.NOT_FOUND);
  });
  if (status.name !== 'RUNNING') throw new CliError(`workflow ${workflowId} is not running (${status.name}): there is nothing to decide`, ExitCode.NOT_FOUND);
  return handle;
}

const isDecision = (v: unknown): v is SignedDecision => SIGNED_DECISIONS.includes(v as SignedDecision);

const sign: Command = {
  summary: 'print a signed approve/reject/abort payload (one JSON line) for the Temporal UI or the temporal CLI',
  usage:
    'irctl decision sign VAULT|-w WORKFLOW_ID --decision approve|reject|abort --reason TEXT [--ticket ID] [--key PATH] [--by NAME] [--json]\n' +
    '  (also: irctl decision sign approve|reject|abort VAULT|-w WORKFLOW_ID ...)\n' +
    '  the key: --key, else $IR_OPERATOR_KEY, else ~/.ssh/id_ed25519 (a .pub path signs through ssh-agent)\n' +
    "  then: temporal workflow update execute -w WORKFLOW_ID --name DECISION -i '<the line>'  (or paste it in the UI's Send an Update dialog)\n" +
    '  the signature is good for approval.signatureMaxAge (default 15m) and for this cycle and decision only',
  async run(args, ctx) {
    const { values, positionals } = parse(args, ctx, { ...signingOptions, decision: { type: 'string' } });
    // The decision as an option or as the first word: `decision sign approve lab-vault` reads naturally too.
    const fromWord = isDecision(positionals[0]) ? positionals.shift() : undefined;
    const decision = (values.decision as string | undefined) ?? fromWord;
    if (!isDecision(decision)) return ctx.usageError(`--decision must be one of ${SIGNED_DECISIONS.join(', ')}${decision ? `, not '${decision}'` : ''}`);
    if (fromWord && values.decision && fromWord !== values.decision) ctx.usageError(`the decision is given twice: '${fromWord}' and --decision ${values.decision as string}`);
    const workflowId = values['workflow-id'] as string | undefined;
    if (positionals.length === 0 && !workflowId) ctx.usageError('name the cycle: VAULT (its running cycle) or -w WORKFLOW_ID');
    const vaultId = positionals.length ? vaultArg(positionals, ctx).id : undefined;
    checkDecisionText(values, decision, ctx);
    try {
      operatorKeyPath(values.key as string | undefined); // a missing key is said before the server is asked
    } catch (err) {
      if (err instanceof SigningError) throw new UsageError(err.message);
      throw err;
    }
    return withClient(ctx.connection, async (client) => {
      const handle = await runningCycle(client, vaultId, workflowId);
      const { copyId, decisionSigning } = await cycleSigning(handle);
      const signed = await signForCycle(handle, copyId, decision, values, ctx);
      const line = JSON.stringify(signed.payload);
      if (ctx.json) {
        ctx.emit({ workflowId: handle.workflowId, decision, payload: signed.payload, statement: signed.statement, signer: signed.signer }, () => []);
      } else {
        // stdout is the payload alone, so `-i "$(irctl decision sign ...)"` works; the rest goes to stderr.
        ctx.out(line);
        ctx.err(`signed ${decision} for ${handle.workflowId} (copy ${copyId}, namespace ${signed.statement.namespace}) with ${signed.signer.keyType} ${signed.signer.fingerprint}`);
        if (decisionSigning === 'unsigned') ctx.err(`note: ${handle.workflowId} has no operators configured: it takes "by" as written and does not need this signature`);
        ctx.err(`send it: temporal workflow update execute -w ${handle.workflowId} --name ${decision} -i '<the line above>', or paste it as the Data of More Actions → Send an Update → ${decision} in the UI`);
      }
      return ExitCode.OK;
    });
  },
};

export const command: CommandGroup = {
  summary: 'signed operator decisions',
  subcommands: { sign },
};
