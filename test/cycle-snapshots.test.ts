/**
 * Point-in-time copies under live production writes (issue 6), on a real dev server against the lab over SSH:
 * the production writer runs in every phase (faster than the link), the cycle converges on its MTree snapshot,
 * the copy equals the production snapshot byte for byte and validates clean; both closeAfter orders; a snapshot
 * that never arrives; snapshots expired on failure and abort.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { createWorker, realDeps } from '../workers/worker';
import { vaultAccess } from '../activities/deps';
import { isolatedRecoveryCycle } from '../workflows';
import { statusQuery, type CycleResult, type Phase } from '../workflows/cycle-messages';
import { abortSignal } from '../workflows/operator-messages';
import { parseSnapshotList } from '../activities/drivers/datadomain/snapshot-parse';
import { bundleWorkflows, connectTemporal, describeTemporal } from './helpers/temporal';
import { startTestLab, VAULT, type TestLab } from './helpers/lab';

jest.setTimeout(240_000);

const KIB = 1024;
const MIB = 1024 * KIB;

describe('snapshot list parsing (DD OS table)', () => {
  test('reads names, dates and expired rows', () => {
    const out = [
      'Snapshot Information for MTree: /data/col1/prod',
      '----------------------------------------------',
      'Name                                Pre-Comp (GiB)   Create Date         Retain Until        Status',
      '---------------------------------   --------------   -----------------   -----------------   -------',
      'ir-20261123T125457Z-4c44557b                   0.0   Nov 23 2026 12:54   Nov 24 2026 13:24',
      'old-one                                        0.0   Nov 01 2026 08:00   Nov 02 2026 08:00   expired',
      '---------------------------------   --------------   -----------------   -----------------   -------',
      '',
      'Snapshot Summary',
    ].join('\n');
    const rows = parseSnapshotList(out);
    expect(rows.map((r) => [r.name, r.createdAt.toISOString(), r.expired])).toEqual([
      ['ir-20261123T125457Z-4c44557b', '2026-11-23T12:54:00.000Z', false],
      ['old-one', '2026-11-01T08:00:00.000Z', true],
    ]);
    expect(() => parseSnapshotList('**** garbage')).toThrow(/no "Name … Create Date" header/);
  });
});

/** Every file under root with its SHA-256 (posix relative paths), skipping an MTree's .snapshot folder. */
function treeHashes(root: string, rel = '', out = new Map<string, string>()): Map<string, string> {
  for (const e of readdirSync(join(root, rel), { withFileTypes: true })) {
    if (rel === '' && e.name === '.snapshot') continue;
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) treeHashes(root, r, out);
    else out.set(r, createHash('sha256').update(readFileSync(join(root, r))).digest('hex'));
  }
  return out;
}

/** The manifest's entries as path → hash (sha256sum format, escaped names un-escaped for the simple cases). */
function manifestHashes(path: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const x = /^\\?([0-9a-f]+) [ *](.*)$/.exec(line);
    if (x) m.set(x[2], x[1]);
  }
  return m;
}

