/**
 * Temporal schedules from the vault configuration. `reconcile` makes the server match the config: one
 * schedule per vault and kind (cycle, drill), created, updated field by field, or
 * deleted when the config no longer names it (only schedules this tool created, marked in their memo).
 * An operator's pause and its note are left alone. Overlap is always SKIP: one cycle per vault.
 */
import type { Client, ScheduleDescription, ScheduleOptions } from '@temporalio/client';
import type { Config, ScheduleConfig, VaultConfig } from '../config/schema';
import { cycleWorkflowId } from '../workflows/cycle-messages';
import { scrubWorkflowId } from '../workflows/scrub-messages';
import { DRILL_BY_SCHEDULE, drillWorkflowId } from '../workflows/drill-messages';
import { CYCLE_WORKFLOW_TYPE } from './cycles';
import { formatDuration } from './vaults';

export const MANAGED_BY = 'irctl schedule apply';

/** A kind of scheduled work per vault. Issue 9's drills register here with their own config and action. */
export interface ScheduleKind {
  kind: string;
  config(vault: VaultConfig): ScheduleConfig | undefined;
  action(vault: VaultConfig): { workflowType: string; workflowId: string; args: unknown[] };
}

export const scheduleKinds: ScheduleKind[] = [
  {
    kind: 'cycle',
    config: (v) => v.schedule,
    // The server appends the scheduled time to the workflow id: ir-cycle-<vault>-<time>.
    action: (v) => ({ workflowType: CYCLE_WORKFLOW_TYPE, workflowId: cycleWorkflowId(v.id), args: [v.id, {}] }),
  },
  {
    kind: 'drill',
    config: (v) => v.drill?.schedule,
    action: (v) => ({ workflowType: 'recoveryDrill', workflowId: drillWorkflowId(v.id), args: [v.id, { by: DRILL_BY_SCHEDULE }] }),
  },
  {
    kind: 'scrub',
    // Opt-in (scrub.schedule: true): every scrub.interval, the pace the scrub's rolling plan assumes.
    config: (v) => (v.scrub.schedule ? { every: v.scrub.interval, jitter: 0, catchupWindow: 600, pauseOnFailure: false, notes: `scrub of the locked copies of vault ${v.id}` } : undefined),
    action: (v) => ({ workflowType: 'scrubCopies', workflowId: scrubWorkflowId(v.id), args: [v.id, {}] }),
  },
];

export const scheduleIdOf = (kind: string, vaultId: string): string => `ir-${kind}-schedule-${vaultId}`;

/** The fields apply owns, in comparable form (seconds, strings). */
export interface ManagedFields {
  every?: number;
  offset?: number;
  cron?: string[];
  timezone?: string;
  jitter: number;
  catchupWindow: number;
  pauseOnFailure: boolean;
  overlap: string;
  workflowType: string;
  workflowId: string;
  taskQueue: string;
  args: string;
  notes?: string;
}

export interface DesiredSchedule {
  scheduleId: string;
  kind: string;
  vaultId: string;
  fields: ManagedFields;
}

export function desiredSchedules(config: Config, taskQueue: string): DesiredSchedule[] {
  const out: DesiredSchedule[] = [];
  for (const vault of config.vaults) {
    for (const k of scheduleKinds) {
      const s = k.config(vault);
      if (!s) continue;
      const a = k.action(vault);
      out.push({
        scheduleId: scheduleIdOf(k.kind, vault.id),
        kind: k.kind,
        vaultId: vault.id,
        fields: {
          every: s.every,
          offset: s.every !== undefined ? (s.offset ?? 0) : undefined,
          cron: s.cron === undefined ? undefined : Array.isArray(s.cron) ? s.cron : [s.cron],
          timezone: s.timezone,
          jitter: s.jitter,
          catchupWindow: s.catchupWindow,
          pauseOnFailure: s.pauseOnFailure,
          overlap: 'SKIP',
          workflowType: a.workflowType,
          workflowId: a.workflowId,
          taskQueue,
          args: JSON.stringify(a.args),
          notes: s.notes,
        },
      });
    }
  }
  return out;
}

interface IrScheduleMemo {
  kind: string;
  vaultId: string;
  cron?: string[];
  notes?: string;
}

