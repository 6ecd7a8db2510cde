/**
 * The soak's run (test/chaos/soak.ts sets the stack's environment, then calls this). See soak.ts for what it does.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import type { Client } from '@temporalio/client';
import { FleetEnv, postgresPids } from '../../bench/fleet-env';
import { closeLinkAttempts, collectRuns, countRuns, f2, pct, sentinelHistory, type RunFigures, type SentinelHistory } from '../../bench/fleet-results';
import { PROMETHEUS_URL } from '../../stack/prometheus';
import { runningPid } from '../../stack/processes';
import { stack } from '../../stack/run';
import { TEMPORAL_PROCESSES } from '../../stack/temporal-server';
import { CYCLE_WORKFLOW_TYPE } from '../../clients/cycles';
import { cycleWorkflowId, TASK_QUEUE } from '../../workflows/cycle-messages';

const ROOT = resolve(__dirname, '../..');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const say = (line: string) => console.log(`${new Date().toISOString().slice(11, 19)} [soak] ${line}`);

export const FAULTS = ['worker-kill', 'history-kill', 'lab-kill', 'postgres-pause'] as const;
export type SoakFault = (typeof FAULTS)[number];
const PG_PAUSE_SECONDS = 20;
const RESTART_AFTER_MS = 5000;
const SOLO_GROUP = 'solo-0'; // vault-000's lab, alone in its process
const SOLO_VAULT = 'vault-000';

export function rng(seed: number) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
}

export interface PlannedFault {
  atSeconds: number;
  kind: SoakFault;
}

/**
 * The seeded fault schedule: about one fault per 5 minutes (at least one of each kind), at random instants
 * between 30 s after the start and 40 s before the end, at least 20 s apart. Same seed and length, same plan.
 */
export function planFaults(seed: number, minutes: number): PlannedFault[] {
  const r = rng(seed);
  const count = Math.max(FAULTS.length, Math.round(minutes / 5));
  const kinds = Array.from({ length: count }, (_, i) => FAULTS[i % FAULTS.length]);
  for (let i = kinds.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [kinds[i], kinds[j]] = [kinds[j], kinds[i]];
  }
  const from = 30;
  const to = Math.max(from + 20 * count, minutes * 60 - 40);
  const slot = (to - from) / count;
  // One fault per slot, at a random point of the slot's first part: spread over the run, never bunched.
  return kinds.map((kind, i) => ({ atSeconds: Math.round(from + i * slot + r() * Math.max(0, slot - 20)), kind }));
}

export interface FaultRecord {
  kind: SoakFault;
  victim: string;
  pid: number;
  at: string;
  backSeconds: number | null;
  /** Vaults whose gap the monitor read open at the instant of the fault. */
  gapsOpen: string[];
  note: string;
}

interface Episode {
  vault: string;
  from: number;
  /** The last reading that said open: the gap was certainly open then. */
  lastOpen: number;
  /** The first reading that said closed again. */
  to?: number;
}

/** Every lab's ports, every second: when each vault's gap read open and when it read closed again. */
class PortMonitor {
  episodes: Episode[] = [];
  open = new Map<string, Episode>();
  unreachable = new Map<string, number>(); // vault → seconds its lab did not answer
  sweeps = 0;
  slowestSweepMs = 0;
  private stopped = false;
  constructor(private labs: Array<{ id: string; control: string }>) {}

  async run(): Promise<void> {
    while (!this.stopped) {
      const t0 = Date.now();
      await Promise.all(this.labs.map((l) => this.read(l)));
      this.sweeps++;
      this.slowestSweepMs = Math.max(this.slowestSweepMs, Date.now() - t0);
      await sleep(Math.max(0, 1000 - (Date.now() - t0)));
    }
  }

  private async read(l: { id: string; control: string }): Promise<void> {
    const at = Date.now();
    let down: boolean;
    try {
      // /link, not /state: /state lists every lock (a walk of the copies), and 100 labs read each second with it
      // kept the lab processes so busy that the monitor went blind (the first soak with this monitor).
      const res = await fetch(`${l.control}/link`, { signal: AbortSignal.timeout(900) });
      down = ((await res.json()) as { vaultPortsDown: boolean }).vaultPortsDown;
    } catch {
      this.unreachable.set(l.id, (this.unreachable.get(l.id) ?? 0) + 1);
      return; // unknown: an episode neither starts nor ends on a reading that did not happen
    }
    const ep = this.open.get(l.id);
    if (!down && ep) ep.lastOpen = at;
    else if (!down) {
      const e = { vault: l.id, from: at, lastOpen: at };
      this.open.set(l.id, e);
      this.episodes.push(e);
    } else if (ep) {
      ep.to = at;
      this.open.delete(l.id);
    }
  }

  stop(): void {
    this.stopped = true;
  }
}

