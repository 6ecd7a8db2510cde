/**
 * bench:fleet's run (bench/fleet.ts sets the stack's environment, then calls this): per target, the fleet up,
 * the schedules applied, `minutes` of scheduled cycles, drills and scrubs, the schedules deleted, the runs left
 * to finish, then every figure read back from Temporal and /proc.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { cpus, loadavg, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { FleetEnv, type Target } from './fleet-env';
import { collectRuns, countRuns, f2, LAB_LINK_UP_SECONDS, pct, scheduleActions, type RunFigures, type ScheduleAction } from './fleet-results';

const ROOT = resolve(__dirname, '..');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** A call to a server that may have broken under the fleet answers within `ms` or fails: the report is still written. */
const within = <T>(ms: number, p: Promise<T>, what: string): Promise<T> =>
  Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`${what}: no answer within ${ms / 1000} s`)), ms).unref())]);
const say = (line: string) => console.log(`${new Date().toISOString().slice(11, 19)} [fleet] ${line}`);

export interface TargetReport {
  target: Target;
  description: string;
  settings: Record<string, unknown>;
  startedAt: string;
  finishedAt: string;
  loadavg: { start: number[]; end: number[]; samples: Array<[string, number]> };
  windowMinutes: number;
  runs: RunFigures[];
  schedule: ScheduleAction[];
  cpuSeconds: Record<string, number>;
  memory: Record<string, { startMiB: number; endMiB: number; peakMiB: number; restarts: number }>;
  profiles: Record<string, Array<{ fn: string; selfSeconds: number }>>;
  problems: string[]; // what went wrong with the target itself (a server that stopped answering)
}

/** The functions with the most self time in a V8 .cpuprofile (node --cpu-prof). */
export function topFunctions(file: string, n = 8): Array<{ fn: string; selfSeconds: number }> {
  const p = JSON.parse(readFileSync(file, 'utf8')) as { nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number } }>; samples: number[]; timeDeltas: number[] };
  const byId = new Map(p.nodes.map((x) => [x.id, x]));
  const self = new Map<string, number>();
  p.samples.forEach((id, i) => {
    const cf = byId.get(id)!.callFrame;
    const name = `${cf.functionName || '(anonymous)'} ${cf.url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*?\/(wt-fleet|main)\//, '')}:${cf.lineNumber + 1}`;
    self.set(name, (self.get(name) ?? 0) + (p.timeDeltas[i] ?? 0));
  });
  return [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, n).map(([fn, us]) => ({ fn, selfSeconds: +(us / 1e6).toFixed(2) }));
}

