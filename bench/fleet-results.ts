/**
 * What the fleet's runs did, read back from Temporal: every cycle, drill and scrub started since a time (its
 * result, history length, exposure and overhead), and each schedule's recent actions (when it meant to start a
 * run, jitter included, and when the run really started).
 */
import type { Client, WorkflowExecutionInfo } from '@temporalio/client';
import type { Config } from '../config/schema';
import { scheduleIdOf, scheduleKinds } from '../clients/schedules';
import type { CycleResult } from '../workflows/cycle-messages';

export const LAB_LINK_UP_SECONDS = 0.3; // the lab switch's own link-up delay: the device's time, counted apart

export interface RunFigures {
  type: string;
  workflowId: string;
  /** The soak starts its own cycles under the vault's cycle id: several runs may share a workflowId. */
  runId?: string;
  vault: string;
  status: string;
  startedAt: string;
  closedAt?: string;
  historyEvents: number;
  outcome?: string;
  exposureSeconds?: number;
  openedAt?: string;
  gapClosedAt?: string;
  overheadSeconds?: number;
  copyEqual?: boolean;
  /** Execution started → the first workflow task picked up by a worker. */
  firstTaskSeconds?: number;
  failure?: string;
}

const vaultOf = (info: WorkflowExecutionInfo): string => {
  const sa = (info.searchAttributes as Record<string, unknown[]> | undefined)?.IrVault?.[0];
  if (typeof sa === 'string') return sa;
  return /^ir-(?:cycle|drill|scrub)-(.+?)(?:-\d{4}-\d\d-\d\dT.*)?$/.exec(info.workflowId)?.[1] ?? '?';
};

async function pool<T, R>(items: T[], n: number, f: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await f(items[i]);
      }
    }),
  );
  return out;
}

const ms = (t: { seconds?: unknown; nanos?: number | null } | null | undefined) => (t ? Number(t.seconds) * 1000 + Math.floor((t.nanos ?? 0) / 1e6) : NaN);

const runsQuery = (since: Date) => `WorkflowType IN ('isolatedRecoveryCycle', 'recoveryDrill', 'scrubCopies') AND StartTime >= '${since.toISOString()}'`;

/** How many runs started since `since` are running and closed (the list alone: cheap enough to poll). */
export async function countRuns(client: Client, since: Date): Promise<{ running: number; closed: number }> {
  const n = { running: 0, closed: 0 };
  for await (const w of client.workflow.list({ query: runsQuery(since) })) n[w.status.name === 'RUNNING' ? 'running' : 'closed']++;
  return n;
}

/** Every cycle, drill and scrub started at or after `since` (closed ones with their results). */
export async function collectRuns(client: Client, since: Date, opts: { histories?: boolean } = {}): Promise<RunFigures[]> {
  const infos: WorkflowExecutionInfo[] = [];
  for await (const w of client.workflow.list({ query: runsQuery(since) })) infos.push(w);
  return pool(infos, 4, async (info) => {
    const f: RunFigures = {
      type: info.type,
      workflowId: info.workflowId,
      runId: info.runId,
      vault: vaultOf(info),
      status: info.status.name,
      startedAt: info.startTime.toISOString(),
      closedAt: info.closeTime?.toISOString(),
      historyEvents: info.historyLength,
    };
    const handle = client.workflow.getHandle(info.workflowId, info.runId);
    if (opts.histories !== false) try {
      const events = (await handle.fetchHistory()).events ?? [];
      const started = events.find((e) => e.workflowTaskStartedEventAttributes);
      if (started && events[0]) f.firstTaskSeconds = (ms(started.eventTime) - ms(events[0].eventTime)) / 1000;
      f.historyEvents = events.length;
    } catch {
      /* history unreadable now (server restarting): the list's length stands */
    }
    if (info.status.name === 'RUNNING') return f;
    try {
      const r = (await handle.result()) as unknown;
      if (info.type === 'isolatedRecoveryCycle') {
        const c = r as CycleResult;
        f.outcome = c.outcome;
        f.exposureSeconds = c.exposure?.seconds;
        f.openedAt = c.exposure?.openedAt;
        f.gapClosedAt = c.exposure?.closedAt;
        f.overheadSeconds = c.exposure?.split?.overheadSeconds;
        f.copyEqual = c.validation?.equal;
      } else f.outcome = String((r as { outcome?: string; status?: string })?.outcome ?? (r as { status?: string })?.status ?? 'completed');
    } catch (err) {
      const e = err as { message?: string; cause?: { message?: string; details?: unknown[] } };
      const details = e.cause?.details?.[0] as CycleResult | undefined;
      if (details?.exposure) {
        f.outcome = details.outcome;
        f.exposureSeconds = details.exposure.seconds;
        f.openedAt = details.exposure.openedAt;
        f.gapClosedAt = details.exposure.closedAt;
      } else f.outcome = 'failed';
      f.failure = `${e.message ?? ''}${e.cause?.message ? `: ${e.cause.message}` : ''}`.slice(0, 300);
    }
    return f;
  });
}

