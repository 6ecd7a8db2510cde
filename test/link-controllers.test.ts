/**
 * Link controllers behind one contract: the vault DD's replication interface (`net disable|enable`) and a
 * non-IOS switch flavour, through the same entry points the cycle and the sentinel use (openLink/closeLink
 * activities, gapIsOpen). One full cycle on the dev server with the DD interface as the gap.
 */
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { createWorker } from '../workers/worker';
import { isolatedRecoveryCycle } from '../workflows';
import { createActivities, type ActivityDeps } from '../activities';
import { gapIsOpen } from '../activities/link';
import { openSwitch } from '../activities/drivers/switch';
import { openDataDomain } from '../activities/drivers/datadomain/cli';
import { netInterfaceState, parseNetSettings } from '../activities/drivers/datadomain/net';
import { vaultAccess } from '../activities/deps';
import { AuthenticationError, DeviceCommandError, DeviceTimeoutError } from '../activities/drivers/errors';
import { readFileSync } from 'node:fs';
import { bundleWorkflows, connectTemporal, describeTemporal } from './helpers/temporal';
import { startTestLab, VAULT, type TestLab, type VaultShape } from './helpers/lab';

jest.setTimeout(180_000);

const depsOf = (t: TestLab): ActivityDeps => ({ config: t.config, openSwitch, openDataDomain, alert: async () => undefined });

test('net show settings parses the table the lab prints', () => {
  const rows = parseNetSettings(
    [
      'port      enabled   state     DHCP   IP address              netmask           type   additional setting',
      '-------   -------   -------   ----   ---------------------   ---------------   ----   ------------------',
      'ethMa     yes       running   no     192.168.10.3            255.255.255.0     n/a',
      'ethV1     no        down      no     10.20.0.3               255.255.255.0     n/a',
      '-------   -------   -------   ----   ---------------------   ---------------   ----   ------------------',
    ].join('\n'),
  );
  expect(rows.map((r) => [r.port, r.enabled, r.state])).toEqual([
    ['ethMa', true, 'running'],
    ['ethV1', false, 'down'],
  ]);
  expect(() => parseNetSettings('**** Unrecognized command "net".')).toThrow(/port enabled state/);
});

type Acts = ReturnType<typeof createActivities>;
const cases: Array<[string, { gap?: 'dd-interface' }, VaultShape]> = [
  ['dd-interface', { gap: 'dd-interface' }, { link: 'dd-interface' }],
  ['switch (junos)', {}, { platform: 'junos' }],
];

describe.each(cases)('%s: sentinel entry points and the close path', (_name, labOpts, shape) => {
  let t: TestLab;
  beforeAll(async () => {
    t = await startTestLab({ ...labOpts, linkUpDelayMs: 100 }, {}, shape);
  });
  afterAll(() => t?.close());

  const handOpen = () => (shape.link === 'dd-interface' ? t.lab.setDdInterface('up') : t.lab.setPort('ge-0/0/1', 'up'));
  const isClosed = () => (shape.link === 'dd-interface' ? t.lab.ddInterface() === 'down' : t.lab.vaultPortsDown());

  test('gapIsOpen sees a hand-opened gap; closeLink closes it and verifies; gapIsOpen then says closed', async () => {
    const deps = depsOf(t);
    expect(await gapIsOpen(deps, VAULT)).toMatchObject({ open: false });
    handOpen();
    const seen = await gapIsOpen(deps, VAULT);
    expect(seen.open).toBe(true);
    expect(seen.detail).toMatch(shape.link === 'dd-interface' ? /interface up: ethV1 ethV1 +yes +running/ : /ports up: ge-0\/0\/1 ge-0\/0\/1 +up/);
    const acts = createActivities(deps);
    const closed = (await new MockActivityEnvironment().run(acts.closeLink, VAULT)) as Awaited<ReturnType<Acts['closeLink']>>;
    expect(closed.replicationDisabled).toBe(true);
    expect(closed.ports.every((p) => p.admin === 'down' && p.oper === 'down')).toBe(true);
    expect(isClosed()).toBe(true);
    expect(await gapIsOpen(deps, VAULT)).toMatchObject({ open: false });
  });

  test('openLink brings the link up (the switch with its revert timer), closeLink takes it down', async () => {
    const acts = createActivities(depsOf(t));
    const opened = (await new MockActivityEnvironment({ scheduledTimestampMs: Date.now() }).run(acts.openLink, VAULT, 20, 600)) as Awaited<ReturnType<Acts['openLink']>>;
    expect(opened.ports.every((p) => p.admin === 'up' && p.oper === 'up')).toBe(true);
    if (shape.platform === 'junos') {
      expect(opened.revert).toEqual({ name: 'commit confirmed', seconds: expect.any(Number) });
      // What is left of maxOpen, counted from when the attempt was scheduled (just now).
      expect(opened.revert!.seconds).toBeGreaterThanOrEqual(590);
      expect(opened.revert!.seconds).toBeLessThanOrEqual(600);
      expect(t.lab.switchState('junos').revert).not.toBeNull();
    } else {
      expect(opened.revert).toBeUndefined(); // DD OS has no revert timer for `net enable`
    }
    await new MockActivityEnvironment().run(acts.closeLink, VAULT);
    expect(isClosed()).toBe(true);
    if (shape.platform === 'junos') expect(t.lab.switchState('junos').revert).toBeNull();
  });

  test('an openLink retry that comes after maxOpen (the first attempt lost in a server outage) opens nothing and stops for good', async () => {
    const acts = createActivities(depsOf(t));
    const late = new MockActivityEnvironment({ attempt: 2, scheduledTimestampMs: Date.now() - 11_000 });
    const err = (await late.run(acts.openLink, VAULT, 20, 10).catch((x: unknown) => x)) as ApplicationFailure;
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect(err.type).toBe('WindowOverError');
    expect(err.nonRetryable).toBe(true);
    expect(err.message).toMatch(/maxOpen \(10 s\) has passed .*attempt 2.*not opening/);
    expect(isClosed()).toBe(true);
    if (shape.platform === 'junos') expect(t.lab.switchState('junos')).toMatchObject({ revert: null, reverts: 0 });
  });
});

