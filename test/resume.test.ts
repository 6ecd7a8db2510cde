/**
 * Resumable after a crash (issue 7, item 6), on the dev server against the lab: two workers as child processes;
 * the one running the step is SIGKILLed while it hashes the source (CONVERGE, gap open) and then the copy (a
 * data set large enough that hashing takes seconds), or while it locks the copy; another worker takes over (it
 * is already polling: a worker booting under load would only add its boot time to the stall). The cycle must
 * validate clean, each retry must have continued from the checkpoint the dead worker heartbeated (its result
 * says how much it took from there), and the lab must show the gap closed. Kills are aimed from what the server
 * shows (the pending activity and its heartbeat details), not from a guessed delay.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { stringify } from 'yaml';
import { startTestLab, VAULT, type TestLab } from './helpers/lab';
import { connectTemporal, describeTemporal, temporalAddress } from './helpers/temporal';
import { spawnWorker, type WorkerProcess } from './helpers/worker-process';
import { statusQuery, type CycleResult, type CycleStatus } from '../workflows/cycle-messages';
import { sentinelWorkflowId } from '../workflows/sentinel-messages';

jest.setTimeout(180_000);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Low-entropy business-like files (the analytics must find nothing), `count` × `size` bytes. */
function writeBulk(dir: string, count: number, size: number): void {
  const line = (i: number) => `2026-11-${String(1 + (i % 28)).padStart(2, '0')},ACC-${10000 + (i % 5000)},invoice-${i},${(i % 997) * 3.17},EUR,approved\n`;
  let body = 'date,account,reference,amount,currency,status\n';
  for (let i = 0; body.length < size; i++) body += line(i);
  const chunk = Buffer.from(body.slice(0, size));
  mkdirSync(dir, { recursive: true });
  for (let i = 0; i < count; i++) {
    const b = Buffer.from(chunk);
    b.write(`#${String(i).padStart(6, '0')}`, 0); // each file its own digest
    writeFileSync(join(dir, `ledger-${String(i).padStart(4, '0')}.csv`), b);
  }
}

interface Pending {
  activity: string;
  attempt: number;
  worker: string;
  details: any;
}

async function pendingActivities(handle: WorkflowHandle): Promise<Pending[]> {
  const d = await handle.describe();
  return (d.raw.pendingActivities ?? []).map((p) => {
    const payload = p.heartbeatDetails?.payloads?.[0];
    let details: any;
    try {
      details = payload ? defaultPayloadConverter.fromPayload(payload) : undefined;
    } catch {
      details = undefined;
    }
    return { activity: p.activityType?.name ?? '', attempt: p.attempt ?? 0, worker: p.lastWorkerIdentity ?? '', details };
  });
}

/** Polls the server until `pick` finds the moment to kill (from pending activities and their heartbeats). */
async function waitFor(handle: WorkflowHandle, what: string, pick: (status: CycleStatus, pending: Pending[]) => Pending | undefined): Promise<Pending> {
  const t0 = Date.now();
  for (;;) {
    if (Date.now() - t0 > 120_000) throw new Error(`${what}: not seen within 120 s`);
    const status = (await handle.query(statusQuery)) as CycleStatus;
    if (status.phase === 'DONE') throw new Error(`the cycle finished before ${what} was seen: the data set is too small for this test (phases ${JSON.stringify(status.phases.map((p) => [p.phase, p.seconds]))})`);
    const seen = pick(status, await pendingActivities(handle));
    if (seen) return seen;
    await sleep(100);
  }
}

/** The final attempt of the `nth` scheduling of an activity type (-1: the last), from history: who ran it, which attempt. */
async function attemptOf(handle: WorkflowHandle, activity: string, nth: number): Promise<{ pid: string; attempt: number }> {
  const events = (await handle.fetchHistory()).events ?? [];
  const scheduled = events.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === activity).at(nth)!;
  const started = events.find((e) => e.activityTaskStartedEventAttributes?.scheduledEventId?.toString() === scheduled.eventId?.toString());
  return { pid: started?.activityTaskStartedEventAttributes?.identity?.split('@')[0] ?? '', attempt: started?.activityTaskStartedEventAttributes?.attempt ?? 0 };
}

