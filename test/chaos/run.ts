/**
 * The chaos suite: real cycles on a real Temporal dev server (SQLite file, so it can be SIGKILLed and restarted
 * on the same database) against the lab, with two workers as child processes. Each scenario runs several times
 * at random instants; after each run the gap is asked of the lab's switch and vault DD (not of our code), every
 * earlier locked copy is hashed again, and the report is compared with what happened.
 *
 *   npx tsx test/chaos/run.ts [--runs N] [--only a,b] [--out test/chaos/REPORT] [--seed S]
 *
 * Writes <out>.md and <out>.json: scenario × runs × outcome, exposure and time-to-close.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { Client, Connection, WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { stringify } from 'yaml';
import { startDevServer, freePort, type DevServer } from '../../clients/devserver';
import { ensureTemporalCli } from '../../clients/temporal-cli';
import { startTestLab, VAULT, type TestLab } from '../helpers/lab';
import { statusQuery, type CycleResult, type CycleStatus, type Phase } from '../../workflows/cycle-messages';
import { abortSignal } from '../../workflows/operator-messages';

export interface RunRecord {
  scenario: string;
  run: number;
  outcome: string;
  gapClosed: boolean; // asked of the lab at the end
  vaultFilesChanged: number; // earlier locked copies' files whose bytes changed or vanished
  reportConsistent: boolean | null; // null: no report expected (e.g. terminated)
  exposureSeconds?: number; // the cycle's own exposure window, when it reported one
  timeToCloseSeconds?: number; // from the injected event to the lab showing the gap closed
  stallSeconds?: number; // from a worker kill to the interrupted activity running again elsewhere
  note: string;
}

export interface ChaosOptions {
  runs: number;
  only?: string[];
  seed?: number;
  log?: (line: string) => void;
  /** How long the gap may stay open after an event before the run counts as "gap left open". */
  closeDeadlineSeconds?: number;
}

const ROOT = resolve(__dirname, '../..');
export const SENTINEL_PERIOD_SECONDS = 5;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function rng(seed: number) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
}

/** sha256 of every file under the copies MTree (relative path → digest). */
function hashTree(root: string): Map<string, string> {
  const out = new Map<string, string>();
  if (!existsSync(root)) return out;
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const p = join(dir, name);
      const st = statSync(p);
      if (st.isDirectory()) walk(p);
      else if (st.isFile()) out.set(relative(root, p), createHash('sha256').update(readFileSync(p)).digest('hex'));
    }
  };
  walk(root);
  return out;
}

class Env {
  server!: DevServer;
  client!: Client;
  connection!: Connection;
  lab!: TestLab;
  workers: ChildProcess[] = [];
  configPath!: string;
  dir = mkdtempSync(join(tmpdir(), 'ir-chaos-'));
  port = 0;
  cliPath = '';
  taskQueue = `chaos-${process.pid}`;
  seq = 0;

  constructor(private readonly log: (l: string) => void) {}

  async start(): Promise<void> {
    this.cliPath = await ensureTemporalCli(this.log);
    this.port = await freePort();
    await this.startServer();
    // Slow enough that converging takes several seconds, so kills land inside long phases.
    this.lab = await startTestLab({ bandwidthBytesPerSec: 1024 * 1024, seed: { files: 80, totalBytes: 6 * 1024 * 1024 } });
    // The sentinel looks every 5 s here (60 s by default): a terminated cycle's gap must close within one period.
    const vault = this.lab.config.vaults[0] as any;
    if (vault.sentinel) vault.sentinel.period = SENTINEL_PERIOD_SECONDS;
    this.configPath = join(this.dir, 'config.yaml');
    writeFileSync(this.configPath, stringify(this.lab.config));
    this.workers = [this.spawnWorker(), this.spawnWorker()];
  }

  async startServer(): Promise<void> {
    this.server = await startDevServer({ cliPath: this.cliPath, port: this.port, dbFile: join(this.dir, 'temporal.db'), logFile: join(this.dir, 'server.log') });
    this.connection = await Connection.connect({ address: this.server.address });
    this.client = new Client({ connection: this.connection });
  }

  async killServer(restartAfterMs: number): Promise<void> {
    if (this.server.pid) process.kill(this.server.pid, 'SIGKILL');
    await sleep(500 + restartAfterMs);
    await this.connection.close().catch(() => undefined);
    await this.startServer();
  }

