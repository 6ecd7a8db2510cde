/**
 * Cisco IOS / IOS-XE (a Catalyst 9300) as data for the lab CLI engine.
 * Imitates: prompts `host>`, `host#`, `host(config)#`, `host(config-if)#` and IOS's error lines (scrapli
 * `cisco_iosxe/base_driver.py`); `enable` with three tries then `% Bad secrets`; ` --More-- ` until
 * `terminal length 0`; `copy running-config startup-config` asking `Destination filename [startup-config]?`
 * (netmiko `cisco_base_connection.py`); Configuration Rollback Confirmed Change (Cisco IOS XE 17 System
 * Management guide, "Configuration Rollback Confirmed Change": `configure terminal revert timer <1-120>`,
 * `configure confirm`, `configure revert now|timer`; the revert restores the configuration archived at arming).
 * The texts printed by the rollback commands themselves are [U]: not seen on real gear by us.
 */
import { DeviceSays, type Cmd, type CliSession, type LabPlatform, type ParseFailure } from '../engine';
import type { PortDef } from '../../ports';
import { caret, ciscoClock, pad, prefixResolver, stubs, syslogStamp } from './common';

const EXEC = ['user', 'enable'];
const CONFIG = ['config', 'config-if'];
const HOST = 'vault-sw1';

export const IOS_PORTS: PortDef[] = [
  { name: 'GigabitEthernet1/0/1', short: 'Gi1/0/1', description: 'vault-repl-a', vlan: 'trunk', type: '1000BaseSX SFP', speedMbps: 1000, cabled: true, vault: true, defaultAdmin: 'down' },
  { name: 'GigabitEthernet1/0/2', short: 'Gi1/0/2', description: 'vault-repl-b', vlan: 'trunk', type: '1000BaseSX SFP', speedMbps: 1000, cabled: true, vault: true, defaultAdmin: 'down' },
  { name: 'GigabitEthernet1/0/3', short: 'Gi1/0/3', description: '', vlan: '1', type: '10/100/1000BaseTX', speedMbps: 1000, cabled: false, vault: false, defaultAdmin: 'up' },
];

const minutes = (s: CliSession, n: string): number => {
  const m = Number(n);
  if (!Number.isInteger(m) || m < 1 || m > 120) throw new DeviceSays(`% Invalid input: the revert timer is 1-120 minutes\n`);
  return m * s.ctx.minuteMs;
};

function status(s: CliSession, p: PortDef): 'connected' | 'notconnect' | 'disabled' {
  if (s.ctx.ports.admin(p.name) === 'down') return 'disabled';
  return s.ctx.ports.operState(p.name) === 'up' ? 'connected' : 'notconnect';
}

function showStatus(s: CliSession): string {
  const lines = ['', 'Port         Name               Status       Vlan       Duplex  Speed Type'];
  for (const p of IOS_PORTS) {
    const st = status(s, p);
    const up = st === 'connected';
    const name = (s.ctx.ports.descriptions.get(p.name) ?? '').slice(0, 18);
    lines.push(pad(p.short, 13) + pad(name, 19) + pad(st, 13) + pad(p.vlan, 11) + (up ? 'a-full' : 'auto').padStart(6) + ' ' + (up ? 'a-1000' : 'auto').padStart(6) + ' ' + p.type);
  }
  return lines.join('\n') + '\n';
}

function showInterface(s: CliSession, name: string): string {
  const p = s.ctx.ports.def(name);
  const admin = s.ctx.ports.admin(p.name);
  const oper = s.ctx.ports.operState(p.name);
  // Admin up without link reads `is up, line protocol is down` (docs/lab-protocol.md), also on the uncabled port.
  const first = admin === 'down' ? `${p.name} is administratively down, line protocol is down (disabled)` : `${p.name} is up, line protocol is ${oper} (${oper === 'up' ? 'connected' : 'notconnect'})`;
  const mac = `70b3.1711.81${p.short.slice(-1).padStart(2, '0')}`;
  const desc = s.ctx.ports.descriptions.get(p.name);
  const up = oper === 'up';
  return [
    first,
    `  Hardware is Gigabit Ethernet, address is ${mac} (bia ${mac})`,
    ...(desc ? [`  Description: ${desc}`] : []),
    `  MTU 1500 bytes, BW 1000000 Kbit/sec, DLY 10 usec,`,
    '     reliability 255/255, txload 1/255, rxload 1/255',
    '  Encapsulation ARPA, loopback not set',
    '  Keepalive set (10 sec)',
    `  ${up ? 'Full-duplex, 1000Mb/s' : 'Auto-duplex, Auto-speed'}, media type is ${p.type}`,
    '  input flow-control is off, output flow-control is unsupported',
    '  ARP type: ARPA, ARP Timeout 04:00:00',
    '  Last input never, output never, output hang never',
    '  Last clearing of "show interface" counters never',
    '  Input queue: 0/2000/0/0 (size/max/drops/flushes); Total output drops: 0',
    '  Queueing strategy: fifo',
    '  Output queue: 0/40 (size/max)',
    '  5 minute input rate 0 bits/sec, 0 packets/sec',
    '  5 minute output rate 0 bits/sec, 0 packets/sec',
    '     0 packets input, 0 bytes, 0 no buffer',
    '     0 input errors, 0 CRC, 0 frame, 0 overrun, 0 ignored',
    '     0 packets output, 0 bytes, 0 underruns',
    '     0 output errors, 0 collisions, 0 interface resets',
    '',
  ].join('\n');
}