/** sha256 of every file of every locked copy (hidden in-flight folders skipped), read without blocking the loop. */
async function hashCopies(roots: Array<{ vault: string; dir: string }>, into: Map<string, string>, onlyNew: boolean): Promise<{ changed: string[]; checked: number }> {
  const changed: string[] = [];
  let checked = 0;
  const walk = async (vault: string, base: string, dir: string): Promise<void> => {
    for (const name of readdirSync(dir)) {
      if (name.startsWith('.')) continue;
      const p = join(dir, name);
      const st = statSync(p);
      if (st.isDirectory()) await walk(vault, base, p);
      else if (st.isFile()) {
        const key = `${vault}/${relative(base, p)}`;
        if (onlyNew && into.has(key)) continue;
        const digest = createHash('sha256').update(await readFile(p)).digest('hex');
        checked++;
        const known = into.get(key);
        if (known === undefined) into.set(key, digest);
        else if (known !== digest) changed.push(key);
      }
    }
  };
  for (const r of roots) if (existsSync(r.dir)) await walk(r.vault, r.dir, r.dir);
  if (!onlyNew) for (const key of into.keys()) if (!existsSync(join(roots.find((r) => key.startsWith(`${r.vault}/`))!.dir, key.slice(key.indexOf('/') + 1)))) changed.push(`${key} (gone)`);
  return { changed, checked };
}

export interface AlertSeen {
  name: string;
  labels: Record<string, string>;
  firstSeen: string;
  lastSeen: string;
}

async function readAlerts(into: Map<string, AlertSeen>): Promise<void> {
  try {
    const res = await fetch(`${PROMETHEUS_URL}/api/v1/alerts`, { signal: AbortSignal.timeout(5000) });
    const body = (await res.json()) as { data: { alerts: Array<{ labels: Record<string, string>; state: string }> } };
    const now = new Date().toISOString();
    for (const a of body.data.alerts.filter((x) => x.state === 'firing')) {
      const key = JSON.stringify(a.labels);
      const known = into.get(key);
      if (known) known.lastSeen = now;
      else into.set(key, { name: a.labels.alertname, labels: a.labels, firstSeen: now, lastSeen: now });
    }
  } catch {
    /* Prometheus busy or away: the next reading */
  }
}

/** A PromQL instant query on the stack's Prometheus: each series' labels and value. */
async function promQuery(q: string): Promise<Array<{ labels: Record<string, string>; value: number }>> {
  try {
    const res = await fetch(`${PROMETHEUS_URL}/api/v1/query?query=${encodeURIComponent(q)}`, { signal: AbortSignal.timeout(10000) });
    const body = (await res.json()) as { data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> } };
    return body.data.result.map((x) => ({ labels: x.metric, value: Number(x.value[1]) }));
  } catch {
    return [];
  }
}

/**
 * Which alerts the run must have raised: IrClosePathRetrying for every cycle whose closeLink took more than one
 * attempt (its own history says so: e.g. its lab was SIGKILLed while the close path ran). A lab kill with the gap
 * open does not by itself retry the close: a cycle still replicating waits for the lab and closes once it is back.
 * Nothing else should fire: maxOpen (30 min) is never reached, no RPO is configured, every open gap is a cycle's
 * (no sentinel incident), one worker is always up.
 */
export function expectedAlerts(closeRetried: Array<{ workflowId: string; vault: string; attempts: number }>): Array<{ name: string; vault?: string; why: string }> {
  const byVault = new Map<string, string>();
  for (const c of closeRetried) if (c.attempts > 1 && !byVault.has(c.vault)) byVault.set(c.vault, `closeLink took ${c.attempts} attempts in ${c.workflowId}`);
  return [...byVault].map(([vault, why]) => ({ name: 'IrClosePathRetrying', vault, why }));
}

/** closeLink's attempts in each cycle that had its gap open when a fault hit (the only ones that may have retried). */
export async function closeAttemptsAfterFaults(client: Client, faults: FaultRecord[], cycles: RunFigures[]): Promise<Array<{ workflowId: string; vault: string; attempts: number }>> {
  const hit = cycles.filter((c) =>
    faults.some((f) => f.gapsOpen.includes(c.vault) && Date.parse(c.startedAt) <= Date.parse(f.at) && (!c.closedAt || Date.parse(c.closedAt) >= Date.parse(f.at))),
  );
  return Promise.all(hit.map(async (c) => ({ workflowId: c.workflowId, vault: c.vault, attempts: await closeLinkAttempts(client, c.workflowId, c.runId).catch(() => 0) })));
}

export interface AlertVerdict extends AlertSeen {
  /** What the soak did that makes this alert right, or null: an alert nothing explains fails the soak. */
  why: string | null;
}

const CLOSE_RETRY_ALERT_MS = 15 * 60000; // increase(ir_close_retries[10m]) plus scrapes and the rule's evaluation

