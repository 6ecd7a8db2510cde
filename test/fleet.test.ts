/**
 * The fleet tools (issue 19): the lab fleet on planned ports across processes (a killed process comes back on
 * the same ports and folders, so the generated vault config stays true), the config generator, the soak's
 * seeded fault plan and its gap-beyond-window arithmetic, and the stack's port offset.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client as SshClient } from 'ssh2';
import { fleetConfig, writeFleetConfig } from '../bench/fleet-config';
import { loadConfig } from '../config/load';
import { planFleet, startGroup, type GroupProcess } from '../lab/fleet';
import { portOffset } from '../stack/layout';
import { expectedAlerts, explainAlerts, FAULTS, gapsBeyondWindow, memoryTrend, planFaults, type FaultRecord } from './chaos/soak-run';
import type { RunFigures } from '../bench/fleet-results';

const state = async (control: string) => (await (await fetch(`${control}/state`)).json()) as { vaultPortsDown: boolean };

/** The switch answers SSH with its own host key on its planned port (what a worker would reach). */
function sshBanner(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = new SshClient();
    c.on('error', reject);
    c.connect({ host: '127.0.0.1', port, username: 'x', password: 'wrong', readyTimeout: 10000, hostVerifier: () => true, tryKeyboard: false });
    c.on('handshake', () => {
      c.end();
      resolve('ok');
    });
  });
}

describe('lab fleet', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ir-fleet-'));
  const groups: GroupProcess[] = [];
  afterAll(async () => {
    for (const g of groups) g.child.kill('SIGTERM');
    await Promise.all(groups.map((g) => g.exited));
    rmSync(dir, { recursive: true, force: true });
  });

  test('labs over processes on planned ports; a killed process comes back on the same ports; the config reads', async () => {
    const plan = await planFleet({ dir, vaults: 3, processes: 2, solo: 1, basePort: 31500, mib: 1, files: 10 });
    expect(plan.groups).toEqual(['solo-0', 'group-0']);
    expect(plan.vaults.map((v) => v.group)).toEqual(['solo-0', 'group-0', 'group-0']);
    const ports = plan.vaults.flatMap((v) => Object.values(v.ports));
    expect(new Set(ports).size).toBe(ports.length);
    expect(JSON.parse(readFileSync(join(dir, 'fleet.json'), 'utf8'))).toEqual(plan);
    for (const g of plan.groups) groups.push(await startGroup(plan, g));
    for (const v of plan.vaults) expect((await state(`http://127.0.0.1:${v.ports.control}`)).vaultPortsDown).toBe(true);

    // SIGKILL the solo process: only vault-000's lab goes away; a new process serves it on the same ports.
    const solo = groups.shift()!;
    solo.child.kill('SIGKILL');
    await solo.exited;
    await expect(state(`http://127.0.0.1:${plan.vaults[0].ports.control}`)).rejects.toThrow();
    expect((await state(`http://127.0.0.1:${plan.vaults[1].ports.control}`)).vaultPortsDown).toBe(true);
    groups.push(await startGroup(await planFleet({ dir, vaults: 3, processes: 2, solo: 1 }), 'solo-0'));
    expect((await state(`http://127.0.0.1:${plan.vaults[0].ports.control}`)).vaultPortsDown).toBe(true);
    await expect(sshBanner(plan.vaults[0].ports.switch)).resolves.toBe('ok');

    const file = join(dir, 'vaults.yaml');
    writeFleetConfig(file, fleetConfig(plan, { evidenceDir: join(dir, 'evidence'), every: '5m', jitter: '4m', drills: 1, drillEvery: '15m', scrubs: 1, scrubEvery: '10m' }));
    const config = loadConfig(file);
    expect(config.vaults.map((v) => v.id)).toEqual(['vault-000', 'vault-001', 'vault-002']);
    expect(config.vaults.map((v) => v.switch?.port)).toEqual(plan.vaults.map((v) => v.ports.switch));
    expect(config.vaults[0].schedule).toMatchObject({ every: 300, jitter: 240 });
    expect(config.vaults.map((v) => Boolean(v.drill))).toEqual([true, false, false]);
    expect(config.vaults.map((v) => v.scrub.schedule)).toEqual([false, false, true]);
  });

  test('a fleet plan refuses a bad vault count, naming the flag', async () => {
    await expect(planFleet({ dir: join(dir, 'other'), vaults: 0, processes: 2 })).rejects.toThrow(/--vaults 0/);
  });
});