async function runTarget(target: Target, v: Record<string, string | boolean | undefined>): Promise<TargetReport> {
  const minutes = Number(v.minutes);
  const profileDir = v.profile ? resolve(ROOT, 'bench/out/fleet-profile', target) : undefined;
  if (profileDir) {
    rmSync(profileDir, { recursive: true, force: true }); // this run's profiles only
    mkdirSync(profileDir, { recursive: true });
  }
  const env = new FleetEnv({
    target,
    dir: resolve(ROOT, `.fleet-bench-${target}`),
    vaults: Number(v.vaults),
    labProcesses: Number(v['lab-processes']),
    solo: 0,
    workers: 2,
    mib: Number(v.mib),
    every: String(v.every),
    jitter: String(v.jitter),
    drills: Number(v.drills),
    drillEvery: '5m',
    scrubs: Number(v.scrubs),
    scrubEvery: '4m',
    profileDir,
    log: say,
  });
  const load: Array<[string, number]> = [];
  const startLoad = loadavg();
  await env.start();
  const settings = { vaults: Number(v.vaults), workers: 2, labProcesses: Number(v['lab-processes']), mibPerVault: Number(v.mib), every: v.every, jitter: v.jitter, drills: Number(v.drills), drillEvery: '5m', scrubs: Number(v.scrubs), scrubEvery: '4m' };
  try {
    const n = await env.applySchedules();
    const since = new Date();
    env.mark();
    say(`${target}: ${n} schedules applied; running ${minutes} min`);
    const actions = new Map<string, ScheduleAction>();
    const end = Date.now() + minutes * 60000;
    while (Date.now() < end) {
      await sleep(Math.min(60000, end - Date.now()));
      load.push([new Date().toISOString(), loadavg()[0]]);
      await scheduleActions(env.client, env.config, actions);
      const n = await within(30000, countRuns(env.client, since), 'listing runs').catch(() => ({ running: NaN, closed: NaN }));
      say(`${target}: ${n.closed} runs closed, ${n.running} running; load ${loadavg()[0].toFixed(1)}`);
    }
    const problems: string[] = [];
    const noted = (err: Error) => (problems.push(err.message), say(`${target}: ${err.message}`));
    await within(60000, scheduleActions(env.client, env.config, actions), 'reading schedules').catch(noted);
    await within(120000, env.deleteSchedules(), 'deleting schedules').catch(noted);
    const windowMinutes = (Date.now() - since.getTime()) / 60000;
    // The runs started in the window finish (bounded: a stuck one is reported as running).
    const drainUntil = Date.now() + 4 * 60000;
    while (Date.now() < drainUntil) {
      const running = await within(30000, countRuns(env.client, since), 'listing runs').then((n) => n.running, (err: Error) => (noted(err), NaN));
      if (!running || Number.isNaN(running)) break;
      say(`${target}: waiting for ${running} runs to finish`);
      await sleep(10000);
    }
    const cpuSeconds = env.cpuSince();
    const runs = await within(600000, collectRuns(env.client, since), 'collecting runs').catch((err: Error) => (noted(err), []));
    const memory = Object.fromEntries([...env.samples].map(([role, s]) => [role, { startMiB: +s.first.rssMiB.toFixed(0), endMiB: +s.last.rssMiB.toFixed(0), peakMiB: +s.peakRssMiB.toFixed(0), restarts: s.restarts }]));
    return {
      target,
      description: env.describeTarget(),
      settings,
      startedAt: since.toISOString(),
      finishedAt: new Date().toISOString(),
      loadavg: { start: startLoad, end: loadavg(), samples: load },
      windowMinutes,
      runs,
      schedule: [...actions.values()].filter((a) => a.takenAt >= since.toISOString()),
      cpuSeconds,
      memory,
      profiles: {},
      problems,
    };
  } finally {
    await env.stop();
  }
}

/**
 * Each process's profiles (a folder per process, a file per thread and run: CPU.<date>.<time>.<pid>.<tid>.<seq>):
 * the main thread's always, another thread's when it did a second or more of work.
 */