/**
 * Why each raised alert fired. A close path retries when a fault hit while the vault's gap was open: its closeLink
 * attempt was lost with the worker, the history node, the paused database or the vault's lab. A scheduled drill is
 * refused (IrDrillFailed{outcome="refused"}) when it fires before the vault's first copy exists: the product alerts
 * on that on purpose (nothing to recover from is worth a page), and a fleet whose schedules all start at once
 * meets it on its first round.
 */
export function explainAlerts(alerts: AlertSeen[], faults: FaultRecord[], episodes: Array<{ vault: string; from: number; to?: number }>, runs: RunFigures[], endedAt: number): AlertVerdict[] {
  // Open as the monitor read it, or as the cycle recorded it (its openedAt → gapClosedAt): either is evidence.
  const overlaps = (a: number, b: number | undefined, from: number, to: number) => a <= to && (b ?? endedAt) >= from;
  const openDuring = (vault: string, from: number, to: number) =>
    episodes.some((e) => e.vault === vault && overlaps(e.from, e.to, from, to)) ||
    runs.some((r) => r.type === 'isolatedRecoveryCycle' && r.vault === vault && r.openedAt && overlaps(Date.parse(r.openedAt), r.gapClosedAt ? Date.parse(r.gapClosedAt) : undefined, from, to));
  return alerts.map((a) => {
    const vault = a.labels.vault;
    const seen = Date.parse(a.firstSeen);
    if (a.name === 'IrClosePathRetrying') {
      const f = faults.find((x) => {
        const at = Date.parse(x.at);
        return at <= seen && seen - at <= CLOSE_RETRY_ALERT_MS && openDuring(vault, at, at + (x.backSeconds ?? 0) * 1000);
      });
      return { ...a, why: f ? `${f.kind} at ${f.at} with its gap open` : null };
    }
    if (a.name === 'IrDrillFailed' && a.labels.outcome === 'refused') {
      const firstCopy = Math.min(...runs.filter((r) => r.type === 'isolatedRecoveryCycle' && r.vault === vault && r.outcome === 'validated' && r.closedAt).map((r) => Date.parse(r.closedAt!)));
      const early = runs.filter((r) => r.type === 'recoveryDrill' && r.vault === vault && r.outcome === 'refused' && Date.parse(r.startedAt) < firstCopy);
      return { ...a, why: early.length ? `${early.length} scheduled drill(s) fired before the vault's first validated copy (${Number.isFinite(firstCopy) ? new Date(firstCopy).toISOString() : 'none'})` : null };
    }
    return { ...a, why: null };
  });
}

export interface GapFinding {
  vault: string;
  from: string;
  to: string | null;
  openSeconds: number;
  cycle: string | null;
  cycleClosedAt: string | null;
  /** Up to the first reading that said closed: an upper bound (a lab that did not answer delays that reading). */
  beyondSeconds: number;
  /** Up to the last reading that said open: the gap was certainly open this long after its cycle closed it. */
  seenOpenBeyondSeconds: number;
}

/** Each open episode against the cycle whose exposure window it belongs to: how long it stayed open after that. */
export function gapsBeyondWindow(episodes: Array<{ vault: string; from: number; lastOpen: number; to?: number }>, cycles: RunFigures[], endedAt: number): GapFinding[] {
  return episodes.map((e) => {
    const to = e.to ?? endedAt;
    const mine = cycles
      .filter((c) => c.vault === e.vault && c.openedAt)
      .filter((c) => Date.parse(c.openedAt!) <= to + 1000 && (!c.gapClosedAt || Date.parse(c.gapClosedAt) >= e.from - 1000));
    const closedAt = mine.map((c) => (c.gapClosedAt ? Date.parse(c.gapClosedAt) : NaN)).filter(Number.isFinite);
    const last = closedAt.length ? Math.max(...closedAt) : null;
    return {
      vault: e.vault,
      from: new Date(e.from).toISOString(),
      to: e.to ? new Date(e.to).toISOString() : null,
      openSeconds: (to - e.from) / 1000,
      cycle: mine.map((c) => c.workflowId).join(', ') || null,
      cycleClosedAt: last === null ? null : new Date(last).toISOString(),
      // No cycle claims it: the whole episode is beyond any window.
      beyondSeconds: Math.max(0, (to - (last ?? e.from)) / 1000),
      seenOpenBeyondSeconds: last === null ? (e.lastOpen - e.from) / 1000 : Math.max(0, (e.lastOpen - last) / 1000),
    };
  });
}