describe('soak fault plan', () => {
  test('seeded: the same seed gives the same plan; every kind at least once, spread and inside the window', () => {
    const a = planFaults(19, 60);
    expect(planFaults(19, 60)).toEqual(a);
    expect(planFaults(20, 60)).not.toEqual(a);
    expect(a).toHaveLength(12);
    for (const k of FAULTS) expect(a.some((f) => f.kind === k)).toBe(true);
    const at = a.map((f) => f.atSeconds);
    expect(at).toEqual([...at].sort((x, y) => x - y));
    for (let i = 1; i < at.length; i++) expect(at[i] - at[i - 1]).toBeGreaterThanOrEqual(20);
    expect(at[0]).toBeGreaterThanOrEqual(30);
    expect(at[at.length - 1]).toBeLessThanOrEqual(60 * 60 - 40);
    const short = planFaults(19, 3);
    expect(short.map((f) => f.kind).sort()).toEqual([...FAULTS].sort());
  });
});

describe('gap beyond its window', () => {
  const cycle = (vault: string, openedAt: string, closedAt: string | undefined): RunFigures => ({
    type: 'isolatedRecoveryCycle', workflowId: `ir-cycle-${vault}-${openedAt}`, vault, status: 'COMPLETED', startedAt: openedAt, historyEvents: 120, openedAt, gapClosedAt: closedAt,
  });
  const t = (s: string) => Date.parse(`2026-12-04T18:00:${s}Z`);

  test('an episode inside its cycle counts 0; one that outlives the cycle\'s close counts the rest; one no cycle claims counts whole', () => {
    const cycles = [cycle('v1', '2026-12-04T18:00:10Z', '2026-12-04T18:00:12Z'), cycle('v2', '2026-12-04T18:00:10Z', '2026-12-04T18:00:12Z')];
    const g = gapsBeyondWindow(
      [
        { vault: 'v1', from: t('10.5'), lastOpen: t('11.8'), to: t('12.8') }, // closed within the monitor's second
        { vault: 'v2', from: t('10.5'), lastOpen: t('14'), to: t('20') }, // read open 2 s after its cycle closed; closed read 8 s after (a slow lab)
        { vault: 'v3', from: t('30'), lastOpen: t('34'), to: t('35') }, // no cycle at all
        { vault: 'v1', from: t('40'), lastOpen: t('49') }, // still open at the end (t 50)
      ],
      cycles,
      t('50'),
    );
    expect(g.map((x) => x.beyondSeconds)).toEqual([0.8, 8, 5, 10]);
    expect(g.map((x) => x.seenOpenBeyondSeconds)).toEqual([0, 2, 4, 9]);
    expect(g[1].cycle).toBe(cycles[1].workflowId);
    expect(g[2].cycle).toBeNull();
  });
});

