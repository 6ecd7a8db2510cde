/**
 * The cycle on a real Temporal dev server against the lab over real SSH: clean run, abort, a device fault,
 * a killed worker, the maxOpen timer, bad input. After every test the lab's switch shows every vault port down.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { CancelledFailure, WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { temporal as proto } from '@temporalio/proto';
import { stringify } from 'yaml';
import { createWorker } from '../workers/worker';
import { runIrctl } from '../clients/irctl';
import { isolatedRecoveryCycle } from '../workflows';
import { cycleWorkflowId, statusQuery, IrGapState, IrPhase, IrVerdict, type CycleResult, type Phase } from '../workflows/cycle-messages';
import { abortSignal } from '../workflows/operator-messages';
import { bundleWorkflows, connectTemporal, describeTemporal } from './helpers/temporal';
import { startTestLab, VAULT, type TestLab } from './helpers/lab';

jest.setTimeout(180_000);

let bundle: WorkflowBundleWithSourceMap;
let temporal: Awaited<ReturnType<typeof connectTemporal>>;
let t: TestLab;
let seq = 0;
const MIB = 1024 * 1024;

type History = Awaited<ReturnType<WorkflowHandle['fetchHistory']>>;
interface HistoryShape {
  total: number;
  /** Events by type, workflow-task events left out: how many tasks a run takes depends on timing, not on the data. */
  byType: Record<string, number>;
}
function shapeOf(history: History): HistoryShape {
  const { EventType } = proto.api.enums.v1;
  const byType: Record<string, number> = {};
  for (const e of history.events ?? []) {
    const type = EventType[e.eventType ?? 0];
    if (!type.startsWith('EVENT_TYPE_WORKFLOW_TASK_')) byType[type] = (byType[type] ?? 0) + 1;
  }
  return { total: history.events?.length ?? 0, byType };
}
/** The clean test's cycle (60 files, 4 MiB over 8 MiB/s), compared in the bounded-history test. */
let cleanRun: { result: CycleResult; shape: HistoryShape } | undefined;

async function waitForPhase(handle: WorkflowHandle, phase: Phase, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const s = await handle.query(statusQuery);
      if (s.phase === phase) return;
    } catch {
      // not started yet: no worker has run the first task
    }
    if (Date.now() > deadline) throw new Error(`phase ${phase} not reached in ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * IR_RECORD_HISTORIES=1 writes each test's history to test/histories/ as a golden fixture, replayed by
 * test/replay.test.ts: a workflow change that breaks running cycles' determinism then fails CI.
 */
async function recordHistory(handle: WorkflowHandle, name: string): Promise<void> {
  if (process.env.IR_RECORD_HISTORIES !== '1') return;
  const dir = resolve(__dirname, 'histories');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${name}.json`), historyToJSON(await handle.fetchHistory()));
}

