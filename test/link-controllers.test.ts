/**
 * Link controllers behind one contract: the vault DD's replication interface (`net disable|enable`) and a
 * non-IOS switch flavour, through the same entry points the cycle and the sentinel use (openLink/closeLink
 * activities, gapIsOpen). One full cycle on the dev server with the DD interface as the gap.
 */
import { MockActivityEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { createWorker } from '../workers/worker';
import { isolatedRecoveryCycle } from '../workflows';
import { createActivities, type ActivityDeps } from '../activities';
import { gapIsOpen } from '../activities/link';
import { openSwitch } from '../activities/drivers/switch';
import { openDataDomain } from '../activities/drivers/datadomain/cli';
import { parseNetSettings } from '../activities/drivers/datadomain/net';
import { connectTemporal, describeTemporal } from './helpers/temporal';
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
    const opened = (await new MockActivityEnvironment().run(acts.openLink, VAULT, 20, 600)) as Awaited<ReturnType<Acts['openLink']>>;
    expect(opened.ports.every((p) => p.admin === 'up' && p.oper === 'up')).toBe(true);
    if (shape.platform === 'junos') {
      expect(opened.revert).toEqual({ name: 'commit confirmed', seconds: expect.any(Number) });
      expect(t.lab.switchState('junos').revert).not.toBeNull();
    } else {
      expect(opened.revert).toBeUndefined(); // DD OS has no revert timer for `net enable`
    }
    await new MockActivityEnvironment().run(acts.closeLink, VAULT);
    expect(isClosed()).toBe(true);
    if (shape.platform === 'junos') expect(t.lab.switchState('junos').revert).toBeNull();
  });
});

describeTemporal('a full cycle with the vault DD interface as the gap', () => {
  let bundle: WorkflowBundleWithSourceMap;
  let temporal: Awaited<ReturnType<typeof connectTemporal>>;
  let t: TestLab;
  beforeAll(async () => {
    bundle = await bundleWorkflowCode({ workflowsPath: require.resolve('../workflows'), logger: { trace() {}, debug() {}, info() {}, warn() {}, error() {} } as any });
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