describe('alerts the soak raised', () => {
  const at = (s: string) => `2026-12-04T18:${s}Z`;
  const alert = (name: string, labels: Record<string, string>, firstSeen: string) => ({ name, labels: { alertname: name, ...labels }, firstSeen, lastSeen: firstSeen });
  const fault = (kind: FaultRecord['kind'], when: string, gapsOpen: string[]): FaultRecord => ({ kind, victim: kind, pid: 1, at: when, backSeconds: 20, gapsOpen, note: '' });
  const run = (type: string, vault: string, outcome: string, startedAt: string, closedAt: string): RunFigures => ({ type, workflowId: `${type}-${vault}-${startedAt}`, vault, status: 'COMPLETED', startedAt, closedAt, historyEvents: 1, outcome });

  test('a close retry needs a fault while that vault\'s gap was open; a refused drill needs to have come before the first copy', () => {
    const faults = [fault('worker-kill', at('10:00'), ['v1']), fault('postgres-pause', at('20:00'), [])];
    const episodes = [
      { vault: 'v1', from: Date.parse(at('09:59')), to: Date.parse(at('10:30')) },
      { vault: 'v3', from: Date.parse(at('20:10')), to: Date.parse(at('20:40')) }, // opened during the pause
    ];
    const runs = [
      run('isolatedRecoveryCycle', 'v4', 'validated', at('05:00'), at('06:00')),
      run('recoveryDrill', 'v4', 'refused', at('01:00'), at('01:01')), // before v4's first copy
      run('recoveryDrill', 'v5', 'refused', at('07:00'), at('07:01')), // v5 has a copy: a real refusal
      run('isolatedRecoveryCycle', 'v5', 'validated', at('02:00'), at('03:00')),
      { ...run('isolatedRecoveryCycle', 'v6', 'validated', at('19:00'), at('22:00')), openedAt: at('19:30'), gapClosedAt: at('20:30') }, // the monitor missed it
    ];
    const v = explainAlerts(
      [
        alert('IrClosePathRetrying', { vault: 'v1' }, at('10:40')),
        alert('IrClosePathRetrying', { vault: 'v2' }, at('10:40')), // its gap was not open at any fault
        alert('IrClosePathRetrying', { vault: 'v3' }, at('20:50')),
        alert('IrClosePathRetrying', { vault: 'v1' }, at('40:00')), // long after the fault
        alert('IrDrillFailed', { vault: 'v4', outcome: 'refused' }, at('01:30')),
        alert('IrDrillFailed', { vault: 'v5', outcome: 'refused' }, at('07:30')),
        alert('IrGapOpenTooLong', { vault: 'v1' }, at('10:40')),
        alert('IrClosePathRetrying', { vault: 'v6' }, at('21:00')),
      ],
      faults,
      episodes,
      runs,
      Date.parse(at('50:00')),
    );
    expect(v.map((x) => x.why !== null)).toEqual([true, false, true, false, true, false, false, true]);
    expect(v[0].why).toMatch(/worker-kill at .* with its gap open/);
    expect(v[4].why).toMatch(/before the vault's first validated copy \(2026-12-04T18:06:00.000Z\)/);
  });
});

describe('alerts the soak must have raised', () => {
  test('IrClosePathRetrying for each vault whose cycle\'s closeLink took more than one attempt, and nothing for a lab kill the cycle rode out', () => {
    expect(
      expectedAlerts([
        { workflowId: 'c1', vault: 'vault-000', attempts: 1 }, // lab killed while replicating: the close went through first time
        { workflowId: 'c2', vault: 'vault-000', attempts: 4 },
        { workflowId: 'c3', vault: 'vault-000', attempts: 2 },
        { workflowId: 'c4', vault: 'vault-007', attempts: 0 }, // history unreadable: no claim
      ]),
    ).toEqual([{ name: 'IrClosePathRetrying', vault: 'vault-000', why: 'closeLink took 4 attempts in c2' }]);
    expect(expectedAlerts([{ workflowId: 'c1', vault: 'vault-000', attempts: 1 }])).toEqual([]);
  });
});

describe('memory over the second half of the soak', () => {
  test('from the first reading at or past half the window to its end, only for a process that was not restarted in between', () => {
    const at = { start: { w1: 300, w2: 250, lab: 140 }, '+10min': { w1: 350, w2: 260, lab: 150 }, '+30min': { w1: 400, w2: 500, lab: 150 }, '+50min': { w1: 420, w2: 300, lab: 155 }, 'end of window': { w1: 430, w2: 320, lab: 160 } };
    const pids = { start: { w1: 1, w2: 2, lab: 3 }, '+10min': { w1: 1, w2: 2, lab: 3 }, '+30min': { w1: 1, w2: 2, lab: 3 }, '+50min': { w1: 1, w2: 9, lab: 3 }, 'end of window': { w1: 1, w2: 9, lab: 3 } };
    expect(memoryTrend(at, pids, 60)).toEqual([
      { role: 'w1', from: '+30min', startMiB: 400, endMiB: 430 },
      { role: 'lab', from: '+30min', startMiB: 150, endMiB: 160 },
    ]);
    expect(memoryTrend({ start: at.start, 'end of window': at['end of window'] }, pids, 60)).toEqual([]); // no reading at half
  });
});

describe('stack port offset', () => {
  test('a whole number up to 10000; anything else is refused naming the variable', () => {
    expect(portOffset(undefined)).toBe(0);
    expect(portOffset('2000')).toBe(2000);
    expect(() => portOffset('-1')).toThrow(/IR_STACK_PORT_OFFSET=-1/);
    expect(() => portOffset('abc')).toThrow(/IR_STACK_PORT_OFFSET=abc: a whole number/);
    expect(() => portOffset('20000')).toThrow(/from 0 to 10000/);
  });
});
