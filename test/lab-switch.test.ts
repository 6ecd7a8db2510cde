/**
 * The vault switch simulator over real SSH: IOS modes, prompts, abbreviations, error lines, port state with
 * the link-up delay, faults, and a stock OpenSSH client in exec mode.
 */
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from 'ssh2';
import { startLab, type Lab, type LabEndpoints } from '../lab';
import { connect, exec, Shell } from '../lab/testing';

let dir: string;
let lab: Lab;
let e: LabEndpoints;
const secret = (file: string) => readFileSync(file, 'utf8').trim();
const target = () => ({ host: e.host, port: e.switch.port, username: e.switch.username, fingerprint: e.switch.fingerprint });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lab-switch-'));
  lab = await startLab({ dir, ports: { switch: 0, sourceDd: 0, vaultDd: 0, control: 0 }, seed: { files: 5, totalBytes: 10_000 }, linkUpDelayMs: 300 });
  e = lab.endpoints;
});

afterAll(async () => {
  await lab?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('authentication', () => {
  test('password and client key are accepted, a wrong password is not', async () => {
    const byPassword = await connect({ ...target(), password: secret(e.switch.passwordFile) });
    byPassword.end();
    const byKey = await connect({ ...target(), privateKeyFile: e.clientKeyFile });
    byKey.end();
    await expect(connect({ ...target(), password: 'wrong' })).rejects.toThrow(/authentication/i);
  });

  test('the host key matches the fingerprint in endpoints.json and known_hosts', async () => {
    await expect(connect({ ...target(), password: secret(e.switch.passwordFile), fingerprint: 'SHA256:nope' })).rejects.toThrow();
    const line = readFileSync(e.knownHostsFile, 'utf8').split('\n')[0];
    expect(line).toMatch(new RegExp(`^\\[127\\.0\\.0\\.1\\]:${e.switch.port} ssh-ed25519 AAAA`));
  });
});

describe('interactive IOS session', () => {
  let c: Client;
  let sh: Shell;
  beforeAll(async () => {
    c = await connect({ ...target(), password: secret(e.switch.passwordFile) });
    sh = await Shell.open(c);
    await sh.expect(/vault-sw1>$/);
  });
  afterAll(() => c?.end());

  test('paging commands and show interfaces status in user mode', async () => {
    expect(await sh.command('terminal length 0')).toBe('');
    expect(await sh.command('terminal width 512')).toBe('');
    const out = await sh.command('show interfaces status');
    expect(out.split('\n')).toEqual([
      '',
      'Port         Name               Status       Vlan       Duplex  Speed Type',
      'Gi1/0/1      vault-repl-a       disabled     trunk        auto   auto 1000BaseSX SFP',
      'Gi1/0/2      vault-repl-b       disabled     trunk        auto   auto 1000BaseSX SFP',
      'Gi1/0/3                         notconnect   1            auto   auto 10/100/1000BaseTX',
    ]);
  });

  test('echo, CRLF and the prompt come back exactly', async () => {
    sh.send('sh int status\n');
    const raw = await sh.expect(/vault-sw1>$/);
    expect(raw.startsWith('sh int status\r\n\r\nPort')).toBe(true);
    expect(raw).toMatch(/10\/100\/1000BaseTX\r\nvault-sw1>$/);
  });

  test('error lines', async () => {
    expect(await sh.command('show')).toBe('% Incomplete command.\n');
    expect(await sh.command('s')).toBe('% Ambiguous command:  "s"');
    // caret under the offending word: prompt "vault-sw1>" is 10 columns, "show " 5 more
    expect(await sh.command('show foo')).toBe(`${' '.repeat(15)}^\n% Invalid input detected at '^' marker.\n`);
    expect(await sh.command('configure terminal')).toMatch(/^ +\^\n% Invalid input detected/); // not in user mode
    expect(await sh.command('frobnicate')).toMatch(/% Unknown command or computer name/);
  });

  test('enable: three wrong secrets end in % Bad secrets, the right one gives #', async () => {
    sh.send('enable\n');
    for (let i = 0; i < 3; i++) {
      await sh.expect(/Password: $/);
      sh.send(`wrong${i}\n`);
    }
    expect(await sh.expect(/vault-sw1>$/)).toContain('% Bad secrets');
    sh.send('en\n');
    await sh.expect(/Password: $/);
    sh.send(secret(e.switch.enableSecretFile) + '\n');
    const out = await sh.expect(/vault-sw1#$/);
    expect(out).not.toContain(secret(e.switch.enableSecretFile)); // the secret is not echoed
  });

  test('conf t, interface, no shutdown: admin up at once, line protocol after the delay', async () => {
    expect(await sh.command('conf t')).toContain('Enter configuration commands');
    expect(sh.unread()).toBe('');
    await sh.command('int Gi1/0/1');
    sh.send('no shut\n');
    await sh.expect(/vault-sw1\(config-if\)#$/);
    expect(lab.portStates()['GigabitEthernet1/0/1']).toEqual({ admin: 'up', oper: 'down' });
    expect(await sh.command('do show interfaces Gi1/0/1')).toMatch(/^GigabitEthernet1\/0\/1 is up, line protocol is down \(notconnect\)\n/);
    expect(await sh.command('do sh int status')).toMatch(/Gi1\/0\/1 +vault-repl-a +notconnect/);
    await sleep(450);
    expect(lab.portStates()['GigabitEthernet1/0/1']).toEqual({ admin: 'up', oper: 'up' });
    expect(await sh.command('do show interfaces Gi1/0/1')).toMatch(/^GigabitEthernet1\/0\/1 is up, line protocol is up \(connected\)\n {2}Hardware is Gigabit Ethernet/);
    // a second interface, by its long name in two tokens
    await sh.command('interface GigabitEthernet 1/0/2');
    await sh.command('no shutdown');
    await sleep(450);
    expect(lab.vaultPortsDown()).toBe(false);
    expect(await sh.command('do sh int status')).toMatch(/Gi1\/0\/2 +vault-repl-b +connected +trunk +a-full +a-1000 1000BaseSX SFP/);
  });

  test('config-mode errors', async () => {
    expect(await sh.command('s')).toBe('% Ambiguous command:  "s"');
    await sh.command('exit');
    // shutdown exists only under an interface
    expect(await sh.command('shutdown')).toBe(`${' '.repeat('vault-sw1(config)#'.length)}^\n% Invalid input detected at '^' marker.\n`);
    expect(await sh.command('interface')).toBe('% Incomplete command.\n');
    expect(await sh.command('interface Gi1/0/9')).toMatch(/Invalid input detected/);
  });

  test('shutdown takes the port down at once; running-config shows it', async () => {
    await sh.command('interface gi1/0/1');
    await sh.command('shut');
    expect(lab.portStates()['GigabitEthernet1/0/1']).toEqual({ admin: 'down', oper: 'down' });
    await sh.command('int gi1/0/2');
    await sh.command('shutdown');
    expect(lab.vaultPortsDown()).toBe(true);
    await sh.command('end');
    expect(await sh.command('show running-config interface Gi1/0/1')).toBe(
      ['Building configuration...', '', 'Current configuration : 96 bytes', '!', 'interface GigabitEthernet1/0/1', ' description vault-repl-a', ' switchport mode trunk', ' shutdown', 'end', ''].join('\n'),
    );
    expect(await sh.command('show interfaces Gi1/0/2')).toMatch(/^GigabitEthernet1\/0\/2 is administratively down, line protocol is down \(disabled\)\n/);
  });

  test('saving the configuration', async () => {
    expect(await sh.command('write memory')).toBe('Building configuration...\n[OK]');
    sh.send('copy running-config startup-config\n');
    await sh.expect(/Destination filename \[startup-config\]\? $/);
    sh.send('\n');
    expect(await sh.expect(/vault-sw1#$/)).toContain('[OK]');
  });

  test('disable and exit', async () => {
    await sh.command('disable');
    sh.send('exit\n');
    await sh.expect(/exit\r\n/);
    await new Promise<void>((resolve) => (sh.closed ? resolve() : sh.stream.once('close', () => resolve())));
    expect(sh.closed).toBe(true);
  });
});

describe('exec channel, faults, hand-operated ports', () => {
  test('exec runs one command at user level', async () => {
    const c = await connect({ ...target(), privateKeyFile: e.clientKeyFile });
    try {
      const r = await exec(c, 'show interfaces gi1/0/3');
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^GigabitEthernet1\/0\/3 is up, line protocol is down \(notconnect\)\r\n/);
      const bad = await exec(c, 'show running-config');
      expect(bad.code).toBe(1);
      expect(bad.stdout).toContain("% Invalid input detected at '^' marker.");
    } finally {
      c.end();
    }
  });

  test('a fault replaces the command output, `times` times', async () => {
    lab.addFault({ device: 'switch', match: '^show interfaces status', output: '% Fault injected', exitCode: 3, times: 1 });
    const c = await connect({ ...target(), privateKeyFile: e.clientKeyFile });
    try {
      expect(await exec(c, 'show interfaces status')).toMatchObject({ code: 3, stdout: '% Fault injected\r\n' });
      expect((await exec(c, 'show interfaces status')).code).toBe(0);
      lab.addFault({ device: 'switch', match: 'no shut', output: '% Interface is err-disabled' });
      const sh = await Shell.open(c);
      await sh.expect(/>$/);
      sh.send('enable\n');
      await sh.expect(/Password: $/);
      sh.send(secret(e.switch.enableSecretFile) + '\n');
      await sh.expect(/#$/);
      await sh.command('conf t');
      await sh.command('int gi1/0/1');
      expect(await sh.command('no shut')).toBe('% Interface is err-disabled');
      expect(lab.portStates()['GigabitEthernet1/0/1'].admin).toBe('down');
      lab.clearFaults();
      sh.close();
    } finally {
      c.end();
    }
  });

  test('setPort hand-opens a port as an engineer would', async () => {
    lab.setPort('Gi1/0/2', 'up');
    expect(lab.vaultPortsDown()).toBe(false);
    await sleep(400);
    expect(lab.portStates()['GigabitEthernet1/0/2']).toEqual({ admin: 'up', oper: 'up' });
    lab.setPort('GigabitEthernet1/0/2', 'down');
    expect(lab.vaultPortsDown()).toBe(true);
    expect(() => lab.setPort('Gi9/9/9', 'up')).toThrow(/unknown port/);
  });

  // Under CI (.ci/run installs openssh-client) a missing ssh fails the test instead of skipping it.
  const hasSsh = (() => {
    if (process.env.CI) return true;
    try {
      execFileSync('ssh', ['-V'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  })();
  (hasSsh ? test : test.skip)('a stock OpenSSH client logs in with the lab key and known_hosts', async () => {
    // async: the lab runs in this process, a synchronous spawn would block it
    const { stdout } = await promisify(execFile)(
      'ssh',
      ['-p', String(e.switch.port), '-i', e.clientKeyFile, '-o', `UserKnownHostsFile=${e.knownHostsFile}`, '-o', 'StrictHostKeyChecking=yes', '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes', `${e.switch.username}@${e.host}`, 'show interfaces status'],
      { encoding: 'utf8', timeout: 15000 },
    );
    expect(stdout).toMatch(/Gi1\/0\/1 +vault-repl-a +disabled/);
  });
});
