/**
 * `irctl schedule apply|list|describe|pause|resume|trigger|delete`: the vaults' Temporal schedules,
 * reconciled from the config (clients/schedules.ts) and checked against each vault's RPO (clients/rpo.ts).
 */
import type { Client, Connection, ScheduleDescription } from '@temporalio/client';
import type { Config, VaultConfig } from '../../config/schema';
import { TASK_QUEUE } from '../../workflows/cycle-messages';
import { CliError, ExitCode, parse, type Command, type CommandContext, type CommandGroup } from '../cli';
import { withClient } from '../connection';
import { findCycle } from '../cycles';
import { checkRpo, longestGapSeconds, measuredCycleSeconds, type RpoCheck } from '../rpo';
import { actualFields, describeSchedule, describeSpec, desiredSchedules, formatChange, listOwnedSchedules, MANAGED_BY, reconcile, scheduleIdOf, scheduleKinds } from '../schedules';
import { configOf, formatDuration, vaultArg } from '../vaults';

const kindOption = { kind: { type: 'string', default: 'cycle' } } as const;

function kindArg(values: Record<string, unknown>, ctx: CommandContext): string {
  const kind = values.kind as string;
  if (!scheduleKinds.some((k) => k.kind === kind)) ctx.usageError(`--kind must be one of ${scheduleKinds.map((k) => k.kind).join(', ')}, not '${kind}'`);
  return kind;
}

async function rpoChecks(client: Client | undefined, config: Config, vaults: VaultConfig[]): Promise<RpoCheck[]> {
  const out: RpoCheck[] = [];
  for (const vault of vaults) {
    const s = vault.schedule;
    if (!s) continue;
    let period = s.every;
    if (period === undefined && client) {
      const desc = await describeSchedule(client, scheduleIdOf('cycle', vault.id));
      period = desc ? longestGapSeconds(desc.info.nextActionTimes) : undefined;
    }
    out.push(checkRpo({ vaultId: vault.id, rpoSeconds: vault.rpo, periodSeconds: period, jitterSeconds: s.jitter, durations: await measuredCycleSeconds(config.evidenceDir, vault.id) }));
  }
  return out;
}

const rpoLine = (r: RpoCheck) => `rpo ${r.vaultId}: ${r.detail}`;

async function requireSchedule(client: Client, vault: VaultConfig, kind: string): Promise<{ id: string; desc: ScheduleDescription }> {
  const id = scheduleIdOf(kind, vault.id);
  const desc = await describeSchedule(client, id);
  if (!desc) throw new CliError(`vault ${vault.id} has no ${kind} schedule (${id}); run irctl schedule apply`, ExitCode.NOT_FOUND);
  return { id, desc };
}

const apply: Command = {
  summary: 'make the Temporal schedules match the config: create, update what changed, delete what it no longer names',
  usage: 'irctl schedule apply [--dry-run] [--strict] [--json]   (--strict: exit 1 when a schedule cannot meet its vault\'s rpo)',
  async run(args, ctx) {
    const { values, positionals } = parse(args, ctx, { 'dry-run': { type: 'boolean', default: false }, strict: { type: 'boolean', default: false } });
    if (positionals.length) ctx.usageError(`unexpected argument '${positionals[0]}' (apply reconciles every vault in the config)`);
    const config = configOf(ctx);
    const desired = desiredSchedules(config, ctx.taskQueue ?? TASK_QUEUE);
    return withClient(ctx.connection, async (client) => {
      const dryRun = values['dry-run'] as boolean;
      if (!dryRun) {
        // Scheduled cycles carry IrVault from their start: the server must know it.
        const { ensureSearchAttributes } = await import('../../workers/search-attributes');
        await ensureSearchAttributes(client.connection as Connection, ctx.connection.namespace);
      }
      const { changes, unchanged } = await reconcile(client, desired, { dryRun });
      const rpo = await rpoChecks(client, config, config.vaults);
      const missed = rpo.filter((r) => r.ok === false);
      ctx.emit({ dryRun, changes, unchanged, rpo }, () => [
        ...(changes.length === 0 ? [`no changes (${unchanged.length} schedule${unchanged.length === 1 ? '' : 's'} up to date)`] : changes.map((c) => (dryRun ? `would be ${formatChange(c)}` : formatChange(c)))),
        ...rpo.map(rpoLine),
      ]);
      if (changes.some((c) => c.action === 'conflict')) return ExitCode.REFUSED;
      return values.strict && missed.length ? ExitCode.FAILED : ExitCode.OK;
    });
  },
};