function ipBrief(s: CliSession): string {
  const rows = IOS_PORTS.map((p) => {
    const admin = s.ctx.ports.admin(p.name);
    const st = admin === 'down' ? 'administratively down' : s.ctx.ports.operState(p.name) === 'up' ? 'up' : 'down';
    return pad(p.name, 23) + pad('unassigned', 16) + 'YES unset  ' + pad(st, 22) + (admin === 'up' && s.ctx.ports.operState(p.name) === 'up' ? 'up' : 'down');
  });
  return ['Interface              IP-Address      OK? Method Status                Protocol', ...rows, pad('Vlan100', 23) + pad('10.20.0.1', 16) + 'YES NVRAM  ' + pad('up', 22) + 'up', ''].join('\n');
}

function interfaceConfig(s: CliSession, p: PortDef): string[] {
  const desc = s.ctx.ports.descriptions.get(p.name);
  return [
    `interface ${p.name}`,
    ...(desc ? [` description ${desc}`] : []),
    p.vlan === 'trunk' ? ' switchport mode trunk' : ' switchport mode access',
    ...(s.ctx.ports.admin(p.name) === 'down' ? [' shutdown'] : []),
  ];
}

function showRun(s: CliSession, name?: string): string {
  const body = name
    ? ['!', ...interfaceConfig(s, s.ctx.ports.def(name)), 'end']
    : ['!', 'version 17.9', `hostname ${HOST}`, '!', 'archive', ' path flash:ir-archive', ' maximum 14', '!', ...IOS_PORTS.flatMap((p) => [...interfaceConfig(s, p), '!']), 'end'];
  const text = body.join('\n') + '\n';
  return `Building configuration...\n\nCurrent configuration : ${text.length} bytes\n${text}\n`;
}

const VERSION = [
  'Cisco IOS XE Software, Version 17.09.04a',
  'Cisco IOS Software [Cupertino], Catalyst L3 Switch Software (CAT9K_IOSXE), Version 17.9.4a, RELEASE SOFTWARE (fc3)',
  'Technical Support: http://www.cisco.com/techsupport',
  '',
  'ROM: IOS-XE ROMMON',
  'BOOTLDR: System Bootstrap, Version 17.9.1r, RELEASE SOFTWARE (P)',
  '',
  `${HOST} uptime is 12 weeks, 3 days, 4 hours, 5 minutes`,
  'Uptime for this control processor is 12 weeks, 3 days, 4 hours, 7 minutes',
  'System returned to ROM by Reload Command',
  'System image file is "flash:packages.conf"',
  'Last reload reason: Reload Command',
  '',
  'cisco C9300-24T (X86) processor with 1338184K/6147K bytes of memory.',
  'Processor board ID FOC2419L0AB',
  '1 Virtual Ethernet interface',
  '3 Gigabit Ethernet interfaces',
  '2048K bytes of non-volatile configuration memory.',
  '8388608K bytes of physical memory.',
  '1638400K bytes of Crash Files at crashinfo:.',
  '11264000K bytes of Flash at flash:.',
  '',
  'Base Ethernet MAC Address          : 70:b3:17:11:81:00',
  'Motherboard Assembly Number        : 73-18271-03',
  'Model Number                       : C9300-24T',
  'System Serial Number               : FOC2419L0AB',
  '',
  'Configuration register is 0x102',
  '',
].join('\n');

