/**
 * `irctl drill run|list|status` and `irctl report compliance`.
 *
 * drill run exit codes (README "CI"): 0 passed; 1 recovery failed (restore, verification or a check failed, the
 * copy was refused, the drill was aborted); 2 usage or config error; 6 recovery passed but an RTO or RPO
 * objective was missed (3, 4 and 5 are irctl's own: Temporal unreachable, not found, refused).
 */
import { writeFileSync } from 'node:fs';
import { WorkflowExecutionAlreadyStartedError, WorkflowFailedError } from '@temporalio/client';
import type { Config } from '../../config/schema';
import { readCatalog } from '../../activities/catalog';
import { fmtDuration, readDrillHistory, renderDrillMarkdown, renderJUnit } from '../../activities/drill-report';
import { recoveryDrill } from '../../workflows';
import { DRILL_EXIT, drillExitCode, drillWorkflowId, type DrillRequest, type DrillResult } from '../../workflows/drill-messages';
import { TASK_QUEUE } from '../../workflows/cycle-messages';
import { buildCompliance, coverageOf, renderComplianceHtml, renderComplianceMarkdown } from '../compliance';
import { parse, type Command, type CommandContext, type CommandGroup } from '../cli';
import { withClient } from '../connection';
import { configOf, vaultArg } from '../vaults';

const config = (ctx: CommandContext): Config => configOf(ctx);
const vaultOf = (cfg: Config, positionals: string[], ctx: CommandContext) => vaultArg(positionals, ctx, cfg);

const USAGE = {
  run: 'irctl drill run VAULT [--copy ID] [--app NAME]... [--wait] [--junit FILE] [--markdown FILE] [--json]',
  list: 'irctl drill list VAULT [--json]',
  status: 'irctl drill status VAULT [--json]',
};

async function drillRun(args: string[], ctx: CommandContext): Promise<number> {
  const { values, positionals } = parse(args, ctx, {
    copy: { type: 'string' },
    app: { type: 'string', multiple: true },
    wait: { type: 'boolean', default: false },
    junit: { type: 'string' },
    markdown: { type: 'string' },
  });
  const cfg = config(ctx);
  const vault = vaultOf(cfg, positionals, ctx);
  if (!vault.drill) ctx.usageError(`vault ${vault.id} has no drill: section in the configuration (drill.sandbox)`);
  const apps = (values.app as unknown as string[] | undefined) ?? [];
  for (const a of apps) if (!vault.applications.some((x) => x.name === a)) ctx.usageError(`--app ${a}: vault ${vault.id} has no such application (${vault.applications.map((x) => x.name).join(', ')})`);
  if (!vault.applications.length) ctx.usageError(`vault ${vault.id} declares no applications: add applications: to the configuration`);
  if ((values.junit || values.markdown) && !values.wait) ctx.usageError('--junit and --markdown need --wait');
  const request: DrillRequest = { copyId: values.copy as string | undefined, applications: apps.length ? apps : undefined, by: process.env.USER ?? 'irctl' };
  return withClient(ctx.connection, async (client) => {
    let handle;
    try {
      handle = await client.workflow.start(recoveryDrill, {
        taskQueue: ctx.taskQueue ?? TASK_QUEUE,
        workflowId: drillWorkflowId(vault.id),
        args: [vault.id, request],
        workflowIdConflictPolicy: 'FAIL',
      });
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      ctx.err(`a drill is already running on vault ${vault.id} (${drillWorkflowId(vault.id)})`);
      return DRILL_EXIT.recoveryFailed;
    }
    if (!ctx.json) ctx.out(`started ${handle.workflowId} (run ${handle.firstExecutionRunId})`);
    if (!values.wait) return 0;
    let result: DrillResult | undefined;
    try {
      result = await handle.result();
    } catch (err) {
      const cause = err instanceof WorkflowFailedError ? (err.cause as { message?: string; details?: unknown[] } | undefined) : undefined;
      result = cause?.details?.[0] as DrillResult | undefined;
      if (!result) {
        ctx.err(cause?.message ?? (err as Error).message);
        return DRILL_EXIT.recoveryFailed;
      }
    }
    if (values.junit) writeFileSync(values.junit as string, renderJUnit(result));
    if (values.markdown) writeFileSync(values.markdown as string, renderDrillMarkdown(result));
    if (ctx.json) ctx.out(JSON.stringify(result, null, 2));
    else for (const line of summary(result)) ctx.out(line);
    return drillExitCode(result.outcome);
  });
}

