/**
 * Arista EOS (a 7050SX3) as data for the lab CLI engine.
 * Imitates: Cisco-like prompts and modes, `% Invalid input`, `% Incomplete command`, `% Ambiguous command`
 * (scrapli `arista_eos`); `show interfaces X` first line `Ethernet1 is up, line protocol is up (connected)`;
 * configuration sessions (EOS User Manual, "Configure Session"; Arista EOS Central "Config Session Commit
 * Timer"): `configure session <name>` stages changes, `commit` applies them, `commit timer hh:mm:ss` applies
 * them and rolls back at the end of the timer unless `configure session <name> commit` confirms them;
 * `configure session <name> abort` rolls back at once. Reply texts of the timer commands are [U].
 */
import { DeviceSays, type Cmd, type CliSession, type LabPlatform, type ParseFailure } from '../engine';
import type { PortDef } from '../../ports';
import { eosClock, pad, prefixResolver, stubs, syslogStamp, two } from './common';

const HOST = 'vault-sw3';
const EXEC = ['user', 'enable'];
const CONFIG = ['config', 'config-if', 'config-s', 'config-s-if'];

export const EOS_PORTS: PortDef[] = [
  { name: 'Ethernet1', short: 'Et1', description: 'vault-repl-a', vlan: 'trunk', type: '10GBASE-SR', speedMbps: 10000, cabled: true, vault: true, defaultAdmin: 'down' },
  { name: 'Ethernet2', short: 'Et2', description: 'vault-repl-b', vlan: 'trunk', type: '10GBASE-SR', speedMbps: 10000, cabled: true, vault: true, defaultAdmin: 'down' },
  { name: 'Ethernet3', short: 'Et3', description: '', vlan: '1', type: '10GBASE-SR', speedMbps: 10000, cabled: false, vault: false, defaultAdmin: 'up' },
];

interface Session {
  name: string;
  staged: Map<string, 'up' | 'down'>;
  /** Committed with a timer, waiting for the confirming commit. */
  pendingTimer: boolean;
}

function sessions(s: CliSession): Map<string, Session> {
  let v = s.ctx.store.get('sessions') as Map<string, Session> | undefined;
  if (!v) s.ctx.store.set('sessions', (v = new Map()));
  return v;
}

function current(s: CliSession): Session {
  return sessions(s).get(s.scratch.get('session') as string)!;
}

function hms(text: string): number {
  const m = /^(\d{1,2}):(\d{2}):(\d{2})$/.exec(text);
  if (!m) throw new DeviceSays(`% Invalid input (at token 2: '${text}')\n`);
  return (Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3])) * 1000;
}

function enterSession(s: CliSession, name: string): string {
  const all = sessions(s);
  const sess = all.get(name);
  if (sess?.pendingTimer) throw new DeviceSays(`% Cannot enter session ${name} (session is pending commit timer)\n`);
  if (!sess) all.set(name, { name, staged: new Map(), pendingTimer: false });
  s.scratch.set('session', name);
  return s.setMode('config-s');
}

/** Applies the session's staged lines; with a timer, the state before is restored unless confirmed in time. */
function commit(s: CliSession, timerMs?: number): string {
  const sess = current(s);
  const before = s.ctx.ports.snapshot();
  s.candidate = new Map(sess.staged);
  s.commitCandidate();
  sess.staged.clear();
  if (timerMs !== undefined) {
    // At the end of the timer the session's changes are rolled back and the session is gone.
    s.ctx.timer.arm(timerMs, `configure session ${sess.name} commit timer`, () => {
      s.ctx.ports.restore(before);
      sessions(s).delete(sess.name);
    });
  }
  if (timerMs === undefined) sessions(s).delete(sess.name);
  else sess.pendingTimer = true;
  return s.setMode('enable');
}

function status(s: CliSession, p: PortDef): string {
  if (s.ctx.ports.admin(p.name) === 'down') return 'disabled';
  return s.ctx.ports.operState(p.name) === 'up' ? 'connected' : 'notconnect';
}

function showInterface(s: CliSession, name: string): string {
  const p = s.ctx.ports.def(name);
  const admin = s.ctx.ports.admin(p.name);
  const oper = s.ctx.ports.operState(p.name);
  const first = admin === 'down' ? `${p.name} is administratively down, line protocol is down (disabled)` : `${p.name} is up, line protocol is ${oper} (${oper === 'up' ? 'connected' : 'notconnect'})`;
  const desc = s.ctx.ports.descriptions.get(p.name);
  return [
    first,
    `  Hardware is Ethernet, address is 2899.3a11.22${two(Number(p.short.slice(2)))} (bia 2899.3a11.22${two(Number(p.short.slice(2)))})`,
    ...(desc ? [`  Description: ${desc}`] : []),
    '  Ethernet MTU 9214 bytes , BW 10000000 kbit',
    `  ${oper === 'up' ? 'Full-duplex, 10Gb/s' : 'Unknown-duplex, Unconfigured-speed'}, auto negotiation: off, uni-link: n/a`,
    '  Loopback Mode : None',
    '  0 link status changes since last clear',
    '  Last clearing of "show interface" counters never',
    '',
  ].join('\n');
}