async function copyRunStart(s: CliSession): Promise<string> {
  s.term.write('Destination filename [startup-config]? ');
  const answer = await s.term.readLine();
  if (answer === null) return '';
  const dest = answer.trim();
  if (dest !== '' && dest !== 'startup-config') return `%Error opening flash:${dest} (Permission denied)\n`;
  return 'Building configuration...\n[OK]\n';
}

function configureRevert(s: CliSession, ms: number): string {
  s.ctx.timer.arm(ms, 'configure terminal revert timer', s.ctx.ports.snapshot());
  s.mode = 'config';
  return 'Rollback Confirmed Change: Backing up current running config to flash:ir-archive-1\nEnter configuration commands, one per line.  End with CNTL/Z.\n';
}

const COMMANDS: Cmd[] = [
  { modes: EXEC, words: ['enable'], help: 'Turn on privileged commands', run: (s) => s.enable() },
  { modes: ['enable'], words: ['disable'], help: 'Turn off privileged commands', run: (s) => s.setMode('user') },
  ...['exit', 'logout', 'quit'].map((w): Cmd => ({ modes: EXEC, words: [w], help: 'Exit from the EXEC', run: (s) => s.quit() })),
  { modes: EXEC, words: ['terminal', 'length', '<num>'], help: 'Set terminal line parameters', run: (s, [n]) => ((s.pageLines = Number(n)), '') },
  { modes: EXEC, words: ['terminal', 'width', '<num>'], run: () => '' },
  { modes: EXEC, words: ['terminal', 'monitor'], run: (s) => s.monitor(true) },
  { modes: EXEC, words: ['terminal', 'no', 'monitor'], run: (s) => s.monitor(false) },
  { modes: EXEC, words: ['show', 'interfaces', 'status'], help: 'Show running system information', run: (s) => showStatus(s) },
  { modes: EXEC, words: ['show', 'interfaces', '<if>'], run: (s, [p]) => showInterface(s, p) },
  { modes: EXEC, words: ['show', 'ip', 'interface', 'brief'], run: (s) => ipBrief(s) },
  { modes: EXEC, words: ['show', 'version'], run: () => VERSION },
  { modes: EXEC, words: ['show', 'clock'], run: () => `*${ciscoClock(new Date())}\n` },
  { modes: ['enable'], words: ['show', 'running-config'], run: (s) => showRun(s) },
  { modes: ['enable'], words: ['show', 'running-config', 'interface', '<if>'], run: (s, [p]) => showRun(s, p) },
  {
    modes: ['enable'],
    words: ['show', 'archive', 'config', 'rollback', 'timer'],
    run: (s) => {
      const p = s.ctx.timer.pending;
      if (!p) return '%No Rollback Confirmed Change pending\n';
      const left = Math.max(0, Math.round((p.deadline.getTime() - Date.now()) / 1000));
      return `Time configured(or reset): ${ciscoClock(p.armedAt)}\nTimer type: absolute\nTimer value: ${left} seconds left\n`;
    },
  },
  { modes: ['enable'], words: ['configure', 'terminal'], help: 'Enter configuration mode', run: (s) => (s.setMode('config'), 'Enter configuration commands, one per line.  End with CNTL/Z.\n') },
  { modes: ['enable'], words: ['configure', 'terminal', 'revert', 'timer', '<num>'], run: (s, [n]) => configureRevert(s, minutes(s, n)) },
  {
    modes: ['enable'],
    words: ['configure', 'confirm'],
    run: (s) => (s.ctx.timer.disarm() ? '' : '%No Rollback Confirmed Change pending\n'),
  },
  { modes: ['enable'], words: ['configure', 'revert', 'now'], run: (s) => (s.ctx.timer.fire() ? '' : '%No Rollback Confirmed Change pending\n') },
  {
    modes: ['enable'],
    words: ['configure', 'revert', 'timer', '<num>'],
    run: (s, [n]) => {
      if (!s.ctx.timer.pending) return '%No Rollback Confirmed Change pending\n';
      s.ctx.timer.arm(minutes(s, n), 'configure revert timer', s.ctx.ports.snapshot());
      return '';
    },
  },
  { modes: ['enable'], words: ['write'], run: () => 'Building configuration...\n[OK]\n' },
  { modes: ['enable'], words: ['write', 'memory'], run: () => 'Building configuration...\n[OK]\n' },
  { modes: ['enable'], words: ['copy', 'running-config', 'startup-config'], run: (s) => copyRunStart(s) },
  ...stubs(EXEC, 'unsupported', ['clear', 'connect', 'debug', 'delete', 'dir', 'ping', 'reload', 'send', 'setup', 'ssh', 'systat', 'telnet', 'traceroute', 'undebug', 'verify']),
  { modes: CONFIG, words: ['interface', '<if>'], help: 'Select an interface to configure', run: (s, [p]) => s.enterInterface(p, 'config-if') },
  { modes: CONFIG, words: ['exit'], run: (s) => s.setMode(s.mode === 'config-if' ? 'config' : 'enable') },
  { modes: CONFIG, words: ['end'], run: (s) => s.setMode('enable') },
  { modes: CONFIG, words: ['do', '<rest>'], run: async (s, [rest]) => (await s.evaluate(rest, 'enable', 0)).out },
  ...stubs(['config'], 'silent', ['aaa', 'access-list', 'archive', 'banner', 'hostname', 'ip', 'line', 'logging', 'ntp', 'router', 'service', 'snmp-server', 'spanning-tree', 'username', 'vlan', 'vtp']),
  { modes: ['config-if'], words: ['shutdown'], help: 'Shutdown the selected interface', run: (s) => s.setAdmin(s.current!.name, 'down') },
  { modes: ['config-if'], words: ['no', 'shutdown'], run: (s) => s.setAdmin(s.current!.name, 'up') },
  { modes: ['config-if'], words: ['description', '<rest>'], run: (s, [d]) => (s.ctx.ports.descriptions.set(s.current!.name, d), '') },
  { modes: ['config-if'], words: ['no', 'description'], run: (s) => (s.ctx.ports.descriptions.set(s.current!.name, ''), '') },
  ...stubs(['config-if'], 'silent', ['channel-group', 'duplex', 'ip', 'mtu', 'spanning-tree', 'speed', 'storm-control', 'switchport']),
  ...['ip', 'logging', 'ntp', 'snmp-server', 'spanning-tree', 'username', 'vlan'].map((n): Cmd => ({ modes: ['config'], words: ['no', n, '<rest?>'], stub: 'silent' })),
  ...['channel-group', 'ip', 'spanning-tree', 'storm-control', 'switchport'].map((n): Cmd => ({ modes: ['config-if'], words: ['no', n, '<rest?>'], stub: 'silent' })),
];

