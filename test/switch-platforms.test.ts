/**
 * Every switch flavour the lab simulates (IOS-XE, NX-OS, EOS, Junos — one engine, four platforms as data)
 * against the real driver over SSH: ports up with the device's revert timer armed, closed with the timer
 * taken back, the timer firing by itself when nobody closes, each fault the lab can aim at a switch and what
 * the driver makes of it, and no SSH session left behind. Stock OpenSSH logs in to each flavour; paging,
 * `?` help and `terminal monitor` answer like the device.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { promisify } from 'node:util';
import { startLab, type Lab, type LabEndpoints, type LabSwitchEndpoint } from '../lab';
import { connect, Shell } from '../lab/testing';
import { AuthenticationError, DeviceCommandError, DeviceTimeoutError, DeviceUnreachableError } from '../activities/drivers/errors';
import { openSwitch, type SwitchTarget } from '../activities/drivers/switch';
import { vaultAccess, type ActivityDeps } from '../activities/deps';
import { openDataDomain } from '../activities/drivers/datadomain/cli';
import { configForLab, VAULT } from './helpers/lab';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const DEVICE_MINUTE_MS = 300; // the lab's device clock for minute-based revert timers
let dir: string;
let lab: Lab;
let e: LabEndpoints;
const secret = (file: string) => readFileSync(file, 'utf8').trim();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(cond: () => boolean | Promise<boolean>, ms = 8000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`${what}: not met within ${ms} ms`);
    await sleep(50);
  }
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sw-platforms-'));
  lab = await startLab({
    dir: join(dir, 'lab'),
    ports: { switch: 0, sourceDd: 0, vaultDd: 0, control: 0 },
    seed: { files: 3, totalBytes: 3000 },
    linkUpDelayMs: 100,
    deviceMinuteMs: DEVICE_MINUTE_MS,
  });
  e = lab.endpoints;
});

afterAll(async () => {
  await lab?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

// Every test leaves no SSH session open on any lab device: drivers close what they open, on every path.
afterEach(async () => {
  lab.clearFaults();
  await waitFor(() => Object.values(lab.connections()).every((n) => n === 0), 5000, `no open sessions (${JSON.stringify(lab.connections())})`);
});

const target = (s: LabSwitchEndpoint, over: Partial<SwitchTarget> = {}): SwitchTarget => ({
  platform: s.platform,
  host: e.host,
  port: s.port,
  username: s.username,
  password: secret(s.passwordFile),
  enableSecret: secret(s.enableSecretFile),
  hostKey: { knownHostsFile: e.knownHostsFile },
  commandTimeoutMs: 5000,
  readyTimeoutMs: 5000,
  ...over,
});

/** The line each platform prints for a command it does not know (the driver must carry it verbatim). */
const INVALID: Record<string, string> = {
  'cisco-ios': "% Invalid input detected at '^' marker.",
  'cisco-nxos': "% Invalid command at '^' marker.",
  'arista-eos': '% Invalid input',
  junos: 'syntax error.', // `show` is known; the word after it is not
};
/** A show command that reads one vault port, per platform (what the driver's portStates sends). */
const SHOW: Record<string, RegExp> = { 'cisco-ios': /^show interfaces /, 'cisco-nxos': /^show interface /, 'arista-eos': /^show interfaces /, junos: /^show interfaces .* terse$/ };