const list: Command = {
  summary: 'list the schedules apply manages: paused or not, next and last run',
  usage: 'irctl schedule list [--json]',
  async run(args, ctx) {
    const { positionals } = parse(args, ctx, {});
    if (positionals.length) ctx.usageError(`unexpected argument '${positionals[0]}'`);
    return withClient(ctx.connection, async (client) => {
      const rows = (await listOwnedSchedules(client)).map((s) => ({
        scheduleId: s.scheduleId,
        kind: s.kind,
        vaultId: s.vaultId,
        paused: s.paused,
        nextRun: s.nextActionTimes[0]?.toISOString(),
        lastRun: s.recentActions.at(-1)?.scheduledAt.toISOString(),
        lastWorkflowId: s.recentActions.at(-1)?.workflowId,
      }));
      ctx.emit(rows, () =>
        rows.length === 0
          ? [`no schedules managed by ${MANAGED_BY} (a new one can take a few seconds to be listed)`]
          : rows.map((r) => `${r.scheduleId.padEnd(36)} ${r.paused ? 'PAUSED ' : 'active '} next ${r.nextRun ?? '-'}  last ${r.lastRun ?? '-'}${r.lastWorkflowId ? ` (${r.lastWorkflowId})` : ''}`),
      );
      return ExitCode.OK;
    });
  },
};

const describe: Command = {
  summary: "show a vault's schedule: spec, state, next runs, running and recent cycles, skipped starts, RPO check",
  usage: 'irctl schedule describe VAULT [--kind cycle] [--strict] [--json]',
  async run(args, ctx) {
    const { values, positionals } = parse(args, ctx, { ...kindOption, strict: { type: 'boolean', default: false } });
    const kind = kindArg(values, ctx);
    const config = configOf(ctx);
    const vault = vaultArg(positionals, ctx, config);
    return withClient(ctx.connection, async (client) => {
      const { id, desc } = await requireSchedule(client, vault, kind);
      const fields = actualFields(desc);
      const [rpo] = kind === 'cycle' ? await rpoChecks(client, config, [vault]) : [];
      const value = {
        scheduleId: id,
        vaultId: vault.id,
        kind,
        spec: fields,
        paused: desc.state.paused,
        note: desc.state.note,
        nextActionTimes: desc.info.nextActionTimes.map((d) => d.toISOString()),
        runningWorkflowIds: desc.info.runningActions.map((a) => a.workflow.workflowId),
        recentActions: desc.info.recentActions.map((a) => ({ scheduledAt: a.scheduledAt.toISOString(), workflowId: a.action.workflow.workflowId })),
        numActionsTaken: desc.info.numActionsTaken,
        numActionsSkippedOverlap: desc.info.numActionsSkippedOverlap,
        numActionsMissedCatchupWindow: desc.info.numActionsMissedCatchupWindow,
        rpo,
      };
      ctx.emit(value, () => [
        `${id} (${kind} of vault ${vault.id}) ${desc.state.paused ? 'PAUSED' : 'active'}${desc.state.note ? `: ${desc.state.note}` : ''}`,
        `  ${describeSpec(fields)}`,
        `  workflow ${fields.workflowType} on task queue ${fields.taskQueue}`,
        `  next: ${value.nextActionTimes.slice(0, 3).join(', ') || '-'}`,
        `  running: ${value.runningWorkflowIds.join(', ') || 'none'}`,
        `  taken ${value.numActionsTaken}, skipped (overlap) ${value.numActionsSkippedOverlap}, missed (catch-up window) ${value.numActionsMissedCatchupWindow}`,
        ...value.recentActions.slice(-5).map((a) => `  ran ${a.scheduledAt} ${a.workflowId}`),
        ...(rpo ? [rpoLine(rpo)] : []),
      ]);
      return values.strict && rpo?.ok === false ? ExitCode.FAILED : ExitCode.OK;
    });
  },
};

