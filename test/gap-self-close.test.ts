/**
 * A gap that closes itself: the Temporal server is stopped for longer than maxOpen while the gap is open.
 * The switch (Arista EOS, whose commit timer counts real seconds) reverts to the closed state by itself
 * within maxOpen, with nothing of this service able to act; once the server is back, the cycle ends closed.
 * This file runs its own dev server (with a SQLite file, so a restart resumes the workflow).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection, WorkflowFailedError } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Runtime, type Worker } from '@temporalio/worker';
import { ensureTemporalCli } from '../clients/temporal-cli';
import { freePort, startDevServer, type DevServer } from '../clients/devserver';
import { createWorker } from '../workers/worker';
import { isolatedRecoveryCycle } from '../workflows';
import type { CycleResult } from '../workflows/messages';
import { startTestLab, VAULT, type TestLab } from './helpers/lab';
import { temporalAddress } from './helpers/temporal';

jest.setTimeout(240_000);
const MAX_OPEN_S = 10;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const run = temporalAddress ? test : test.skip; // same switch as the other dev-server tests (IR_NO_TEMPORAL)

async function waitFor(cond: () => boolean, ms: number, what: string): Promise<number> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms`);
    await sleep(20);
  }
  return Date.now();
}

let t: TestLab;
let dir: string;
const servers: DevServer[] = [];
afterAll(async () => {
  for (const s of servers) await s.stop().catch(() => undefined);
  await t?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

run('Temporal down longer than maxOpen: the switch reverts within maxOpen, the cycle ends closed when Temporal is back', async () => {
  try {
    Runtime.install({ logger: new DefaultLogger('ERROR') });
  } catch {
    // installed already in this module registry
  }
  dir = mkdtempSync(join(tmpdir(), 'self-close-'));
  const cliPath = await ensureTemporalCli();
  const port = await freePort();
  const dbFile = join(dir, 'temporal.db');
  const server = () => startDevServer({ cliPath, port, dbFile, uiPort: false, logFile: join(dir, 'server.log') }).then((s) => (servers.push(s), s));

  t = await startTestLab({ bandwidthBytesPerSec: 32 * 1024, linkUpDelayMs: 100 }, { maxOpen: `${MAX_OPEN_S}s` }, { platform: 'arista-eos' });
  const eos = t.lab.endpoints.switches.find((s) => s.platform === 'arista-eos')!;
  const eosUp = () => eos.vaultPorts.every((p) => t.lab.portStates()[p].oper === 'up');
  const eosDown = () => eos.vaultPorts.every((p) => t.lab.portStates()[p].admin === 'down');
  const bundle = await bundleWorkflowCode({ workflowsPath: require.resolve('../workflows'), logger: { trace() {}, debug() {}, info() {}, warn() {}, error() {} } as any });

  // 1. A cycle opens the gap.
  const s1 = await server();
  const native1 = await NativeConnection.connect({ address: s1.address });
  const tq = 'self-close';
  const workerA: Worker = await createWorker({ connection: native1, config: t.config, taskQueue: tq, workflowBundle: bundle });
  const runningA = workerA.run().catch(() => undefined); // may die with its server: a new worker takes over
  const conn1 = await Connection.connect({ address: s1.address });
  const handle = await new Client({ connection: conn1 }).workflow.start(isolatedRecoveryCycle, { taskQueue: tq, workflowId: `self-close-${Date.now()}`, args: [VAULT, {}] });
  const openedAt = await waitFor(eosUp, 60_000, 'gap open');
  const pending = t.lab.switchState('arista-eos').revert;
  expect(pending).not.toBeNull();
  expect(pending!.deadline.getTime()).toBeLessThanOrEqual(openedAt + MAX_OPEN_S * 1000);

  // 2. Temporal goes away with the gap open.
  await conn1.close();
  await s1.stop();
  const downAt = Date.now();

  // 3. The switch closes the gap by itself, within maxOpen of the opening; Temporal is still down.
  const revertedAt = await waitFor(eosDown, (MAX_OPEN_S + 5) * 1000, 'switch reverts by itself');
  expect(revertedAt - openedAt).toBeLessThanOrEqual(MAX_OPEN_S * 1000 + 500);
  expect(t.lab.switchState('arista-eos').reverts).toBe(1);
  expect(t.lab.replication().connection).not.toBe('connected');
  expect(revertedAt).toBeGreaterThan(downAt);

  // 4. Down for longer than maxOpen in all; then the server comes back (same database) and a worker runs.
  await sleep(Math.max(0, downAt + (MAX_OPEN_S + 2) * 1000 - Date.now()));
  const s2 = await server();
  const native2 = await NativeConnection.connect({ address: s2.address });
  const workerB = await createWorker({ connection: native2, config: t.config, taskQueue: tq, workflowBundle: bundle });
  const conn2 = await Connection.connect({ address: s2.address });
  const outcome = await workerB.runUntil(async () => {
    const h = new Client({ connection: conn2 }).workflow.getHandle(handle.workflowId);
    return h.result().then(
      (r: CycleResult) => ({ result: r, message: '' }),
      (err: unknown) => {
        expect(err).toBeInstanceOf(WorkflowFailedError);
        const cause = (err as WorkflowFailedError).cause as any;
        return { result: cause.details?.[0] as CycleResult, message: String(cause.message) };
      },
    );
  });
  if (workerA.getState() === 'RUNNING') workerA.shutdown();
  await runningA;
  await conn2.close();
  await native1.close().catch(() => undefined);
  await native2.close();

  // 5. The cycle ended with the gap closed: ports shut and verified, no timer left, replication off.
  expect(outcome.result.gap).toBe('closed');
  expect(outcome.message).toMatch(/maxOpen/);
  expect(eosDown()).toBe(true);
  expect(t.lab.switchState('arista-eos').revert).toBeNull();
  expect(t.lab.replication().enabled).toBe(false);
});
