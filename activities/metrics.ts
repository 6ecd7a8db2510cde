/**
 * The cycle's own Prometheus metrics, served by the worker's SDK endpoint (workers/main.ts installs the Runtime
 * with it and hands its meter here). Custom metrics get no `temporal_` prefix, so they are named `ir_*`; labels are
 * `vault` plus one bounded label each (outcome, result, kind, class). Activities call these with small edits.
 *
 * The meter is the Runtime's, not an activity's Context meter: the Context meter tags every series with its
 * activityType, so the gap gauge set to 1 by openLink and to 0 by closeLink would be two series, one stuck at 1.
 * With several workers each exports what it last learned; `ir_gap_state_timestamp_seconds` says when, so the
 * alerts (stack/prometheus/alerts.yml) believe the worker that learned the state last.
 *
 * Without a metrics endpoint (tests, a worker without `metrics.prometheus`) every call is a no-op.
 */
import { readFile } from 'node:fs/promises';
import { noopMetricMeter, type MetricCounter, type MetricGauge, type MetricHistogram, type MetricMeter } from '@temporalio/common';
import type { Config } from '../config/schema';
import type { CycleResult, Outcome } from '../workflows/cycle-messages';
import type { Incident } from '../workflows/sentinel-messages';
import type { DrillOutcome, DrillResult } from '../workflows/drill-messages';
import { isGoodCopy, readCatalog } from './catalog';

/** Every metric the worker exports on top of the SDK's: name → help. The dashboard test checks exprs against it. */
export const METRICS = {
  ir_gap_open: 'gauge: 1 while the vault\'s air gap is open (link up or replication enabled), as this worker last learned it',
  ir_gap_open_since_timestamp_seconds: 'gauge: unix time this worker learned the gap opened; 0 while closed',
  ir_gap_state_timestamp_seconds: 'gauge: unix time this worker last learned the gap state (openLink, closeLink, the sentinel check)',
  ir_vault_max_open_seconds: 'gauge: the vault\'s policy.maxOpen',
  ir_vault_rpo_seconds: 'gauge: the vault\'s rpo objective (only vaults that set one)',
  ir_exposure_seconds: 'histogram: a cycle\'s exposure window, first port up to last port verified down',
  ir_cycle_outcomes: 'counter: cycles recorded, by outcome',
  ir_newest_good_copy_timestamp_seconds: 'gauge: point in time of the newest good copy (validated or approved, no incident); 0: none',
  ir_newest_good_copy_age_seconds: 'gauge: age of that copy at the last refresh (the achieved RPO)',
  ir_drill_results: 'counter: drills recorded, by outcome',
  ir_drill_rto_seconds: 'histogram: measured recovery time of each application in a drill',
  ir_scrub_copies: 'counter: copies re-hashed by the scrub, by result (ok, damaged)',
  ir_scrub_findings: 'counter: problems the scrub found on locked copies, by class',
  ir_sentinel_incidents: 'counter: gap incidents the sentinel recorded (it closed a gap nobody held), by kind',
  ir_close_retries: 'counter: closeLink attempts after the first (the close path is retrying)',
  ir_worker_heap_used_bytes: 'gauge: V8 heap in use by this worker process (process.memoryUsage().heapUsed), every 15 s',
  ir_worker_resident_bytes: 'gauge: resident set of this worker process (process.memoryUsage().rss), every 15 s',
} as const;
export type MetricName = keyof typeof METRICS;

const OUTCOMES: Outcome[] = ['validated', 'suspect', 'approved', 'rejected', 'failed', 'aborted', 'cancelled'];
const DRILL_OUTCOMES: DrillOutcome[] = ['passed', 'recovery-failed', 'objectives-missed', 'refused', 'aborted', 'cancelled'];
const INCIDENT_KINDS: Array<Incident['kind']> = ['gap-open-without-holder', 'holder-ended-without-release'];

/** Histogram buckets in seconds (the SDK's defaults are for milliseconds); Runtime.install takes them by name. */
export const HISTOGRAM_BUCKETS: Record<string, number[]> = {
  ir_exposure_seconds: [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 14400],
  ir_drill_rto_seconds: [10, 30, 60, 300, 600, 1800, 3600, 7200, 14400, 28800, 86400],
};

const help = (name: MetricName) => METRICS[name].replace(/^\w+: /, '');

class CycleMetrics {
  private readonly gauge: (name: MetricName) => MetricGauge;
  private readonly counter: (name: MetricName) => MetricCounter;
  private readonly histogram: (name: MetricName) => MetricHistogram;
  private readonly openSince = new Map<string, number>();

  constructor(
    meter: MetricMeter,
    private readonly config?: Config,
  ) {
    const cache = new Map<string, unknown>();
    const once = <T>(name: string, make: () => T): T => {
      if (!cache.has(name)) cache.set(name, make());
      return cache.get(name) as T;
    };
    this.gauge = (name) => once(name, () => meter.createGauge(name, 'float', '', help(name)));
    this.counter = (name) => once(name, () => meter.createCounter(name, '', help(name)));
    this.histogram = (name) => once(name, () => meter.createHistogram(name, 'float', 's', help(name)));
  }

  /** The gap state as an activity learned it (true: any part open). */
  gap(vault: string, open: boolean, at = Date.now()): void {
    if (open && !this.openSince.has(vault)) this.openSince.set(vault, at);
    if (!open) this.openSince.delete(vault);
    this.gauge('ir_gap_open').set(open ? 1 : 0, { vault });
    this.gauge('ir_gap_open_since_timestamp_seconds').set(open ? this.openSince.get(vault)! / 1000 : 0, { vault });
    this.gauge('ir_gap_state_timestamp_seconds').set(at / 1000, { vault });
  }