export function summary(r: DrillResult): string[] {
  const lines = [`drill ${r.drillId} on vault ${r.vaultId}: ${r.outcome}${r.copyId ? ` (copy ${r.copyId})` : ''}`];
  if (r.error) lines.push(`error: ${r.error}`);
  for (const a of r.apps) {
    lines.push(`  ${a.name.padEnd(12)} tier ${a.tier}  ${a.recovered ? 'recovered' : 'NOT recovered'}  restore ${fmtDuration(a.restoreSeconds)}  RTO ${fmtDuration(a.rtoSeconds)}/${fmtDuration(a.rtoObjectiveSeconds)}${a.rtoMet === false ? ' MISSED' : ''}  RPO ${fmtDuration(a.rpoSeconds)}/${fmtDuration(a.rpoObjectiveSeconds)}${a.rpoMet ? '' : ' MISSED'}`);
    for (const s of a.steps.filter((x) => x.status === 'failed')) lines.push(`    failed: ${s.name}: ${s.message ?? ''}`);
  }
  if (r.sandbox) lines.push(`sandbox ${r.sandbox.path} ${r.sandbox.cleanedAt ? 'removed' : 'NOT removed'}`);
  if (r.report) lines.push(`report ${r.report.markdown}`);
  return lines;
}

async function drillList(args: string[], ctx: CommandContext): Promise<number> {
  const { positionals } = parse(args, ctx, {});
  const cfg = config(ctx);
  const vault = vaultOf(cfg, positionals, ctx);
  const history = await readDrillHistory(cfg.evidenceDir, vault.id);
  if (ctx.json) {
    ctx.out(JSON.stringify(history, null, 2));
    return 0;
  }
  if (!history.length) ctx.out(`no drill has run on vault ${vault.id}`);
  for (const d of history) ctx.out(`${d.startedAt}  ${d.drillId}  ${d.outcome.padEnd(17)} copy ${d.copyId ?? '–'}`);
  const names = [...new Set(history.flatMap((d) => d.apps.map((a) => a.name)))];
  if (names.length) ctx.out('\nrestore time trend (oldest → newest):');
  for (const n of names) {
    const times = history.map((d) => d.apps.find((a) => a.name === n)).filter((a) => a !== undefined);
    ctx.out(`  ${n.padEnd(12)} ${times.map((a) => (a.restoreSeconds === undefined ? '✗' : fmtDuration(a.restoreSeconds))).join(' → ')}`);
  }
  return 0;
}

async function drillStatus(args: string[], ctx: CommandContext): Promise<number> {
  const { positionals } = parse(args, ctx, {});
  const cfg = config(ctx);
  const vault = vaultOf(cfg, positionals, ctx);
  const coverage = coverageOf(vault, await readCatalog(cfg.evidenceDir, vault.id), await readDrillHistory(cfg.evidenceDir, vault.id), new Date());
  if (ctx.json) ctx.out(JSON.stringify(coverage, null, 2));
  else {
    const n = coverage.newestGood;
    ctx.out(n ? `newest good copy ${n.copyId} (${fmtDuration(n.ageSeconds)} old) ${n.drilledAt ? `drilled ${n.drilledAt}` : 'not drilled'}` : 'no good copy');
    ctx.out(`good copies never drilled: ${coverage.neverDrilled.length ? coverage.neverDrilled.join(', ') : 'none'}`);
    for (const b of coverage.broken) ctx.out(`OVERDUE: ${b}`);
    if (!coverage.broken.length) ctx.out('coverage rule holds');
  }
  return coverage.broken.length ? 1 : 0;
}

const run: Command = { summary: 'run a drill on a vault (CI: --wait --junit FILE)', usage: USAGE.run, run: drillRun };
const list: Command = { summary: 'drill history and restore-time trend per application', usage: USAGE.list, run: drillList };
const status: Command = { summary: 'drill coverage: good copies never drilled, overdue drills', usage: USAGE.status, run: drillStatus };

export const command: CommandGroup = { summary: 'recovery drills: run one (CI), list the history, show coverage', subcommands: { run, list, status } };

/** `irctl report compliance`, a subcommand of the report group (clients/commands/report.ts). */
export const complianceCommand: Command = {
  summary: 'compliance report: RPO/RTO per application, exposure timeline, overdue drills',
  usage: 'irctl report compliance [--html FILE] [--markdown FILE] [--json]',
  async run(args, ctx) {
    const { values, positionals } = parse(args, ctx, { html: { type: 'string' }, markdown: { type: 'string' } });
    if (positionals.length) ctx.usageError(`unexpected argument '${positionals[0]}'`);
    const report = await buildCompliance(config(ctx));
    if (values.html) writeFileSync(values.html as string, renderComplianceHtml(report));
    if (values.markdown) writeFileSync(values.markdown as string, renderComplianceMarkdown(report));
    if (ctx.json) ctx.out(JSON.stringify(report, null, 2));
    else if (!values.markdown) ctx.out(renderComplianceMarkdown(report));
    return 0;
  },
};