export async function soak(v: Record<string, string | boolean | undefined>, argv: string[]): Promise<number> {
  const minutes = Number(v.minutes);
  const seed = Number(v.seed);
  if (!(minutes > 0) || !Number.isInteger(seed)) throw new Error('--minutes: a positive number; --seed: a whole number');

  const plan = planFaults(seed, minutes);
  say(`fault plan (seed ${seed}): ${plan.map((p) => `${p.kind}@${p.atSeconds}s`).join(', ')}`);
  const env = new FleetEnv({
    target: 'stack',
    dir: resolve(ROOT, '.fleet-soak'),
    vaults: Number(v.vaults),
    labProcesses: Number(v['lab-processes']),
    solo: 1,
    workers: 2,
    mib: Number(v.mib),
    every: String(v.every),
    jitter: String(v.jitter),
    drills: Number(v.drills),
    drillEvery: '15m',
    scrubs: Number(v.scrubs),
    scrubEvery: '10m',
    log: say,
  });
  const load: Array<[string, number]> = [[new Date().toISOString(), loadavg()[0]]];
  const faults: FaultRecord[] = [];
  const alerts = new Map<string, AlertSeen>();
  const hashes = new Map<string, string>();
  const memoryAt: Record<string, Record<string, number>> = {};
  const pidsAt: Record<string, Record<string, number>> = {}; // which process each reading was (restarts show)
  const heapAt: Record<string, Record<string, number>> = {}; // workers: lowest V8 heap in use over the 10 min before
  let monitor: PortMonitor | undefined;
  let code = 0;
  // Bounded whatever happens: past the deadline, everything the soak started is stopped and it exits.
  const hardDeadline = setTimeout(() => {
    console.error(`[soak] hard deadline (${minutes + 20} min) passed: stopping everything and exiting`);
    monitor?.stop();
    void Promise.race([env.stop(), sleep(120000)]).finally(() => process.exit(3));
  }, (minutes + 20) * 60000);
  hardDeadline.unref();
  await env.start();
  try {
    const labs = env.plan.vaults.map((x) => ({ id: x.id, control: `http://${env.plan.host}:${x.ports.control}` }));
    const copyRoots = env.plan.vaults.map((x) => ({ vault: x.id, dir: join(x.dir, 'vault-dd/data/col1/ir-copies') }));
    monitor = new PortMonitor(labs);
    const monitoring = monitor.run();
    await env.applySchedules();
    const since = new Date();
    const t0 = Date.now();
    env.mark();
    const snapshotMemory = async (label: string) => {
      env.sample();
      // The floor of the heap's sawtooth (after the collections of the last 10 min): what a leak would raise.
      const floors = await promQuery('min by (worker) (min_over_time(ir_worker_heap_used_bytes[10m]))');
      heapAt[label] = Object.fromEntries(floors.map((x) => [x.labels.worker, +(x.value / 1048576).toFixed(0)]));
      memoryAt[label] = Object.fromEntries([...env.samples].map(([role, s]) => [role, +s.last.rssMiB.toFixed(0)]));
      pidsAt[label] = Object.fromEntries([...env.samples].map(([role, s]) => [role, s.pid]));
    };
    // A reading every 10 min (and one at +5 min, once the fleet is warm): a trend, not two points.
    const memoryMarks = [5, ...Array.from({ length: Math.floor((minutes - 1) / 10) }, (_, i) => (i + 1) * 10)].filter((m) => m < minutes);
    const snapshotDue = async () => {
      for (const m of memoryMarks) if (!memoryAt[`+${m}min`] && Date.now() > t0 + m * 60000) await snapshotMemory(`+${m}min`);
    };
    await snapshotMemory('start');
    const housekeeping = setInterval(() => void readAlerts(alerts), 15000);
    let nextHash = Date.now() + 5 * 60000;
    for (const p of plan) {
      while (Date.now() < t0 + p.atSeconds * 1000) {
        await sleep(Math.min(5000, t0 + p.atSeconds * 1000 - Date.now()));
        if (Date.now() >= nextHash) {
          nextHash = Date.now() + 5 * 60000;
          const h = await hashCopies(copyRoots, hashes, true);
          load.push([new Date().toISOString(), loadavg()[0]]);
          say(`copies: ${hashes.size} files hashed (${h.checked} new); load ${loadavg()[0].toFixed(1)}`);
        }
        await snapshotDue();
      }
      faults.push(await inject(env, p.kind, seed + faults.length, monitor));
      say(`fault ${faults.length}/${plan.length}: ${JSON.stringify(faults[faults.length - 1])}`);
    }
    while (Date.now() < t0 + minutes * 60000) {
      await sleep(Math.min(5000, t0 + minutes * 60000 - Date.now()));
      await snapshotDue();
    }
    await snapshotMemory('end of window');
    const sentinels = await sentinelHistory(env.client).catch(() => undefined); // while the schedules still run
    load.push([new Date().toISOString(), loadavg()[0]]);
    await env.deleteSchedules();
    say('window over: schedules deleted; runs finishing');
    const drainUntil = Date.now() + 4 * 60000;
    while (Date.now() < drainUntil) {
      const { running } = await countRuns(env.client, since).catch(() => ({ running: 1 }));
      if (!running) break;
      await sleep(10000);
    }
    clearInterval(housekeeping);
    await readAlerts(alerts);
    monitor.stop();
    await monitoring;
    const endedAt = Date.now();
    const copies = await hashCopies(copyRoots, hashes, false);
    const runs = await collectRuns(env.client, since, { histories: false }); // the list's history length is enough here
    const cpuSeconds = env.cpuSince();
    const cycles = runs.filter((r) => r.type === 'isolatedRecoveryCycle');
    const gaps = gapsBeyondWindow(monitor.episodes, cycles, endedAt);
    const closeAttempts = await closeAttemptsAfterFaults(env.client, faults, cycles);
    const windowS = `${Math.ceil((endedAt - since.getTime()) / 1000) + 60}s`;
    const counters = {
      closeRetries: await promQuery(`sum by (vault) (increase(ir_close_retries[${windowS}])) > 0`),
      sentinelIncidents: await promQuery(`sum by (vault, kind) (increase(ir_sentinel_incidents[${windowS}])) > 0`),
      cycleOutcomes: await promQuery(`sum by (outcome) (increase(ir_cycle_outcomes[${windowS}]))`),
    };
    const report = {
      command: `npm run soak${argv.length ? ` -- ${argv.join(' ')}` : ''}`,
      seed,
      minutes,
      startedAt: since.toISOString(),
      endedAt: new Date(endedAt).toISOString(),
      machine: { cores: cpus().length, load },
      settings: env.o,
      faults,
      runs,
      gaps,
      monitor: { sweeps: monitor.sweeps, slowestSweepMs: monitor.slowestSweepMs, unreachableReadings: Object.fromEntries(monitor.unreachable) },
      copies: { files: hashes.size, changed: copies.changed },
      alerts: explainAlerts([...alerts.values()], faults, monitor.episodes, runs, endedAt),
      closeAttempts,
      expectedAlerts: expectedAlerts(closeAttempts),
      counters,
      history: { sentinels },
      memory: { at: memoryAt, pids: pidsAt, workerHeapFloorMiB: heapAt, samples: Object.fromEntries([...env.samples].map(([role, s]) => [role, { startMiB: +s.first.rssMiB.toFixed(0), endMiB: +s.last.rssMiB.toFixed(0), peakMiB: +s.peakRssMiB.toFixed(0), restarts: s.restarts }])) },
      cpuSeconds,
    };
    const out = resolve(ROOT, String(v.out));
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(`${out}.json`, JSON.stringify(report, null, 2) + '\n');
    writeFileSync(`${out}.md`, soakMarkdown(report));
    say(`wrote ${out}.md and .json`);
    const worst = Math.max(0, ...gaps.map((g) => g.beyondSeconds));
    const unexplained = report.alerts.filter((a) => a.why === null);
    const missing = report.expectedAlerts.filter((e) => !report.alerts.some((a) => a.name === e.name && a.labels.vault === e.vault));
    if (unexplained.length) say(`alerts nothing the soak did explains: ${unexplained.map((a) => `${a.name} ${JSON.stringify(a.labels)}`).join('; ')}`);
    if (missing.length) say(`expected alerts that never fired: ${missing.map((e) => `${e.name}{vault=${e.vault}}`).join('; ')}`);
    if (copies.changed.length || worst > 60 || failedValidation(cycles).length || unexplained.length || missing.length) code = 1;
  } finally {
    monitor?.stop();
    await env.stop();
    clearTimeout(hardDeadline);
  }
  return code;
}

