/**
 * Drivers against the lab simulators over real SSH: the switch (IOS CLI in a pty) and both DDs (exec).
 * Pins come from the lab's endpoints.json / known_hosts, secrets from the files it names.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLab, type Lab, type LabEndpoints } from '../lab';
import { AuthenticationError, DeviceCommandError, HostKeyMismatchError, UnknownHostKeyError } from '../activities/drivers/ssh';
import { openSwitch, type SwitchTarget } from '../activities/drivers/switch';
import { openDataDomain, type DataDomainCli } from '../activities/drivers/datadomain/cli';
import { lockFiles } from '../activities/drivers/datadomain/retention-mount';

let dir: string;
let lab: Lab;
let e: LabEndpoints;
const secret = (file: string) => readFileSync(file, 'utf8').trim();

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'drv-lab-'));
  lab = await startLab({
    dir: join(dir, 'lab'),
    ports: { switch: 0, sourceDd: 0, vaultDd: 0, control: 0 },
    seed: { files: 20, totalBytes: 512 * 1024 },
    linkUpDelayMs: 200,
  });
  e = lab.endpoints;
});

afterAll(async () => {
  await lab?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const switchTarget = (over: Partial<SwitchTarget> = {}): SwitchTarget => ({
  platform: e.switch.platform,
  host: e.host,
  port: e.switch.port,
  username: e.switch.username,
  password: secret(e.switch.passwordFile),
  enableSecret: secret(e.switch.enableSecretFile),
  hostKey: { fingerprint: e.switch.fingerprint },
  ...over,
});

const ddTarget = (which: 'sourceDd' | 'vaultDd') => ({
  host: e.host,
  port: e[which].port,
  username: e[which].username,
  password: secret(e[which].passwordFile),
  hostKey: { knownHostsFile: e.knownHostsFile },
  label: e[which].hostname,
});

async function waitFor(cond: () => Promise<boolean> | boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('switch driver against the lab (cisco-ios)', () => {
  test('login, enable, ports up and down, portStates, save', async () => {
    const sw = await openSwitch(switchTarget());
    try {
      expect(sw.hostname).toBe(e.switch.hostname);
      const ports = e.switch.vaultPorts;
      await sw.setPorts(ports, 'up');
      expect(ports.every((p) => lab.portStates()[p].admin === 'up')).toBe(true);
      await waitFor(async () => (await sw.portStates(ports)).every((s) => s.oper === 'up'));
      const up = await sw.portStates(ports);
      expect(up[0]).toEqual({ port: ports[0], admin: 'up', oper: 'up', line: `${ports[0]} is up, line protocol is up (connected)` });

      await sw.setPorts(ports, 'down');
      const down = await sw.portStates(ports);
      expect(down.map((s) => [s.admin, s.oper])).toEqual(ports.map(() => ['down', 'down']));
      expect(down[1].line).toBe(`${ports[1]} is administratively down, line protocol is down (disabled)`);
      expect(lab.vaultPortsDown()).toBe(true);
      await sw.saveConfig();
      // Abbreviated interface names work too (IOS expands them).
      const [abbr] = await sw.portStates(['Gi1/0/1']);
      expect(abbr.line.startsWith('GigabitEthernet1/0/1 is administratively down')).toBe(true);
    } finally {
      await sw.close();
    }
  });

  test('invalid command: DeviceCommandError with the device words', async () => {
    const sw = await openSwitch(switchTarget());
    try {
      const err = await sw.show('show interfaces bogus0/9').catch((x: unknown) => x);
      expect(err).toBeInstanceOf(DeviceCommandError);
      expect((err as Error).message).toContain('% Invalid input detected');
      expect((err as DeviceCommandError).output).toMatch(/\^\n% Invalid input detected at '\^' marker\./);
      // The session is still usable afterwards.
      expect((await sw.portStates([e.switch.vaultPorts[0]]))[0].admin).toMatch(/up|down/);
    } finally {
      await sw.close();
    }
  });

  test('a fault on a config line surfaces its text, and config mode is left', async () => {
    const sw = await openSwitch(switchTarget());
    try {
      lab.addFault({ device: 'switch', match: '^no shutdown$', output: "% Invalid input detected at '^' marker.", times: 1 });
      const err = await sw.setPorts([e.switch.vaultPorts[0]], 'up').catch((x: unknown) => x);
      expect(err).toBeInstanceOf(DeviceCommandError);
      expect((err as DeviceCommandError).command).toBe('no shutdown');
      expect(lab.portStates()[e.switch.vaultPorts[0]].admin).toBe('down');
      // Back in privileged mode: a show works.
      expect((await sw.portStates([e.switch.vaultPorts[0]]))[0].admin).toBe('down');
    } finally {
      lab.clearFaults();
      await sw.close();
    }
  });

  test('unknown / mismatched host key is refused and nothing changes on the switch', async () => {
    const before = JSON.stringify(lab.portStates());
    const wrong = e.sourceDd.fingerprint; // a real key, but not the switch's
    const err = await openSwitch(switchTarget({ hostKey: { fingerprint: wrong } })).catch((x: unknown) => x);
    expect(err).toBeInstanceOf(HostKeyMismatchError);
    expect((err as Error).message).toContain(e.switch.fingerprint);
    expect((err as Error).message).toContain(`${e.host}:${e.switch.port}`);

    const kh = join(dir, 'other_known_hosts');
    writeFileSync(kh, readFileSync(e.knownHostsFile, 'utf8').split('\n').filter((l) => !l.includes(`]:${e.switch.port} `)).join('\n'));
    const unknown = await openSwitch(switchTarget({ hostKey: { knownHostsFile: kh } })).catch((x: unknown) => x);
    expect(unknown).toBeInstanceOf(UnknownHostKeyError);
    expect(JSON.stringify(lab.portStates())).toBe(before);

    await openSwitch(switchTarget({ hostKey: { knownHostsFile: e.knownHostsFile } })).then((s) => s.close());
  });

  test('wrong password → AuthenticationError; wrong enable secret → AuthenticationError', async () => {
    const err = await openSwitch(switchTarget({ password: 'not-the-password' })).catch((x: unknown) => x);
    expect(err).toBeInstanceOf(AuthenticationError);
    expect((err as Error).message).toContain(e.switch.username);
    expect((err as Error).message).not.toContain('not-the-password');
    const en = await openSwitch(switchTarget({ enableSecret: 'not-the-secret' })).catch((x: unknown) => x);
    expect(en).toBeInstanceOf(AuthenticationError);
    // IOS asks three times, then says `% Bad secrets`; the driver names the config field to fix.
    expect((en as Error).message).toContain('% Bad secrets');
    expect((en as Error).message).not.toContain('not-the-secret');
  });

  test('publickey login with the lab client key', async () => {
    const sw = await openSwitch(switchTarget({ password: undefined, privateKey: readFileSync(e.clientKeyFile, 'utf8') }));
    expect(sw.hostname).toBe('vault-sw1');
    await sw.close();
  });
});

describe('Data Domain driver against the lab', () => {
  let vault: DataDomainCli;
  let prod: DataDomainCli;
  const dest = () => e.context.destination;

  beforeAll(async () => {
    vault = await openDataDomain(ddTarget('vaultDd'));
    prod = await openDataDomain(ddTarget('sourceDd'));
  });
  afterAll(async () => {
    await vault?.close();
    await prod?.close();
  });

  test('system date', async () => {
    const d = await vault.systemDate();
    expect(d.zone).toBe('UTC');
    expect(Math.abs(d.now.getTime() - Date.now())).toBeLessThan(5000);
  });

  test('replication enable, sync, status and detailed-stats parse live; converges with the ports up', async () => {
    await prod.replicationEnable(dest());
    const t0 = (await prod.systemDate()).now;
    expect(await prod.replicationSync(dest())).toBe(`Sync initiated for "${dest()}".`);
    let rows = await vault.replicationStatus();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ ctx: 1, destination: dest(), enabled: true });
    const stats = await vault.replicationDetailedStats(dest());
    expect(stats).toMatchObject({ destination: dest(), source: e.context.source, enabled: true });
    expect(typeof stats.bytesRemaining).toBe('number');

    const sw = await openSwitch(switchTarget());
    try {
      await sw.setPorts(e.switch.vaultPorts, 'up');
      await waitFor(async () => {
        const s = await vault.replicationDetailedStats(dest());
        return s.syncedAsOf !== null && s.syncedAsOf.getTime() >= Math.floor(t0.getTime() / 60_000) * 60_000 && s.filesRemaining === 0;
      }, 30_000);
      rows = await vault.replicationStatus(dest());
      expect(rows[0].connection).toBe('connected');
      expect(rows[0].syncedAsOf).toBeInstanceOf(Date);
      expect(Math.abs(rows[0].syncedAsOf!.getTime() - Date.now())).toBeLessThan(120_000);
    } finally {
      await sw.setPorts(e.switch.vaultPorts, 'down');
      await sw.close();
    }
    await prod.replicationDisable(dest());
    expect((await vault.replicationStatus())[0].enabled).toBe(false);
  });

  test('a lab fault surfaces the device text in the error', async () => {
    lab.addFault({ device: 'vault-dd', match: '^replication status', output: '**** Replication is busy: try again later.', times: 1 });
    const err = await vault.replicationStatus().catch((x: unknown) => x);
    expect(err).toBeInstanceOf(DeviceCommandError);
    expect((err as Error).message).toContain('**** Replication is busy: try again later.');
    expect((err as DeviceCommandError).output).toBe('**** Replication is busy: try again later.');
    const res = await fetch(`${e.control}/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ device: 'source-dd', match: '^replication enable', output: 'internal failure', exitCode: 3, times: 1 }),
    });
    expect(res.ok).toBe(true);
    await expect(prod.replicationEnable(dest())).rejects.toThrow('(exit status 3): internal failure');
    await expect(vault.run('frobnicate')).rejects.toThrow('**** Unrecognized command "frobnicate".');
  });

  test('confirmation prompt: refused without confirm (nothing changes), answered yes with it', async () => {
    const mtree = e.vaultDd.copiesMtree;
    const before = await vault.retentionLockStatus(mtree);
    const cmd = `mtree retention-lock set max-retention-period 3000days mtree ${mtree}`;
    const err = await vault.run(cmd).catch((x: unknown) => x);
    expect(err).toBeInstanceOf(DeviceCommandError);
    expect((err as Error).message).toMatch(/asks for confirmation \("Do you want to proceed\? \(yes\|no\) \[no\]:"\); refused/);
    expect((err as Error).message).toContain('**** Operation cancelled.');
    expect((await vault.retentionLockStatus(mtree)).maxSeconds).toBe(before.maxSeconds);
    expect(await vault.run(cmd, { confirm: true })).toContain('set to 3000days');
    expect((await vault.retentionLockStatus(mtree)).maxSeconds).toBe(3000 * 86400);
    await vault.run(`mtree retention-lock set max-retention-period ${before.maxSeconds / 86400}days mtree ${mtree}`, { confirm: true });
  });

  test('retention lock status, lock through the mount path, report parse live', async () => {
    const rl = await vault.retentionLockStatus(e.vaultDd.copiesMtree);
    expect(rl).toMatchObject({ enabled: true, mode: 'governance' });
    expect(rl.minSeconds).toBeGreaterThan(0);
    expect(rl.maxSeconds).toBeGreaterThan(rl.minSeconds);
    expect(await vault.retentionLockStatus(e.vaultDd.replicaMtree)).toMatchObject({ enabled: false, mode: 'none' });

    const fc = await vault.fastcopy(e.vaultDd.replicaMtree, `${e.vaultDd.copiesMtree}/drv-c2`);
    expect(typeof fc.files).toBe('number');
    await expect(vault.fastcopy(e.vaultDd.replicaMtree, `${e.vaultDd.copiesMtree}/drv-c2`)).rejects.toThrow(/\*\*\*\* Destination path .* already exists/);

    const now = (await vault.systemDate()).now;
    const until = new Date(Math.ceil((now.getTime() + rl.minSeconds * 1000 + 120_000) / 1000) * 1000);
    const mount = join(e.vaultDd.copiesMountPath, 'drv-c2');
    const r = await lockFiles(mount, until);
    expect(r.locked).toBe(fc.files);
    const report = await vault.retentionReport(e.vaultDd.copiesMtree);
    const mine = report.filter((x) => x.path.startsWith(`${e.vaultDd.copiesMtree}/drv-c2/`));
    expect(mine).toHaveLength(r.files.length);
    expect(mine.every((x) => x.mode === 'governance' && x.expires.getTime() === until.getTime())).toBe(true);
    // Locks only grow: a shorter request leaves them alone.
    const again = await lockFiles(mount, new Date(until.getTime() - 60_000));
    expect(again).toMatchObject({ locked: 0, alreadyLonger: r.files.length });
  });
});