describeTemporal('cycles on MTree snapshots while production is written', () => {
  let bundle: WorkflowBundleWithSourceMap;
  let temporal: Awaited<ReturnType<typeof connectTemporal>>;
  let t: TestLab | undefined;
  let seq = 0;
  // Vault port state at each fastcopy (LOCK landing the copy), read in the lab's own log callback.
  let portsDownAtFastcopy: boolean[] = [];

  beforeAll(async () => {
    bundle = await bundleWorkflows();
    temporal = await connectTemporal();
  });
  afterAll(async () => {
    await temporal?.close();
  });
  afterEach(async () => {
    if (!t) return;
    expect(t.lab.vaultPortsDown()).toBe(true);
    expect(t.lab.replication().enabled).toBe(false);
    await t.close();
    t = undefined;
  });

  const lab = async (bandwidthBytesPerSec: number, policy: Record<string, unknown> = {}) => {
    portsDownAtFastcopy = [];
    t = await startTestLab(
      {
        bandwidthBytesPerSec,
        log: (line) => {
          if (line.includes(': fastcopy ') && t) portsDownAtFastcopy.push(t.lab.vaultPortsDown());
        },
      },
      policy,
    );
    return t;
  };
  const run = async <T>(fn: (tq: string) => Promise<T>): Promise<T> => {
    const tq = `snap-${process.pid}-${seq++}`;
    const w = await createWorker({ connection: temporal.native, config: t!.config, taskQueue: tq, workflowBundle: bundle });
    return w.runUntil(fn(tq));
  };
  const start = (tq: string, policy: Record<string, unknown> = {}) =>
    temporal.client.workflow.start(isolatedRecoveryCycle, { taskQueue: tq, workflowId: `snap-cycle-${Date.now()}-${seq++}`, args: [VAULT, policy] });
  const failureOf = async (handle: WorkflowHandle) => {
    const err = await handle.result().then(
      () => {
        throw new Error('the cycle was expected to fail');
      },
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const cause = (err as WorkflowFailedError).cause as any;
    return { message: cause.message as string, result: cause.details?.[0] as CycleResult };
  };
  const waitForPhase = async (handle: WorkflowHandle, phase: Phase) => {
    for (const deadline = Date.now() + 60_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 100))) {
      const s = await handle.query(statusQuery).catch(() => null);
      if (s?.phase === phase) return;
    }
    throw new Error(`phase ${phase} not reached`);
  };

  /** The copy is the production snapshot, byte for byte: our own hashes of the copy against the source manifest. */
  const expectCopyIsTheSnapshot = (r: CycleResult) => {
    const copy = treeHashes(join(t!.lab.endpoints.vaultDd.copiesMountPath, r.copyId));
    const source = manifestHashes(r.validation!.source.path);
    expect(r.validation!.source.files).toBe(copy.size);
    expect([...copy.entries()].sort()).toEqual([...source.entries()].sort());
  };

  test('production written faster than the link in every phase: converges on its snapshot, copy = snapshot, clean, no alert', async () => {
    // Link 1 MiB/s; production 2 MiB/s (new job files, appends, deletions, a rewritten catalog) for the whole cycle.
    await lab(1 * MIB);
    const writeRate = 2 * MIB;
    t!.lab.startWriter({ bytesPerSec: writeRate, jobBytes: 512 * KIB, keepJobs: 3 });
    await new Promise((r) => setTimeout(r, 1500)); // the writer is well under way before the cycle starts
    const result = await run(async (tq) => (await start(tq)).result());
    const writer = t!.lab.writerStatus()!;
    t!.lab.stopWriter();

    expect(result.outcome).toBe('validated');
    expect(result.verdict).toBe('clean');
    expect(result.findings).toEqual([]);
    expect(result.validation!.equal).toBe(true);
    expect(existsSync(join(t!.config.evidenceDir, 'alerts.jsonl'))).toBe(false);
    // Production was written faster than the link and changed in all three ways meanwhile.
    expect(writer.bytesPerSec).toBeGreaterThan(1 * MIB);
    expect(writer.filesCreated).toBeGreaterThan(2);
    expect(writer.deletions).toBeGreaterThan(0);
    expect(writer.appends).toBeGreaterThan(10);
    // The copy is the production snapshot; the live tree has moved on since.
    expectCopyIsTheSnapshot(result);
    const live = treeHashes(t!.lab.endpoints.sourceDd.mountPath);
    const copy = treeHashes(join(t!.lab.endpoints.vaultDd.copiesMountPath, result.copyId));
    expect([...live.entries()].sort()).not.toEqual([...copy.entries()].sort());
    // Synced as of the sync point exactly (the snapshot's instant), never earlier.
    expect(result.replication!.syncedAsOf).toBe(result.replication!.syncPoint);
    // converge order: the ports were verified down before LOCK landed the copy.
    expect(result.phases.map((p) => p.phase)).toEqual(['PREFLIGHT', 'OPEN', 'REPLICATE', 'CONVERGE', 'CLOSE', 'LOCK', 'VALIDATE', 'RECORD']);
    expect(portsDownAtFastcopy).toEqual([true]);
    const lock = result.phases.find((p) => p.phase === 'LOCK')!;
    expect(Date.parse(result.exposure.closedAt!)).toBeLessThanOrEqual(Date.parse(lock.startedAt));
    // The exposure split is in the result and the report; the cycle's snapshots are gone.
    const split = result.exposure.split!;
    expect(split.order).toBe('converge');
    expect(split.replicationSeconds).toBeGreaterThan(0);
    expect(split.sourceHashSeconds).toBeGreaterThan(0);
    expect(split.overheadSeconds).toBeLessThan(result.exposure.seconds!);
    expect(readFileSync(result.report!.markdownPath, 'utf8')).toContain('exposure split');
    expect(result.snapshot!.expired).toEqual({ source: 'expired', replica: 'expired' });
    expect(t!.lab.snapshots()).toEqual({ source: [], replica: [] });
  });

  test('closeAfter=validate (the seeds order) also lands the snapshot, with the gap open through VALIDATE', async () => {
    await lab(4 * MIB, { closeAfter: 'validate' });
    t!.lab.startWriter({ bytesPerSec: 1 * MIB, jobBytes: 256 * KIB });
    const result = await run(async (tq) => (await start(tq)).result());
    t!.lab.stopWriter();
    expect(result.outcome).toBe('validated');
    expect(result.verdict).toBe('clean');
    expect(result.phases.map((p) => p.phase)).toEqual(['PREFLIGHT', 'OPEN', 'REPLICATE', 'CONVERGE', 'LOCK', 'VALIDATE', 'CLOSE', 'RECORD']);
    expect(result.exposure.split!.order).toBe('validate');
    expect(portsDownAtFastcopy).toEqual([false]); // landed with the link up: the seeds' order
    expectCopyIsTheSnapshot(result);
    expect(t!.lab.snapshots()).toEqual({ source: [], replica: [] });
  });

  test('a policy closeAfter that is not an order is refused, naming the field, before the gap is touched', async () => {
    await lab(4 * MIB);
    const { message } = await run(async (tq) => failureOf(await start(tq, { closeAfter: 'lock' })));
    expect(message).toContain('policy.closeAfter must be one of "converge", "validate"');
    expect(t!.lab.snapshots().source).toEqual([]);
  });

  test('a snapshot that never reaches the replica is a stall with the DD words; the cycle expires its snapshot', async () => {
    await lab(4 * MIB, { stall: '3s' });
    // The vault DD says it enabled replication but does not: nothing moves, the snapshot never arrives.
    t!.lab.addFault({ device: 'vault-dd', match: '^replication enable', output: 'Replication enabled for "mtree://vault-dd.lab/data/col1/vault-prod".', exitCode: 0, times: 1 });
    const { message, result } = await run(async (tq) => failureOf(await start(tq)));
    expect(message).toContain('in CONVERGE');
    expect(message).toMatch(/snapshot ir-\S+ did not reach \/data\/col1\/vault-prod/);
    expect(message).toContain('state disabled');
    expect(result.gap).toBe('closed');
    expect(result.snapshot!.expired!.source).toBe('expired');
    expect(t!.lab.snapshots()).toEqual({ source: [], replica: [] });
  });

  test('an aborted cycle expires the snapshots it made, and only those', async () => {
    await lab(64 * KIB); // slow: CONVERGE lasts long enough to abort in it
    // A snapshot somebody else made on production: the cycle must leave it alone.
    const theirs = 'nightly-keep';
    const access = vaultAccess(realDeps(t!.config), VAULT);
    await access.withSourceDd((dd) => dd.snapshotCreate(theirs, access.vault.source.mtree, 86400));
    const { message, result } = await run(async (tq) => {
      const handle = await start(tq);
      await waitForPhase(handle, 'CONVERGE');
      expect(t!.lab.snapshots().source.map((s) => s.name)).toEqual([theirs, `ir-${(await handle.query(statusQuery)).copyId}`]);
      await handle.signal(abortSignal, { reason: 'test', by: 'dora' });
      return failureOf(handle);
    });
    expect(message).toContain('aborted by dora');
    expect(result.outcome).toBe('aborted');
    expect(result.snapshot!.expired).toEqual({ source: 'expired', replica: 'absent' });
    expect(t!.lab.snapshots().source.map((s) => s.name)).toEqual([theirs]);
  });
});