function showStatus(s: CliSession): string {
  const rows = EOS_PORTS.map((p) => {
    const up = status(s, p) === 'connected';
    return pad(p.short, 10) + pad(s.ctx.ports.descriptions.get(p.name) ?? '', 13) + pad(status(s, p), 11) + pad(p.vlan, 9) + pad(up ? 'full' : 'auto', 8) + pad(up ? '10G' : 'auto', 7) + p.type;
  });
  return ['Port      Name         Status     Vlan     Duplex  Speed  Type         Flags Encapsulation', ...rows, ''].join('\n');
}

function ipBrief(s: CliSession): string {
  return [
    '                                                                        Address',
    'Interface         IP Address            Status       Protocol          MTU    Owner',
    '----------------- --------------------- ------------ -------------- ---------- -------',
    'Management1       192.168.10.3/24       up           up                1500',
    `Vlan100           10.20.0.3/24          up           ${EOS_PORTS.some((p) => s.ctx.ports.operState(p.name) === 'up') ? 'up' : 'lowerlayerdown'}              9164`,
    '',
  ].join('\n');
}

const VERSION = [
  'Arista DCS-7050SX3-48YC8-R',
  'Hardware version: 11.02',
  'Serial number: JPE20481234',
  'Hardware MAC address: 2899.3a11.2200',
  'System MAC address: 2899.3a11.2200',
  '',
  'Software image version: 4.30.5M',
  'Architecture: x86_64',
  'Internal build version: 4.30.5M-35079048.4305M',
  '',
  'Uptime: 12 weeks, 3 days, 4 hours and 5 minutes',
  'Total memory: 32817756 kB',
  'Free memory: 26409924 kB',
  '',
].join('\n');

const inSession = (s: CliSession) => s.mode.startsWith('config-s');

