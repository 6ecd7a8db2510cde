/**
 * Cycle benchmark: where a cycle's exposure goes (replication, source hashing, orchestration overhead) on fixed
 * data sets with and without production writes, history events per cycle, and many lab vaults cycling at once
 * on one worker (p95 overhead, worker peak RSS). Real parts: a Temporal dev server, the lab over SSH, one worker
 * in this process.
 *
 *   npm run bench:cycle                      full run: 10 MB and 1 GB, writer off/on, 20 vaults at once
 *   npm run bench:cycle -- --quick           10 MB only, 5 vaults at once
 *   npm run bench:cycle -- --stack           against the running stack (`npm run stack`: PostgreSQL, two history
 *                                            nodes, mTLS, payloads encrypted) instead of a dev server: 10 MB only
 *                                            unless IR_BENCH_SIZES says otherwise, 20 vaults at once; its figures go
 *                                            into the "cluster" section of bench/CYCLE-REPORT.md (and .json)
 *   IR_BENCH_SIZES=10,1024 (MiB)  IR_BENCH_VAULTS=20  IR_BENCH_WRITE_RATE=<bytes/s>  IR_BENCH_BANDWIDTH=<bytes/s>
 *   IR_BENCH_ONLY=single,many   IR_BENCH_RUNS=3 (cycles per single scenario)
 *   IR_BENCH_PROFILE=1  CPU profiles of the worker and the lab fleet during the many-vaults run (bench/out/*.cpuprofile)
 *
 * Writes bench/out/cycle-<stamp>.{md,json}; copy them to bench/CYCLE-REPORT.{md,json} to commit them (--stack
 * writes its section into those files itself, keeping the dev server's figures).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { startLab, type LabEndpoints } from '../lab';
import { labVaultConfig } from '../lab/vault-config';
import { startProfiler } from './profile';
import { parseConfig } from '../config/load';
import { ensureTemporalCli } from '../clients/temporal-cli';
import { startDevServer } from '../clients/devserver';
import { createWorker } from '../workers/worker';
import { isolatedRecoveryCycle } from '../workflows';
import type { CycleResult } from '../workflows/cycle-messages';
import { connectCluster, writeClusterSection, type BenchTarget } from './cluster';

const quick = process.argv.includes('--quick');
const onStack = process.argv.includes('--stack');
const LAB_LINK_UP_SECONDS = 0.3;
const MIB = 1024 * 1024;
const sizes = (process.env.IR_BENCH_SIZES ?? (quick || onStack ? '10' : '10,1024')).split(',').map(Number);
const vaultsAtOnce = Number(process.env.IR_BENCH_VAULTS ?? (quick ? 5 : 20));
const runs = Number(process.env.IR_BENCH_RUNS ?? 3);
const runsLarge = Number(process.env.IR_BENCH_RUNS_LARGE ?? 1);
const bandwidth = Number(process.env.IR_BENCH_BANDWIDTH ?? 32 * MIB);
const only = (process.env.IR_BENCH_ONLY ?? 'single,many').split(',');
// Writes "faster than the link" in the writer-on scenarios unless told otherwise.
// 8 MiB/s by default: the writer shares this process with the worker and the labs on a busy 2-core machine;
// test/cycle-snapshots.test.ts shows production written faster than the link (2 MiB/s over a 1 MiB/s link).
const profile = process.env.IR_BENCH_PROFILE === '1';
const writeRate = (_bw: number) => Number(process.env.IR_BENCH_WRITE_RATE ?? 8 * MIB);

interface CycleFigures {
  outcome: string;
  verdict: string;
  order: string;
  exposureSeconds: number;
  replicationSeconds: number | null;
  sourceHashSeconds: number | null;
  linkUpSeconds: number | null;
  overheadSeconds: number | null;
  phases: Record<string, number>;
  historyEvents: number;
  /** Where the exposure window went, from the workflow history (ms): each in-gap activity's run time, the time
   *  activities waited for a worker, and the workflow's own turns between them. */
  gap: GapBreakdown;
  files: number;
  bytes: number;
}

