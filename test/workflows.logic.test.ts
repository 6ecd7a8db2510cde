/**
 * The workflows' own logic on the dev server with stub activities (no lab, no devices): abort in every phase,
 * the maxOpen timer, the outcome table, DECIDE timeouts, the vault hold and the sentinel's decisions (including a
 * backup hold left behind by a terminated cycle). Seconds per test.
 * The stubs are a model of the gap (open/closed) and record what was called; the workflows are the real ones.
 */
import { ApplicationFailure, Context } from '@temporalio/activity';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { gapSentinel, isolatedRecoveryCycle } from '../workflows';
import { statusQuery, type CycleResult, type CycleStatus, type Phase } from '../workflows/cycle-messages';
import { abortSignal } from '../workflows/operator-messages';
import { releaseHoldSignal, requestHoldSignal, sentinelStatusQuery, sentinelWorkflowId, type Holder, type Incident } from '../workflows/sentinel-messages';
import { bundleWorkflows, connectTemporal, describeTemporal } from './helpers/temporal';
import { versioning } from '../workers/worker';

jest.setTimeout(120_000);

let bundle: WorkflowBundleWithSourceMap;
let temporal: Awaited<ReturnType<typeof connectTemporal>>;
let seq = 0;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A model of one vault's gap and what the activities did to it. */
class World {
  open = false;
  calls: string[] = [];
  incidents: Incident[] = [];
  blockIn?: string; // the activity that blocks (heartbeating) until cancelled
  failIn?: string; // the activity that fails (not retryable)
  /** Starts and stops, in order (a blocked activity's stop is `<name> stopped`). */
  events: string[] = [];
  onBusy: 'wait' | 'refuse' = 'wait';
  period = 1;
  verdict: 'clean' | 'suspect' = 'clean';
  /** Backup software: the cycle holds `job nightly`; releases fail (permanently) while releaseFailures > 0. */
  backupSoftware = false;
  backupHeld = false;
  releaseFailures = 0;
}

const backupRecord = (w: World, releasedAt?: string) => ({
  software: 'bareos' as const,
  items: [{ kind: 'job' as const, name: 'nightly', held: true }],
  heldAt: new Date().toISOString(),
  waitedSeconds: 0,
  waitedFor: [],
  ...(releasedAt ? { releasedAt } : {}),
});

/** Heartbeats until cancelled (the real long activities do the same). */
async function blockUntilCancelled(): Promise<never> {
  const ctx = Context.current();
  for (;;) {
    ctx.heartbeat();
    await ctx.sleep(100);
  }
}

