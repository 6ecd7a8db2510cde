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
 *
 * One outage for the four: four vaults (one lab each, one switch flavour each) in one worker's config, four cycles
 * open their gaps, the server (SQLite file, so a restart resumes the workflows) is stopped, each switch closes by
 * itself, the server comes back, each cycle ends closed. The outage runs once in beforeAll; each platform's test
 * then checks what its switch did. What the switch did is asked of the lab switch itself: its control API
 * (`GET /state`) while Temporal is down, stock OpenSSH (`show interface…`) at the end.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client, Connection, WorkflowFailedError } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { ensureTemporalCli } from '../clients/temporal-cli';
import { freePort, startDevServer, type DevServer } from '../clients/devserver';
import { PLATFORMS } from '../activities/drivers/switch/platforms';
import type { Config } from '../config/schema';
import type { PlatformName } from '../vocabulary/switch-platforms';
import type { PendingRevert } from '../lab/cli/revert';
import { createWorker } from '../workers/worker';
import { isolatedRecoveryCycle } from '../workflows';
import type { CycleResult } from '../workflows/cycle-messages';
import { startTestLab, type TestLab } from './helpers/lab';
import { bundleWorkflows, temporalAddress } from './helpers/temporal';

jest.setTimeout(240_000);
// The four gaps open within a few seconds of each other and the server's graceful stop takes ~2 s: all of it must
// fit inside maxOpen of the first opening, so that every switch reverts with the server already down.
const MAX_OPEN_S = 10;
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

/** One vault per platform: its lab, and what was seen of its switch and its cycle. */
interface Vault {
  platform: PlatformName;
  id: string;
  t: TestLab;
  view(): Promise<SwitchView>;
  vaultPorts: string[];
  opened?: SwitchView;
  openedAt?: number;
  reverted?: SwitchView;
  revertedAt?: number;
  outcome?: { result: CycleResult; message: string };
}

const vaults = new Map<PlatformName, Vault>();
const servers: DevServer[] = [];
let dir: string | undefined;
let downAt = 0;
let upAgainAt = 0;

const portsUp = (v: Vault, s: SwitchView) => v.vaultPorts.every((p) => s.ports[p].oper === 'up');
const portsShut = (v: Vault, s: SwitchView) => v.vaultPorts.every((p) => s.ports[p].admin === 'down');