const BENCH_POLICY = { retention: '5m', maxOpen: '30m', pollInterval: '1s', stall: '5m', linkUpTimeout: '30s' };
const vaultConfig = (id: string, e: LabEndpoints) => labVaultConfig(e, id, BENCH_POLICY);

interface GapBreakdown {
  activities: Record<string, number>;
  queuedMs: number;
  workflowTurnsMs: number;
}

// snapshotAndSync runs beside openLink: the snapshot and the sync request need no link.
const IN_GAP = ['openLink', 'snapshotAndSync', 'awaitSnapshot', 'hashTree', 'closeLink'];

/**
 * From the history: between the OPEN and the close's completion, how long each activity ran, how long activities
 * waited to be picked up, and the rest (workflow tasks deciding what comes next). hashTree is the source side.
 */
function gapBreakdown(events: any[]): GapBreakdown {
  const ms = (e: any) => Number(e.eventTime.seconds) * 1000 + Math.floor((e.eventTime.nanos ?? 0) / 1e6);
  const sched = new Map<string, { name: string; at: number; started?: number }>();
  const activities: Record<string, number> = {};
  let queuedMs = 0;
  let open: number | undefined;
  let closed: number | undefined;
  const busy: Array<[number, number]> = [];
  for (const e of events) {
    const a = e.activityTaskScheduledEventAttributes;
    if (a) {
      const name = a.activityType?.name ?? '?';
      sched.set(String(e.eventId), { name, at: ms(e) });
      if (name === 'openLink' && open === undefined) open = ms(e);
      continue;
    }
    const st = e.activityTaskStartedEventAttributes;
    if (st) {
      const s = sched.get(String(st.scheduledEventId));
      if (s && IN_GAP.includes(s.name) && open !== undefined && closed === undefined) {
        s.started = ms(e);
        queuedMs += s.started - s.at;
      }
      continue;
    }
    const done = e.activityTaskCompletedEventAttributes;
    if (done) {
      const s = sched.get(String(done.scheduledEventId));
      if (!s?.started || closed !== undefined) continue;
      if (s.name === 'hashTree' && activities.hashTree !== undefined) continue; // the copy side runs after the close
      activities[s.name] = ms(e) - s.started;
      busy.push([s.at, ms(e)]);
      if (s.name === 'closeLink') closed = ms(e);
    }
  }
  // Time covered by no activity (scheduled → completed) is the workflow's own turns.
  let covered = 0;
  let end = -Infinity;
  for (const [a, b] of busy.sort((x, y) => x[0] - y[0])) {
    const from = Math.max(a, end);
    if (b > from) covered += b - from;
    end = Math.max(end, b);
  }
  const workflowTurnsMs = open !== undefined && closed !== undefined ? Math.max(0, closed - open - covered) : 0;
  return { activities, queuedMs, workflowTurnsMs };
}

/** The split the cycle reports (new code), or one derived from its phases (code without the split). */
function figuresOf(r: CycleResult, events: any[]): CycleFigures {
  const historyEvents = events.length;
  const phases: Record<string, number> = {};
  for (const p of r.phases) phases[p.phase] = (phases[p.phase] ?? 0) + (p.seconds ?? 0);
  const split = (r.exposure as any).split as
    | { order: string; replicationSeconds: number; sourceHashSeconds: number; overheadSeconds: number }
    | undefined;
  const exposure = r.exposure.seconds ?? 0;
  let replication: number | null = split?.replicationSeconds ?? null;
  let sourceHash: number | null = split?.sourceHashSeconds ?? null;
  let overhead: number | null = split?.overheadSeconds ?? null;
  if (!split) {
    // Seeds' order: the gap stays open through LOCK and VALIDATE; the data work is replication + hashing + landing.
    replication = phases.CONVERGE ?? null;
    sourceHash = r.validation?.source.seconds ?? null;
    const dataWork = (phases.CONVERGE ?? 0) + (phases.LOCK ?? 0) + (phases.VALIDATE ?? 0);
    overhead = exposure - dataWork;
  }
  return {
    outcome: r.outcome,
    verdict: r.verdict,
    order: split?.order ?? 'validate (seeds, before this change)',
    exposureSeconds: exposure,
    replicationSeconds: replication,
    sourceHashSeconds: sourceHash,
    // The lab's own link-up delay (LabOptions.linkUpDelayMs, 300 ms by default) is the device's, not ours.
    linkUpSeconds: LAB_LINK_UP_SECONDS,
    overheadSeconds: overhead,
    phases,
    historyEvents,
    gap: gapBreakdown(events),
    files: r.validation?.source.files ?? 0,
    bytes: r.validation?.source.bytes ?? 0,
  };
}

