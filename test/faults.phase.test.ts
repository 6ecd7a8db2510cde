/**
 * Faults aimed at a phase of the cycle (issue 11 item 6), end to end on the dev server: the lab's control API
 * arms a fault with `cyclePhase`, the phase feed (test/helpers/phase-feed.ts) tells the lab the cycle's phase
 * before each activity, from the workflow's `status` query, and the real activities meet the fault over SSH.
 *   - a connection dropped mid-command during CLOSE: the close path retries until the gap is verified closed;
 *   - the vault DD refusing logins during CONVERGE: the cycle fails at once naming the field to fix, gap closed
 *     (CLOSE logs in to the same DD: the fault is aimed at CONVERGE only, as a password rotated mid-cycle);
 *   - replication stalling during CONVERGE: a stall with the DD's own words, the cycle's snapshots expired.
 * Each fault is aimed at a command or a login that every phase uses, so only the phase aim makes it land there.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { Alert } from '../activities/deps';
import type { Fault } from '../lab/faults';
import { createWorker } from '../workers/worker';
import { isolatedRecoveryCycle } from '../workflows';
import type { CycleResult } from '../workflows/cycle-messages';
import { phaseFeed } from './helpers/phase-feed';
import { startTestLab, VAULT, type TestLab } from './helpers/lab';
import { bundleWorkflows, connectTemporal, describeTemporal } from './helpers/temporal';

jest.setTimeout(180_000);

/** The attempts each activity type took, from the workflow's history. */
async function attempts(handle: WorkflowHandle): Promise<Record<string, number>> {
  const { events } = await handle.fetchHistory();
  const typeOf = new Map<string, string>();
  const out: Record<string, number> = {};
  for (const e of events ?? []) {
    if (e.activityTaskScheduledEventAttributes) typeOf.set(String(e.eventId), e.activityTaskScheduledEventAttributes.activityType?.name ?? '');
    const started = e.activityTaskStartedEventAttributes;
    if (started) {
      const type = typeOf.get(String(started.scheduledEventId)) ?? '?';
      out[type] = Math.max(out[type] ?? 0, started.attempt ?? 1);
    }
  }
  return out;
}

const sh = promisify(execFile);

describe('the control API aims a fault at a phase told to the lab (curl and stock OpenSSH, no cycle)', () => {
  let t: TestLab;
  beforeAll(async () => {
    t = await startTestLab({ seed: { files: 2, totalBytes: 4096 } });
  });
  afterAll(() => t?.close());
  const curl = async (method: string, path: string, body?: unknown) => {
    const args = ['-s', '-o', '-', '-w', '\n%{http_code}', '-X', method, `${t.lab.endpoints.control}${path}`, ...(body === undefined ? [] : ['-d', JSON.stringify(body)])];
    const { stdout } = await sh('curl', args, { encoding: 'utf8' });
    const at = stdout.lastIndexOf('\n');
    return { status: Number(stdout.slice(at + 1)), body: JSON.parse(stdout.slice(0, at)) };
  };
  const ios = () => t.lab.endpoints.switches.find((s) => s.platform === 'cisco-ios')!;
  const showVersion = () =>
    sh('ssh', ['-p', String(ios().port), '-i', t.lab.endpoints.clientKeyFile, '-o', `UserKnownHostsFile=${t.lab.endpoints.knownHostsFile}`, '-o', 'StrictHostKeyChecking=yes', '-o', 'BatchMode=yes', `${ios().username}@${t.lab.endpoints.host}`, 'show version'], { encoding: 'utf8', timeout: 15000 }).then(
      (r) => r.stdout.replace(/\r/g, ''),
      (err: { stdout: string }) => `failed: ${err.stdout.replace(/\r/g, '')}`,
    );

  test('live only while the phase last told is the aimed one; afterCommands counts within it; names checked', async () => {
    expect((await curl('POST', '/faults', { device: 'switch', match: '^show version$', output: '% Bad moment', cyclePhase: 'CLOSE', afterCommands: 1, times: 1 })).status).toBe(200);
    expect(await showVersion()).toMatch(/Cisco IOS XE Software/); // no phase told yet
    expect(await curl('POST', '/cycle/phase', { phase: 'CONVERGE' })).toEqual({ status: 200, body: { cyclePhase: 'CONVERGE' } });
    expect(await showVersion()).toMatch(/Cisco IOS XE Software/);
    expect((await curl('POST', '/cycle/phase', { phase: 'CLOSE' })).status).toBe(200);
    expect(await showVersion()).toMatch(/Cisco IOS XE Software/); // the first of CLOSE passes
    expect(await showVersion()).toBe('failed: % Bad moment\n');
    expect(await showVersion()).toMatch(/Cisco IOS XE Software/); // spent
    const state = await curl('GET', '/state');
    expect(state.body).toMatchObject({ cyclePhase: 'CLOSE', faults: [] });

    const wrong = await curl('POST', '/cycle/phase', { phase: 'CLOSING' });
    expect(wrong.status).toBe(400);
    expect(wrong.body.error).toContain('CONVERGE');
    const stallOnSwitch = await curl('POST', '/faults', { device: 'switch', kind: 'stall', match: '' });
    expect(stallOnSwitch.status).toBe(400);
    expect(stallOnSwitch.body.error).toMatch(/a stall is a replication fault: device source-dd or vault-dd/);
  });
});