describe.each(['cisco-ios', 'cisco-nxos', 'arista-eos', 'junos'])('%s', (platform) => {
  const sw = () => e.switches.find((s) => s.platform === platform)!;

  test('open arms the revert timer, close shuts the ports and takes the timer back', async () => {
    const s = sw();
    const d = await openSwitch(target(s));
    try {
      const { revert } = await d.setPorts(s.vaultPorts, 'up', { revertAfterSeconds: 600 });
      expect(revert).toEqual({ name: expect.any(String), seconds: 600 });
      expect(lab.switchState(platform as never).revert).not.toBeNull();
      await waitFor(async () => (await d.portStates(s.vaultPorts)).every((p) => p.admin === 'up' && p.oper === 'up'));
      await d.setPorts(s.vaultPorts, 'down');
      expect(lab.switchState(platform as never).revert).toBeNull();
      const states = await d.portStates(s.vaultPorts);
      expect(states.map((p) => [p.admin, p.oper])).toEqual(s.vaultPorts.map(() => ['down', 'down']));
      await d.saveConfig();
      // The device's own words reach the caller.
      const err = await d.show('show bogus-thing').catch((x: unknown) => x);
      expect(err).toBeInstanceOf(DeviceCommandError);
      expect((err as Error).message).toContain(INVALID[platform]);
    } finally {
      await d.close();
    }
  });

  test('nobody closes: the switch reverts to the closed state by itself', async () => {
    const s = sw();
    const before = lab.switchState(platform as never).reverts;
    const d = await openSwitch(target(s));
    // EOS counts in seconds; the others in minutes (here a lab minute is DEVICE_MINUTE_MS).
    const seconds = platform === 'arista-eos' ? 1 : 60;
    try {
      await d.setPorts(s.vaultPorts, 'up', { revertAfterSeconds: seconds });
    } finally {
      await d.close(); // the orchestrator is gone
    }
    expect(Object.values(lab.switchState(platform as never).ports).some((p) => p.admin === 'up')).toBe(true);
    await waitFor(() => s.vaultPorts.every((p) => lab.portStates()[p].admin === 'down'), 4000, 'revert by itself');
    expect(lab.switchState(platform as never).reverts).toBe(before + 1);
    expect(lab.vaultPortsDown()).toBe(true);
  });

  test('faults: command error after N commands, latency past the timeout, dropped session, refused login, link flap', async () => {
    const s = sw();
    const show = SHOW[platform].source;
    // A command error aimed at the second port read.
    lab.addFault({ device: 'switch', match: show, output: INVALID[platform], afterCommands: 1, times: 1 });
    let d = await openSwitch(target(s));
    try {
      const err = await d.portStates(s.vaultPorts).catch((x: unknown) => x);
      expect(err).toBeInstanceOf(DeviceCommandError);
      expect((err as DeviceCommandError).retryable).toBe(false);
      expect((err as Error).message).toContain(INVALID[platform]);
      expect((err as DeviceCommandError).command).toMatch(SHOW[platform]);

      // Latency longer than the command timeout: a retryable timeout naming the command.
      lab.addFault({ device: 'switch', match: show, kind: 'latency', ms: 1500, times: 1 });
      await d.close();
      d = await openSwitch(target(s, { commandTimeoutMs: 500 }));
      const slow = await d.portStates([s.vaultPorts[0]]).catch((x: unknown) => x);
      expect(slow).toBeInstanceOf(DeviceTimeoutError);
      expect((slow as DeviceTimeoutError).retryable).toBe(true);
      expect((slow as Error).message).toMatch(/no prompt after `show/);
    } finally {
      await d.close();
    }

    // The device drops the connection mid-command: retryable, says so.
    lab.addFault({ device: 'switch', match: show, kind: 'drop', output: 'partial', times: 1 });
    d = await openSwitch(target(s));
    try {
      const dropped = await d.portStates([s.vaultPorts[0]]).catch((x: unknown) => x);
      expect(dropped).toBeInstanceOf(DeviceUnreachableError);
      expect((dropped as DeviceUnreachableError).retryable).toBe(true);
      expect((dropped as Error).message).toMatch(/session ended during `show/);
    } finally {
      await d.close();
    }

    // Refused login: permanent, never the password in the message.
    lab.addFault({ device: 'switch', match: '', kind: 'auth', times: 1 });
    const refused = await openSwitch(target(s)).catch((x: unknown) => x);
    expect(refused).toBeInstanceOf(AuthenticationError);
    expect((refused as AuthenticationError).retryable).toBe(false);
    expect((refused as Error).message).not.toContain(secret(s.passwordFile));

    // Link flap: after the command, the vault ports lose their link for a moment and come back.
    d = await openSwitch(target(s));
    try {
      await d.setPorts(s.vaultPorts, 'up', { revertAfterSeconds: 600 });
      await waitFor(async () => (await d.portStates(s.vaultPorts)).every((p) => p.oper === 'up'));
      lab.addFault({ device: 'switch', match: show, kind: 'flap', ms: 400, times: 1 });
      await d.portStates([s.vaultPorts[0]]);
      const during = await d.portStates(s.vaultPorts);
      expect(during.map((p) => [p.admin, p.oper])).toEqual(s.vaultPorts.map(() => ['up', 'down']));
      await waitFor(async () => (await d.portStates(s.vaultPorts)).every((p) => p.oper === 'up'));
      await d.setPorts(s.vaultPorts, 'down');
    } finally {
      await d.close();
    }
    expect(lab.vaultPortsDown()).toBe(true);
  });
});