/**
 * A large data set written fast (the lab's seeder generates and gzips text, minutes per GiB on a busy machine):
 * 1 MiB text files, each with its own first line so no two hash alike.
 */
function fastSeed(dir: string, mib: number): void {
  const block = Buffer.from('date,account,reference,amount,currency,status\n2026-01-01,ACC-10001,invoice-1,100.00,EUR,approved\n'.repeat(11000)).subarray(0, MIB - 64);
  for (let i = 0; i < mib; i++) {
    const sub = join(dir, 'bulk', String(i % 16).padStart(2, '0'));
    mkdirSync(sub, { recursive: true });
    writeFileSync(join(sub, `part-${String(i).padStart(5, '0')}.csv`), Buffer.concat([Buffer.from(`# part ${i}\n`.padEnd(64, ' ')), block]));
  }
}

/** User + system CPU seconds a process has used so far (Linux /proc), 0 when unknown. */
function procCpuSeconds(pid: number | undefined): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(f[11]) + Number(f[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
  } catch {
    return 0;
  }
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] : NaN;
};
const median = (xs: number[]) => pct(xs, 50);
const f2 = (n: number | null | undefined) => (n === null || n === undefined || Number.isNaN(n) ? '–' : n.toFixed(2));

async function main(): Promise<void> {
  try {
    Runtime.install({ logger: new DefaultLogger('WARN') });
  } catch {
    /* installed */
  }
  const root = mkdtempSync(join(tmpdir(), 'ir-bench-cycle-'));
  const load0 = loadavg();
  const target: BenchTarget = onStack ? await connectCluster() : await devServerTarget(root);
  const { connection, client, native, dataConverter } = target;
  const bundle = await bundleWorkflowCode({ workflowsPath: require.resolve('../workflows'), logger: { trace() {}, debug() {}, info() {}, warn() {}, error() {} } as any });
  const report: any = {
    startedAt: new Date().toISOString(),
    machine: { cores: cpus().length, memGiB: +(totalmem() / 2 ** 30).toFixed(1), loadavgAtStart: load0 },
    settings: { sizesMiB: sizes, vaultsAtOnce, runs, bandwidthBytesPerSec: bandwidth, quick, target: target.description },
    single: [] as any[],
    many: null as any,
  };
  let seq = 0;
  const runCycles = async (labs: LabEndpoints[], ids: string[], evidence: string, policy: Record<string, unknown> = {}) => {
    const config = parseConfig({ evidenceDir: evidence, vaults: labs.map((l, i) => vaultConfig(ids[i], l)) }, 'bench config', '/');
    const tq = `bench-${process.pid}-${seq++}`;
    const worker = await createWorker({ connection: native, config, taskQueue: tq, workflowBundle: bundle, dataConverter });
    let peakRss = process.memoryUsage.rss();
    const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage.rss())), 100);
    try {
      return await worker.runUntil(async () => {
        const out = await Promise.all(
          ids.map(async (id) => {
            const handle = await client.workflow.start(isolatedRecoveryCycle, { taskQueue: tq, workflowId: `bench-${id}-${Date.now()}-${seq++}`, args: [id, policy] });
            const r = await handle.result().catch((e: any) => e?.cause?.details?.[0] ?? Promise.reject(e));
            const events = (await handle.fetchHistory()).events ?? [];
            return figuresOf(r as CycleResult, events);
          }),
        );
        return { cycles: out, peakRssMiB: peakRss / MIB };
      });
    } finally {
      clearInterval(sampler);
    }
  };

  try {
    if (only.includes('single')) {
      for (const mib of sizes) {
        // One lab per size: first without the writer, then with it (the same data set, so the rows compare).
      const dir = join(root, `single-${mib}`);
      if (mib > 100) fastSeed(join(dir, 'lab', 'prod-dd', 'data', 'col1', 'prod'), mib);
      const lab = await startLab({
        dir: join(dir, 'lab'),
        ports: { switch: 0, sourceDd: 0, vaultDd: 0, control: 0 },
        seed: { files: 200, totalBytes: mib * MIB },
        bandwidthBytesPerSec: bandwidth,
        control: false,
      });
      try {
        for (const writer of [false, true]) {
          const rate = writeRate(bandwidth);
          const hasWriter = writer && typeof (lab as any).startWriter === 'function';
          if (hasWriter) (lab as any).startWriter({ bytesPerSec: rate });
          {
            const cycles: CycleFigures[] = [];
            for (let i = 0; i < (mib > 100 ? runsLarge : runs); i++) {
              const { cycles: [c] } = await runCycles([lab.endpoints], ['bench-vault'], join(dir, 'evidence'));
              cycles.push(c);
              console.log(`${mib} MiB writer=${writer}: ${JSON.stringify(c)}`);
            }
            report.single.push({ sizeMiB: mib, writer: writer ? (hasWriter ? { bytesPerSec: rate } : 'not available in this code') : null, cycles });
          }
          if (hasWriter) (lab as any).stopWriter();
        }
      } finally {
        await lab.close();
        rmSync(dir, { recursive: true, force: true });
      }
      }
    }
    if (only.includes('many')) {
      const dir = join(root, 'many');
      // The labs run in a process of their own (bench/lab-fleet.ts), as real devices are other machines.
      const fleetProfile = profile ? join(resolve(__dirname, 'out'), 'many-lab-fleet.cpuprofile') : undefined;
      const fleet = spawn(process.execPath, [require.resolve('tsx/cli'), resolve(__dirname, 'lab-fleet.ts'), JSON.stringify({ dir, count: vaultsAtOnce, mib: 10, bandwidth, profile: fleetProfile })], {
        stdio: ['pipe', 'pipe', 'inherit'],
      });
      try {
        const line = await new Promise<string>((res, rej) => {
          createInterface({ input: fleet.stdout! }).once('line', res);
          fleet.once('exit', (code) => rej(new Error(`lab fleet exited (${code}) before its labs listened`)));
        });
        const { endpoints, pid: fleetPid } = JSON.parse(line) as { endpoints: LabEndpoints[]; pid: number };
        const ids = endpoints.map((_, i) => `vault-${String(i).padStart(2, '0')}`);
        const t0 = Date.now();
        // Who used the cores while the vaults cycled: CPU seconds of the worker, the lab fleet and the server.
        const serverCpu = () => target.serverPids().reduce((n, pid) => n + procCpuSeconds(pid), 0);
        const cpu0 = { worker: process.cpuUsage(), fleet: procCpuSeconds(fleetPid), server: serverCpu() };
        const profiler = profile ? await startProfiler() : null;
        const { cycles, peakRssMiB } = await runCycles(endpoints, ids, join(dir, 'evidence'));
        await profiler?.stop(join(resolve(__dirname, 'out'), 'many-worker.cpuprofile'));
        const wc = process.cpuUsage(cpu0.worker);
        const cpuSeconds = {
          worker: +((wc.user + wc.system) / 1e6).toFixed(1),
          labFleet: +(procCpuSeconds(fleetPid) - cpu0.fleet).toFixed(1),
          temporalServer: +(serverCpu() - cpu0.server).toFixed(1),
        };
        const overheads = cycles.map((c) => c.overheadSeconds ?? NaN);
        report.many = {
          vaults: vaultsAtOnce,
          wallSeconds: (Date.now() - t0) / 1000,
          completed: cycles.filter((c) => c.outcome === 'validated').length,
          outcomes: cycles.map((c) => c.outcome),
          p50OverheadSeconds: median(overheads),
          p95OverheadSeconds: pct(overheads, 95),
          // The issue counts the lab's own link-up delay apart: it is the simulated device's time, not ours.
          p50OverheadExclLinkUpSeconds: median(overheads) - LAB_LINK_UP_SECONDS,
          p95OverheadExclLinkUpSeconds: pct(overheads, 95) - LAB_LINK_UP_SECONDS,
          p95ExposureSeconds: pct(cycles.map((c) => c.exposureSeconds), 95),
          workerPeakRssMiB: +peakRssMiB.toFixed(0),
          labsInOwnProcess: true,
          cpuSeconds,
          cycles,
        };
        console.log(`many: ${JSON.stringify({ ...report.many, cycles: undefined })}`);
      } finally {
        fleet.stdin!.end();
        await new Promise((r) => (fleet.exitCode !== null ? r(null) : fleet.once('exit', r)));
        rmSync(dir, { recursive: true, force: true });
      }
    }
  } finally {
    report.machine.loadavgAtEnd = loadavg();
    report.finishedAt = new Date().toISOString();
    await native.close();
    await connection.close();
    await target.stop();
    rmSync(root, { recursive: true, force: true });
  }
  const outDir = resolve(__dirname, 'out');
  mkdirSync(outDir, { recursive: true });
  const stamp = report.startedAt.replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  writeFileSync(join(outDir, `cycle-${stamp}.json`), JSON.stringify(report, null, 2) + '\n');
  writeFileSync(join(outDir, `cycle-${stamp}.md`), markdown(report));
  console.log(`wrote bench/out/cycle-${stamp}.{md,json}`);
  if (onStack) {
    writeClusterSection(report, markdown(report), `npm run bench:cycle -- ${process.argv.slice(2).join(' ')}`);
    console.log('wrote the cluster section of bench/CYCLE-REPORT.md and .json');
  }
}