function stubActivities(w: World) {
  const step =
    <T>(name: string, fn: (...args: any[]) => T) =>
    async (...args: any[]): Promise<T> => {
      w.calls.push(name);
      w.events.push(name);
      if (w.failIn === name) throw ApplicationFailure.nonRetryable(`${name} failed (test)`, 'DeviceError');
      if (w.blockIn === name) {
        try {
          await blockUntilCancelled();
        } finally {
          w.events.push(`${name} stopped`);
        }
      }
      return fn(...args);
    };
  const sentinelSignal = async (vaultId: string, signal: typeof requestHoldSignal | typeof releaseHoldSignal, arg: any) => {
    const { taskQueue } = Context.current().info;
    await Context.current().client.workflow.signalWithStart(gapSentinel, {
      workflowId: sentinelWorkflowId(vaultId, taskQueue),
      taskQueue,
      args: [{ vaultId }],
      signal: signal as any,
      signalArgs: [arg],
    });
  };
  return {
    preflight: step('preflight', (_vaultId: string, policyIn: Record<string, unknown> = {}) => ({
      policy: { retentionSeconds: 600, maxOpenSeconds: 600, pollIntervalSeconds: 1, stallSeconds: 60, linkUpTimeoutSeconds: 10, algorithm: 'sha256' as const, ...policyIn },
      gapOpenAtStart: w.open,
      gapDetail: w.open ? 'ports up: Gi1/0/1' : 'all ports down; replication disabled',
    })),
    openLink: step('openLink', () => {
      w.open = true;
      return { upAt: new Date().toISOString(), ports: [] };
    }),
    enableReplication: step('enableReplication', () => ({ syncPoint: new Date().toISOString() })),
    awaitSync: step('awaitSync', () => ({ syncedAsOf: new Date().toISOString(), seconds: 1 })),
    lockCopy: step('lockCopy', () => ({ copyId: 'c', mtreePath: '/data/col1/ir-copies/c', files: 1, bytes: 1, lockedUntil: new Date().toISOString(), lockMode: 'governance' })),
    hashTree: step('hashTree', () => ({ side: 'source' as const, path: '/m', digest: 'sha256:0', root: '0', algorithm: 'sha256', files: 1, bytes: 1, seconds: 0 })),
    validateCopy: step('validateCopy', () => ({
      verdict: w.verdict,
      equal: true,
      counts: {},
      reasons: [],
      scores: {},
      source: {} as any,
      copy: {} as any,
      detailPath: '/v',
      findings: [],
    })),
    closeLink: step('closeLink', () => {
      w.open = false;
      return { verifiedAt: new Date().toISOString(), ports: [], replicationDisabled: true };
    }),
    recordReport: step('recordReport', () => ({ path: '/r.json', digest: 'sha256:0', markdownPath: '/r.md' })),
    // Point-in-time copies (snapshots), backup software and the immutability probe: the cycle's other steps.
    snapshotAndSync: step('snapshotAndSync', (_v: string, snapshot: string) => ({ syncPoint: new Date().toISOString(), snapshot, sourceMtree: '/data/col1/prod' })),
    awaitSnapshot: step('awaitSnapshot', () => ({ replicatedAt: new Date().toISOString(), seconds: 0.1 })),
    expireSnapshots: step('expireSnapshots', () => ({ source: 'expired', replica: 'expired' })),
    backupHold: step('backupHold', () => {
      if (!w.backupSoftware) return null;
      w.backupHeld = true;
      return backupRecord(w);
    }),
    backupKeepHold: async () => undefined,
    backupRelease: step('backupRelease', () => {
      if (w.releaseFailures > 0) {
        w.releaseFailures--;
        throw ApplicationFailure.nonRetryable('bareos 127.0.0.1:9: connect ECONNREFUSED', 'DeviceUnreachableError');
      }
      if (!w.backupHeld) return null;
      w.backupHeld = false;
      return backupRecord(w, new Date().toISOString());
    }),
    probeImmutability: step('probeImmutability', () => ({ canary: '/data/col1/ir-copies/.ir-canary/c', attempts: [], worm: true })),
    requestVaultHold: async (vaultId: string, holder: Holder) => {
      w.calls.push('requestVaultHold');
      await sentinelSignal(vaultId, requestHoldSignal, { ...holder, onBusy: w.onBusy });
      return { onBusy: w.onBusy };
    },
    releaseVaultHold: async (vaultId: string, holder: Holder) => {
      w.calls.push('releaseVaultHold');
      await sentinelSignal(vaultId, releaseHoldSignal, holder);
    },
    checkGap: async () => ({ open: w.open, detail: w.open ? 'ports up: Gi1/0/1' : 'all ports down', at: new Date().toISOString(), periodSeconds: w.period }),
    holderStatus: async (h: Holder) => (await Context.current().client.workflow.getHandle(h.workflowId, h.runId).describe()).status.name,
    recordIncident: async (i: Incident) => {
      w.incidents.push(i);
      return { path: '/incidents.jsonl' };
    },
  };
}

async function withWorker<T>(w: World, fn: (tq: string) => Promise<T>): Promise<T> {
  const tq = `logic-${process.pid}-${seq++}`;
  const worker = await Worker.create({
    connection: temporal.native,
    taskQueue: tq,
    workflowBundle: bundle,
    activities: stubActivities(w),
    workerDeploymentOptions: versioning(), // as every worker of these workflows (workers/worker.ts)
    maxHeartbeatThrottleInterval: '1 second',
    defaultHeartbeatThrottleInterval: '1 second',
  });
  return worker.runUntil(async () => {
    try {
      return await fn(tq);
    } finally {
      await temporal.client.workflow.getHandle(sentinelWorkflowId('v1', tq)).terminate('test done').catch(() => undefined);
    }
  });
}

const startCycle = (tq: string, policy: Record<string, unknown> = {}, id = `logic-cycle-${Date.now()}-${seq++}`) =>
  temporal.client.workflow.start(isolatedRecoveryCycle, { taskQueue: tq, workflowId: id, args: ['v1', policy] });

async function until<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(50);
  }
}
const statusOf = (h: WorkflowHandle) => h.query(statusQuery) as Promise<CycleStatus>;

async function failed(h: WorkflowHandle): Promise<CycleResult> {
  const err = await h.result().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WorkflowFailedError);
  return ((err as WorkflowFailedError).cause as any).details[0] as CycleResult;
}