describe('DD CLI driver faults on the DD-interface controller', () => {
  let t: TestLab;
  beforeAll(async () => {
    t = await startTestLab({ gap: 'dd-interface' }, {}, { link: 'dd-interface' });
  });
  afterEach(async () => {
    t.lab.clearFaults();
    const end = Date.now() + 5000;
    while (Object.values(t.lab.connections()).some((n) => n > 0)) {
      if (Date.now() > end) throw new Error(`sessions left open: ${JSON.stringify(t.lab.connections())}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  });
  afterAll(() => t?.close());
  const state = (timeoutMs?: number) =>
    vaultAccess(depsOf(t), VAULT).withVaultDd(async (dd) => (timeoutMs ? dd.run('net show settings', { timeoutMs }) : netInterfaceState(dd, 'ethV1')));

  test('command error, latency past the timeout, dropped connection, refused login: classified, in the device words, config field named', async () => {
    t.lab.addFault({ device: 'vault-dd', match: '^net show settings$', output: '**** Network subsystem is busy.', afterCommands: 1, times: 1 });
    await expect(state()).resolves.toMatchObject({ port: 'ethV1', admin: 'down' });
    const err = await state().catch((x: unknown) => x);
    expect(err).toBeInstanceOf(DeviceCommandError);
    expect((err as DeviceCommandError).retryable).toBe(false);
    expect((err as Error).message).toContain('**** Network subsystem is busy.');

    t.lab.addFault({ device: 'vault-dd', match: '^net show settings$', kind: 'latency', ms: 1500, times: 1 });
    const slow = await state(300).catch((x: unknown) => x);
    expect(slow).toBeInstanceOf(DeviceTimeoutError);
    expect((slow as DeviceTimeoutError).retryable).toBe(true);
    expect((slow as Error).message).toContain('vaults[0].vault.dd.host');

    t.lab.addFault({ device: 'vault-dd', match: '^net show settings$', kind: 'drop', output: 'port      enabled', times: 1 });
    const dropped = await state().catch((x: unknown) => x);
    expect(dropped).toBeInstanceOf(DeviceCommandError);
    expect((dropped as DeviceCommandError).retryable).toBe(true);
    expect((dropped as Error).message).toMatch(/without an exit status/);

    t.lab.addFault({ device: 'vault-dd', match: '', kind: 'auth', times: 1 });
    const refused = await state().catch((x: unknown) => x);
    expect(refused).toBeInstanceOf(AuthenticationError);
    expect((refused as Error).message).toContain('vaults[0].vault.dd.password');
    expect((refused as Error).message).toContain(t.lab.endpoints.vaultDd.passwordFile);
    expect((refused as Error).message).not.toContain(readFileSync(t.lab.endpoints.vaultDd.passwordFile, 'utf8').trim());
  });
});

describeTemporal('a full cycle with the vault DD interface as the gap', () => {
  let bundle: WorkflowBundleWithSourceMap;
  let temporal: Awaited<ReturnType<typeof connectTemporal>>;
  let t: TestLab;
  beforeAll(async () => {
    bundle = await bundleWorkflows();
    temporal = await connectTemporal();
    t = await startTestLab({ gap: 'dd-interface', bandwidthBytesPerSec: 8 * 1024 * 1024 }, {}, { link: 'dd-interface' });
  });
  afterAll(async () => {
    await t?.close();
    await temporal?.close();
  });

  test('replicates over the DD interface, closes it, validates and records', async () => {
    expect(t.lab.ddInterface()).toBe('down');
    let sawOpen = false;
    const watch = setInterval(() => (sawOpen ||= t.lab.ddInterface() === 'up'), 20);
    const tq = `dd-link-${Date.now()}`;
    const w = await createWorker({ connection: temporal.native, config: t.config, taskQueue: tq, workflowBundle: bundle });
    const result = await w.runUntil(async () => {
      const handle = await temporal.client.workflow.start(isolatedRecoveryCycle, { taskQueue: tq, workflowId: `test-dd-link-${Date.now()}`, args: [VAULT, {}] });
      return handle.result();
    });
    clearInterval(watch);
    expect(sawOpen).toBe(true);
    expect(result.outcome).toBe('validated');
    expect(result.gap).toBe('closed');
    expect(result.validation?.equal).toBe(true);
    expect(t.lab.ddInterface()).toBe('down');
    expect(t.lab.replication().enabled).toBe(false);
  });
});