async function devServerTarget(root: string): Promise<BenchTarget> {
  const server = await startDevServer({ cliPath: await ensureTemporalCli(), uiPort: false, logFile: join(root, 'server.log') });
  const connection = await Connection.connect({ address: server.address });
  return {
    description: `Temporal dev server (${server.address}, SQLite, no TLS)`,
    connection,
    client: new Client({ connection }),
    native: await NativeConnection.connect({ address: server.address }),
    serverPids: () => [server.pid].filter((p): p is number => p !== undefined),
    stop: () => server.stop(),
  };
}

function markdown(r: any): string {
  const lines = [
    '# Cycle benchmark',
    '',
    `Run ${r.startedAt} → ${r.finishedAt}; ${r.machine.cores} cores, ${r.machine.memGiB} GiB; load average at start ${r.machine.loadavgAtStart.map((x: number) => x.toFixed(2)).join(' ')}, at end ${r.machine.loadavgAtEnd.map((x: number) => x.toFixed(2)).join(' ')} (shared machine).`,
    `Lab link ${(r.settings.bandwidthBytesPerSec / MIB).toFixed(0)} MiB/s; ${r.settings.runs} cycles per scenario (median shown).`,
    '',
    '## Exposure split per cycle (seconds, median)',
    '',
    '| data set | production writes | order | outcome | exposure | replication | source hashing | link-up (lab) | overhead (incl. lab link-up) | history events |',
    '|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const s of r.single) {
    const c = s.cycles as CycleFigures[];
    const m = (k: keyof CycleFigures) => median(c.map((x) => x[k] as number).filter((x) => x !== null));
    const w = s.writer === null ? 'off' : typeof s.writer === 'string' ? s.writer : `${(s.writer.bytesPerSec / MIB).toFixed(0)} MiB/s`;
    lines.push(
      `| ${s.sizeMiB} MiB (${c[0]?.files} files) | ${w} | ${c[0]?.order} | ${[...new Set(c.map((x) => x.outcome))].join(', ')} | ${f2(m('exposureSeconds'))} | ${f2(m('replicationSeconds'))} | ${f2(m('sourceHashSeconds'))} | ${f2(m('linkUpSeconds'))} | ${f2(m('overheadSeconds'))} | ${[...new Set(c.map((x) => x.historyEvents))].join(', ')} |`,
    );
  }
  lines.push(
    '',
    '## Where the exposure window goes (milliseconds, median; from the workflow history)',
    '',
    'Each in-gap activity from its start to its completion; "queued" is activities waiting for a worker, "workflow turns" the',
    'time no activity covered (the workflow deciding the next step). openLink includes the lab\'s 300 ms link-up delay;',
    'snapshotAndSync runs beside openLink, awaitSnapshot beside hashTree (source).',
    '',
    `| data set | production writes | ${IN_GAP.join(' | ')} | queued | workflow turns |`,
    `|---|---|${IN_GAP.map(() => '---').join('|')}|---|---|`,
  );
  for (const s of r.single) {
    const c = s.cycles as CycleFigures[];
    const w = s.writer === null ? 'off' : typeof s.writer === 'string' ? s.writer : `${(s.writer.bytesPerSec / MIB).toFixed(0)} MiB/s`;
    const g = (f: (x: GapBreakdown) => number | undefined) => {
      const xs = c.map((x) => (x.gap ? f(x.gap) : undefined)).filter((x): x is number => x !== undefined);
      return xs.length ? median(xs).toFixed(0) : '–';
    };
    lines.push(`| ${s.sizeMiB} MiB | ${w} | ${IN_GAP.map((a) => g((x) => x.activities[a])).join(' | ')} | ${g((x) => x.queuedMs)} | ${g((x) => x.workflowTurnsMs)} |`);
  }
  if (r.many) {
    lines.push(
      '',
      `## ${r.many.vaults} lab vaults at once on one worker (10 MiB each)`,
      '',
      `Completed ${r.many.completed}/${r.many.vaults} (${[...new Set(r.many.outcomes)].join(', ')}) in ${r.many.wallSeconds.toFixed(1)} s; exposure p95 ${f2(r.many.p95ExposureSeconds)} s; worker process peak RSS ${r.many.workerPeakRssMiB} MiB (${r.many.labsInOwnProcess ? 'the labs run in a process of their own' : 'the labs run in the same process'}).`,
      '',
      `- Overhead with the lab's 0.3 s link-up counted apart (the issue's measure): p50 ${f2(r.many.p50OverheadExclLinkUpSeconds)} s, **p95 ${f2(r.many.p95OverheadExclLinkUpSeconds)} s**.`,
      `- Overhead including it: p50 ${f2(r.many.p50OverheadSeconds)} s, p95 ${f2(r.many.p95OverheadSeconds)} s.`,
      ...(r.many.cpuSeconds
        ? [`- CPU seconds used meanwhile (${r.machine.cores} cores, ${(r.machine.cores * r.many.wallSeconds).toFixed(0)} core-seconds in all): worker ${r.many.cpuSeconds.worker}, lab fleet ${r.many.cpuSeconds.labFleet}, Temporal ${r.settings.target?.startsWith('the stack') ? 'server (five processes; PostgreSQL not counted)' : 'dev server'} ${r.many.cpuSeconds.temporalServer}.`]
        : []),
    );
    const cs = r.many.cycles as CycleFigures[];
    const q = (f: (x: GapBreakdown) => number | undefined, p: number) => {
      const xs = cs.map((x) => (x.gap ? f(x.gap) : undefined)).filter((x): x is number => x !== undefined);
      return xs.length ? pct(xs, p).toFixed(0) : '–';
    };
    lines.push(
      '',
      `| all ${r.many.vaults} at once (ms) | ${IN_GAP.join(' | ')} | queued | workflow turns |`,
      `|---|${IN_GAP.map(() => '---').join('|')}|---|---|`,
      ...[50, 95].map((p) => `| p${p} | ${IN_GAP.map((a) => q((x) => x.activities[a], p)).join(' | ')} | ${q((x) => x.queuedMs, p)} | ${q((x) => x.workflowTurnsMs, p)} |`),
    );
  }
  lines.push('', 'Reproduce: `npm run bench:cycle` (see the header of bench/cycle.ts for the knobs).', '');
  return lines.join('\n');
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
