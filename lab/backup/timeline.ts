/**
 * Backup jobs on a timeline, shared by the Bareos and NetWorker simulators: each job definition starts
 * every `everyMs` while its trigger (Bareos job + schedule, NetWorker workflow autoStart) is enabled, runs
 * `durationMs`, and ends ok or failed (every `failEvery`-th run fails). The control API can start a run now,
 * with an outcome, including one that never finishes. A Bareos Director reload puts every enable flag back
 * to its configured value, as `reload` does to `disable job=`.
 */
export interface JobDef {
  name: string;
  client: string;
  /** Bareos schedule name / NetWorker "policy/workflow". */
  trigger: string;
  everyMs: number;
  durationMs: number;
  /** First scheduled start, ms after the timeline starts. */
  firstAtMs?: number;
  failEvery?: number;
}

export type RunState = 'running' | 'ok' | 'failed' | 'cancelled';

export interface JobRun {
  id: number;
  name: string;
  client: string;
  trigger: string;
  state: RunState;
  startedAt: Date;
  endedAt: Date | null;
  /** ms; Infinity for a run that never finishes. */
  durationMs: number;
  outcome: 'ok' | 'failed';
  manual: boolean;
}

export class BackupTimeline {
  readonly runs: JobRun[] = [];
  private nextId = 100;
  private readonly jobEnabled = new Map<string, boolean>();
  private readonly triggerEnabled = new Map<string, boolean>();
  private readonly due = new Map<string, number>();
  private readonly counts = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  reloads = 0;

  constructor(
    readonly defs: JobDef[],
    private readonly log: (line: string) => void,
    private readonly name: string,
  ) {
    const t0 = Date.now();
    for (const d of defs) this.due.set(d.name, t0 + (d.firstAtMs ?? d.everyMs));
    this.reload(false);
  }

  start(tickMs = 100): void {
    this.timer = setInterval(() => this.tick(), tickMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** Director reload: enable flags back to configuration (every job and schedule enabled). */
  reload(logIt = true): void {
    for (const d of this.defs) {
      this.jobEnabled.set(d.name, true);
      this.triggerEnabled.set(d.trigger, true);
    }
    if (logIt) {
      this.reloads++;
      this.log(`${this.name}: reload: job and schedule enable flags reset to the configuration`);
    }
  }

  def(name: string): JobDef | undefined {
    return this.defs.find((d) => d.name === name);
  }

  isJobEnabled(name: string): boolean {
    return this.jobEnabled.get(name) ?? false;
  }

  isTriggerEnabled(trigger: string): boolean {
    return this.triggerEnabled.get(trigger) ?? false;
  }

  hasTrigger(trigger: string): boolean {
    return this.defs.some((d) => d.trigger === trigger);
  }

  setJobEnabled(name: string, on: boolean): void {
    this.jobEnabled.set(name, on);
    this.log(`${this.name}: job ${name} ${on ? 'enabled' : 'disabled'}`);
  }

  setTriggerEnabled(trigger: string, on: boolean): void {
    this.triggerEnabled.set(trigger, on);
    this.log(`${this.name}: ${trigger} ${on ? 'enabled' : 'disabled'}`);
  }

  /** Starts a run now (operator `run`, or the control API); scheduling holds do not stop a manual run. */
  runNow(name: string, opts: { durationMs?: number; outcome?: 'ok' | 'failed' | 'hang' } = {}): JobRun {
    const d = this.def(name);
    if (!d) throw Object.assign(new Error(`no job ${name}`), { name: 'RouteError' });
    return this.begin(d, true, opts);
  }

  private begin(d: JobDef, manual: boolean, opts: { durationMs?: number; outcome?: 'ok' | 'failed' | 'hang' } = {}): JobRun {
    const n = (this.counts.get(d.name) ?? 0) + 1;
    this.counts.set(d.name, n);
    const failed = opts.outcome ? opts.outcome === 'failed' : d.failEvery ? n % d.failEvery === 0 : false;
    const run: JobRun = {
      id: this.nextId++,
      name: d.name,
      client: d.client,
      trigger: d.trigger,
      state: 'running',
      startedAt: new Date(),
      endedAt: null,
      durationMs: opts.outcome === 'hang' ? Infinity : (opts.durationMs ?? d.durationMs),
      outcome: failed ? 'failed' : 'ok',
      manual,
    };
    this.runs.push(run);
    this.log(`${this.name}: job ${d.name} #${run.id} started${manual ? ' (manual)' : ''}${run.durationMs === Infinity ? ' (never finishes)' : ''}`);
    return run;
  }

  tick(now = Date.now()): void {
    for (const r of this.runs) {
      if (r.state === 'running' && now - r.startedAt.getTime() >= r.durationMs) {
        r.state = r.outcome;
        r.endedAt = new Date(r.startedAt.getTime() + r.durationMs);
        this.log(`${this.name}: job ${r.name} #${r.id} ${r.state}`);
      }
    }
    for (const d of this.defs) {
      const at = this.due.get(d.name)!;
      if (now < at) continue;
      this.due.set(d.name, at + d.everyMs * Math.max(1, Math.ceil((now - at + 1) / d.everyMs)));
      if (!this.isJobEnabled(d.name) || !this.isTriggerEnabled(d.trigger)) {
        this.log(`${this.name}: scheduled run of ${d.name} skipped (held)`);
        continue;
      }
      this.begin(d, false);
    }
  }

  cancel(id: number): JobRun | undefined {
    const r = this.runs.find((x) => x.id === id);
    if (r && r.state === 'running') {
      r.state = 'cancelled';
      r.endedAt = new Date();
    }
    return r;
  }

  running(): JobRun[] {
    return this.runs.filter((r) => r.state === 'running');
  }
}