export function profilesOf(dir: string): Record<string, Array<{ fn: string; selfSeconds: number }>> {
  const out: Record<string, Array<{ fn: string; selfSeconds: number }>> = {};
  for (const proc of readdirSync(dir, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort()) {
    for (const f of readdirSync(join(dir, proc)).filter((x) => x.endsWith('.cpuprofile')).sort()) {
      const [, , , pid, tid] = f.split('.');
      const top = topFunctions(join(dir, proc, f));
      const busy = top.filter((t) => !t.fn.startsWith('(idle)')).reduce((a, t) => a + t.selfSeconds, 0);
      if (tid === '0' || busy >= 1) out[`${proc} pid ${pid} ${tid === '0' ? 'main thread' : `thread ${tid}`}`] = top;
    }
  }
  return out;
}

export function summarize(r: TargetReport) {
  const cycles = r.runs.filter((x) => x.type === 'isolatedRecoveryCycle');
  const done = cycles.filter((x) => x.status !== 'RUNNING');
  const overheads = done.map((c) => (c.overheadSeconds ?? NaN) - LAB_LINK_UP_SECONDS);
  const perVault = new Map<string, number>();
  for (const c of done.filter((x) => x.outcome === 'validated')) perVault.set(c.vault, (perVault.get(c.vault) ?? 0) + 1);
  const cycleLatency = r.schedule.filter((a) => a.kind === 'cycle').map((a) => a.latencySeconds);
  const byType = (t: string) => r.runs.filter((x) => x.type === t);
  return {
    cycles: cycles.length,
    validated: done.filter((c) => c.outcome === 'validated').length,
    outcomes: Object.fromEntries([...new Set(done.map((c) => c.outcome ?? c.status))].map((o) => [o, done.filter((c) => (c.outcome ?? c.status) === o).length])),
    stillRunning: cycles.length - done.length,
    vaultsWithAValidatedCycle: perVault.size,
    minValidatedPerVault: Math.min(...[...Array(Number(r.settings.vaults)).keys()].map((i) => perVault.get(`vault-${String(i).padStart(3, '0')}`) ?? 0)),
    cyclesPerMinute: done.length / r.windowMinutes,
    overheadExclLinkUp: { p50: pct(overheads, 50), p95: pct(overheads, 95), max: pct(overheads, 100) },
    exposure: { p50: pct(done.map((c) => c.exposureSeconds ?? NaN), 50), p95: pct(done.map((c) => c.exposureSeconds ?? NaN), 95), max: pct(done.map((c) => c.exposureSeconds ?? NaN), 100) },
    scheduleToStart: { n: cycleLatency.length, p50: pct(cycleLatency, 50), p95: pct(cycleLatency, 95), max: pct(cycleLatency, 100) },
    firstWorkflowTask: { p50: pct(cycles.map((c) => c.firstTaskSeconds ?? NaN), 50), p95: pct(cycles.map((c) => c.firstTaskSeconds ?? NaN), 95), max: pct(cycles.map((c) => c.firstTaskSeconds ?? NaN), 100) },
    historyEvents: Object.fromEntries(['isolatedRecoveryCycle', 'recoveryDrill', 'scrubCopies'].map((t) => [t, { runs: byType(t).length, p50: pct(byType(t).map((x) => x.historyEvents), 50), max: pct(byType(t).map((x) => x.historyEvents), 100) }])),
    drills: Object.fromEntries([...new Set(byType('recoveryDrill').map((x) => x.outcome ?? x.status))].map((o) => [o, byType('recoveryDrill').filter((x) => (x.outcome ?? x.status) === o).length])),
    scrubs: Object.fromEntries([...new Set(byType('scrubCopies').map((x) => x.outcome ?? x.status))].map((o) => [o, byType('scrubCopies').filter((x) => (x.outcome ?? x.status) === o).length])),
  };
}

export function fleetMarkdown(reports: TargetReport[], command: string): string {
  const lines = ['# Fleet benchmark (issue 19)', '', `Command: \`${command}\`; ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB. The load averages below say whether anything else shared the machine.`, ''];
  for (const r of reports) {
    const s = summarize(r);
    const lav = r.loadavg.samples.map(([, l]) => l);
    lines.push(
      `## ${r.target === 'stack' ? 'On the stack' : 'On the dev server'}`,
      '',
      `Target: ${r.description}. ${r.settings.vaults} vaults (labs in ${r.settings.labProcesses} processes, ${r.settings.mibPerVault} MiB each), 2 worker processes; each vault's cycle every ${r.settings.every} with up to ${r.settings.jitter} jitter; ${r.settings.drills} vaults drill every ${r.settings.drillEvery}, ${r.settings.scrubs} scrub every ${r.settings.scrubEvery}. Window ${r.startedAt} → schedules deleted after ${r.windowMinutes.toFixed(1)} min, runs drained by ${r.finishedAt}.`,
      `Load average (1 min): ${r.loadavg.start[0].toFixed(1)} at start, ${lav.length ? `${Math.min(...lav).toFixed(1)}–${Math.max(...lav).toFixed(1)} during the window` : ''}, ${r.loadavg.end[0].toFixed(1)} at the end.`,
      '',
      `- Cycles: ${s.cycles} started, ${s.validated} validated (${Object.entries(s.outcomes).map(([k, n]) => `${k} ${n}`).join(', ')}), ${s.stillRunning} still running at the end; every vault validated at least ${s.minValidatedPerVault} (${s.vaultsWithAValidatedCycle}/${r.settings.vaults} vaults at least one).`,
      `- **Exposure overhead, the lab's ${LAB_LINK_UP_SECONDS} s link-up apart: p50 ${f2(s.overheadExclLinkUp.p50)} s, p95 ${f2(s.overheadExclLinkUp.p95)} s, max ${f2(s.overheadExclLinkUp.max)} s** (goal p95 < 2 s). Exposure p50 ${f2(s.exposure.p50)} / p95 ${f2(s.exposure.p95)} / max ${f2(s.exposure.max)} s.`,
      `- Throughput: ${s.cyclesPerMinute.toFixed(1)} cycles per minute over the window.`,
      `- Schedule to start (the schedule's time with its jitter → the server started the run; ${s.scheduleToStart.n} cycle starts): p50 ${f2(s.scheduleToStart.p50)} s, p95 ${f2(s.scheduleToStart.p95)} s, max ${f2(s.scheduleToStart.max)} s. Run started → first workflow task on a worker: p50 ${f2(s.firstWorkflowTask.p50)} s, p95 ${f2(s.firstWorkflowTask.p95)} s, max ${f2(s.firstWorkflowTask.max)} s.`,
      `- History events per run: ${Object.entries(s.historyEvents).map(([t, h]) => `${t} ${h.runs} runs, median ${h.p50}, max ${h.max}`).join('; ')}.`,
      `- Drills: ${JSON.stringify(s.drills)}; scrubs: ${JSON.stringify(s.scrubs)}.`,
      ...(r.problems.length ? [`- **The target failed:** ${r.problems.join('; ')}.`] : []),
      '',
      '| process | CPU s in the window | RSS start (MiB) | RSS end | peak | restarts |',
      '|---|---|---|---|---|---|',
      ...Object.entries(r.memory).map(([role, m]) => `| ${role} | ${r.cpuSeconds[role] ?? '–'} | ${m.startMiB} | ${m.endMiB} | ${m.peakMiB} | ${m.restarts} |`),
      '',
      `Core-seconds available in the window: ${(cpus().length * r.windowMinutes * 60).toFixed(0)}; used by these processes: ${Object.values(r.cpuSeconds).reduce((a, b) => a + b, 0).toFixed(0)}.`,
      '',
    );
    if (Object.keys(r.profiles).length) {
      lines.push('CPU profiles (node --cpu-prof, whole process life, main thread and any other thread busy a second or more; the eight entries with the most self time):', '');
      for (const [file, top] of Object.entries(r.profiles)) lines.push(`- ${file}: ${top.map((t) => `${t.fn} ${t.selfSeconds} s`).join('; ')}`);
      lines.push('');
    }
  }
  return lines.join('\n');
}

export async function benchFleet(v: Record<string, string | boolean | undefined>, argv: string[]): Promise<number> {
  const targets = String(v.target).split(',') as Target[];
  const bad = targets.filter((t) => !['stack', 'dev'].includes(t));
  if (bad.length) throw new Error(`--target ${bad.join(',')}: stack and/or dev`);
  const reports: TargetReport[] = [];
  for (const t of targets) {
    const r = await runTarget(t, v);
    if (v.profile) r.profiles = profilesOf(resolve(ROOT, 'bench/out/fleet-profile', t));
    reports.push(r);
    const s = summarize(r);
    say(`${t}: ${s.validated}/${s.cycles} validated, overhead p95 ${f2(s.overheadExclLinkUp.p95)} s (link-up apart), ${s.cyclesPerMinute.toFixed(1)} cycles/min`);
  }
  const command = `npm run bench:fleet${argv.length ? ` -- ${argv.join(' ')}` : ''}`;
  const out = resolve(ROOT, String(v.out));
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(`${out}.md`, fleetMarkdown(reports, command));
  writeFileSync(`${out}.json`, JSON.stringify({ command, reports: reports.map((r) => ({ ...r, summary: summarize(r) })) }, null, 2) + '\n');
  say(`wrote ${out}.md and .json`);
  return 0;
}