/** Starts a cycle of the vault now (or finds its running one) and waits until the monitor reads its gap open. */
async function gapOpenOn(env: FleetEnv, monitor: PortMonitor, vault: string, timeoutMs: number): Promise<string> {
  let how = 'its scheduled cycle';
  if (!monitor.open.has(vault)) {
    await env.client.workflow
      .start(CYCLE_WORKFLOW_TYPE, { taskQueue: TASK_QUEUE, workflowId: cycleWorkflowId(vault), args: [vault, {}] })
      .then(() => (how = 'a cycle the soak started'))
      .catch(() => (how = 'a cycle already running'));
  }
  const deadline = Date.now() + timeoutMs;
  while (!monitor.open.has(vault) && Date.now() < deadline) await sleep(100);
  return monitor.open.has(vault) ? `with its gap open (${how})` : `its gap did not open within ${timeoutMs / 1000} s: killed anyway`;
}

async function inject(env: FleetEnv, kind: SoakFault, pick: number, monitor: PortMonitor): Promise<FaultRecord> {
  // The lab kill waits for vault-000's gap to be open: that is when losing the devices matters.
  const labNote = kind === 'lab-kill' ? await gapOpenOn(env, monitor, SOLO_VAULT, 120000) : '';
  const at = new Date().toISOString();
  const t0 = Date.now();
  const gapsOpen = [...monitor.open.keys()];
  if (kind === 'worker-kill') {
    const names = [...env.workers.keys()];
    const w = env.workers.get(names[pick % names.length])!;
    process.kill(w.pid, 'SIGKILL');
    await w.exited;
    await sleep(RESTART_AFTER_MS);
    const again = await env.startWorker(w.name);
    return { kind, victim: w.name, pid: w.pid, at, backSeconds: (Date.now() - t0) / 1000, gapsOpen, note: `restarted as pid ${again.pid}` };
  }
  if (kind === 'history-kill') {
    const p = TEMPORAL_PROCESSES.filter((x) => x.service === 'history')[pick % 2];
    const pid = runningPid(p.name)!;
    process.kill(pid, 'SIGKILL');
    const r = await stack();
    return { kind, victim: p.name, pid, at, backSeconds: (Date.now() - t0) / 1000, gapsOpen, note: r.code === 0 ? 'npm run stack started it again' : `npm run stack exited ${r.code}` };
  }
  if (kind === 'lab-kill') {
    const g = env.groups.get(SOLO_GROUP)!;
    g.child.kill('SIGKILL');
    await g.exited;
    await sleep(RESTART_AFTER_MS);
    const again = await env.restartGroup(SOLO_GROUP);
    return { kind, victim: `lab of ${SOLO_VAULT} (${SOLO_GROUP})`, pid: g.pid, at, backSeconds: (Date.now() - t0) / 1000, gapsOpen, note: `${labNote}; restarted as pid ${again.pid} on the same ports` };
  }
  const pids = postgresPids();
  for (const pid of pids) process.kill(pid, 'SIGSTOP');
  await sleep(PG_PAUSE_SECONDS * 1000);
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGCONT');
    } catch {
      /* a backend that ended meanwhile */
    }
  }
  return { kind, victim: 'postgres', pid: pids[0], at, backSeconds: (Date.now() - t0) / 1000, gapsOpen, note: `${pids.length} processes stopped ${PG_PAUSE_SECONDS} s (SIGSTOP, then SIGCONT)` };
}

