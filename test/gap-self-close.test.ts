/**
 * A gap that closes itself, on every switch platform the vault supports: the Temporal server is stopped for
 * longer than maxOpen while the gap is open. The switch's own timer, armed by openLink in the step that opened
 * the ports, reverts it to the closed state within maxOpen with nothing of this service able to act; once the
 * server is back, the cycle ends closed (the close path overtakes or confirms whatever the device left).
 *   - Arista EOS: configuration session with `commit timer hh:mm:ss` (counts seconds);
 *   - Cisco IOS/IOS-XE: `configure terminal revert timer <minutes>`;
 *   - Cisco NX-OS: no revert timer for `configure terminal`; a scheduler job holding the `shutdown` lines,
 *     scheduled `time start +<minutes>`;
 *   - Juniper Junos: `commit confirmed <minutes>`.
 * IOS, NX-OS and Junos count whole minutes (one at least). The lab's device minute is set to maxOpen here, so
 * their one-minute timer plays a one-minute maxOpen in MAX_OPEN_S seconds; EOS counts real seconds.
 * What the switch did is asked of the lab switch itself: its control API (`GET /state`) while Temporal is down,
 * stock OpenSSH (`show interface…`) at the end. Each case runs its own dev server with a SQLite file, so a
 * restart resumes the workflow.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client, Connection, WorkflowFailedError } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Runtime, type Worker } from '@temporalio/worker';
import { ensureTemporalCli } from '../clients/temporal-cli';
import { freePort, startDevServer, type DevServer } from '../clients/devserver';
import { PLATFORMS } from '../activities/drivers/switch/platforms';
import type { PlatformName } from '../lab/cli/engine';
import type { PendingRevert } from '../lab/cli/revert';
import { createWorker } from '../workers/worker';
import { isolatedRecoveryCycle } from '../workflows';
import type { CycleResult } from '../workflows/messages';
import { startTestLab, VAULT, type TestLab } from './helpers/lab';
import { temporalAddress } from './helpers/temporal';

jest.setTimeout(240_000);
const MAX_OPEN_S = 6; // leaves the server's graceful stop (~2 s) well inside maxOpen
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const run = temporalAddress ? test.each : test.skip.each; // same switch as the other dev-server tests (IR_NO_TEMPORAL)

/** Per platform: the timer the lab shows pending after the open, and how `show interface…` says a port is shut. */
const CASES: Array<{ platform: PlatformName; timer: RegExp; shut: (port: string) => RegExp }> = [
  { platform: 'arista-eos', timer: /^configure session ir-close-gap commit timer$/, shut: (p) => new RegExp(`^${p} is administratively down`, 'm') },
  { platform: 'cisco-ios', timer: /^configure terminal revert timer$/, shut: (p) => new RegExp(`^${p} is administratively down`, 'm') },
  { platform: 'cisco-nxos', timer: /^scheduler schedule ir-close-gap$/, shut: (p) => new RegExp(`^${p} is down \\(Administratively down\\)`, 'm') },
  { platform: 'junos', timer: /^commit confirmed$/, shut: (p) => new RegExp(`^${p}\\s+down\\s+down`, 'm') },
];

interface SwitchView {
  platform: string;
  ports: Record<string, { admin: 'up' | 'down'; oper: 'up' | 'down' }>;
  revert: (Omit<PendingRevert, 'deadline'> & { deadline: string }) | null;
}