function pauseCommand(pause: boolean): Command {
  const verb = pause ? 'pause' : 'resume';
  return {
    summary: pause ? "pause a vault's schedule (no new cycles start; a running one goes on)" : "resume a vault's paused schedule",
    usage: `irctl schedule ${verb} VAULT ${pause ? '--reason TEXT' : '[--reason TEXT]'} [--kind cycle] [--by NAME] [--json]`,
    async run(args, ctx) {
      const { values, positionals } = parse(args, ctx, { ...kindOption, reason: { type: 'string' }, by: { type: 'string' } });
      const kind = kindArg(values, ctx);
      const vault = vaultArg(positionals, ctx);
      if (pause && !values.reason) ctx.usageError('--reason is required: it becomes the schedule note the UI shows');
      const by = (values.by as string | undefined) ?? process.env.USER ?? 'irctl';
      const note = values.reason ? `${pause ? 'paused' : 'resumed'} by ${by}: ${values.reason}` : `resumed by ${by}`;
      return withClient(ctx.connection, async (client) => {
        const { id } = await requireSchedule(client, vault, kind);
        const handle = client.schedule.getHandle(id);
        await (pause ? handle.pause(note) : handle.unpause(note));
        const desc = await handle.describe();
        ctx.emit({ scheduleId: id, paused: desc.state.paused, note: desc.state.note }, () => [`${id} ${desc.state.paused ? 'paused' : 'resumed'}: ${desc.state.note}`]);
        return ExitCode.OK;
      });
    },
  };
}

const trigger: Command = {
  summary: 'start a scheduled run now, honouring overlap SKIP: skipped (exit 5) while a cycle runs on the vault',
  usage: 'irctl schedule trigger VAULT [--kind cycle] [--json]',
  async run(args, ctx) {
    const { values, positionals } = parse(args, ctx, kindOption);
    const kind = kindArg(values, ctx);
    const vault = vaultArg(positionals, ctx);
    return withClient(ctx.connection, async (client) => {
      const { id, desc: before } = await requireSchedule(client, vault, kind);
      const handle = client.schedule.getHandle(id);
      // The schedule's overlap policy only sees the runs it started: a cycle started by hand or by CI
      // is found here, and the trigger skipped for it just the same.
      const running = kind === 'cycle' ? await findCycle(client, vault.id, { runningOnly: true }) : undefined;
      const scheduleRuns = new Set(before.info.runningActions.map((a) => a.workflow.workflowId));
      const report = (outcome: 'started' | 'skipped' | 'sent', detail: string, workflowId?: string) => {
        ctx.emit({ scheduleId: id, outcome, workflowId, detail }, () => [`${id}: ${detail}`]);
        return outcome === 'skipped' ? ExitCode.REFUSED : ExitCode.OK;
      };
      if (running && !scheduleRuns.has(running.workflowId)) {
        return report('skipped', `trigger skipped: a cycle started outside this schedule is running on vault ${vault.id} (${running.workflowId}); one cycle per vault`, running.workflowId);
      }
      // trigger() without an argument would use ALLOW_ALL; pass the schedule's own policy (SKIP).
      await handle.trigger(before.policies.overlap ?? 'SKIP');
      const deadline = Date.now() + 15_000;
      while (Date.now() < deadline) {
        const now = await handle.describe();
        if (now.info.numActionsSkippedOverlap > before.info.numActionsSkippedOverlap) {
          const busy = now.info.runningActions.map((a) => a.workflow.workflowId).join(', ');
          return report('skipped', `trigger skipped (overlap ${before.policies.overlap}): a cycle of this schedule is running (${busy})`, now.info.runningActions[0]?.workflow.workflowId);
        }
        if (now.info.numActionsTaken > before.info.numActionsTaken) {
          const started = now.info.recentActions.at(-1)?.action.workflow.workflowId;
          return report('started', `triggered: started ${started}`, started);
        }
        await new Promise((r) => setTimeout(r, 250));
      }
      return report('sent', `trigger sent; the server has not acted on it within 15 s (irctl schedule describe ${vault.id})`);
    });
  },
};

const del: Command = {
  summary: "delete a vault's schedule (running cycles go on; apply recreates it while the config names it)",
  usage: 'irctl schedule delete VAULT [--kind cycle] [--json]',
  async run(args, ctx) {
    const { values, positionals } = parse(args, ctx, kindOption);
    const kind = kindArg(values, ctx);
    const vault = vaultArg(positionals, ctx);
    return withClient(ctx.connection, async (client) => {
      const { id } = await requireSchedule(client, vault, kind);
      await client.schedule.getHandle(id).delete();
      ctx.emit({ scheduleId: id, deleted: true }, () => [`deleted ${id}${vault.schedule ? ' (the config still names it: the next apply recreates it)' : ''}`]);
      return ExitCode.OK;
    });
  },
};

export const command: CommandGroup = {
  summary: "the vaults' Temporal schedules",
  subcommands: { apply, list, describe, pause: pauseCommand(true), resume: pauseCommand(false), trigger, delete: del },
};

export { formatDuration };