async function failureOf(handle: WorkflowHandle): Promise<{ message: string; result: CycleResult }> {
  const err = await handle.result().then(
    () => {
      throw new Error('the cycle was expected to fail');
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WorkflowFailedError);
  const cause = (err as WorkflowFailedError).cause as any;
  return { message: cause.message, result: cause.details?.[0] as CycleResult };
}

function start(taskQueue: string, policy: Record<string, unknown> = {}, vaultId = VAULT) {
  return temporal.client.workflow.start(isolatedRecoveryCycle, {
    taskQueue,
    workflowId: `test-cycle-${Date.now()}-${seq++}`,
    args: [vaultId, policy],
  });
}

describeTemporal('isolatedRecoveryCycle on the dev server against the lab', () => {
  beforeAll(async () => {
    bundle = await bundleWorkflows();
    temporal = await connectTemporal();
  });
  afterAll(async () => {
    await temporal?.close();
  });
  beforeEach(async () => {
    t = await startTestLab({ bandwidthBytesPerSec: 8 * 1024 * 1024 });
  });
  afterEach(async () => {
    // The invariant every test ends on: the gap is closed.
    expect(t.lab.vaultPortsDown()).toBe(true);
    expect(t.lab.replication().enabled).toBe(false);
    await t.close();
  });

  // A test that needs other lab settings (bandwidth, link-up delay) swaps the lab beforeEach started.
  const restartLab = async (options: Parameters<typeof startTestLab>[0]) => {
    await t.close();
    t = await startTestLab(options);
  };
  const worker = (taskQueue: string) => createWorker({ connection: temporal.native, config: t.config, taskQueue, workflowBundle: bundle });

  test('a clean cycle replicates, locks, validates, closes and records', async () => {
    const tq = `clean-${seq}`;
    const w = await worker(tq);
    const result = await w.runUntil(async () => {
      const handle = await start(tq);
      const r = await handle.result();
      const described = await handle.describe();
      expect(described.typedSearchAttributes.get(IrPhase)).toBe('DONE');
      expect(described.typedSearchAttributes.get(IrGapState)).toBe('closed');
      // The recorded history replays on the current code: the workflow is deterministic.
      const history = await handle.fetchHistory();
      await Worker.runReplayHistory({ workflowBundle: bundle }, history, handle.workflowId);
      await recordHistory(handle, 'cycle-converge-validated');
      cleanRun = { result: r, shape: shapeOf(history) };
      // No secret in history (inputs, results, heartbeats, failures): activities read them at run time.
      const recorded = historyText(history);
      expect(recorded).toContain('/data/col1/ir-copies/'); // payloads are decoded: the check can see activity results
      const e = t.lab.endpoints;
      for (const file of [e.switch.passwordFile, e.switch.enableSecretFile, e.vaultDd.passwordFile]) {
        expect(recorded).not.toContain(readFileSync(file, 'utf8').trim());
      }
      return r;
    });
    expect(result.outcome).toBe('validated');
    expect(result.verdict).toBe('clean');
    expect(result.gap).toBe('closed');
    // closeAfter=converge (the default): the gap closes as soon as the data moved.
    expect(result.phases.map((p) => p.phase)).toEqual(['PREFLIGHT', 'OPEN', 'REPLICATE', 'CONVERGE', 'CLOSE', 'LOCK', 'VALIDATE', 'RECORD']);
    expect(result.exposure.split?.order).toBe('converge');
    expect(result.snapshot?.expired).toEqual({ source: 'expired', replica: 'expired' });
    expect(result.exposure.seconds).toBeGreaterThan(0);
    expect(result.validation?.equal).toBe(true);
    expect(result.validation?.source.root).toBe(result.validation?.copy.root);
    expect(result.copy!.files).toBe(result.validation!.source.files);
    // Every file of the copy is locked on the storage until at least the requested retention.
    const lock = t.lab.lockOf(`${result.copyId}/${firstFile(result)}`);
    expect(lock.locked).toBe(true);
    expect(lock.until!.getTime()).toBeGreaterThanOrEqual(Date.parse(result.copy!.lockedUntil) - 1000);
    // The report is in the evidence store, with phases and the exposure window.
    const report = JSON.parse(readFileSync(result.report!.path, 'utf8'));
    expect(report.outcome).toBe('validated');
    expect(report.exposure.seconds).toBe(result.exposure.seconds);
    expect(readFileSync(result.report!.markdownPath, 'utf8')).toContain('exposure window');
  });

  test('bounded history: a cycle takes fewer than 200 events, the same ones whatever the data size and the sync duration', async () => {
    const tq = `bounded-${seq}`;
    const runOne = async () => {
      const w = await worker(tq);
      return w.runUntil(async () => {
        const handle = await start(tq);
        const result = await handle.result();
        return { result, shape: shapeOf(await handle.fetchHistory()) };
      });
    };
    // The small cycle is the clean test's when it ran in this file (npm test stays fast), else one of its own.
    const small = cleanRun ?? (await runOne());
    await restartLab({ bandwidthBytesPerSec: 2 * MIB, seed: { files: 300, totalBytes: 20 * MIB } });
    const large = await runOne();
    expect(small.result.outcome).toBe('validated');
    expect(large.result.outcome).toBe('validated');
    const sync = (r: CycleResult) => r.exposure.split!.replicationSeconds;
    // Really a different size and a much longer sync: heartbeats and polling add nothing to history.
    expect(large.result.copy!.bytes).toBeGreaterThanOrEqual(4 * small.result.copy!.bytes);
    expect(large.result.copy!.files).toBeGreaterThanOrEqual(4 * small.result.copy!.files);
    // 20 MiB over a 2 MiB/s link cannot sync in under ~10 s (a floor the lab's bandwidth sets, whatever the load):
    // dozens of polls and heartbeats more than the small cycle's, none of them in history.
    expect(sync(large.result)).toBeGreaterThanOrEqual(8);
    expect(sync(large.result)).toBeGreaterThan(sync(small.result) + 4);
    expect(small.shape.total).toBeLessThan(200);
    expect(large.shape.total).toBeLessThan(200);
    expect(large.shape.byType).toEqual(small.shape.byType);
    process.stdout.write(
      `history: ${small.shape.total} events for ${small.result.copy!.files} files / ${(small.result.copy!.bytes / MIB).toFixed(1)} MiB (sync ${sync(small.result).toFixed(1)} s), ` +
        `${large.shape.total} for ${large.result.copy!.files} files / ${(large.result.copy!.bytes / MIB).toFixed(1)} MiB (sync ${sync(large.result).toFixed(1)} s)\n`,
    );
  });

  test('ransomware on production: the next copy is suspect, with the reasons, the paths and IrVerdict', async () => {
    const tq = `ransom-${seq}`;
    const w = await worker(tq);
    const [baseline, infected, described] = await w.runUntil(async () => {
      const first = await (await start(tq)).result();
      await t.lab.ransomware(5);
      const handle = await start(tq);
      const second = await handle.result();
      await recordHistory(handle, 'cycle-converge-suspect');
      return [first, second, await handle.describe()] as const;
    });
    expect(baseline.verdict).toBe('clean');
    expect(infected.outcome).toBe('suspect');
    expect(infected.verdict).toBe('suspect');
    expect(described.typedSearchAttributes.get(IrVerdict)).toBe('suspect');
    // Replication did its job (the copy equals production); the analytics against the baseline copy catch it.
    expect(infected.validation!.equal).toBe(true);
    expect(infected.validation!.previousCopyId).toBe(baseline.copyId);
    const reasons = infected.validation!.reasons.join('\n');
    expect(reasons).toMatch(/ransom/i);
    expect(reasons).toMatch(/\.locky/);
    const classes = new Set(infected.findings.map((f) => f.class));
    expect(classes).toContain('ransom-note');
    expect(classes).toContain('ransomware-extension');
    expect(infected.findings.some((f) => f.path.endsWith('README_TO_DECRYPT.txt'))).toBe(true);
    // Worst first.
    const rank = { critical: 0, high: 1, medium: 2, low: 3, info: 4 };
    const ranks = infected.findings.map((f) => rank[f.severity]);
    expect(ranks).toEqual([...ranks].sort((a, b) => a - b));
    expect(readFileSync(infected.report!.markdownPath, 'utf8')).toContain('README_TO_DECRYPT.txt');
    // The earlier copy is untouched and still locked.
    expect(t.lab.lockOf(`${baseline.copyId}/${firstFile(baseline)}`).locked).toBe(true);
  });

  test('abort during CONVERGE ends with the gap closed and says who aborted', async () => {
    await restartLab({ bandwidthBytesPerSec: 64 * 1024 }); // slow: converging takes a minute
    const tq = `abort-${seq}`;
    const w = await worker(tq);
    const { message, result } = await w.runUntil(async () => {
      const handle = await start(tq);
      await waitForPhase(handle, 'CONVERGE');
      expect(t.lab.vaultPortsDown()).toBe(false); // the gap really is open now
      await handle.signal(abortSignal, { reason: 'suspicious activity on prod', by: 'alice' });
      const failed = await failureOf(handle);
      await recordHistory(handle, 'cycle-converge-aborted-converge');
      return failed;
    });
    expect(message).toContain('aborted by alice: suspicious activity on prod');
    expect(result.outcome).toBe('aborted');
    expect(result.gap).toBe('closed');
    expect(result.phases.map((p) => p.phase)).toContain('CLOSE');
    expect(existsSync(result.report!.path)).toBe(true);
  });

  test('cancelling the workflow (temporal workflow cancel) still closes the gap and records the report', async () => {
    await restartLab({ bandwidthBytesPerSec: 64 * 1024 });
    const tq = `cancel-${seq}`;
    const w = await worker(tq);
    const err = await w.runUntil(async () => {
      const handle = await start(tq);
      await waitForPhase(handle, 'CONVERGE');
      await handle.cancel();
      const e = await handle.result().catch((e: unknown) => e);
      await recordHistory(handle, 'cycle-converge-cancelled');
      return e;
    });
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect((err as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
    const catalog = JSON.parse(readFileSync(join(t.config.evidenceDir, VAULT, 'catalog.json'), 'utf8'));
    expect(catalog.at(-1)).toMatchObject({ outcome: 'cancelled', verdict: 'failed' });
  });

  test('abort during OPEN (ports coming up) closes the gap promptly', async () => {
    await restartLab({ linkUpDelayMs: 4000 }); // the line protocol takes 4 s to come up
    const tq = `abortopen-${seq}`;
    const w = await worker(tq);
    const { result } = await w.runUntil(async () => {
      const handle = await start(tq);
      await waitForPhase(handle, 'OPEN');
      await handle.signal(abortSignal, { reason: 'wrong window', by: 'carol' });
      return failureOf(handle);
    });
    expect(result.outcome).toBe('aborted');
    expect(result.gap).toBe('closed');
    const close = result.phases.find((p) => p.phase === 'CLOSE')!;
    expect(close.seconds).toBeLessThan(10);
    // The cancelled openLink must not bring a port up after the close path verified the gap shut.
    await new Promise((r) => setTimeout(r, 5000));
    expect(t.lab.vaultPortsDown()).toBe(true);
  });

  test('a device failure during LOCK fails the cycle with the device own words, gap closed', async () => {
    t.lab.addFault({ device: 'vault-dd', match: '^filesys fastcopy', output: '**** Fastcopy failed: destination mtree is out of space.', exitCode: 1 });
    const tq = `lockfail-${seq}`;
    const w = await worker(tq);
    const { message, result } = await w.runUntil(async () => {
      const handle = await start(tq);
      const failed = await failureOf(handle);
      await recordHistory(handle, 'cycle-converge-failed-lock');
      return failed;
    });
    expect(message).toContain('in LOCK');
    expect(message).toContain('**** Fastcopy failed: destination mtree is out of space.');
    expect(result.outcome).toBe('failed');
    expect(result.gap).toBe('closed');
  });

  test('the maxOpen timer forces the close path', async () => {
    await restartLab({ bandwidthBytesPerSec: 64 * 1024 });
    const tq = `maxopen-${seq}`;
    const w = await worker(tq);
    const { message, result } = await w.runUntil(async () => failureOf(await start(tq, { maxOpenSeconds: 3 })));
    expect(message).toContain('maxOpen');
    expect(result.gap).toBe('closed');
    expect(result.exposure.seconds).toBeLessThan(30);
  });

  test('a malformed abort payload is rejected, named, and changes nothing', async () => {
    await restartLab({ bandwidthBytesPerSec: 1024 * 1024 });
    const tq = `badabort-${seq}`;
    const w = await worker(tq);
    const result = await w.runUntil(async () => {
      const handle = await start(tq);
      await waitForPhase(handle, 'CONVERGE');
      await handle.signal(abortSignal, { reason: 42 } as any);
      const status = await handle.query(statusQuery);
      expect(status.rejectedMessages.join()).toContain('"reason" must be a string');
      return handle.result();
    });
    expect(result.outcome).toBe('validated');
    expect(result.rejectedMessages).toHaveLength(1);
  });

  test('an unknown vault fails in PREFLIGHT naming the vault, without touching the gap', async () => {
    const tq = `unknown-${seq}`;
    const w = await worker(tq);
    const { message, result } = await w.runUntil(async () => failureOf(await start(tq, {}, 'no-such-vault')));
    expect(message).toContain('unknown vault "no-such-vault"');
    expect(message).toContain('"lab-vault"');
    expect(result.phases.map((p) => p.phase)).not.toContain('OPEN');
  });

  test('operators drive a cycle with irctl: start, one per vault, status, abort; bad input changes nothing', async () => {
    await restartLab({ bandwidthBytesPerSec: 64 * 1024 });
    const tq = `irctl-${seq}`;
    const configPath = join(t.dir, 'config.yaml');
    writeFileSync(configPath, stringify(t.config));
    const saved = { ...process.env };
    Object.assign(process.env, { IR_CONFIG: configPath, TEMPORAL_ADDRESS: process.env.TEMPORAL_TEST_ADDRESS, IR_TASK_QUEUE: tq });
    const irctl = async (...argv: string[]) => {
      const out: string[] = [];
      const err: string[] = [];
      const code = await runIrctl(argv, { out: (l) => out.push(l), err: (l) => err.push(l) });
      return { code, out: out.join('\n'), err: err.join('\n') };
    };
    try {
      const unknown = await irctl('start', 'no-such-vault');
      expect(unknown.code).toBe(2);
      expect(unknown.err).toContain('unknown vault "no-such-vault"');
      const badPolicy = await irctl('start', VAULT, '--policy', '{"maxOpen":60}');
      expect(badPolicy.code).toBe(2);
      expect(badPolicy.err).toContain('policy.maxOpen is not a policy field');
      expect(t.lab.vaultPortsDown()).toBe(true);

      const w = await worker(tq);
      await w.runUntil(async () => {
        expect((await irctl('start', VAULT)).code).toBe(0);
        const handle = temporal.client.workflow.getHandle(cycleWorkflowId(VAULT));
        await waitForPhase(handle, 'CONVERGE');
        const second = await irctl('start', VAULT);
        expect(second.code).toBe(5); // refused: one cycle per vault
        expect(second.err).toContain('a cycle is already running on vault lab-vault');
        const status = await irctl('status', VAULT);
        expect(status.out).toContain('phase CONVERGE  gap open');
        const noReason = await irctl('abort', VAULT);
        expect(noReason.code).toBe(2);
        expect(noReason.err).toContain('--reason is required');
        // Live progress while waiting (plain lines: not a terminal): phase, gap, exposure, bytes to replicate.
        const watching = irctl('cycle', 'watch', VAULT);
        // Abort once awaitSync has heartbeated its byte count and the watcher (1 s polls) has had time to see it.
        for (let i = 0; i < 150; i++) {
          const { raw } = await handle.describe();
          if (raw.pendingActivities?.some((a) => a.heartbeatDetails?.payloads?.length)) break;
          await new Promise((r) => setTimeout(r, 100));
        }
        await new Promise((r) => setTimeout(r, 2500));
        expect((await irctl('abort', VAULT, '--reason', 'change freeze', '--by', 'bob')).code).toBe(0);
        await handle.result().catch(() => undefined);
        const watched = await watching;
        expect(watched.code).toBe(1); // aborted: not a copy to recover from
        expect(watched.out).toMatch(/CONVERGE +gap open +exposure \d+\.\d s +\d+\.\d MiB to replicate/);
        expect(watched.out).toContain('outcome aborted');
      });
      const after = await irctl('status', VAULT);
      expect(after.out).toContain('gap closed');
      expect(after.out).toContain('abort: by bob');
      expect(after.out).toContain('change freeze');
    } finally {
      process.env = saved;
    }
  });

  test('a start with a workflow timeout is refused before anything is touched', async () => {
    const tq = `timeout-${seq}`;
    const w = await worker(tq);
    const message = await w.runUntil(async () => {
      const handle = await temporal.client.workflow.start(isolatedRecoveryCycle, {
        taskQueue: tq,
        workflowId: `test-cycle-${Date.now()}-${seq++}`,
        args: [VAULT, {}],
        workflowExecutionTimeout: '1 hour',
      });
      const err = await handle.result().catch((e: unknown) => e);
      return ((err as WorkflowFailedError).cause as Error).message;
    });
    expect(message).toContain('without a workflow run or execution timeout');
    expect(message).toContain('policy.maxOpenSeconds');
  });

  test('a worker killed with SIGKILL during CONVERGE: a new worker completes the cycle and closes the gap', async () => {
    await restartLab({ bandwidthBytesPerSec: 512 * 1024 }); // ~8 s of replication
    const tq = `sigkill-${seq}`;
    const configPath = join(t.dir, 'config.yaml');
    writeFileSync(configPath, stringify(t.config));
    const spawnWorker = (): ChildProcess =>
      spawn(process.execPath, ['--import', 'tsx', resolve(__dirname, '../workers/main.ts')], {
        env: { ...process.env, IR_CONFIG: configPath, TEMPORAL_ADDRESS: process.env.TEMPORAL_TEST_ADDRESS, IR_TASK_QUEUE: tq },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
    let first: ChildProcess | undefined = spawnWorker();
    let second: ChildProcess | undefined;
    try {
      const handle = await start(tq);
      await waitForPhase(handle, 'CONVERGE', 120_000);
      first.kill('SIGKILL');
      await new Promise((r) => first!.once('exit', r));
      first = undefined;
      expect(t.lab.vaultPortsDown()).toBe(false); // the gap was left open by the dead worker
      second = spawnWorker();
      const result = await handle.result();
      expect(result.outcome).toBe('validated');
      expect(result.gap).toBe('closed');
    } finally {
      first?.kill('SIGKILL');
      if (second) {
        const exited = new Promise((r) => second!.once('exit', r));
        second.kill('SIGTERM');
        await exited;
      }
    }
  });
});

function firstFile(result: CycleResult): string {
  const manifest = readFileSync(result.validation!.copy.path, 'utf8').split('\n')[0];
  return manifest.replace(/^\\?[0-9a-f]+ [ *]/, '');
}

/** Every string and every payload's bytes (decoded as UTF-8) in a history, so a secret cannot hide in base64. */
function historyText(node: unknown, out: string[] = []): string {
  if (node instanceof Uint8Array) out.push(Buffer.from(node).toString('utf8'));
  else if (typeof node === 'string') out.push(node);
  else if (Array.isArray(node)) for (const n of node) historyText(n, out);
  else if (node && typeof node === 'object') for (const v of Object.values(node)) historyText(v, out);
  return out.join('\n');
}