describe('stock OpenSSH into every flavour', () => {
  const ssh = (s: LabSwitchEndpoint, args: string[], input?: string) =>
    new Promise<string>((resolve, reject) => {
      const child = execFile(
        'ssh',
        ['-p', String(s.port), '-i', e.clientKeyFile, '-o', `UserKnownHostsFile=${e.knownHostsFile}`, '-o', 'StrictHostKeyChecking=yes', '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes', ...args, `${s.username}@${e.host}`],
        { encoding: 'utf8', timeout: 15000 },
        (err, stdout) => (err && !stdout ? reject(err) : resolve(stdout.replace(/\r/g, ''))),
      );
      child.stdin?.end(input ?? '');
    });

  test.each(['cisco-ios', 'cisco-nxos', 'arista-eos', 'junos'])('%s: show version over exec, everyday commands in a shell', async (platform) => {
    const s = e.switches.find((x) => x.platform === platform)!;
    const version = await promisify(execFile)(
      'ssh',
      ['-p', String(s.port), '-i', e.clientKeyFile, '-o', `UserKnownHostsFile=${e.knownHostsFile}`, '-o', 'StrictHostKeyChecking=yes', '-o', 'BatchMode=yes', `${s.username}@${e.host}`, 'show version'],
      { encoding: 'utf8', timeout: 15000 },
    );
    expect(version.stdout).toMatch({ 'cisco-ios': /Cisco IOS XE Software/, 'cisco-nxos': /NXOS: version/, 'arista-eos': /Software image version: 4\./, junos: /Junos: 21\./ }[platform]!);
    const everyday: Record<string, string> = {
      'cisco-ios': 'terminal length 0\nshow clock\nshow ip interface brief\nexit\n',
      'cisco-nxos': 'terminal length 0\nshow clock\nshow ip interface brief\nexit\n',
      'arista-eos': 'terminal length 0\nshow clock\nshow ip interface brief\nexit\n',
      junos: 'set cli screen-length 0\nshow system uptime\nshow interfaces terse\nexit\n',
    };
    const out = await ssh(s, ['-tt'], everyday[platform]);
    expect(out).toMatch({ 'cisco-ios': /\*\d\d:\d\d:\d\d\.\d{3} UTC \w{3} \w{3} \d+ \d{4}/, 'cisco-nxos': /Time source is local/, 'arista-eos': /Timezone: UTC/, junos: /Current time: \d{4}-/ }[platform]!);
    // Interface names and types agree with each other on every listing.
    expect(out).toContain(platform === 'junos' ? 'ge-0/0/1' : platform === 'cisco-ios' ? 'GigabitEthernet1/0/1' : 'Vlan100');
    expect(out).not.toMatch(/Invalid|unknown command|syntax error/);
  });
});