const COMMANDS: Cmd[] = [
  { modes: EXEC, words: ['enable'], help: 'Turn on privileged commands', run: (s) => s.enable() },
  { modes: ['enable'], words: ['disable'], run: (s) => s.setMode('user') },
  ...['exit', 'logout', 'quit'].map((w): Cmd => ({ modes: EXEC, words: [w], help: 'Leave the CLI', run: (s) => s.quit() })),
  { modes: EXEC, words: ['terminal', 'length', '<num>'], help: 'Set terminal parameters', run: (s, [n]) => ((s.pageLines = Number(n)), '') },
  { modes: EXEC, words: ['terminal', 'width', '<num>'], run: () => '' },
  { modes: EXEC, words: ['terminal', 'monitor'], run: (s) => s.monitor(true) },
  { modes: EXEC, words: ['no', 'terminal', 'monitor'], run: (s) => s.monitor(false) },
  { modes: EXEC, words: ['show', 'interfaces', 'status'], help: 'Display details about switch operation', run: (s) => showStatus(s) },
  { modes: EXEC, words: ['show', 'interfaces', '<if>'], run: (s, [p]) => showInterface(s, p) },
  { modes: EXEC, words: ['show', 'ip', 'interface', 'brief'], run: (s) => ipBrief(s) },
  { modes: EXEC, words: ['show', 'version'], run: () => VERSION },
  { modes: EXEC, words: ['show', 'clock'], run: () => `${eosClock(new Date())}\nTimezone: UTC\nClock source: local\n` },
  {
    modes: ['enable'],
    words: ['show', 'configuration', 'sessions'],
    run: (s) => {
      const rows = [...sessions(s).values()].map((x) => `  ${pad(x.name, 12)}${x.pendingTimer ? 'pendingCommitTimer' : 'pending'}`);
      const t = s.ctx.timer.pending;
      return ['Maximum number of completed sessions: 1', 'Maximum number of pending sessions: 5', '', '  Name        State', '  ----------- ------------------', ...rows, ...(t ? [`Commit timer expires at ${eosClock(t.deadline)}`] : []), ''].join('\n');
    },
  },
  { modes: ['enable'], words: ['configure'], help: 'Enter configuration mode', run: (s) => s.setMode('config') },
  { modes: ['enable'], words: ['configure', 'terminal'], run: (s) => s.setMode('config') },
  { modes: ['enable'], words: ['configure', 'session', '<word>'], run: (s, [n]) => enterSession(s, n) },
  {
    modes: ['enable'],
    words: ['configure', 'session', '<word>', 'commit'],
    run: (s, [n]) => {
      const sess = sessions(s).get(n);
      if (!sess?.pendingTimer) throw new DeviceSays(`% Cannot commit session ${n}: no commit timer pending\n`);
      s.ctx.timer.disarm();
      sessions(s).delete(n);
      return '';
    },
  },
  {
    modes: ['enable'],
    words: ['configure', 'session', '<word>', 'abort'],
    run: (s, [n]) => {
      const sess = sessions(s).get(n);
      if (!sess) throw new DeviceSays(`% Session ${n} not found\n`);
      if (sess.pendingTimer) s.ctx.timer.fire();
      sessions(s).delete(n);
      return '';
    },
  },
  { modes: ['enable'], words: ['copy', 'running-config', 'startup-config'], run: () => 'Copy completed successfully.\n' },
  { modes: ['enable'], words: ['write', 'memory'], run: () => 'Copy completed successfully.\n' },
  ...stubs(EXEC, 'unsupported', ['bash', 'clear', 'debug', 'delete', 'dir', 'ping', 'reload', 'ssh', 'telnet', 'traceroute']),
  { modes: CONFIG, words: ['interface', '<if>'], help: 'Interface Configuration', run: (s, [p]) => s.enterInterface(p, inSession(s) ? 'config-s-if' : 'config-if') },
  { modes: CONFIG, words: ['exit'], run: (s) => s.setMode(s.mode === 'config-if' ? 'config' : s.mode === 'config-s-if' ? 'config-s' : 'enable') },
  // `end` in a session leaves it pending, uncommitted, as EOS does.
  { modes: CONFIG, words: ['end'], run: (s) => s.setMode('enable') },
  { modes: ['config-s', 'config-s-if'], words: ['commit'], help: 'Commit the session', run: (s) => commit(s) },
  { modes: ['config-s', 'config-s-if'], words: ['commit', 'timer', '<word>'], run: (s, [t]) => commit(s, hms(t)) },
  { modes: ['config-s', 'config-s-if'], words: ['abort'], run: (s) => (sessions(s).delete(current(s).name), s.setMode('enable')) },
  ...stubs(['config', 'config-s'], 'silent', ['hostname', 'ip', 'logging', 'ntp', 'snmp-server', 'spanning-tree', 'username', 'vlan']),
  { modes: ['config-if'], words: ['shutdown'], help: 'Disable the interface', run: (s) => s.setAdmin(s.current!.name, 'down') },
  { modes: ['config-if'], words: ['no', 'shutdown'], run: (s) => s.setAdmin(s.current!.name, 'up') },
  { modes: ['config-s-if'], words: ['shutdown'], run: (s) => (current(s).staged.set(s.current!.name, 'down'), '') },
  { modes: ['config-s-if'], words: ['no', 'shutdown'], run: (s) => (current(s).staged.set(s.current!.name, 'up'), '') },
  { modes: ['config-if', 'config-s-if'], words: ['description', '<rest>'], run: (s, [d]) => (s.ctx.ports.descriptions.set(s.current!.name, d), '') },
  ...stubs(['config-if', 'config-s-if'], 'silent', ['channel-group', 'mtu', 'speed', 'switchport']),
];

function error(f: ParseFailure): string {
  switch (f.kind) {
    case 'ambiguous':
      return `% Ambiguous command\n`;
    case 'incomplete':
      return '% Incomplete command\n';
    case 'invalid':
      return `% Invalid input\n`;
  }
}

function prompt(s: CliSession): string {
  const sess = (s.scratch.get('session') as string | undefined)?.slice(0, 6) ?? '';
  const short = s.current?.short ?? '';
  const suffix: Record<string, string> = {
    user: '>',
    enable: '#',
    config: '(config)#',
    'config-if': `(config-if-${short})#`,
    'config-s': `(config-s-${sess})#`,
    'config-s-if': `(config-s-${sess}-if-${short})#`,
  };
  return HOST + suffix[s.mode];
}

export const eos: LabPlatform = {
  name: 'arista-eos',
  imitates: 'Arista EOS 4.30 on a 7050SX3',
  hostname: HOST,
  banner: '\n',
  startMode: 'user',
  prompt,
  ports: EOS_PORTS,
  resolvePort: prefixResolver(EOS_PORTS, 'Ethernet', /\d+/),
  commands: COMMANDS,
  error,
  pager: { prompt: ' --More-- ', erase: '\b'.repeat(10) + ' '.repeat(10) + '\b'.repeat(10) },
  monitorLines: (p, oper, _admin, now) => [
    `${syslogStamp(now, false)} ${HOST} Ebra: %LINEPROTO-5-UPDOWN: Line protocol on Interface ${p.name} (${s(p)}), changed state to ${oper}`,
  ],
  enable: { tries: 1, prompt: 'Password: ', failure: '% Access denied', toMode: 'enable' },
};

function s(p: PortDef): string {
  return p.description || p.short;
}