const failedValidation = (cycles: RunFigures[]) => cycles.filter((c) => c.copyEqual === false);

export function soakMarkdown(r: any): string {
  const cycles = (r.runs as RunFigures[]).filter((x) => x.type === 'isolatedRecoveryCycle');
  const outcomes = new Map<string, number>();
  for (const c of cycles) outcomes.set(c.outcome ?? c.status, (outcomes.get(c.outcome ?? c.status) ?? 0) + 1);
  const failed = failedValidation(cycles);
  const gaps = r.gaps as GapFinding[];
  const worst = gaps.reduce((a: GapFinding | undefined, g) => (!a || g.beyondSeconds > a.beyondSeconds ? g : a), undefined);
  const seenWorst = gaps.reduce((a: GapFinding | undefined, g) => (!a || g.seenOpenBeyondSeconds > a.seenOpenBeyondSeconds ? g : a), undefined);
  const others = (r.runs as RunFigures[]).filter((x) => x.type !== 'isolatedRecoveryCycle');
  const loads = (r.machine.load as Array<[string, number]>).map(([, l]) => l);
  const mem = r.memory.samples as Record<string, { startMiB: number; endMiB: number; peakMiB: number; restarts: number }>;
  const at = r.memory.at as Record<string, Record<string, number>>;
  const pids = (r.memory.pids ?? {}) as Record<string, Record<string, number>>;
  const labels = Object.keys(at);
  // A reading taken by another process than the one before it: the role was restarted in between (↻).
  const cell = (role: string, i: number) => {
    const v = at[labels[i]][role];
    if (v === undefined) return '–';
    const before = i > 0 ? pids[labels[i - 1]]?.[role] : undefined;
    return before !== undefined && pids[labels[i]]?.[role] !== before ? `↻ ${v}` : String(v);
  };
  const trend = memoryTrend(at, pids, Number(r.minutes));
  const heap = (r.memory.workerHeapFloorMiB ?? {}) as Record<string, Record<string, number>>;
  const heapTrend = memoryTrend(heap, pids, Number(r.minutes));
  const heapRoles = [...new Set(Object.values(heap).flatMap((x) => Object.keys(x)))].sort();
  return [
    '# Soak: the fleet for an hour with random faults (issue 19)',
    '',
    `Command: \`${r.command}\` (seed ${r.seed}); window ${r.startedAt} → ${r.endedAt} (runs drained after the window). ${r.settings.vaults} vaults on the moved stack (two history nodes, PostgreSQL, mTLS, encrypted payloads), 2 workers, labs in ${r.settings.labProcesses} processes (vault-000 alone in one); cycles every ${r.settings.every} with up to ${r.settings.jitter} jitter, ${r.settings.drills} vaults drilling every ${r.settings.drillEvery}, ${r.settings.scrubs} scrubbing every ${r.settings.scrubEvery}.`,
    `Machine: ${r.machine.cores} cores; load average (1 min) ${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)} over the run (the fleet alone keeps 2 cores busy; anything else on the machine shows here).`,
    '',
    '## Headline',
    '',
    `- Cycles run: ${cycles.length} (${[...outcomes].map(([k, n]) => `${k} ${n}`).join(', ')}); drills and scrubs: ${others.length} (${[...new Set(others.map((o) => `${o.type} ${o.outcome ?? o.status}`))].map((k) => `${k} ${others.filter((o) => `${o.type} ${o.outcome ?? o.status}` === k).length}`).join(', ')}).`,
    `- Faults injected: ${r.faults.length} (${FAULTS.map((k) => `${k} ${r.faults.filter((f: FaultRecord) => f.kind === k).length}`).join(', ')}).`,
    `- Longest time a gap stayed open beyond its cycle's own window (the monitor reads every lab every second): a reading saw it open **${f2(seenWorst?.seenOpenBeyondSeconds ?? 0)} s** after its cycle closed it${seenWorst ? ` (${seenWorst.vault}, cycle ${seenWorst.cycle ?? 'none'})` : ''}; the first reading that said closed came at most **${f2(worst?.beyondSeconds ?? 0)} s** after${worst ? ` (${worst.vault}, open ${worst.from} → ${worst.to ?? 'end'}, cycle ${worst.cycle ?? 'none'})` : ''} (an upper bound: a lab that does not answer delays it); ${gaps.length} open episodes seen, p95 beyond ${f2(pct(gaps.map((g) => g.beyondSeconds), 95))} s.`,
    `- Vault files changed: **${r.copies.changed.length}** of ${r.copies.files} locked-copy files hashed when first seen and again at the end${r.copies.changed.length ? `: ${r.copies.changed.slice(0, 10).join(', ')}` : ''}.`,
    `- Copies that failed validation: **${failed.length}**${failed.length ? ` (${failed.map((c) => c.workflowId).join(', ')})` : ''}.`,
    `- Memory over the second half of the window (processes not restarted in it, RSS MiB): ${trend.length ? trend.map((x) => `${x.role} ${x.startMiB}→${x.endMiB}`).join(', ') : 'no reading at its start'}; workers' heap floor: ${heapTrend.length ? heapTrend.map((x) => `${x.role} ${x.startMiB}→${x.endMiB}`).join(', ') : 'no worker lived through it'}; every reading in "Memory" below.`,
    `- Monitor: ${r.monitor.sweeps} sweeps of every lab, slowest ${r.monitor.slowestSweepMs} ms; unanswered readings: ${Object.entries(r.monitor.unreachableReadings).map(([k, n]) => `${k} ${n}`).join(', ') || 'none'}.`,
    '',
    '## Faults',
    '',
    '| at | fault | victim | gaps open at that instant | back after (s) | note |',
    '|---|---|---|---|---|---|',
    ...r.faults.map((f: FaultRecord) => `| ${f.at} | ${f.kind} | ${f.victim} (pid ${f.pid}) | ${f.gapsOpen.length ? f.gapsOpen.join(', ') : 'none'} | ${f2(f.backSeconds)} | ${f.note} |`),
    '',
    '## Alerts (Prometheus on the stack, read every 15 s)',
    '',
    `Must fire: ${r.expectedAlerts.length ? r.expectedAlerts.map((e: { name: string; vault?: string; why: string }) => `${e.name}{vault=${e.vault}} (${e.why})`).join('; ') : 'nothing (no close path retried)'}${r.closeAttempts ? `; closeLink attempts of the cycles a fault hit with the gap open, from their histories: ${(r.closeAttempts as Array<{ workflowId: string; attempts: number }>).map((c) => `${c.workflowId} ${c.attempts}`).join(', ') || 'none'}` : ''}. May fire: IrClosePathRetrying for a vault whose gap was open when a fault hit; IrDrillFailed{outcome="refused"} for a vault whose scheduled drill fired before its first copy. Nothing else: maxOpen (30 min) is never reached, no RPO is configured, every open gap belongs to a cycle, one worker is always up.`,
    'Raised:',
    ...(r.alerts.length ? r.alerts.map((a: AlertVerdict) => `- ${a.name} ${JSON.stringify(a.labels)} firing ${a.firstSeen} → ${a.lastSeen}: ${a.why ?? '**nothing the soak did explains it**'}`) : ['- none fired']),
    `Counters over the run (Prometheus, increase): close retries ${JSON.stringify(r.counters.closeRetries.map((x: { labels: Record<string, string>; value: number }) => [x.labels.vault, +x.value.toFixed(1)]))}; sentinel incidents ${JSON.stringify(r.counters.sentinelIncidents.map((x: { labels: Record<string, string>; value: number }) => [x.labels.vault, x.labels.kind, +x.value.toFixed(1)]))}; cycle outcomes ${JSON.stringify(r.counters.cycleOutcomes.map((x: { labels: Record<string, string>; value: number }) => [x.labels.outcome, +x.value.toFixed(1)]))}.`,
    '',
    '## Memory (RSS MiB) and CPU',
    '',
    `| process | ${Object.keys(at).join(' | ')} | peak | restarts | CPU s |`,
    `|---|${Object.keys(at).map(() => '---').join('|')}|---|---|---|`,
    ...Object.entries(mem).map(([role, m]) => `| ${role} | ${labels.map((_, i) => cell(role, i)).join(' | ')} | ${m.peakMiB} | ${m.restarts} | ${r.cpuSeconds[role] ?? '–'} |`),
    '',
    '↻: restarted (by a fault) since the reading before.',
    ...(heapRoles.length
      ? [
          '',
          'Workers\' V8 heap in use, the lowest over the 10 min before each reading (MiB, `min_over_time(ir_worker_heap_used_bytes[10m])` from Prometheus): the floor of the collector\'s sawtooth, which a leak raises and a lazy RSS does not.',
          '',
          `| worker | ${labels.join(' | ')} |`,
          `|---|${labels.map(() => '---').join('|')}|`,
          ...heapRoles.map((role) => `| ${role} | ${labels.map((l, i) => (heap[l]?.[role] === undefined ? '–' : cell(role, i).replace(/\d+$/, String(heap[l][role])))).join(' | ')} |`),
        ]
      : []),
    ...(trend.length ? ['', `Second half of the window, the same process throughout (from ${trend[0].from} to end of window): ${trend.map((x) => `${x.role} ${x.startMiB}→${x.endMiB} (${x.endMiB >= x.startMiB ? '+' : ''}${x.endMiB - x.startMiB})`).join(', ')}.`] : []),
    '',
    ...historySection(r),
    '## Gaps open longest beyond their window',
    '',
    '"seen open beyond": the last reading that said open, after the cycle closed the gap; "closed reading beyond": the first reading that said closed (later when the lab was slow to answer).',
    '',
    '| vault | open from | to | open (s) | cycle | its gap closed at | seen open beyond (s) | closed reading beyond (s) |',
    '|---|---|---|---|---|---|---|---|',
    ...[...gaps].sort((a, b) => b.beyondSeconds - a.beyondSeconds).slice(0, 10).map((g) => `| ${g.vault} | ${g.from} | ${g.to ?? 'end'} | ${f2(g.openSeconds)} | ${g.cycle ?? '–'} | ${g.cycleClosedAt ?? '–'} | ${f2(g.seenOpenBeyondSeconds)} | ${f2(g.beyondSeconds)} |`),
    '',
    ...(cycles.some((c) => c.failure) ? ['## Cycles that failed', '', ...cycles.filter((c) => c.failure).slice(0, 20).map((c) => `- ${c.workflowId}: ${c.failure}`), ''] : []),
  ].join('\n');
}