describe('interactive behaviour', () => {
  const login = async (s: LabSwitchEndpoint) => {
    const c = await connect({ host: e.host, port: s.port, username: s.username, privateKeyFile: e.clientKeyFile });
    const sh = await Shell.open(c);
    return { c, sh };
  };

  test('IOS pages with --More-- until terminal length 0; `?` lists what comes next and re-types the line', async () => {
    const { c, sh } = await login(e.switches[0]);
    try {
      await sh.expect(/vault-sw1>$/);
      sh.send('show version\n');
      const first = await sh.expect(/ --More-- $/);
      expect(first).toContain('Cisco IOS XE Software');
      expect(first).not.toContain('Configuration register');
      sh.send(' ');
      expect(await sh.expect(/vault-sw1>$/)).toContain('Configuration register is 0x102');
      sh.send('show ?');
      const help = await sh.expect(/vault-sw1>show $/);
      expect(help).toMatch(/clock[\s\S]*interfaces[\s\S]*version/);
      sh.send('clock\n');
      expect(await sh.expect(/vault-sw1>$/)).toMatch(/UTC/);
    } finally {
      c.end();
    }
  });

  test('the driver answers --More-- itself when paging could not be turned off', async () => {
    const s = e.switches[0];
    lab.addFault({ device: 'switch', match: '^terminal length 0$', output: "% Invalid input detected at '^' marker.", times: 1 });
    const d = await openSwitch(target(s));
    try {
      const out = await d.show('show version');
      expect(out).toContain('Cisco IOS XE Software');
      expect(out).toContain('Configuration register is 0x102'); // the last page, reached through the pager
      expect(out).not.toContain('--More--');
    } finally {
      await d.close();
    }
  });

  test('Junos pages with ---(more)--- after set cli screen-length', async () => {
    const { c, sh } = await login(e.switches.find((s) => s.platform === 'junos')!);
    try {
      await sh.expect(/netops@vault-sw4> $/);
      sh.send('set cli screen-length 4\n');
      await sh.expect(/netops@vault-sw4> $/);
      sh.send('show version\n');
      await sh.expect(/---\(more\)---$/);
      sh.send('q');
      await sh.expect(/netops@vault-sw4> $/);
    } finally {
      c.end();
    }
  });

  test.each([
    ['cisco-ios', 'terminal monitor', /%LINEPROTO-5-UPDOWN: Line protocol on Interface GigabitEthernet1\/0\/1, changed state to up/],
    ['cisco-nxos', 'terminal monitor', /%ETHPORT-5-IF_UP: Interface Ethernet1\/1 is up/],
    ['arista-eos', 'terminal monitor', /%LINEPROTO-5-UPDOWN: Line protocol on Interface Ethernet1 .*changed state to up/],
    ['junos', 'monitor start messages', /SNMP_TRAP_LINK_UP: .*ifName ge-0\/0\/1/],
  ])('%s: %s shows link up/down log lines', async (platform, cmd, upLine) => {
    const s = e.switches.find((x) => x.platform === platform)!;
    const { c, sh } = await login(s);
    try {
      await sh.expect(/[>#] ?$/);
      sh.send(`${cmd}\n`);
      await sh.expect(/[>#] ?$/);
      lab.setPort(s.vaultPorts[0], 'up');
      await sh.expect(upLine, 3000);
      lab.setPort(s.vaultPorts[0], 'down');
      await sh.expect(/down/, 3000);
    } finally {
      lab.setPort(s.vaultPorts[0], 'down');
      c.end();
    }
  });
});

describe('errors that say what to fix', () => {
  let hang: Server;
  afterAll(() => hang?.close());

  test('a refused login names the config field and the secret file; a silent host times out, retryable', async () => {
    const work = mkdtempSync(join(tmpdir(), 'sw-hint-'));
    try {
      const config = configForLab(lab, join(work, 'ev'), {}, { platform: 'arista-eos' });
      const wrong = join(work, 'wrong-password');
      writeFileSync(wrong, 'not-the-password\n', { mode: 0o600 });
      config.vaults[0].switch!.password = { file: wrong };
      const deps: ActivityDeps = { config, openSwitch, openDataDomain, alert: async () => undefined };
      const err = await vaultAccess(deps, VAULT).withSwitch((sw) => sw.portStates(['Ethernet1'])).catch((x: unknown) => x);
      expect(err).toBeInstanceOf(AuthenticationError);
      expect((err as Error).message).toContain('vaults[0].switch.password');
      expect((err as Error).message).toContain(wrong);
      expect((err as Error).message).not.toContain('not-the-password');

      config.vaults[0].switch!.password = { file: e.switch.passwordFile };
      config.vaults[0].switch!.enableSecret = { file: wrong };
      const en = await vaultAccess(deps, VAULT).withSwitch((sw) => sw.portStates(['Ethernet1'])).catch((x: unknown) => x);
      expect((en as Error).message).toContain('vaults[0].switch.enableSecret');
      expect((en as Error).message).toContain('% Access denied');
    } finally {
      rmSync(work, { recursive: true, force: true });
    }

    // A TCP port that accepts and never says a word: the connect times out, retryable.
    hang = createServer(() => undefined).listen(0, '127.0.0.1');
    await new Promise((r) => hang.once('listening', r));
    const t0 = Date.now();
    const silent = await openSwitch({ ...target(e.switches[0]), port: (hang.address() as AddressInfo).port, readyTimeoutMs: 800 }).catch((x: unknown) => x);
    expect(silent).toBeInstanceOf(DeviceUnreachableError);
    expect((silent as DeviceUnreachableError).retryable).toBe(true);
    expect(Date.now() - t0).toBeLessThan(5000);
  });
});