  ready = new WeakMap<ChildProcess, Promise<void>>();

  spawnWorker(): ChildProcess {
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'workers/main.ts')], {
      cwd: ROOT,
      env: { ...process.env, IR_CONFIG: this.configPath, TEMPORAL_ADDRESS: this.server.address, IR_TASK_QUEUE: this.taskQueue },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stderr?.on('data', () => undefined);
    // The worker prints its sentinels just before it starts polling: from then on it can take over work.
    this.ready.set(
      child,
      new Promise<void>((resolve) => {
        let seen = '';
        child.stdout?.on('data', (d: Buffer) => {
          seen += d.toString();
          if (seen.includes('sentinels:')) resolve();
        });
        child.once('exit', () => resolve());
      }),
    );
    return child;
  }

  /** Two live workers, both polling: a kill then measures the takeover, not a worker still booting. */
  async workersReady(): Promise<void> {
    this.ensureWorkers();
    await Promise.all(this.workers.map((w) => this.ready.get(w)));
  }

  /** SIGKILLs the worker that runs the pending activity (by its identity pid@host), else the first one. */
  async killWorkerRunning(handle: WorkflowHandle): Promise<{ killed: ChildProcess; activity?: string; attempt?: number }> {
    const d = await handle.describe();
    const pending = (d.raw.pendingActivities ?? [])[0];
    const pid = Number(String(pending?.lastWorkerIdentity ?? '').split('@')[0]);
    const victim = this.workers.find((w) => w.pid === pid) ?? this.workers[0];
    victim.kill('SIGKILL');
    await new Promise((r) => (victim.exitCode !== null || victim.signalCode !== null ? r(null) : victim.once('exit', r)));
    this.workers = this.workers.filter((w) => w !== victim);
    return { killed: victim, activity: pending?.activityType?.name ?? undefined, attempt: pending?.attempt ?? undefined };
  }

  gapClosed(): boolean {
    return this.lab.lab.vaultPortsDown() && !this.lab.lab.replication().enabled;
  }

  async waitGapClosed(deadlineMs: number): Promise<number | undefined> {
    const t0 = Date.now();
    while (Date.now() - t0 < deadlineMs) {
      if (this.gapClosed()) return (Date.now() - t0) / 1000;
      await sleep(100);
    }
    return undefined;
  }

  startCycle(policy: Record<string, unknown> = {}, workflowId = `chaos-cycle-${Date.now()}-${this.seq++}`): Promise<WorkflowHandle> {
    return this.client.workflow.start('isolatedRecoveryCycle', { taskQueue: this.taskQueue, workflowId, args: [VAULT, policy] });
  }

  async waitPhase(handle: WorkflowHandle, phases: Phase[], timeoutMs = 120_000): Promise<Phase> {
    const t0 = Date.now();
    for (;;) {
      try {
        const s = (await handle.query(statusQuery)) as CycleStatus;
        if (phases.includes(s.phase)) return s.phase;
        if (s.phase === 'DONE') throw new Error(`cycle finished before reaching ${phases.join('|')}`);
      } catch (err) {
        if ((err as Error).message.startsWith('cycle finished')) throw err;
        const d = await handle.describe().catch(() => undefined);
        if (d && d.status.name !== 'RUNNING') throw new Error(`cycle ${d.status.name} before reaching ${phases.join('|')}`);
      }
      if (Date.now() - t0 > timeoutMs) throw new Error(`phase ${phases.join('|')} not reached in ${timeoutMs} ms`);
      await sleep(50);
    }
  }

  /** Time from now until the pending activity runs again (a new attempt started) or the cycle moves on. */
  async waitResumed(handle: WorkflowHandle, before: { activity?: string; attempt?: number }, timeoutMs = 120_000): Promise<number | undefined> {
    const t0 = Date.now();
    while (Date.now() - t0 < timeoutMs) {
      const d = await handle.describe().catch(() => undefined);
      if (!d) {
        await sleep(200);
        continue;
      }
      if (d.status.name !== 'RUNNING') return (Date.now() - t0) / 1000;
      const p = (d.raw.pendingActivities ?? [])[0];
      const running = p && String(p.state) === 'PENDING_ACTIVITY_STATE_STARTED' || (p as any)?.state === 2;
      if (!p || p.activityType?.name !== before.activity || ((p.attempt ?? 0) > (before.attempt ?? 0) && running)) return (Date.now() - t0) / 1000;
      await sleep(100);
    }
    return undefined;
  }

  async outcomeOf(handle: WorkflowHandle, timeoutMs = 240_000): Promise<{ outcome: string; result?: CycleResult }> {
    const r = await Promise.race([
      handle.result().then(
        (res: CycleResult) => ({ outcome: res.outcome, result: res }),
        (err: unknown) => {
          if (err instanceof WorkflowFailedError) {
            const cause = err.cause as any;
            const result = cause?.details?.[0] as CycleResult | undefined;
            if (result?.outcome) return { outcome: result.outcome, result };
            if (cause?.name === 'TerminatedFailure' || /terminated/i.test(cause?.message ?? '')) return { outcome: 'terminated' };
            if (cause?.name === 'CancelledFailure') return { outcome: 'cancelled' };
            return { outcome: `failed:${cause?.type ?? cause?.name}` };
          }
          return { outcome: `error:${(err as Error).message}` };
        },
      ),
      sleep(timeoutMs).then(() => ({ outcome: 'timeout' })),
    ]);
    return r;
  }

  ensureWorkers(): void {
    this.workers = this.workers.filter((w) => w.exitCode === null && w.signalCode === null);
    while (this.workers.length < 2) this.workers.push(this.spawnWorker());
  }

  async stop(): Promise<void> {
    for (const w of this.workers) w.kill('SIGKILL');
    await this.connection?.close().catch(() => undefined);
    await this.server?.stop().catch(() => undefined);
    await this.lab?.close().catch(() => undefined);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function reportConsistent(result: CycleResult | undefined): boolean | null {
  if (!result?.report) return null;
  try {
    const saved = JSON.parse(readFileSync(result.report.path, 'utf8'));
    return saved.outcome === result.outcome && saved.gap === 'closed' && result.gap === 'closed';
  } catch {
    return false;
  }
}

type Scenario = (env: Env, rand: () => number) => Promise<Omit<RunRecord, 'scenario' | 'run' | 'gapClosed' | 'vaultFilesChanged'>>;

const phasesToKill: Phase[] = ['OPEN', 'REPLICATE', 'CONVERGE', 'LOCK', 'VALIDATE', 'CLOSE'];

function workerKill(phase: Phase, abortAfter: boolean): Scenario {
  return async (env, rand) => {
    const handle = await env.startCycle({}, undefined);
    await env.waitPhase(handle, [phase]);
    await sleep(Math.floor(rand() * 400));
    const killedAt = Date.now();
    const before = await env.killWorkerRunning(handle);
    if (abortAfter) await handle.signal(abortSignal, { reason: 'chaos: abort after a worker kill', by: 'chaos' }).catch(() => undefined);
    const restartDelay = Math.floor(rand() * 3000);
    setTimeout(() => env.ensureWorkers(), restartDelay);
    const stall = await env.waitResumed(handle, before);
    let timeToClose: number | undefined;
    if (abortAfter) {
      const t = await env.waitGapClosed(120_000);
      timeToClose = t === undefined ? undefined : (Date.now() - killedAt) / 1000;
    }
    const { outcome, result } = await env.outcomeOf(handle);
    return {
      outcome,
      exposureSeconds: result?.exposure.seconds,
      stallSeconds: stall,
      timeToCloseSeconds: timeToClose,
      reportConsistent: reportConsistent(result),
      note: `killed the worker running ${before.activity ?? 'nothing'} (attempt ${before.attempt ?? '-'}); restarted after ${restartDelay} ms`,
    };
  };
}

const scenarios: Record<string, Scenario> = {
  ...Object.fromEntries(phasesToKill.map((p) => [`worker-kill-${p.toLowerCase()}`, workerKill(p, false)])),
  ...Object.fromEntries(['OPEN', 'CONVERGE', 'LOCK'].map((p) => [`worker-kill+abort-${p.toLowerCase()}`, workerKill(p as Phase, true)])),

  'abort-random': async (env, rand) => {
    const handle = await env.startCycle();
    await env.waitPhase(handle, ['OPEN']);
    const delay = Math.floor(rand() * 8000);
    await sleep(delay);
    const at = Date.now();
    await handle.signal(abortSignal, { reason: 'chaos: abort at a random instant', by: 'chaos' }).catch(() => undefined);
    const { outcome, result } = await env.outcomeOf(handle);
    return {
      outcome,
      exposureSeconds: result?.exposure.seconds,
      timeToCloseSeconds: env.gapClosed() ? (Date.parse(result?.exposure.closedAt ?? new Date().toISOString()) - at) / 1000 : undefined,
      reportConsistent: reportConsistent(result),
      note: `abort ${delay} ms after OPEN began`,
    };
  },

  'terminate-converge': async (env, rand) => {
    const handle = await env.startCycle();
    await env.waitPhase(handle, ['CONVERGE']);
    await sleep(Math.floor(rand() * 1000));
    const at = Date.now();
    await handle.terminate('chaos: terminate mid-cycle');
    const t = await env.waitGapClosed(90_000);
    return {
      outcome: 'terminated',
      timeToCloseSeconds: t === undefined ? undefined : (Date.now() - at) / 1000,
      reportConsistent: null,
      note: t === undefined ? 'nothing closed the gap within 90 s' : 'the gap was closed by someone else than the terminated cycle',
    };
  },

  'two-starts': async (env) => {
    const first = await env.startCycle({}, `chaos-first-${Date.now()}`);
    await env.waitPhase(first, ['REPLICATE', 'CONVERGE']);
    const second = await env.startCycle({}, `chaos-other-${Date.now()}`);
    const [a, b] = await Promise.all([env.outcomeOf(first), env.outcomeOf(second)]);
    // Overlap: the second cycle's OPEN must not begin before the first's CLOSE ended.
    const closeOf = (r?: CycleResult) => r?.phases.find((p) => p.phase === 'CLOSE');
    const openOf = (r?: CycleResult) => r?.phases.find((p) => p.phase === 'OPEN');
    const firstClosed = closeOf(a.result)?.endedAt;
    const secondOpened = openOf(b.result)?.startedAt;
    const overlapped = !!(firstClosed && secondOpened && Date.parse(secondOpened) < Date.parse(firstClosed));
    return {
      outcome: `${a.outcome}+${b.outcome}${overlapped ? ' OVERLAP' : ''}`,
      exposureSeconds: a.result?.exposure.seconds,
      reportConsistent: reportConsistent(a.result) !== false && reportConsistent(b.result) !== false && !overlapped,
      note: overlapped ? 'the second cycle opened the gap while the first held it' : 'the second cycle never ran beside the first',
    };
  },

  'server-kill': async (env, rand) => {
    const handle = await env.startCycle();
    const phase = await env.waitPhase(handle, ['REPLICATE', 'CONVERGE', 'LOCK']);
    const delay = Math.floor(rand() * 2000);
    await env.killServer(delay);
    const h2 = env.client.workflow.getHandle(handle.workflowId);
    const { outcome, result } = await env.outcomeOf(h2);
    return { outcome, exposureSeconds: result?.exposure.seconds, reportConsistent: reportConsistent(result), note: `server SIGKILLed in ${phase}, restarted after ${delay} ms` };
  },

  'fault-channel-cut-replicate': async (env) => {
    env.lab.lab.addFault({ device: 'vault-dd', match: '^replication enable', kind: 'drop', times: 1 });
    const handle = await env.startCycle();
    const { outcome, result } = await env.outcomeOf(handle);
    return { outcome, exposureSeconds: result?.exposure.seconds, reportConsistent: reportConsistent(result), note: 'vault-dd connection dropped once on `replication enable`' };
  },

  'fault-fastcopy': async (env) => {
    env.lab.lab.addFault({ device: 'vault-dd', match: '^filesys fastcopy', output: '**** Fastcopy failed: destination mtree is out of space.', exitCode: 1 });
    const handle = await env.startCycle();
    const { outcome, result } = await env.outcomeOf(handle);
    return { outcome, exposureSeconds: result?.exposure.seconds, reportConsistent: reportConsistent(result), note: 'fastcopy refused by the vault DD' };
  },

  'fault-switch-shutdown': async (env) => {
    env.lab.lab.addFault({ device: 'switch', match: '^shutdown', output: '% Command rejected: port busy', exitCode: 1, times: 2 });
    const handle = await env.startCycle();
    const { outcome, result } = await env.outcomeOf(handle);
    return { outcome, exposureSeconds: result?.exposure.seconds, reportConsistent: reportConsistent(result), note: 'the switch refused `shutdown` twice' };
  },

  'fault-replication-disable': async (env) => {
    env.lab.lab.addFault({ device: 'vault-dd', match: '^replication disable', output: '**** Replication operation failed: try again.', exitCode: 1, times: 2 });
    const handle = await env.startCycle();
    const { outcome, result } = await env.outcomeOf(handle);
    return { outcome, exposureSeconds: result?.exposure.seconds, reportConsistent: reportConsistent(result), note: 'the vault DD refused `replication disable` twice' };
  },

  'hand-opened-port': async (env) => {
    env.lab.lab.setPort('GigabitEthernet1/0/1', 'up');
    const at = Date.now();
    const t = await env.waitGapClosed(90_000);
    return {
      outcome: 'no cycle',
      timeToCloseSeconds: t === undefined ? undefined : (Date.now() - at) / 1000,
      reportConsistent: null,
      note: t === undefined ? 'nothing closed the hand-opened port within 90 s' : 'a port opened by hand was closed',
    };
  },
};

export const scenarioNames = Object.keys(scenarios);

export async function runChaos(opts: ChaosOptions): Promise<RunRecord[]> {
  const log = opts.log ?? ((l: string) => process.stderr.write(l + '\n'));
  const rand = rng(opts.seed ?? Date.now());
  const env = new Env(log);
  const records: RunRecord[] = [];
  try {
    await env.start();
    const names = opts.only?.length ? opts.only : scenarioNames;
    for (const name of names) {
      const scenario = scenarios[name];
      if (!scenario) throw new Error(`unknown scenario ${name}; known: ${scenarioNames.join(', ')}`);
      for (let run = 1; run <= opts.runs; run++) {
        await env.workersReady();
        const copiesRoot = env.lab.config.vaults[0].vault.copiesMountPath;
        const before = hashTree(copiesRoot);
        const t0 = Date.now();
        let rec: Omit<RunRecord, 'scenario' | 'run' | 'gapClosed' | 'vaultFilesChanged'>;
        try {
          rec = await scenario(env, rand);
        } catch (err) {
          rec = { outcome: 'harness-error', reportConsistent: false, note: (err as Error).message };
        }
        env.lab.lab.clearFaults();
        // The gap is judged by the lab itself, with a grace for a close already under way.
        const closedWithin = await env.waitGapClosed((opts.closeDeadlineSeconds ?? 90) * 1000);
        const after = hashTree(copiesRoot);
        let changed = 0;
        for (const [p, digest] of before) if (after.get(p) !== digest) changed++;
        const record: RunRecord = { scenario: name, run, gapClosed: closedWithin !== undefined, vaultFilesChanged: changed, ...rec };
        records.push(record);
        log(`${name} #${run}: ${record.outcome}, gap ${record.gapClosed ? 'closed' : 'OPEN'}, changed ${changed}, ${((Date.now() - t0) / 1000).toFixed(1)} s — ${record.note}`);
        if (!record.gapClosed) {
          // Close it by hand so the next run starts from a closed gap; the record keeps the failure.
          for (const p of env.lab.lab.endpoints.switch.vaultPorts) env.lab.lab.setPort(p, 'down');
        }
        // Wait until no cycle of ours is still running (a second start that waited, a stuck one).
        for (let i = 0; i < 600; i++) {
          const running = [];
          for await (const w of env.client.workflow.list({ query: `ExecutionStatus="Running" AND WorkflowType="isolatedRecoveryCycle"` })) running.push(w);
          if (!running.length) break;
          if (i === 599) for (const w of running) await env.client.workflow.getHandle(w.workflowId).terminate('chaos: left running').catch(() => undefined);
          await sleep(200);
        }
      }
    }
  } finally {
    await env.stop();
  }
  return records;
}

/** A defined outcome is one the cycle itself reports (or, for terminate/hand-open runs, the sentinel's job). */
export const definedOutcome = (o: string) => /^(validated|suspect|failed|aborted|cancelled|terminated|no cycle)(\+(validated|suspect|failed|aborted))?$/.test(o);

export function summarize(records: RunRecord[]) {
  const by = new Map<string, RunRecord[]>();
  for (const r of records) by.set(r.scenario, [...(by.get(r.scenario) ?? []), r]);
  const max = (xs: (number | undefined)[]) => {
    const v = xs.filter((x): x is number => typeof x === 'number');
    return v.length ? Math.max(...v) : undefined;
  };
  return [...by].map(([scenario, rs]) => ({
    scenario,
    runs: rs.length,
    outcomes: Object.entries(rs.reduce<Record<string, number>>((m, r) => ({ ...m, [r.outcome]: (m[r.outcome] ?? 0) + 1 }), {}))
      .map(([o, n]) => `${o} ×${n}`)
      .join(', '),
    gapLeftOpen: rs.filter((r) => !r.gapClosed).length,
    vaultFilesChanged: rs.reduce((n, r) => n + r.vaultFilesChanged, 0),
    reportInconsistent: rs.filter((r) => r.reportConsistent === false).length,
    undefinedOutcome: rs.filter((r) => !definedOutcome(r.outcome)).length,
    maxExposureSeconds: max(rs.map((r) => r.exposureSeconds)),
    maxTimeToCloseSeconds: max(rs.map((r) => r.timeToCloseSeconds)),
    maxStallSeconds: max(rs.map((r) => r.stallSeconds)),
  }));
}

export function renderMarkdown(records: RunRecord[], meta: Record<string, unknown>): string {
  const f = (x?: number) => (x === undefined ? '–' : x.toFixed(1));
  const lines = ['# Chaos suite', '', ...Object.entries(meta).map(([k, v]) => `- ${k}: ${v}`), ''];
  lines.push('| scenario | runs | outcomes | undefined outcome | gap left open | vault files changed | report inconsistent | max exposure s | max time-to-close s | max stall after kill s |');
  lines.push('|---|---|---|---|---|---|---|---|---|---|');
  for (const s of summarize(records)) {
    lines.push(`| ${s.scenario} | ${s.runs} | ${s.outcomes} | ${s.undefinedOutcome} | ${s.gapLeftOpen} | ${s.vaultFilesChanged} | ${s.reportInconsistent} | ${f(s.maxExposureSeconds)} | ${f(s.maxTimeToCloseSeconds)} | ${f(s.maxStallSeconds)} |`);
  }
  lines.push('', '## Runs', '', '| scenario | run | outcome | gap closed | files changed | report ok | exposure s | time-to-close s | stall s | note |', '|---|---|---|---|---|---|---|---|---|---|');
  for (const r of records) {
    lines.push(`| ${r.scenario} | ${r.run} | ${r.outcome} | ${r.gapClosed ? 'yes' : '**NO**'} | ${r.vaultFilesChanged} | ${r.reportConsistent === null ? '–' : r.reportConsistent ? 'yes' : '**no**'} | ${f(r.exposureSeconds)} | ${f(r.timeToCloseSeconds)} | ${f(r.stallSeconds)} | ${r.note.replace(/\|/g, '\\|')} |`);
  }
  return lines.join('\n') + '\n';
}

async function main() {
  const args = process.argv.slice(2);
  const get = (name: string) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const runs = Number(get('runs') ?? 3);
  const only = get('only')?.split(',').filter(Boolean);
  const out = get('out') ?? join(ROOT, 'test/chaos/REPORT');
  const seed = Number(get('seed') ?? Date.now() % 1e9);
  const started = new Date();
  const records = await runChaos({ runs, only, seed });
  const meta = {
    'run at': started.toISOString(),
    'duration': `${((Date.now() - started.getTime()) / 60000).toFixed(1)} min`,
    seed,
    'runs per scenario': runs,
    command: `npx tsx test/chaos/run.ts --runs ${runs}${only ? ` --only ${only.join(',')}` : ''} --seed ${seed}`,
    'gap judged by': 'the lab switch (every vault port admin+oper down) and the vault DD (replication disabled), after each run',
  };
  mkdirSync(join(out, '..'), { recursive: true });
  writeFileSync(`${out}.json`, JSON.stringify({ meta, summary: summarize(records), runs: records }, null, 2) + '\n');
  writeFileSync(`${out}.md`, renderMarkdown(records, meta));
  const bad = records.filter((r) => !r.gapClosed || r.vaultFilesChanged > 0 || r.reportConsistent === false || !definedOutcome(r.outcome));
  process.stderr.write(`${records.length} runs, ${bad.length} with the gap open, vault files changed, an inconsistent report or no defined outcome; table in ${out}.md\n`);
  process.exitCode = bad.length ? 1 : 0;
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err);
    process.exit(2);
  });
}