async function waitFor<T>(probe: () => Promise<T | undefined>, ms: number, what: string): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms`);
    await sleep(20);
  }
}

let bundle: Awaited<ReturnType<typeof bundleWorkflowCode>>;
let cliPath: string;
beforeAll(async () => {
  if (!temporalAddress) return;
  try {
    Runtime.install({ logger: new DefaultLogger('ERROR') });
  } catch {
    // installed already in this module registry
  }
  cliPath = await ensureTemporalCli();
  bundle = await bundleWorkflowCode({ workflowsPath: require.resolve('../workflows'), logger: { trace() {}, debug() {}, info() {}, warn() {}, error() {} } as any });
});

let t: TestLab | undefined;
let dir: string | undefined;
const servers: DevServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.stop().catch(() => undefined);
  await t?.close();
  t = undefined;
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

run(CASES)('$platform: Temporal down longer than maxOpen, the switch reverts within maxOpen, the cycle ends closed when Temporal is back', async ({ platform, timer, shut }) => {
  dir = mkdtempSync(join(tmpdir(), 'self-close-'));
  const port = await freePort();
  const dbFile = join(dir, 'temporal.db');
  const server = () => startDevServer({ cliPath, port, dbFile, uiPort: false, logFile: join(dir!, 'server.log') }).then((s) => (servers.push(s), s));

  // Slow replication keeps the cycle in CONVERGE with the gap open; small data keeps the lab quick to start.
  const [lab1, s1] = await Promise.all([
    startTestLab(
      { bandwidthBytesPerSec: 16 * 1024, linkUpDelayMs: 100, deviceMinuteMs: MAX_OPEN_S * 1000, seed: { files: 10, totalBytes: 512 * 1024 } },
      { maxOpen: `${MAX_OPEN_S}s` },
      { platform },
    ),
    server(),
  ]);
  t = lab1;
  const lab = t.lab;
  const sw = lab.endpoints.switches.find((s) => s.platform === platform)!;
  const view = async (): Promise<SwitchView> => {
    const st = (await (await fetch(`${lab.endpoints.control}/state`)).json()) as { switches: SwitchView[] };
    return st.switches.find((s) => s.platform === platform)!;
  };
  const portsUp = (v: SwitchView) => sw.vaultPorts.every((p) => v.ports[p].oper === 'up');
  const portsShut = (v: SwitchView) => sw.vaultPorts.every((p) => v.ports[p].admin === 'down');

  // 1. A cycle opens the gap; the switch holds the platform's own timer, due within maxOpen of the opening.
  const native1 = await NativeConnection.connect({ address: s1.address });
  const tq = `self-close-${platform}`;
  const workerA: Worker = await createWorker({ connection: native1, config: t.config, taskQueue: tq, workflowBundle: bundle });
  const runningA = workerA.run().catch(() => undefined); // may die with its server: a new worker takes over
  const conn1 = await Connection.connect({ address: s1.address });
  const handle = await new Client({ connection: conn1 }).workflow.start(isolatedRecoveryCycle, { taskQueue: tq, workflowId: `self-close-${platform}-${Date.now()}`, args: [VAULT, {}] });
  const opened = await waitFor(async () => {
    const v = await view();
    return portsUp(v) ? v : undefined;
  }, 60_000, 'gap open');
  const openedAt = Date.now();
  expect(opened.revert).not.toBeNull();
  expect(opened.revert!.label).toMatch(timer);
  expect(Date.parse(opened.revert!.deadline)).toBeLessThanOrEqual(openedAt + MAX_OPEN_S * 1000);

  // 2. Temporal goes away with the gap open.
  await conn1.close();
  await s1.stop();
  const downAt = Date.now();

  // 3. The switch closes the gap by itself, within maxOpen of the opening; Temporal is still down.
  const reverted = await waitFor(async () => {
    const v = await view();
    return portsShut(v) ? v : undefined;
  }, (MAX_OPEN_S + 5) * 1000, 'switch reverts by itself');
  const revertedAt = Date.now();
  expect(revertedAt - openedAt).toBeLessThanOrEqual(MAX_OPEN_S * 1000 + 500);
  expect(revertedAt).toBeGreaterThan(downAt);
  expect(reverted.revert).toBeNull();
  expect(lab.switchState(platform).reverts).toBe(1);
  expect(lab.replication().connection).not.toBe('connected');

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
  const after = await view();
  expect(portsShut(after)).toBe(true);
  expect(after.revert).toBeNull();
  expect(lab.switchState(platform).reverts).toBe(1);
  expect(lab.replication().enabled).toBe(false);
  // The switch says so itself, to a stock OpenSSH client.
  for (const p of sw.vaultPorts) {
    const { stdout } = await promisify(execFile)(
      'ssh',
      ['-p', String(sw.port), '-i', lab.endpoints.clientKeyFile, '-o', `UserKnownHostsFile=${lab.endpoints.knownHostsFile}`, '-o', 'StrictHostKeyChecking=yes', '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes', `${sw.username}@${lab.endpoints.host}`, PLATFORMS[platform].ports.show(p)],
      { encoding: 'utf8', timeout: 15000 },
    );
    expect(stdout.replace(/\r/g, '')).toMatch(shut(p));
  }
  // No session is left open on the lab: not the first worker's (its server died under it), not the close path's.
  // (The workers' session pool parks idle sessions for 3 s before closing them.)
  const open = () => Object.values(lab.connections()).reduce((a, b) => a + b, 0);
  await waitFor(async () => (open() === 0 ? true : undefined), 15_000, 'every lab session closed').catch((e: Error) => {
    throw new Error(`${e.message}; still open: ${JSON.stringify(lab.connections())}`);
  });
});