export interface ScheduleAction {
  scheduleId: string;
  kind: string;
  vault: string;
  workflowId: string;
  scheduledAt: string; // the action's time with its jitter
  takenAt: string; // when the server really started the run
  latencySeconds: number;
}

/** Each schedule's recent actions (the server keeps the last 10): merge calls into `into` to keep more. */
export async function scheduleActions(client: Client, config: Config, into = new Map<string, ScheduleAction>()): Promise<Map<string, ScheduleAction>> {
  const ids = config.vaults.flatMap((v) => scheduleKinds.filter((k) => k.config(v)).map((k) => ({ id: scheduleIdOf(k.kind, v.id), kind: k.kind, vault: v.id })));
  await pool(ids, 4, async ({ id, kind, vault }) => {
    try {
      const d = await client.schedule.getHandle(id).describe();
      for (const a of d.info.recentActions) {
        const workflowId = (a.action as { workflow?: { workflowId?: string } }).workflow?.workflowId ?? `${id}@${a.scheduledAt.toISOString()}`;
        into.set(workflowId, { scheduleId: id, kind, vault, workflowId, scheduledAt: a.scheduledAt.toISOString(), takenAt: a.takenAt.toISOString(), latencySeconds: (a.takenAt.getTime() - a.scheduledAt.getTime()) / 1000 });
      }
    } catch {
      /* deleted or the server is away: the earlier reading stands */
    }
  });
  return into;
}

export const pct = (xs: number[], p: number) => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] : NaN;
};
export const f2 = (n: number | null | undefined) => (n === null || n === undefined || Number.isNaN(n) ? '–' : n.toFixed(2));

/** The vaults' gap sentinels (long-running, continue-as-new): how long each run's history is, the running ones and all. */
export interface SentinelHistory {
  running: number;
  runs: number;
  continuedAsNew: number;
  longestRunningEvents: number;
  longestEvents: number;
}

export async function sentinelHistory(client: Client): Promise<SentinelHistory> {
  const h: SentinelHistory = { running: 0, runs: 0, continuedAsNew: 0, longestRunningEvents: 0, longestEvents: 0 };
  const running: WorkflowExecutionInfo[] = [];
  for await (const w of client.workflow.list({ query: "WorkflowType = 'gapSentinel'" })) {
    h.runs++;
    if (w.status.name === 'RUNNING') running.push(w);
    if (w.status.name === 'CONTINUED_AS_NEW') h.continuedAsNew++;
    h.longestEvents = Math.max(h.longestEvents, w.historyLength);
  }
  // The list has a running workflow's length as of its last visibility update: ask each for its own.
  const lengths = await pool(running, 4, (w) =>
    client.workflow
      .getHandle(w.workflowId, w.runId)
      .describe()
      .then((d) => d.historyLength)
      .catch(() => w.historyLength),
  );
  h.running = running.length;
  h.longestRunningEvents = Math.max(0, ...lengths);
  h.longestEvents = Math.max(h.longestEvents, h.longestRunningEvents);
  return h;
}

/** closeLink's attempts in one cycle, from its history (the started event records the attempt that ended it). */
export async function closeLinkAttempts(client: Client, workflowId: string, runId?: string): Promise<number> {
  const events = (await client.workflow.getHandle(workflowId, runId).fetchHistory()).events ?? [];
  const closeIds = new Set(events.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'closeLink').map((e) => String(e.eventId)));
  let most = 0;
  for (const e of events) {
    const s = e.activityTaskStartedEventAttributes;
    if (s && closeIds.has(String(s.scheduledEventId))) most = Math.max(most, s.attempt ?? 1);
  }
  return most;
}