describeTemporal('faults aimed at a phase of the cycle', () => {
  let bundle: WorkflowBundleWithSourceMap;
  let temporal: Awaited<ReturnType<typeof connectTemporal>>;
  let t: TestLab | undefined;
  beforeAll(async () => {
    bundle = await bundleWorkflows();
    temporal = await connectTemporal();
  });
  afterEach(async () => {
    if (t) {
      // No session left open on any lab device, whatever the fault did to them.
      const end = Date.now() + 5000;
      while (Object.values(t.lab.connections()).some((n) => n > 0)) {
        if (Date.now() > end) throw new Error(`sessions left open: ${JSON.stringify(t.lab.connections())}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      await t.close();
      t = undefined;
    }
  });
  afterAll(async () => {
    await temporal?.close();
  });

  /** A lab, a fault armed over the control API, one cycle run with the phase feed; what the cycle and the lab say. */
  async function cycleWith(faults: Fault[], policy: Record<string, unknown>, bandwidthBytesPerSec: number) {
    t = await startTestLab({ seed: { files: 20, totalBytes: 1024 * 1024 }, bandwidthBytesPerSec, linkUpDelayMs: 100 }, policy);
    const control = t.lab.endpoints.control!;
    for (const fault of faults) {
      const armed = await fetch(`${control}/faults`, { method: 'POST', body: JSON.stringify(fault) });
      expect(armed.status).toBe(200);
    }
    const alerts: Alert[] = [];
    const tq = `phase-faults-${Date.now()}`;
    const worker = await createWorker({
      connection: temporal.native,
      config: t.config,
      taskQueue: tq,
      workflowBundle: bundle,
      deps: { alert: async (a) => void alerts.push(a) },
      interceptors: { activity: [phaseFeed(control, temporal.client)] },
    });
    const handle = await temporal.client.workflow.start(isolatedRecoveryCycle, { taskQueue: tq, workflowId: `phase-fault-${Date.now()}`, args: [VAULT, {}] });
    const outcome = await worker.runUntil(
      handle.result().then(
        (result: CycleResult) => ({ result, message: '' }),
        (err: unknown) => {
          if (!(err instanceof WorkflowFailedError)) throw err;
          const cause = err.cause as any;
          return { result: cause.details?.[0] as CycleResult, message: String(cause.message) };
        },
      ),
    );
    const state = (await (await fetch(`${control}/state`)).json()) as { cyclePhase: string | null; faults: Fault[]; vaultPortsDown: boolean };
    return { ...outcome, handle, alerts, state, attempts: await attempts(handle), lab: t.lab };
  }

  test('a connection dropped mid-command during CLOSE: the close path retries until the gap is verified closed', async () => {
    // `show interfaces` runs in PREFLIGHT, OPEN and CLOSE; the fault lands only on CLOSE's verification, twice.
    const { result, state, attempts: n, alerts, lab } = await cycleWith(
      [{ device: 'switch', kind: 'drop', match: '^show interfaces ', output: 'GigabitEthernet1/0/1 is administratively down, line protocol', cyclePhase: 'CLOSE', times: 2 }],
      {},
      1024 * 1024,
    );
    expect(result.outcome).toBe('validated');
    expect(result.gap).toBe('closed');
    expect(n.closeLink).toBe(3); // two dropped sessions, then verified
    expect(n.openLink).toBe(1); // OPEN's own `show interfaces` polls were not aimed at
    expect(alerts.map((a) => a.summary)).toEqual([expect.stringMatching(/closing the air gap of vault lab-vault is failing \(attempt 3\)/)]);
    expect(state.faults).toEqual([]); // both drops spent
    expect(state.vaultPortsDown).toBe(true);
    expect(lab.replication().enabled).toBe(false);
    expect(Date.parse(result.exposure.closedAt!)).toBeGreaterThan(Date.parse(result.phases.find((p) => p.phase === 'CLOSE')!.startedAt));
  });

  test('the vault DD refuses logins during CONVERGE: the cycle fails at once naming the field to fix, gap closed', async () => {
    // The session REPLICATE opened is reused (issue 6's pool): an established session is never refused. So the DD
    // drops it mid-command in CONVERGE, as a DD restarting its SSH service after a password change, and refuses
    // the login that follows.
    const { result, message, handle, state, attempts: n, lab } = await cycleWith(
      [
        { device: 'vault-dd', kind: 'drop', match: '', cyclePhase: 'CONVERGE', times: 1 },
        { device: 'vault-dd', kind: 'auth', match: '', cyclePhase: 'CONVERGE' },
      ],
      {},
      64 * 1024,
    );
    const passwordFile = lab.endpoints.vaultDd.passwordFile;
    expect(result.outcome).toBe('failed');
    expect(message).toMatch(/^cycle failed in CONVERGE: /);
    expect(result.lastError).toContain('vaults[0].vault.dd.password');
    expect(result.lastError).toContain(passwordFile);
    expect(n.awaitSnapshot).toBe(2); // the dropped session is retried; the refused login is not
    expect(result.gap).toBe('closed'); // CLOSE logged in to the same DD: the fault is aimed at CONVERGE only
    expect(state.vaultPortsDown).toBe(true);
    expect(lab.replication().enabled).toBe(false);
    expect(state.faults).toEqual([expect.objectContaining({ kind: 'auth', cyclePhase: 'CONVERGE' })]); // still armed, never aimed at CLOSE
    const history = JSON.stringify(await handle.fetchHistory());
    expect(history).not.toContain(readFileSync(passwordFile, 'utf8').trim());
  });

  test('replication stalls during CONVERGE: a stall in the DD words, the cycle snapshots expired, gap closed', async () => {
    // 1 MiB at 64 KiB/s takes ~16 s: without the stall CONVERGE would still be moving data when `stall` (2 s) ends.
    const { result, message, state, attempts: n, lab } = await cycleWith([{ device: 'vault-dd', kind: 'stall', match: '', cyclePhase: 'CONVERGE' }], { stall: '2s' }, 64 * 1024);
    expect(result.outcome).toBe('failed');
    expect(message).toMatch(/^cycle failed in CONVERGE: /);
    expect(result.lastError).toMatch(/did not reach \/data\/col1\/vault-prod and replication made no progress for 2 s: mtree:\/\/vault-dd\.lab\/data\/col1\/vault-prod: state \w+, connection connected, [\d,]+ bytes and \d+ files remaining/);
    expect(n.awaitSnapshot).toBe(1);
    expect(result.gap).toBe('closed');
    const snapshot = result.snapshot!.name;
    expect(result.snapshot!.expired).toEqual({ source: 'expired', replica: 'absent' }); // it never reached the vault
    expect(lab.snapshots().source.map((s) => s.name)).not.toContain(snapshot);
    expect(lab.snapshots().replica.map((s) => s.name)).not.toContain(snapshot);
    expect(state.vaultPortsDown).toBe(true);
    expect(lab.replication().enabled).toBe(false);
  });
});
