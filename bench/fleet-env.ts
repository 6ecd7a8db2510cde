/**
 * The fleet's running environment, shared by bench:fleet and the soak: a Temporal target (the moved stack —
 * IR_STACK_PORT_OFFSET/IR_STACK_DIR, no stack lock needed — or a dev server), the lab fleet (lab/fleet.ts), the
 * generated vault config, two worker processes (workers/main.ts, metrics on their own ports, scraped by the
 * stack's Prometheus), the vaults' schedules, and a sampler of every process's CPU and memory.
 * Import it after IR_STACK_* are set (bench/fleet.ts and test/chaos/soak.ts do).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { dataConverterFor } from '../codec/data-converter';
import { desiredSchedules, reconcile, scheduleIdOf, scheduleKinds } from '../clients/schedules';
import { startDevServer, type DevServer } from '../clients/devserver';
import { ensureTemporalCli } from '../clients/temporal-cli';
import { loadConfig } from '../config/load';
import type { Config } from '../config/schema';
import { temporalConnectionOptions } from '../config/temporal';
import { cpuProfileFlags, planFleet, startGroup, type FleetPlan, type GroupProcess } from '../lab/fleet';
import { dirs, HOST, PORT_OFFSET, ports, ROOT } from '../stack/layout';
import { workerTargetsFile } from '../stack/prometheus';
import { runningPid } from '../stack/processes';
import { stack } from '../stack/run';
import { TEMPORAL_PROCESSES } from '../stack/temporal-server';
import { TASK_QUEUE } from '../workflows/cycle-messages';
import { fleetConfig, stackTemporalSection, writeFleetConfig } from './fleet-config';
import { writeWorkflowBundle } from '../test/helpers/bundle';

export type Target = 'stack' | 'dev';

export interface FleetOptions {
  target: Target;
  dir: string;
  vaults: number;
  labProcesses: number;
  solo: number;
  workers: number;
  mib: number;
  every: string;
  jitter: string;
  drills: number;
  drillEvery: string;
  scrubs: number;
  scrubEvery: string;
  profileDir?: string;
  log: (line: string) => void;
}

export interface ProcSample {
  at: number;
  cpuSeconds: number;
  rssMiB: number;
}

/** CPU seconds (user+system) and RSS of a live process, from /proc; undefined when it is gone. */
export function procSample(pid: number): ProcSample | undefined {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return { at: Date.now(), cpuSeconds: (Number(f[11]) + Number(f[12])) / 100, rssMiB: Number(rss ?? 0) / 1024 };
  } catch {
    return undefined;
  }
}

/** Postgres's postmaster and its backends (children), for CPU totals and for pausing it. */
export function postgresPids(): number[] {
  const master = runningPid('postgres');
  if (!master) return [];
  const kids = readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        return readFileSync(`/proc/${d}/stat`, 'utf8').split(') ')[1].split(' ')[1] === String(master);
      } catch {
        return false;
      }
    })
    .map(Number);
  return [master, ...kids];
}

export interface WorkerProcess {
  name: string;
  child: ChildProcess;
  pid: number;
  metrics: string;
  exited: Promise<number | null>;
}

export class FleetEnv {
  plan!: FleetPlan;
  configFile!: string;
  config!: Config;
  client!: Client;
  connection!: Connection;
  groups = new Map<string, GroupProcess>();
  workers = new Map<string, WorkerProcess>();
  private dev?: DevServer;
  private bundle!: string;
  private cpuAtStart = new Map<string, number>();
  /** Per role (worker-1, lab group-0, history-1, …): first and latest sample, peak RSS, restarts. */
  samples = new Map<string, { first: ProcSample; last: ProcSample; peakRssMiB: number; pid: number; restarts: number; cpuBefore: number }>();
  private sampler?: NodeJS.Timeout;

  constructor(readonly o: FleetOptions) {}

  get dirPath(): string {
    return resolve(this.o.dir);
  }

  describeTarget(): string {
    return this.o.target === 'stack'
      ? `the stack (five Temporal processes on PostgreSQL, two history nodes, mTLS, payloads encrypted; ports moved by ${PORT_OFFSET}, state in ${dirs.state})`
      : `a Temporal dev server (SQLite, no TLS)${this.dev ? ` at ${this.dev.address}` : ''}`;
  }