const ms = (seconds: number) => Math.round(seconds * 1000);

/** What to send for a desired schedule (create and update alike; state is handled by the caller). */
function scheduleBody(d: DesiredSchedule, typedSearchAttributes: ScheduleOptions['action']['typedSearchAttributes']): Omit<ScheduleOptions, 'scheduleId' | 'state' | 'memo'> {
  const f = d.fields;
  const memo: IrScheduleMemo = { kind: d.kind, vaultId: d.vaultId, cron: f.cron, notes: f.notes };
  return {
    spec: {
      ...(f.every !== undefined ? { intervals: [{ every: ms(f.every), offset: ms(f.offset ?? 0) }] } : { cronExpressions: f.cron }),
      jitter: ms(f.jitter),
      timezone: f.timezone,
    },
    action: {
      type: 'startWorkflow',
      workflowType: f.workflowType,
      workflowId: f.workflowId,
      taskQueue: f.taskQueue,
      args: JSON.parse(f.args) as unknown[],
      memo: { irSchedule: memo },
      typedSearchAttributes,
    },
    policies: { overlap: 'SKIP', catchupWindow: ms(f.catchupWindow), pauseOnFailure: f.pauseOnFailure },
  };
}

export function actualFields(desc: ScheduleDescription): ManagedFields {
  const interval = desc.spec.intervals?.[0];
  const memo = (desc.action.memo?.irSchedule ?? {}) as Partial<IrScheduleMemo>;
  return {
    every: interval ? interval.every / 1000 : undefined,
    offset: interval ? interval.offset / 1000 : undefined,
    cron: interval ? undefined : memo.cron,
    timezone: desc.spec.timezone || undefined,
    jitter: (desc.spec.jitter ?? 0) / 1000,
    catchupWindow: desc.policies.catchupWindow / 1000,
    pauseOnFailure: desc.policies.pauseOnFailure,
    overlap: String(desc.policies.overlap),
    workflowType: desc.action.workflowType,
    workflowId: desc.action.workflowId,
    taskQueue: desc.action.taskQueue,
    args: JSON.stringify(desc.action.args ?? []),
    notes: memo.notes,
  };
}

export interface FieldChange {
  field: keyof ManagedFields;
  from?: string;
  to?: string;
}

const DURATION_FIELDS = new Set<keyof ManagedFields>(['every', 'offset', 'jitter', 'catchupWindow']);

function show(field: keyof ManagedFields, v: unknown): string | undefined {
  if (v === undefined) return undefined;
  if (DURATION_FIELDS.has(field)) return formatDuration(v as number);
  return typeof v === 'string' ? v : JSON.stringify(v);
}

export function diffFields(actual: ManagedFields, desired: ManagedFields): FieldChange[] {
  const changes: FieldChange[] = [];
  for (const field of Object.keys(desired) as (keyof ManagedFields)[]) {
    const a = JSON.stringify(actual[field] ?? null);
    const d = JSON.stringify(desired[field] ?? null);
    if (a !== d) changes.push({ field, from: show(field, actual[field]), to: show(field, desired[field]) });
  }
  return changes;
}

export interface ScheduleChange {
  action: 'create' | 'update' | 'delete' | 'conflict';
  scheduleId: string;
  kind: string;
  vaultId: string;
  fields?: FieldChange[];
  note?: string;
}

export function formatChange(c: ScheduleChange): string {
  switch (c.action) {
    case 'create':
      return `created ${c.scheduleId} (${c.kind} of vault ${c.vaultId})`;
    case 'update':
      return `updated ${c.scheduleId}: ${(c.fields ?? []).map((f) => `${f.field} ${f.from ?? '(none)'} → ${f.to ?? '(none)'}`).join(', ')}`;
    case 'delete':
      return `deleted ${c.scheduleId} (vault ${c.vaultId} has no ${c.kind} schedule in the config any more; running cycles are not touched)`;
    case 'conflict':
      return `left alone ${c.scheduleId}: ${c.note}`;
  }
}