function error(f: ParseFailure, line: string, promptLen: number, s: CliSession): string {
  switch (f.kind) {
    case 'ambiguous':
      return `% Ambiguous command:  "${line.trim()}"\n`;
    case 'incomplete':
      return '% Incomplete command.\n\n';
    case 'invalid':
      // On exec levels, an unknown single word is taken as a host name to telnet to.
      if (f.first && EXEC.includes(s.mode) && line.trim().split(/\s+/).length === 1) {
        return `Translating "${line.trim()}"\n% Unknown command or computer name, or unable to find computer address\n`;
      }
      return `${caret(promptLen, f.col)}% Invalid input detected at '^' marker.\n\n`;
  }
}

export const ios: LabPlatform = {
  name: 'cisco-ios',
  imitates: 'Cisco IOS-XE 17.9 on a Catalyst 9300 (C9300-24T)',
  hostname: HOST,
  banner: '\n',
  startMode: 'user',
  prompt: (s) => HOST + { user: '>', enable: '#', config: '(config)#', 'config-if': '(config-if)#' }[s.mode as 'user'],
  ports: IOS_PORTS,
  resolvePort: prefixResolver(IOS_PORTS, 'GigabitEthernet', /\d+\/\d+\/\d+/),
  commands: COMMANDS,
  error,
  pager: { prompt: ' --More-- ', erase: '\b'.repeat(10) + ' '.repeat(10) + '\b'.repeat(10) },
  monitorLines: (p, oper, admin, now) => {
    const t = `*${syslogStamp(now)}`;
    if (oper === 'down' && admin === 'down') {
      return [`${t}: %LINK-5-CHANGED: Interface ${p.name}, changed state to administratively down`, `${t}: %LINEPROTO-5-UPDOWN: Line protocol on Interface ${p.name}, changed state to down`];
    }
    return [`${t}: %LINK-3-UPDOWN: Interface ${p.name}, changed state to ${oper}`, `${t}: %LINEPROTO-5-UPDOWN: Line protocol on Interface ${p.name}, changed state to ${oper}`];
  },
  enable: { tries: 3, prompt: 'Password: ', failure: '% Bad secrets', toMode: 'enable' },
};