  async start(): Promise<void> {
    const { o } = this;
    // A lab SIGKILLed in the last run may have left immutable files (lab/worm.ts lifts them only when it runs).
    if (existsSync(this.dirPath)) spawnSync('chattr', ['-R', '-f', '-i', this.dirPath]);
    rmSync(this.dirPath, { recursive: true, force: true });
    mkdirSync(this.dirPath, { recursive: true });
    let temporal: Record<string, unknown>;
    if (o.target === 'stack') {
      if (!PORT_OFFSET) throw new Error('the fleet runs on a moved stack: set IR_STACK_PORT_OFFSET (e.g. 2000) and IR_STACK_DIR (e.g. .stack-soak)');
      o.log(`stack: reset and start (${dirs.state}, ports +${PORT_OFFSET})`);
      await stack(['--reset']);
      const up = await stack();
      if (up.code !== 0) throw new Error(`npm run stack exited ${up.code}: ${(up.out + up.err).trim().split('\n').slice(-10).join('\n')}`);
      temporal = stackTemporalSection();
    } else {
      this.dev = await startDevServer({ cliPath: await ensureTemporalCli(), uiPort: false, logFile: join(this.dirPath, 'dev-server.log'), dbFile: join(this.dirPath, 'dev-server.db') });
      temporal = { address: this.dev.address, namespace: 'default' };
    }
    const [bundle] = await Promise.all([
      writeWorkflowBundle(this.dirPath),
      (async () => {
        this.plan = await planFleet({ dir: join(this.dirPath, 'labs'), vaults: o.vaults, processes: o.labProcesses, solo: o.solo, mib: o.mib });
        const t0 = Date.now();
        for (const g of await Promise.all(this.plan.groups.map((g) => startGroup(this.plan, g, { profileDir: o.profileDir })))) this.groups.set(g.group, g);
        o.log(`${o.vaults} labs in ${this.groups.size} processes up in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      })(),
    ]);
    this.bundle = bundle;
    this.configFile = join(this.dirPath, 'vaults.yaml');
    writeFleetConfig(
      this.configFile,
      fleetConfig(this.plan, { evidenceDir: join(this.dirPath, 'evidence'), temporal, every: o.every, jitter: o.jitter, drills: o.drills, drillEvery: o.drillEvery, scrubs: o.scrubs, scrubEvery: o.scrubEvery }),
    );
    this.config = loadConfig(this.configFile);
    const { address, namespace, tls } = temporalConnectionOptions(this.config, {});
    this.connection = await Connection.connect({ address, tls });
    this.client = new Client({ connection: this.connection, namespace, dataConverter: dataConverterFor(this.config) });
    for (let i = 1; i <= o.workers; i++) await this.startWorker(`worker-${i}`);
    if (o.target === 'stack') {
      writeFileSync(workerTargetsFile(), [...this.workers.values()].map((w) => `- targets: ['${w.metrics}']\n  labels: { worker: ${w.name} }\n`).join(''));
    }
    this.sampler = setInterval(() => this.sample(), 5000);
    this.sample();
  }

  /** Worker metrics ports: the stack's worker port (moved) and the ones after it. */
  private metricsBind(name: string): string {
    const n = Number(name.split('-')[1]);
    const base = this.o.target === 'stack' ? ports.projectWorkerMetrics : 29464;
    return `${HOST}:${base + n - 1}`;
  }

  /** Starts (or restarts) a worker process; resolves once it logged `worker on` (it polls then). */
  async startWorker(name: string): Promise<WorkerProcess> {
    const metrics = this.metricsBind(name);
    const prof = this.o.profileDir ? cpuProfileFlags(this.o.profileDir, name) : [];
    const logFile = join(this.dirPath, `${name}.log`);
    const fd = openSync(logFile, 'a');
    const child = spawn(process.execPath, [...prof, '--import', 'tsx', resolve(ROOT, 'workers/main.ts')], {
      cwd: ROOT,
      env: { ...process.env, IR_CONFIG: this.configFile, IR_METRICS_BIND: metrics, IR_WORKFLOW_BUNDLE: this.bundle, TEMPORAL_ADDRESS: '', TEMPORAL_NAMESPACE: '' },
      stdio: ['ignore', 'pipe', fd],
    });
    closeSync(fd);
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    await new Promise<void>((res, rej) => {
      let seen = '';
      child.stdout!.on('data', (d: Buffer) => {
        seen += d;
        writeFileSync(logFile, d, { flag: 'a' });
        if (seen.includes('worker on ')) res();
      });
      void exited.then((code) => rej(new Error(`${name} exited (${code}) while starting; see ${logFile}`)));
      setTimeout(() => rej(new Error(`${name} did not start within 120 s; see ${logFile}`)), 120000).unref();
    });
    const w = { name, child, pid: child.pid!, metrics, exited };
    this.workers.set(name, w);
    this.o.log(`${name} up (pid ${w.pid}, metrics ${metrics})`);
    return w;
  }

  async restartGroup(group: string): Promise<GroupProcess> {
    const g = await startGroup(this.plan, group, { profileDir: this.o.profileDir });
    this.groups.set(group, g);
    return g;
  }

  /** Every process of the run by role, with its pid (the server's too). */
  roles(): Map<string, number> {
    const out = new Map<string, number>();
    for (const w of this.workers.values()) out.set(w.name, w.pid);
    for (const g of this.groups.values()) out.set(`lab ${g.group}`, g.pid);
    if (this.o.target === 'stack') {
      for (const p of TEMPORAL_PROCESSES) {
        const pid = runningPid(p.name);
        if (pid) out.set(p.name, pid);
      }
      for (const name of ['prometheus', 'codec-server', 'temporal-ui']) {
        const pid = runningPid(name);
        if (pid) out.set(name, pid);
      }
      const pg = postgresPids();
      if (pg.length) out.set('postgres', pg[0]);
    } else if (this.dev?.pid) out.set('dev-server', this.dev.pid);
    return out;
  }

  /** PostgreSQL's CPU is its backends' too: summed over the postmaster's children alive now. */
  private cpuOf(role: string, pid: number): ProcSample | undefined {
    const s = procSample(pid);
    if (!s || role !== 'postgres') return s;
    const cpu = postgresPids().reduce((n, p) => n + (procSample(p)?.cpuSeconds ?? 0), 0);
    return { ...s, cpuSeconds: cpu };
  }

  sample(): void {
    for (const [role, pid] of this.roles()) {
      const s = this.cpuOf(role, pid);
      if (!s) continue;
      const known = this.samples.get(role);
      if (!known) this.samples.set(role, { first: s, last: s, peakRssMiB: s.rssMiB, pid, restarts: 0, cpuBefore: 0 });
      else {
        if (known.pid !== pid) {
          known.restarts++;
          known.cpuBefore += known.last.cpuSeconds; // a restarted process counts from zero again
          known.pid = pid;
        }
        known.last = s;
        known.peakRssMiB = Math.max(known.peakRssMiB, s.rssMiB);
      }
    }
  }

  /** CPU seconds each role used since `mark()`. */
  mark(): void {
    this.sample();
    for (const [role, s] of this.samples) this.cpuAtStart.set(role, s.cpuBefore + s.last.cpuSeconds);
  }

  cpuSince(): Record<string, number> {
    this.sample();
    const out: Record<string, number> = {};
    for (const [role, s] of this.samples) out[role] = +(s.cpuBefore + s.last.cpuSeconds - (this.cpuAtStart.get(role) ?? s.first.cpuSeconds)).toFixed(1);
    return out;
  }

  async applySchedules(): Promise<number> {
    const desired = desiredSchedules(this.config, TASK_QUEUE);
    await reconcile(this.client, desired, { dryRun: false });
    return desired.length;
  }

  /** Deletes the fleet's schedules (the runs they started go on to their end). */
  async deleteSchedules(): Promise<void> {
    for (const v of this.config.vaults) {
      for (const k of scheduleKinds) {
        await this.client.schedule
          .getHandle(scheduleIdOf(k.kind, v.id))
          .delete()
          .catch(() => undefined);
      }
    }
  }

  async stop(opts: { keepStack?: boolean } = {}): Promise<void> {
    if (this.sampler) clearInterval(this.sampler);
    for (const w of this.workers.values()) w.child.kill('SIGTERM');
    await Promise.all([...this.workers.values()].map((w) => Promise.race([w.exited, new Promise((r) => setTimeout(r, 30000))])));
    for (const w of this.workers.values()) if (w.child.exitCode === null) w.child.kill('SIGKILL');
    for (const g of this.groups.values()) g.child.kill('SIGTERM');
    await Promise.all([...this.groups.values()].map((g) => Promise.race([g.exited, new Promise((r) => setTimeout(r, 30000))])));
    await this.connection?.close().catch(() => undefined);
    if (this.dev) await this.dev.stop();
    if (this.o.target === 'stack' && !opts.keepStack) await stack(['--stop']);
  }

  existsProfileDir(): boolean {
    return Boolean(this.o.profileDir && existsSync(this.o.profileDir));
  }
}