/** RSS at the first reading of the window's second half and at its end, for each process that lived through it. */
export function memoryTrend(at: Record<string, Record<string, number>>, pids: Record<string, Record<string, number>>, windowMinutes: number): Array<{ role: string; from: string; startMiB: number; endMiB: number }> {
  const labels = Object.keys(at);
  const half = labels.find((l) => /^\+\d+min$/.test(l) && Number(l.slice(1, -3)) >= windowMinutes / 2);
  const end = 'end of window';
  if (!half || !at[end]) return [];
  const span = labels.slice(labels.indexOf(half), labels.indexOf(end) + 1);
  return Object.keys(at[end])
    .filter((role) => at[half][role] !== undefined && pids[half]?.[role] !== undefined && span.every((l) => pids[l]?.[role] === pids[half][role]))
    .map((role) => ({ role, from: half, startMiB: at[half][role], endMiB: at[end][role] }));
}

/** History per run, first half of the window against the second: a cycle's length must not creep up with the hours. */
function historySection(r: any): string[] {
  const mid = (Date.parse(r.startedAt) + Date.parse(r.endedAt)) / 2;
  const runs = r.runs as RunFigures[];
  const types = [...new Set(runs.map((x) => x.type))];
  const figures = (xs: RunFigures[]) => (xs.length ? `${xs.length} runs, median ${pct(xs.map((x) => x.historyEvents), 50)}, max ${Math.max(...xs.map((x) => x.historyEvents))}` : 'none');
  const s = r.history?.sentinels as SentinelHistory | undefined;
  return [
    '## History (events per run)',
    '',
    '| workflow | started in the first half | started in the second half |',
    '|---|---|---|',
    ...types.map((t) => `| ${t} | ${figures(runs.filter((x) => x.type === t && Date.parse(x.startedAt) < mid))} | ${figures(runs.filter((x) => x.type === t && Date.parse(x.startedAt) >= mid))} |`),
    '',
    s
      ? `Gap sentinels (one per vault, long-running, continue-as-new after 200 periods or when the server suggests it) at the end of the window: ${s.running} running, ${s.runs} runs in all (${s.continuedAsNew} continued as new), the longest running history ${s.longestRunningEvents} events, the longest of any run ${s.longestEvents}.`
      : 'Gap sentinels: not read in this run.',
    '',
  ];
}