  closeRetry(vault: string): void {
    this.counter('ir_close_retries').add(1, { vault });
  }

  /** After RECORD wrote the catalog: outcome, exposure, and the newest good copy at once (not at the next refresh). */
  async cycleRecorded(vault: string, result: CycleResult): Promise<void> {
    this.counter('ir_cycle_outcomes').add(1, { vault, outcome: result.outcome });
    if (typeof result.exposure?.seconds === 'number') this.histogram('ir_exposure_seconds').record(result.exposure.seconds, { vault });
    if (this.config?.vaults.some((v) => v.id === vault)) await this.refreshCopy(this.config.evidenceDir, vault);
  }

  drillRecorded(result: DrillResult): void {
    const vault = result.vaultId;
    this.counter('ir_drill_results').add(1, { vault, outcome: result.outcome });
    for (const app of result.apps) {
      if (typeof app.rtoSeconds === 'number') this.histogram('ir_drill_rto_seconds').record(app.rtoSeconds, { vault, application: app.name });
    }
  }

  scrubbed(vault: string, copy: { ok: boolean; problems: Array<{ class: string }> }): void {
    this.counter('ir_scrub_copies').add(1, { vault, result: copy.ok ? 'ok' : 'damaged' });
    for (const p of copy.problems) this.counter('ir_scrub_findings').add(1, { vault, class: p.class });
  }

  /** The worker's own memory: a long-running worker's heap should level off (the soak reads it to tell). */
  processMemory(usage: { heapUsed: number; rss: number }): void {
    this.gauge('ir_worker_heap_used_bytes').set(usage.heapUsed);
    this.gauge('ir_worker_resident_bytes').set(usage.rss);
  }

  incident(vault: string, kind: string): void {
    this.counter('ir_sentinel_incidents').add(1, { vault, kind });
  }

  /**
   * Per configured vault: the objectives, and zeros for the counters alerts take increase() of (a series that
   * first appears at 1 has no increase to see).
   */
  describeVaults(config: Config): void {
    for (const v of config.vaults) {
      const vault = v.id;
      this.gauge('ir_vault_max_open_seconds').set(v.policy.maxOpen, { vault });
      if (v.rpo !== undefined) this.gauge('ir_vault_rpo_seconds').set(v.rpo, { vault });
      this.counter('ir_close_retries').add(0, { vault });
      for (const outcome of OUTCOMES) this.counter('ir_cycle_outcomes').add(0, { vault, outcome });
      for (const outcome of DRILL_OUTCOMES) this.counter('ir_drill_results').add(0, { vault, outcome });
      for (const kind of INCIDENT_KINDS) this.counter('ir_sentinel_incidents').add(0, { vault, kind });
      this.counter('ir_scrub_copies').add(0, { vault, result: 'damaged' });
    }
  }

  /** The newest good copy per vault, from the evidence catalog: its data's point in time and age (achieved RPO). */
  async refreshCopies(config: Config): Promise<void> {
    for (const v of config.vaults) await this.refreshCopy(config.evidenceDir, v.id);
  }

  private async refreshCopy(evidenceDir: string, vault: string, now = Date.now()): Promise<void> {
    const at = await newestGoodCopyTime(evidenceDir, vault);
    this.gauge('ir_newest_good_copy_timestamp_seconds').set(at === undefined ? 0 : at / 1000, { vault });
    if (at !== undefined) this.gauge('ir_newest_good_copy_age_seconds').set(Math.max(0, (now - at) / 1000), { vault });
  }
}

/** When the newest good copy's data is from: its sync point (report.json), else when it was recorded. */
export async function newestGoodCopyTime(evidenceDir: string, vaultId: string): Promise<number | undefined> {
  const entries = await readCatalog(evidenceDir, vaultId).catch(() => []);
  const newest = entries.filter((e) => isGoodCopy(e) && !e.incidents?.length).pop();
  if (!newest) return undefined;
  try {
    const report = JSON.parse(await readFile(newest.report, 'utf8')) as Partial<CycleResult>;
    const t = Date.parse(report.replication?.syncedAsOf ?? report.replication?.syncPoint ?? '');
    if (Number.isFinite(t)) return t;
  } catch {
    // the report moved or is unreadable: fall back to the catalog's time
  }
  return Date.parse(newest.recordedAt);
}

let current = new CycleMetrics(noopMetricMeter);

/** The metrics activities record to. */
export function cycleMetrics(): CycleMetrics {
  return current;
}

/**
 * Binds the metrics to a meter (the worker's `Runtime.instance().metricMeter`), publishes the vaults' objectives,
 * refreshes the copy ages every `refreshMs` (the catalog is the store's, so any worker may publish it) and the
 * process's own memory every 15 s.
 * Returns a stop function.
 */
export function startCycleMetrics(meter: MetricMeter, config: Config, refreshMs = 30_000): () => void {
  current = new CycleMetrics(meter, config);
  current.describeVaults(config);
  const refresh = () => current.refreshCopies(config).catch((err: unknown) => console.error(`metrics: reading the copy catalog failed: ${(err as Error).message}`));
  void refresh();
  const timer = setInterval(refresh, refreshMs);
  timer.unref();
  const memory = () => current.processMemory(process.memoryUsage());
  memory();
  const memoryTimer = setInterval(memory, 15_000);
  memoryTimer.unref();
  return () => {
    clearInterval(timer);
    clearInterval(memoryTimer);
  };
}
