/**
 * `irctl evidence verify [VAULT]`: walk each vault's evidence chain and check it, and every copy's manifest
 * root and digest, against what the cycles left in Temporal history; names the first record that does not fit.
 * `irctl evidence scrub VAULT`: start a scrub of the vault's locked copies (until schedules start it).
 * Exit 0 intact, 1 problems, 2 usage error.
 */
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { readCatalog } from '../../activities/catalog';
import { verifyDecisionSignatures } from '../../activities/decision-evidence';
import { verifyAgainstHistory, verifyChain, vaultDir } from '../../activities/evidence';
import { vaultHistory } from '../../activities/history';
import { scrubCopies } from '../../workflows';
import { TASK_QUEUE } from '../../workflows/cycle-messages';
import { scrubWorkflowId, type ScrubOptions, type ScrubResult } from '../../workflows/scrub-messages';
import { CliError, ExitCode, parse, type Command, type CommandGroup } from '../cli';
import { withClient } from '../connection';
import { configOf, vaultArg } from '../vaults';

const short = (h: string | null) => (h ? `${h.slice(0, 19)}…` : 'none');

const verify: Command = {
  summary: "check the vault's evidence chain, copy roots against Temporal history, and decision signatures",
  usage: 'irctl evidence verify [VAULT] [--json]',
  async run(args, ctx) {
    const { positionals } = parse(args, ctx, {});
    const config = configOf(ctx);
    const vaults = positionals.length ? [vaultArg(positionals, ctx, config).id] : config.vaults.map((v) => v.id);
    return withClient(ctx.connection, async (client) => {
      let failed = false;
      const report: unknown[] = [];
      for (const vaultId of vaults) {
        const chain = await verifyChain(config.evidenceDir, vaultId);
        const known = (await readCatalog(config.evidenceDir, vaultId)).flatMap((e) => (e.workflow ? [e.workflow] : []));
        const history = await vaultHistory(client, vaultId, known);
        const historyProblems = await verifyAgainstHistory(chain, history);
        const decisions = await verifyDecisionSignatures(config.evidenceDir, vaultId);
        const ok = chain.problems.length === 0 && historyProblems.length === 0 && decisions.problems.length === 0;
        failed ||= !ok;
        if (ctx.json) {
          report.push({ vaultId, ok, records: chain.records, head: chain.head, cycles: history.length, chainProblems: chain.problems, historyProblems, decisions });
          continue;
        }
        const roots = history.filter((h) => h.copyManifest).length;
        ctx.out(`vault ${vaultId}: ${chain.records} evidence records in ${vaultDir(config.evidenceDir, vaultId)}/chain.jsonl, head ${short(chain.head)}; ${history.length} cycles in Temporal history, ${roots} copy roots`);
        const [first, ...rest] = chain.problems;
        if (first) ctx.out(`  first record that does not fit: #${first.seq}${first.path ? ` ${first.path}` : ''}: ${first.problem}`);
        for (const p of rest) ctx.out(`  also #${p.seq}${p.path ? ` ${p.path}` : ''}: ${p.problem}`);
        for (const p of historyProblems) ctx.out(`  copy ${p.copyId} (history ${p.workflowId} run ${p.runId}): ${p.problem}`);
        ctx.out(`  decisions: ${decisions.decisions} recorded, ${decisions.signatures} signatures re-verified${decisions.unsigned ? `, ${decisions.unsigned} unsigned (no operators configured: names are claims, not proof)` : ''}`);
        for (const p of decisions.problems) ctx.out(`  decision ${p.decision} (${p.operator}): ${p.problem}`);
        ctx.out(
          ok
            ? `  OK: every record fits the chain and every copy root matches history; every decision signature verifies`
            : `  FAILED: ${chain.problems.length} chain problems, ${historyProblems.length} history mismatches, ${decisions.problems.length} decision signature problems`,
        );
      }
      if (ctx.json) ctx.out(JSON.stringify(report, null, 2));
      return failed ? ExitCode.FAILED : ExitCode.OK;
    });
  },
};

const scrub: Command = {
  summary: "re-hash the vault's locked copies against the roots in Temporal history",
  usage: 'irctl evidence scrub VAULT [--all] [--max-rate BYTES_PER_S] [--wait] [--json]',
  async run(args, ctx) {
    const { values, positionals } = parse(args, ctx, {
      all: { type: 'boolean', default: false },
      'max-rate': { type: 'string' },
      wait: { type: 'boolean', default: false },
    });
    const vaultId = vaultArg(positionals, ctx).id;
    const opts: ScrubOptions = { all: values.all as boolean };
    if (values['max-rate'] !== undefined) {
      const n = Number(values['max-rate']);
      if (!(n > 0)) ctx.usageError(`--max-rate must be a positive number of bytes per second, not '${values['max-rate']}'`);
      opts.maxBytesPerSecond = n;
    }
    return withClient(ctx.connection, async (client) => {
      let handle;
      try {
        handle = await client.workflow.start(scrubCopies, {
          taskQueue: ctx.taskQueue ?? TASK_QUEUE,
          workflowId: scrubWorkflowId(vaultId),
          args: [vaultId, opts],
          workflowIdConflictPolicy: 'FAIL',
        });
      } catch (err) {
        if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
        throw new CliError(`a scrub is already running on vault ${vaultId} (${scrubWorkflowId(vaultId)})`, ExitCode.REFUSED);
      }
      if (!values.wait) {
        ctx.emit({ workflowId: handle.workflowId, runId: handle.firstExecutionRunId, vaultId }, () => [`started ${handle.workflowId} (run ${handle.firstExecutionRunId})`]);
        return ExitCode.OK;
      }
      const result = await handle.result();
      ctx.emit(result, () => formatScrub(result));
      return result.scrubbed.every((s) => s.ok) && result.probe?.worm ? ExitCode.OK : ExitCode.FAILED;
    });
  },
};

export function formatScrub(r: ScrubResult): string[] {
  const mib = (b: number) => (b / 1048576).toFixed(1);
  const lines = [
    `scrub ${r.scrubId} of vault ${r.vaultId}: ${r.scrubbed.length} of ${r.copiesKnown} locked copies re-hashed, ${mib(r.bytes)} MiB in ${r.seconds.toFixed(1)} s (${mib(r.bytesPerSecond)} MiB/s, limit ${mib(r.maxBytesPerSecond)} MiB/s)`,
  ];
  for (const s of r.scrubbed) {
    lines.push(`  ${s.copyId}: ${s.ok ? 'OK, root matches history' : `FAILED (incident ${s.incidentId})`}`);
    for (const p of s.problems.slice(0, 20)) lines.push(`    ${p.class} ${p.path}${p.detail ? `: ${p.detail}` : ''}`);
  }
  if (r.probe) lines.push(`  immutability probe: ${r.probe.worm ? 'every attempt refused (WORM)' : `NOT WORM${r.probe.error ? `: ${r.probe.error}` : ''}`}`);
  return lines;
}

export const command: CommandGroup = {
  summary: 'check the evidence chain and copy roots against Temporal history; scrub locked copies',
  subcommands: { verify, scrub },
};