describeTemporal('resumable after a crash (worker child process SIGKILLed)', () => {
  let temporal: Awaited<ReturnType<typeof connectTemporal>>;
  let client: Client;
  let t: TestLab | undefined;
  let workers: WorkerProcess[] = [];
  let seq = 0;
  let taskQueue = '';
  let configPath = '';
  const labLog: string[] = [];

  beforeAll(async () => {
    temporal = await connectTemporal();
    client = temporal.client;
  });

  afterEach(async () => {
    for (const w of workers) await w.kill();
    workers = [];
    await client.workflow.getHandle(sentinelWorkflowId(VAULT, taskQueue)).terminate('test done').catch(() => undefined);
    await t?.close();
    t = undefined;
  });

  afterAll(async () => {
    await temporal?.close();
  });

  async function lab(options: Parameters<typeof startTestLab>[0], prepare: (lab: TestLab) => void): Promise<TestLab> {
    labLog.length = 0;
    t = await startTestLab({ ...options, log: (l) => labLog.push(l) });
    prepare(t);
    taskQueue = `resume-${process.pid}-${seq++}`;
    configPath = join(t.dir, 'config.yaml');
    writeFileSync(configPath, stringify(t.config));
    return t;
  }

  const startWorker = () => {
    const w = spawnWorker({ configPath, address: temporalAddress!, taskQueue });
    workers.push(w);
    return w;
  };

  /** SIGKILLs the worker that heartbeated `seen` (its identity is pid@host); returns its pid. */
  async function killRunning(seen: Pending): Promise<string> {
    const victim = workers.find((w) => String(w.pid) === seen.worker.split('@')[0]);
    if (!victim) throw new Error(`no worker of ours is ${seen.worker}`);
    await victim.kill();
    return String(victim.pid);
  }

  const start = async () => {
    const two = [startWorker(), startWorker()];
    await Promise.all(two.map((w) => w.ready));
    return client.workflow.start('isolatedRecoveryCycle', { taskQueue, workflowId: `resume-${Date.now()}-${seq++}`, args: [VAULT, {}] });
  };

  test('killed while hashing the source (gap open) and again while hashing the copy: each retry resumes from the checkpoint, the copy validates clean, the gap ends closed', async () => {
    const t = await lab({ bandwidthBytesPerSec: 1024 * 1024 * 1024 }, (t) => {
      // 80 MiB read at most at 16 MiB/s (`hashing.maxBytesPerSecond`, as over a slow DD NFS mount; from the page
      // cache SHA-256 runs at ~1 GB/s here): each side's hash takes ~5 s, so a kill lands in the middle of it.
      // (Bigger files at a higher rate show the same, at the cost of writing and replicating them.)
      writeBulk(join(t.config.vaults[0].source.mountPath, 'bulk'), 40, 2 * 1024 * 1024);
      t.config.vaults[0].hashing = { maxBytesPerSecond: 16 * 1024 * 1024 };
    });
    const handle = await start();
    // Kill once the server holds a checkpoint of the side's hash with a quarter of the bulk in it (the bulk sorts
    // first). CONVERGE: the source side, hashed from the snapshot while the gap is open.
    const hashing = (phase: CycleStatus['phase']) => (s: CycleStatus, pending: Pending[]) =>
      s.phase === phase ? pending.find((p) => p.activity === 'hashTree' && p.details?.checkpoint?.counts?.files >= 10) : undefined;
    const atSource = await waitFor(handle, 'a checkpoint of hashTree(source)', hashing('CONVERGE'));
    const sourceVictim = await killRunning(atSource);
    startWorker(); // a replacement; the other worker takes over meanwhile
    const atCopy = await waitFor(handle, 'a checkpoint of hashTree(copy)', hashing('VALIDATE'));
    const copyVictim = await killRunning(atCopy);

    const result = (await handle.result()) as CycleResult;
    expect(result.outcome).toBe('validated');
    expect(result.verdict).toBe('clean');
    expect(result.validation?.equal).toBe(true);
    const { source, copy } = result.validation!;
    expect(copy.files).toBe(source.files);
    // Each retry continued where the dead worker's last heartbeat left it: those files were not hashed again.
    for (const [side, seen, nth, victim] of [[source, atSource, 0, sourceVictim], [copy, atCopy, -1, copyVictim]] as const) {
      expect(side.resumed).toBeDefined();
      expect(side.resumed!.attempt).toBeGreaterThanOrEqual(2);
      expect(side.resumed!.files).toBeGreaterThanOrEqual(seen.details.checkpoint.counts.files);
      expect(side.resumed!.files).toBeLessThan(side.files);
      expect(side.resumed!.hashedFiles).toBe(side.files - side.resumed!.files);
      // The resumed attempt ran on another worker (history: who started the final attempt).
      const last = await attemptOf(handle, 'hashTree', nth);
      expect(last.attempt).toBe(side.resumed!.attempt);
      expect(last.pid).not.toBe(victim);
      expect(workers.map((w) => String(w.pid))).toContain(last.pid);
    }
    // What a user reads: the report says each hash was resumed and how much of it.
    const md = readFileSync(result.report!.markdownPath, 'utf8');
    for (const side of [source, copy]) expect(md).toContain(`attempt ${side.resumed!.attempt} resumed after a lost worker: ${side.resumed!.files} files`);
    // The gap, asked of the lab's switch and vault DD.
    expect(t.lab.vaultPortsDown()).toBe(true);
    expect(t.lab.replication().enabled).toBe(false);
    expect(result.gap).toBe('closed');
  });

  test('killed while locking: the retry does not repeat the fastcopy, keeps the lock time, every file locked once to it', async () => {
    // 3000 files, and the vault DD takes 4 s to generate its retention report once (a large MTree): the window in
    // which the dead worker has locked files and the storage has not yet confirmed them.
    const t = await lab({ seed: { files: 3000, totalBytes: 3 * 1024 * 1024 } }, () => undefined);
    t.lab.addFault({ device: 'vault-dd', match: '^mtree retention-lock report generate', kind: 'latency', ms: 4000, times: 1 });
    const handle = await start();

    // The server holds lockCopy's checkpoint with files settled (the fastcopy landed, the lock time chosen, files
    // locked to it): kill that worker.
    const seen = await waitFor(handle, "lockCopy's checkpoint", (s, pending) => pending.find((p) => p.activity === 'lockCopy' && p.details?.files?.settled > 0));
    const untilAtKill: string = seen.details.until;
    const victim = await killRunning(seen);

    const result = (await handle.result()) as CycleResult;
    expect(result.outcome).toBe('validated');
    expect(result.verdict).toBe('clean');
    const c = result.copy!;
    expect(c.resumed).toMatchObject({ fastcopySkipped: true, untilKept: true });
    expect(c.resumed!.attempt).toBeGreaterThanOrEqual(2);
    // The files the dead worker had settled by its last heartbeat were not looked at again.
    expect(c.resumed!.fromCheckpoint).toBeGreaterThanOrEqual(seen.details.files.settled);
    expect(c.resumed!.fromCheckpoint + c.resumed!.alreadyLocked).toBeLessThanOrEqual(c.files);
    const last = await attemptOf(handle, 'lockCopy', -1);
    expect(last.attempt).toBe(c.resumed!.attempt);
    expect(last.pid).not.toBe(victim);
    // The device ran one fastcopy into this copy, not two.
    expect(labLog.filter((l) => l.includes(`fastcopy`) && l.includes(`-> ${c.mtreePath} `))).toHaveLength(1);
    // Every file locked, each exactly to the lock time the first attempt chose (none shorter, none set anew),
    // and that time honours the requested retention (5 min in the test config) from when LOCK began.
    expect(c.lockedUntil).toBe(untilAtKill.replace(/\.\d{3}Z$/, '.000Z'));
    const lockStarted = Date.parse(result.phases.find((p) => p.phase === 'LOCK')!.startedAt);
    expect(Date.parse(c.lockedUntil) - lockStarted).toBeGreaterThanOrEqual(300_000 - 2000);
    const files = result.validation!.copy.files;
    expect(c.files).toBe(files);
    const manifest = readFileSync(result.validation!.copy.path, 'utf8').trim().split('\n');
    expect(manifest).toHaveLength(files);
    for (const line of manifest) {
      const rel = line.replace(/^\\?[0-9a-f]+ {2}/, '');
      const lock = t.lab.lockOf(`${c.copyId}/${rel}`);
      expect({ rel, locked: lock.locked, until: lock.until?.toISOString() }).toEqual({ rel, locked: true, until: c.lockedUntil });
    }
    const md = readFileSync(result.report!.markdownPath, 'utf8');
    expect(md).toContain(`| lock resumed | attempt ${c.resumed!.attempt} continued after a lost worker: fastcopy already landed, not repeated; ${c.resumed!.fromCheckpoint} files settled before (from the checkpoint) and ${c.resumed!.alreadyLocked} found locked to the same time, not redone; lock time kept from the first attempt |`);
    expect(t.lab.vaultPortsDown()).toBe(true);
    expect(t.lab.replication().enabled).toBe(false);
  });
});