export function describeSpec(f: ManagedFields): string {
  const when = f.every !== undefined ? `every ${formatDuration(f.every)}${f.offset ? ` offset ${formatDuration(f.offset)}` : ''}` : `cron ${(f.cron ?? []).join('; ')}`;
  return `${when}${f.timezone ? ` (${f.timezone})` : ''}, jitter ${formatDuration(f.jitter)}, catch-up ${formatDuration(f.catchupWindow)}, overlap ${f.overlap}, pause on failure ${f.pauseOnFailure ? 'yes' : 'no'}`;
}

/** Owned schedules on the server (visibility: a schedule created a moment ago may not be listed yet). */
export async function listOwnedSchedules(client: Client): Promise<{ scheduleId: string; kind?: string; vaultId?: string; paused: boolean; nextActionTimes: Date[]; recentActions: { scheduledAt: Date; workflowId?: string }[] }[]> {
  const out = [];
  for await (const s of client.schedule.list()) {
    if (s.memo?.managedBy !== MANAGED_BY) continue;
    out.push({
      scheduleId: s.scheduleId,
      kind: s.memo.kind as string | undefined,
      vaultId: s.memo.vaultId as string | undefined,
      paused: s.state.paused,
      nextActionTimes: s.info.nextActionTimes,
      recentActions: s.info.recentActions.map((a) => ({ scheduledAt: a.scheduledAt, workflowId: a.action.workflow?.workflowId })),
    });
  }
  return out;
}

export async function describeSchedule(client: Client, scheduleId: string): Promise<ScheduleDescription | undefined> {
  const { ScheduleNotFoundError } = await import('@temporalio/client');
  try {
    return await client.schedule.getHandle(scheduleId).describe();
  } catch (err) {
    if (err instanceof ScheduleNotFoundError) return undefined;
    throw err;
  }
}

/** Makes the server match `desired`; with dryRun only computes the changes. */
export async function reconcile(client: Client, desired: DesiredSchedule[], opts: { dryRun: boolean }): Promise<{ changes: ScheduleChange[]; unchanged: string[] }> {
  const { IrVault } = await import('../workflows/cycle-messages');
  const changes: ScheduleChange[] = [];
  const unchanged: string[] = [];
  for (const d of desired) {
    const current = await describeSchedule(client, d.scheduleId);
    const body = scheduleBody(d, [{ key: IrVault, value: d.vaultId }]);
    if (!current) {
      changes.push({ action: 'create', scheduleId: d.scheduleId, kind: d.kind, vaultId: d.vaultId });
      if (!opts.dryRun) {
        await client.schedule.create({
          scheduleId: d.scheduleId,
          ...body,
          memo: { managedBy: MANAGED_BY, kind: d.kind, vaultId: d.vaultId },
          state: { paused: false, note: d.fields.notes },
        });
      }
      continue;
    }
    if (current.memo?.managedBy !== MANAGED_BY) {
      changes.push({ action: 'conflict', scheduleId: d.scheduleId, kind: d.kind, vaultId: d.vaultId, note: 'a schedule with this id exists but was not created by irctl schedule apply; delete or rename it' });
      continue;
    }
    const fields = diffFields(actualFields(current), d.fields);
    if (fields.length === 0) {
      unchanged.push(d.scheduleId);
      continue;
    }
    changes.push({ action: 'update', scheduleId: d.scheduleId, kind: d.kind, vaultId: d.vaultId, fields });
    if (!opts.dryRun) {
      // update() replaces the whole schedule: everything apply owns is sent; the pause state and an
      // operator's note are carried over (new config notes only replace the note of a running schedule).
      await client.schedule.getHandle(d.scheduleId).update((prev) => ({
        ...body,
        state: { paused: prev.state.paused, note: prev.state.paused ? prev.state.note : d.fields.notes, remainingActions: prev.state.remainingActions },
      }));
    }
  }
  const wanted = new Set(desired.map((d) => d.scheduleId));
  for (const owned of await listOwnedSchedules(client)) {
    if (wanted.has(owned.scheduleId)) continue;
    if (!(await describeSchedule(client, owned.scheduleId))) continue; // deleted already, still listed for a moment
    changes.push({ action: 'delete', scheduleId: owned.scheduleId, kind: owned.kind ?? '?', vaultId: owned.vaultId ?? '?' });
    if (!opts.dryRun) await client.schedule.getHandle(owned.scheduleId).delete();
  }
  return { changes, unchanged };
}