beforeAll(async () => {
  if (!temporalAddress) return;
  try {
    Runtime.install({ logger: new DefaultLogger('ERROR') });
  } catch {
    // installed already in this module registry
  }
  dir = mkdtempSync(join(tmpdir(), 'self-close-'));
  const cliPath = await ensureTemporalCli();
  const port = await freePort();
  const dbFile = join(dir, 'temporal.db');
  const server = () => startDevServer({ cliPath, port, dbFile, uiPort: false, logFile: join(dir!, 'server.log') }).then((s) => (servers.push(s), s));

  // Slow replication keeps each cycle in CONVERGE with its gap open; small data keeps the labs quick to start.
  const [labs, s1, bundle] = await Promise.all([
    Promise.all(
      CASES.map(({ platform }) =>
        startTestLab(
          { bandwidthBytesPerSec: 16 * 1024, linkUpDelayMs: 100, deviceMinuteMs: MAX_OPEN_S * 1000, seed: { files: 10, totalBytes: 512 * 1024 } },
          { maxOpen: `${MAX_OPEN_S}s` },
          { platform },
        ),
      ),
    ),
    server(),
    bundleWorkflows(),
  ]);
  CASES.forEach(({ platform }, i) => {
    const t = labs[i];
    const sw = t.lab.endpoints.switches.find((s) => s.platform === platform)!;
    vaults.set(platform, {
      platform,
      id: `vault-${platform}`,
      t,
      vaultPorts: sw.vaultPorts,
      view: async () => {
        const st = (await (await fetch(`${t.lab.endpoints.control}/state`)).json()) as { switches: SwitchView[] };
        return st.switches.find((s) => s.platform === platform)!;
      },
    });
  });
  const all = [...vaults.values()];
  // One worker's configuration with the four vaults, each pointing at its own lab.
  const config: Config = { ...labs[0].config, vaults: all.map((v) => ({ ...v.t.config.vaults[0], id: v.id })) };

  // 1. Four cycles open their gaps.
  const native1 = await NativeConnection.connect({ address: s1.address });
  const tq = 'self-close';
  const workerA = await createWorker({ connection: native1, config, taskQueue: tq, workflowBundle: bundle });
  const runningA = workerA.run().catch(() => undefined); // may die with its server: a new worker takes over
  const conn1 = await Connection.connect({ address: s1.address });
  const client1 = new Client({ connection: conn1 });
  const ids = new Map(await Promise.all(all.map(async (v) => [v.platform, (await client1.workflow.start(isolatedRecoveryCycle, { taskQueue: tq, workflowId: `self-close-${v.id}-${Date.now()}`, args: [v.id, {}] })).workflowId] as const)));
  await Promise.all(
    all.map(async (v) => {
      v.opened = await waitFor(async () => {
        const s = await v.view();
        return portsUp(v, s) ? s : undefined;
      }, 60_000, `${v.platform}: gap open`);
      v.openedAt = Date.now();
    }),
  );

  // 2. Temporal goes away with the four gaps open.
  await conn1.close();
  await s1.stop();
  downAt = Date.now();

  // 3. Each switch closes its gap by itself; Temporal is still down.
  await Promise.all(
    all.map(async (v) => {
      v.reverted = await waitFor(async () => {
        const s = await v.view();
        return portsShut(v, s) ? s : undefined;
      }, (MAX_OPEN_S + 5) * 1000, `${v.platform}: switch reverts by itself`);
      v.revertedAt = Date.now();
    }),
  );

  // 4. Down for longer than maxOpen in all; then the server comes back (same database) and a worker runs.
  await sleep(Math.max(0, downAt + (MAX_OPEN_S + 2) * 1000 - Date.now()));
  const s2 = await server();
  upAgainAt = Date.now();
  const native2 = await NativeConnection.connect({ address: s2.address });
  const workerB = await createWorker({ connection: native2, config, taskQueue: tq, workflowBundle: bundle });
  const conn2 = await Connection.connect({ address: s2.address });
  const client2 = new Client({ connection: conn2 });
  await workerB.runUntil(
    Promise.all(
      all.map(async (v) => {
        v.outcome = await client2.workflow
          .getHandle(ids.get(v.platform)!)
          .result()
          .then(
            (result: CycleResult) => ({ result, message: '' }),
            (err: unknown) => {
              if (!(err instanceof WorkflowFailedError)) throw err;
              const cause = err.cause as any;
              return { result: cause.details?.[0] as CycleResult, message: String(cause.message) };
            },
          );
      }),
    ),
  );
  if (workerA.getState() === 'RUNNING') workerA.shutdown();
  await runningA;
  await conn2.close();
  await native1.close().catch(() => undefined);
  await native2.close();
});

afterAll(async () => {
  for (const s of servers.splice(0)) await s.stop().catch(() => undefined);
  for (const v of vaults.values()) await v.t.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

run(CASES)('$platform: Temporal down longer than maxOpen, the switch reverts within maxOpen, the cycle ends closed when Temporal is back', async ({ platform, timer, shut }) => {
  const v = vaults.get(platform)!;
  const lab = v.t.lab;
  // The switch held the platform's own timer, due within maxOpen of the opening.
  expect(v.opened!.revert).not.toBeNull();
  expect(v.opened!.revert!.label).toMatch(timer);
  expect(Date.parse(v.opened!.revert!.deadline)).toBeLessThanOrEqual(v.openedAt! + MAX_OPEN_S * 1000);
  // It fired with the server down, within maxOpen of the opening, and the link went with it.
  expect(v.revertedAt! - v.openedAt!).toBeLessThanOrEqual(MAX_OPEN_S * 1000 + 500);
  expect(v.revertedAt!).toBeGreaterThan(downAt);
  expect(v.revertedAt!).toBeLessThan(upAgainAt);
  expect(v.reverted!.revert).toBeNull();
  expect(upAgainAt - downAt).toBeGreaterThan(MAX_OPEN_S * 1000);

  // The cycle ended with the gap closed: ports shut and verified, no timer left, replication off.
  expect(v.outcome!.result.gap).toBe('closed');
  expect(v.outcome!.message).toMatch(/maxOpen/);
  const after = await v.view();
  expect(portsShut(v, after)).toBe(true);
  expect(after.revert).toBeNull();
  expect(lab.switchState(platform).reverts).toBe(1);
  expect(lab.replication().enabled).toBe(false);
  // The switch says so itself, to a stock OpenSSH client.
  const sw = lab.endpoints.switches.find((s) => s.platform === platform)!;
  for (const p of v.vaultPorts) {
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