describeTemporal('workflow logic with stub activities', () => {
  beforeAll(async () => {
    bundle = await bundleWorkflows();
    temporal = await connectTemporal();
  });
  afterAll(async () => {
    await temporal?.close();
  });

  const phaseActivity: Array<[Phase, string, boolean]> = [
    ['PREFLIGHT', 'preflight', false],
    ['OPEN', 'openLink', true],
    ['REPLICATE', 'snapshotAndSync', true], // begun beside openLink; the link is up, the snapshot or sync still running
    ['CONVERGE', 'awaitSnapshot', true],
    ['LOCK', 'lockCopy', true],
    ['VALIDATE', 'validateCopy', true], // hashTree runs in CONVERGE too (the source, from the snapshot)
  ];
  test.each(phaseActivity)('abort in %s (%s blocked): outcome aborted, the close path runs iff the gap was touched, the hold is released', async (phase, activity, touched) => {
    const w = new World();
    w.blockIn = activity;
    const result = await withWorker(w, async (tq) => {
      const h = await startCycle(tq);
      await until(`phase ${phase}`, async () => (await statusOf(h)).phase === phase && w.calls.includes(activity));
      await h.signal(abortSignal, { reason: `abort in ${phase}`, by: 'test' });
      return failed(h);
    });
    expect(result.outcome).toBe('aborted');
    expect(result.abort).toMatchObject({ by: 'test', reason: `abort in ${phase}` });
    expect(w.calls.includes('closeLink')).toBe(touched);
    expect(w.open).toBe(false);
    expect(w.calls.at(-1)).toBe('releaseVaultHold');
    expect(result.hold?.state).toBe('released');
  });

  test('OPEN fails while the snapshot and sync request still run beside it: they are stopped before the close path starts', async () => {
    const w = new World();
    w.failIn = 'openLink';
    w.blockIn = 'snapshotAndSync';
    const result = await withWorker(w, async (tq) => failed(await startCycle(tq)));
    expect(result.outcome).toBe('failed');
    expect(result.lastError).toContain('openLink failed (test)');
    expect(w.events.indexOf('snapshotAndSync stopped')).toBeGreaterThan(-1);
    expect(w.events.indexOf('snapshotAndSync stopped')).toBeLessThan(w.events.indexOf('closeLink'));
    expect(w.calls).toContain('expireSnapshots'); // the snapshot it may have made is expired
    expect(w.open).toBe(false);
  });

  test('the maxOpen timer forces the close path while CONVERGE never ends', async () => {
    const w = new World();
    w.blockIn = 'awaitSnapshot';
    const result = await withWorker(w, async (tq) => failed(await startCycle(tq, { maxOpenSeconds: 2 })));
    expect(result.outcome).toBe('failed');
    expect(result.lastError).toContain('maxOpen (2 s)');
    expect(w.open).toBe(false);
  });

  test('a clean run: validated, hold taken before PREFLIGHT and released after RECORD; an inherited open gap is reported', async () => {
    const w = new World();
    w.open = true; // a port left open before this cycle (e.g. by hand while the sentinel was paused)
    w.period = 3600; // the sentinel must not race the cycle here
    const result = await withWorker(w, async (tq) => (await startCycle(tq)).result());
    expect(result.outcome).toBe('validated');
    expect(w.calls[0]).toBe('requestVaultHold');
    expect(w.calls.indexOf('recordReport')).toBeLessThan(w.calls.indexOf('releaseVaultHold'));
    expect(result.inheritedGap).toMatchObject({ found: 'ports up: Gi1/0/1' });
    expect(result.inheritedGap!.closedBy).toContain('close path');
  });

  // The approval rule as PREFLIGHT hands it to the workflow (config/schema.ts approvalSchema, durations in seconds).
  const approval = (a: Record<string, unknown>) => ({
    approval: { when: 'suspect', quorum: 1, timeout: 2, onTimeout: 'reject', beforeOpen: false, beforeOpenTimeout: 3600, ...a },
  });

  const decideTimeouts: Array<['clean' | 'suspect', 'suspect' | 'always', 'reject' | 'approve', string]> = [
    ['suspect', 'suspect', 'reject', 'rejected'],
    ['suspect', 'suspect', 'approve', 'approved'],
    ['clean', 'always', 'reject', 'rejected'],
    ['clean', 'always', 'approve', 'validated'],
  ];
  test.each(decideTimeouts)(
    'DECIDE timeout: a %s copy (approval.when %s) nobody decides on ends as approval.onTimeout %s says: %s; asked with the gap closed',
    async (verdict, when, onTimeout, outcome) => {
      const w = new World();
      w.verdict = verdict;
      w.period = 3600;
      const result = await withWorker(w, async (tq) => {
        const h = await startCycle(tq, approval({ when, onTimeout, timeout: 2 }));
        const asking = await until('DECIDE', async () => {
          const s = await statusOf(h);
          return s.phase === 'DECIDE' ? s : undefined;
        });
        // Invariant 4: the question is asked only once the close path verified the gap shut.
        expect(asking.gap).toBe('closed');
        expect(w.open).toBe(false);
        expect(w.calls).toContain('closeLink');
        expect(asking.decisions).toEqual([expect.objectContaining({ stage: 'after-validate', state: 'pending', timeoutSeconds: 2, onTimeout })]);
        expect(w.calls).not.toContain('recordReport');
        return h.result();
      });
      expect(result.outcome).toBe(outcome);
      const [d] = result.decisions!;
      expect(d).toMatchObject({ state: onTimeout === 'approve' ? 'approved' : 'rejected', timedOut: true, by: 'timeout' });
      expect(d.reason).toBe(`no decision within 2s: ${onTimeout === 'approve' ? 'approved' : 'rejected'} by default (approval.onTimeout: ${onTimeout})`);
      expect(Date.parse(d.decidedAt!) - Date.parse(d.askedAt)).toBeGreaterThanOrEqual(2000);
      expect(w.calls.indexOf('recordReport')).toBeGreaterThan(w.calls.lastIndexOf('closeLink'));
      expect(w.calls.at(-1)).toBe('releaseVaultHold');
    },
  );

  test('DECIDE timeout before open: silence ends the cycle rejected, even with onTimeout approve; the gap and the backup software are never touched', async () => {
    const w = new World();
    w.period = 3600;
    w.backupSoftware = true;
    const result = await withWorker(w, async (tq) => {
      const h = await startCycle(tq, approval({ beforeOpen: true, beforeOpenTimeout: 2, onTimeout: 'approve', timeout: 600 }));
      const asking = await until('asking before open', async () => {
        const s = await statusOf(h);
        return s.decisions?.length ? s : undefined;
      });
      expect(asking.phase).toBe('PREFLIGHT');
      expect(asking.gap).toBe('closed');
      expect(asking.decisions![0]).toMatchObject({ stage: 'before-open', state: 'pending', timeoutSeconds: 2, onTimeout: 'reject' });
      return h.result();
    });
    expect(result.outcome).toBe('rejected');
    expect(result.decisions![0]).toMatchObject({ stage: 'before-open', state: 'rejected', timedOut: true, by: 'timeout' });
    expect(result.decisions![0].reason).toBe('no decision within 2s: rejected by default (before open, a timeout never opens the gap)');
    for (const never of ['backupHold', 'openLink', 'snapshotAndSync', 'enableReplication', 'closeLink', 'lockCopy']) expect(w.calls).not.toContain(never);
    expect(w.open).toBe(false);
    expect(result.phases.map((p) => p.phase)).toEqual(['PREFLIGHT', 'RECORD']);
    expect(w.calls.at(-1)).toBe('releaseVaultHold');
  });

  test('sentinel: a terminated holder left a backup hold: released after the gap is closed; a failed release is tried again next period', async () => {
    const w = new World();
    w.backupSoftware = true;
    w.releaseFailures = 1; // the backup server refuses the first round
    w.blockIn = 'awaitSnapshot';
    await withWorker(w, async (tq) => {
      // As the worker starts it (workers/sentinels.ts), with the vault's period: a terminate sends it no signal.
      await temporal.client.workflow.start(gapSentinel, { taskQueue: tq, workflowId: sentinelWorkflowId('v1', tq), args: [{ vaultId: 'v1', periodSeconds: w.period }] });
      const holder = await startCycle(tq, {}, `holder-${seq}`);
      await until('holder converging', async () => (await statusOf(holder)).phase === 'CONVERGE');
      expect(w.backupHeld).toBe(true);
      expect(w.open).toBe(true);
      const before = w.calls.length;
      await holder.terminate('test: terminate with the backup hold in place');
      await until('incident', async () => w.incidents.length === 1);
      const [incident] = w.incidents;
      expect(incident).toMatchObject({ kind: 'holder-ended-without-release', holder: { workflowId: holder.workflowId, status: 'TERMINATED' } });
      expect(incident.backupHold).toMatchObject({ state: 'failed' });
      expect(incident.backupHold!.error).toContain('ECONNREFUSED');
      expect(w.open).toBe(false);
      const sentinel = temporal.client.workflow.getHandle(sentinelWorkflowId('v1', tq));
      const released = await until('released next period', async () => {
        const st = await sentinel.query(sentinelStatusQuery);
        return st.lastBackupRelease?.state === 'released' && !st.backupReleasePending && !st.holder ? st : undefined;
      });
      expect(released.lastBackupRelease).toMatchObject({ software: 'bareos', released: ['job nightly'] });
      expect(w.backupHeld).toBe(false);
      // The gap first, then the backup software: the sentinel's close precedes its first release attempt.
      const after = w.calls.slice(before);
      expect(after.indexOf('closeLink')).toBeGreaterThanOrEqual(0);
      expect(after.indexOf('closeLink')).toBeLessThan(after.indexOf('backupRelease'));
      expect(after.filter((c) => c === 'backupRelease')).toHaveLength(2);
      expect(w.incidents).toHaveLength(1);
    });
  });

  test('hold: a second cycle waits for the first (status names the holder) and never overlaps; refuse mode fails at once', async () => {
    const w = new World();
    w.blockIn = 'awaitSnapshot';
    w.period = 3600;
    await withWorker(w, async (tq) => {
      const first = await startCycle(tq, {}, `first-${seq}`);
      await until('first converging', async () => (await statusOf(first)).phase === 'CONVERGE');
      const second = await startCycle(tq, {}, `second-${seq}`);
      const waiting = await until('second waiting', async () => {
        const s = await statusOf(second);
        return s.hold?.state === 'waiting' ? s : undefined;
      });
      expect(waiting.hold!.heldBy).toBe(first.workflowId);
      expect(w.calls.filter((c) => c === 'openLink')).toHaveLength(1);

      w.onBusy = 'refuse';
      const third = await startCycle(tq, {}, `third-${seq}`);
      const refused = await failed(third);
      expect(refused.lastError).toContain(`held by workflow ${first.workflowId}`);
      expect(refused.phases.map((p) => p.phase)).toEqual(['PREFLIGHT', 'RECORD']);

      w.blockIn = undefined;
      await first.signal(abortSignal, { reason: 'let the second run', by: 'test' });
      expect((await failed(first)).outcome).toBe('aborted');
      expect((await second.result()).outcome).toBe('validated');
      const s = await temporal.client.workflow.getHandle(sentinelWorkflowId('v1', tq)).query(sentinelStatusQuery);
      expect(s.holder).toBeUndefined();
      expect(s.waiting).toEqual([]);
    });
  });

  test('sentinel: a gap open with no holder is closed and recorded; a terminated holder is closed for first, then the waiter runs', async () => {
    const w = new World();
    await withWorker(w, async (tq) => {
      const sentinel = await temporal.client.workflow.start(gapSentinel, { taskQueue: tq, workflowId: sentinelWorkflowId('v1', tq), args: [{ vaultId: 'v1' }] });
      await until('first check', async () => (await sentinel.query(sentinelStatusQuery)).lastCheck);
      w.open = true; // opened by hand
      await until('closed by the sentinel', async () => !w.open && w.incidents.length === 1);
      expect(w.incidents[0]).toMatchObject({ vaultId: 'v1', kind: 'gap-open-without-holder', found: 'ports up: Gi1/0/1' });
      expect(w.incidents[0].openSinceAtLatest).toBeDefined();

      w.blockIn = 'awaitSnapshot';
      const holder = await startCycle(tq, {}, `holder-${seq}`);
      await until('holder converging', async () => (await statusOf(holder)).phase === 'CONVERGE');
      const waiter = await startCycle(tq, {}, `waiter-${seq}`);
      await until('waiter waiting', async () => (await statusOf(waiter)).hold?.state === 'waiting');
      w.blockIn = undefined;
      const closesBefore = w.calls.filter((c) => c === 'closeLink').length;
      await holder.terminate('test: terminate the holder');
      expect(w.open).toBe(true); // nobody closed it yet: the terminated cycle cannot
      const result = await waiter.result();
      expect(result.outcome).toBe('validated');
      expect(w.incidents[1]).toMatchObject({ kind: 'holder-ended-without-release', holder: { workflowId: holder.workflowId, status: 'TERMINATED' } });
      // The sentinel closed the gap before the waiter got the vault: its close comes before the waiter's open.
      const after = w.calls.slice(w.calls.indexOf('closeLink', closesBefore > 0 ? nthIndex(w.calls, 'closeLink', closesBefore) : 0));
      expect(after.indexOf('closeLink')).toBeLessThan(after.indexOf('openLink'));
      expect(result.inheritedGap).toBeUndefined();
    });
  });
});

function nthIndex(xs: string[], x: string, n: number): number {
  let seen = 0;
  for (let i = 0; i < xs.length; i++) if (xs[i] === x && ++seen === n) return i + 1;
  return xs.length;
}
