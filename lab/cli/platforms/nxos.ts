/**
 * Cisco NX-OS (a Nexus 93180YC-FX) as data for the lab CLI engine.
 * Imitates: login straight at `host#`; `% Invalid command at '^' marker.` and its Incomplete/Ambiguous
 * siblings (scrapli `cisco_nxos/base_driver.py`); `show interface X` first lines `Ethernet1/1 is down
 * (Administratively down)` + `admin state is down, Dedicated Interface` (napalm nxos_ssh); `show interface
 * status` with Status cut to 9 characters (ntc-templates cisco_nxos); `copy running-config startup-config`
 * with its progress bar (netmiko cisco_nxos).
 * NX-OS has no `revert timer` for a plain configure terminal; its confirm-or-revert is `configure replace
 * <file> commit-timeout <30-3600 s>` (NX-OS System Management guide, "Performing Configuration Replace"),
 * which replaces the whole running config from a file. The vault uses the other tool NX-OS has for "undo this
 * at a time even if nobody is logged in": the scheduler (`feature scheduler`, `scheduler job name` holding the
 * `shutdown` lines, `scheduler schedule name` with `job name` and `time start +<minutes>`), removed by the
 * close path (`no scheduler schedule name`). Job lines are separated by ` ; ` as in the guide's examples. The
 * scheduler's exact replies are [U].
 */
import { DeviceSays, type Cmd, type CliSession, type LabPlatform, type ParseFailure } from '../engine';
import type { PortDef } from '../../ports';
import { caret, ciscoClock, pad, prefixResolver, stubs, syslogStamp } from './common';

const HOST = 'vault-sw2';
const EXEC = ['exec'];
const CONFIG = ['config', 'config-if', 'config-job', 'config-schedule'];

export const NXOS_PORTS: PortDef[] = [
  { name: 'Ethernet1/1', short: 'Eth1/1', description: 'vault-repl-a', vlan: 'trunk', type: '10Gbase-SR', speedMbps: 10000, cabled: true, vault: true, defaultAdmin: 'down' },
  { name: 'Ethernet1/2', short: 'Eth1/2', description: 'vault-repl-b', vlan: 'trunk', type: '10Gbase-SR', speedMbps: 10000, cabled: true, vault: true, defaultAdmin: 'down' },
  { name: 'Ethernet1/3', short: 'Eth1/3', description: '', vlan: '1', type: '10Gbase-SR', speedMbps: 10000, cabled: false, vault: false, defaultAdmin: 'up' },
];

interface Scheduler {
  enabled: boolean;
  jobs: Map<string, string[]>;
  schedules: Map<string, { job?: string }>;
}

function sched(s: CliSession): Scheduler {
  let v = s.ctx.store.get('scheduler') as Scheduler | undefined;
  if (!v) s.ctx.store.set('scheduler', (v = { enabled: false, jobs: new Map(), schedules: new Map() }));
  return v;
}

function needFeature(s: CliSession): Scheduler {
  const sc = sched(s);
  if (!sc.enabled) throw new DeviceSays(`% Invalid command at '^' marker. (feature scheduler is not enabled)\n`);
  return sc;
}

/** `+MM`, `+HH:MM` or `+DD:HH:MM` → minutes (NX-OS `time start` delta). */
function deltaMinutes(text: string): number {
  const m = /^\+(?:(?:(\d+):)?(\d+):)?(\d+)$/.exec(text);
  if (!m) throw new DeviceSays(`% Invalid time: use +[[dd:]hh:]mm\n`);
  return Number(m[1] ?? 0) * 1440 + Number(m[2] ?? 0) * 60 + Number(m[3]);
}

async function runJob(s: CliSession, name: string): Promise<void> {
  const lines = sched(s).jobs.get(name) ?? [];
  // A job line is a sequence of commands separated by ` ; `, run from exec mode with no session attached.
  const saved = { mode: s.mode, current: s.current };
  s.mode = 'exec';
  for (const line of lines) for (const cmd of line.split(/\s+;\s+/)) await s.evaluate(cmd, s.mode, 0);
  s.mode = saved.mode;
  s.current = saved.current;
}

function status(s: CliSession, p: PortDef): string {
  if (s.ctx.ports.admin(p.name) === 'down') return 'disabled';
  if (!p.cabled) return 'notconnec';
  return s.ctx.ports.operState(p.name) === 'up' ? 'connected' : 'notconnec';
}

function showStatus(s: CliSession): string {
  const dash = '-'.repeat(80);
  const rows = NXOS_PORTS.map((p) => {
    const up = status(s, p) === 'connected';
    return pad(p.short, 14) + pad((s.ctx.ports.descriptions.get(p.name) ?? '--').slice(0, 18) || '--', 19) + pad(status(s, p), 10) + pad(p.vlan, 9) + pad(up ? 'full' : 'auto', 8) + pad(up ? '10G' : 'auto', 8) + p.type;
  });
  return [dash, 'Port          Name               Status    Vlan     Duplex  Speed   Type', dash, ...rows, ''].join('\n');
}

function showInterface(s: CliSession, name: string): string {
  const p = s.ctx.ports.def(name);
  const admin = s.ctx.ports.admin(p.name);
  const oper = s.ctx.ports.operState(p.name);
  const first = admin === 'down' ? `${p.name} is down (Administratively down)` : oper === 'up' ? `${p.name} is up` : `${p.name} is down (Link not connected)`;
  const desc = s.ctx.ports.descriptions.get(p.name);
  return [
    first,
    `admin state is ${admin}, Dedicated Interface`,
    `  Hardware: 100/1000/10000/25000 Ethernet, address: 00de.fb11.22${p.short.slice(-1).padStart(2, '0')} (bia 00de.fb11.22${p.short.slice(-1).padStart(2, '0')})`,
    ...(desc ? [`  Description: ${desc}`] : []),
    '  MTU 1500 bytes, BW 10000000 Kbit , DLY 10 usec',
    '  reliability 255/255, txload 1/255, rxload 1/255',
    '  Encapsulation ARPA, medium is broadcast',
    `  Port mode is trunk`,
    `  ${oper === 'up' ? 'full-duplex, 10 Gb/s' : 'auto-duplex, auto-speed'}, media type is 10G`,
    '  Beacon is turned off',
    '  Auto-Negotiation is turned on  FEC mode is Auto',
    '  Input flow-control is off, output flow-control is off',
    '  Last link flapped never',
    '  Last clearing of "show interface" counters never',
    '',
  ].join('\n');
}

function ipBrief(): string {
  return ['IP Interface Status for VRF "default"(1)', 'Interface            IP Address      Interface Status', 'Vlan100              10.20.0.2       protocol-up/link-up/admin-up', ''].join('\n');
}

const VERSION = [
  'Cisco Nexus Operating System (NX-OS) Software',
  'TAC support: http://www.cisco.com/tac',
  'Copyright (C) 2002-2023, Cisco and/or its affiliates.',
  '',
  'Software',
  '  BIOS: version 05.47',
  '  NXOS: version 10.3(4a) [Maintenance Release]',
  '  NXOS image file is: bootflash:///nxos64-cs.10.3.4a.M.bin',
  '',
  'Hardware',
  '  cisco Nexus9000 C93180YC-FX Chassis',
  '  Intel(R) Xeon(R) CPU D-1528 @ 1.90GHz with 24632252 kB of memory.',
  '  Processor Board ID FDO23120ABC',
  '',
  `  Device name: ${HOST}`,
  '  bootflash:  115805708 kB',
  '',
  'Kernel uptime is 84 day(s), 4 hour(s), 5 minute(s), 6 second(s)',
  '',
].join('\n');

const COMMANDS: Cmd[] = [
  ...['exit', 'logout'].map((w): Cmd => ({ modes: EXEC, words: [w], help: 'Exit from the EXEC', run: (s) => s.quit() })),
  { modes: EXEC, words: ['terminal', 'length', '<num>'], help: 'Set terminal line parameters', run: (s, [n]) => ((s.pageLines = Number(n)), '') },
  { modes: EXEC, words: ['terminal', 'width', '<num>'], run: () => '' },
  { modes: EXEC, words: ['terminal', 'monitor'], run: (s) => s.monitor(true) },
  { modes: EXEC, words: ['terminal', 'no', 'monitor'], run: (s) => s.monitor(false) },
  { modes: EXEC, words: ['show', 'interface', 'status'], help: 'Show running system information', run: (s) => showStatus(s) },
  { modes: EXEC, words: ['show', 'interface', '<if>'], run: (s, [p]) => showInterface(s, p) },
  { modes: EXEC, words: ['show', 'ip', 'interface', 'brief'], run: () => ipBrief() },
  { modes: EXEC, words: ['show', 'version'], run: () => VERSION },
  { modes: EXEC, words: ['show', 'clock'], run: () => `${ciscoClock(new Date())}\nTime source is local\n` },
  {
    modes: EXEC,
    words: ['show', 'scheduler', 'schedule'],
    run: (s) => {
      const sc = needFeature(s);
      const p = s.ctx.timer.pending;
      return [...sc.schedules.entries()].map(([n, v]) => `Schedule Name       : ${n}\n-------------------------------\nUser Name           : ${s.ctx.username}\nSchedule Type       : Run once on ${p ? ciscoClock(p.deadline) : '(expired)'}\nJob Name            : ${v.job ?? ''}\n`).join('\n') || 'No schedules configured\n';
    },
  },
  { modes: EXEC, words: ['configure', 'terminal'], help: 'Enter configuration mode', run: (s) => (s.setMode('config'), 'Enter configuration commands, one per line. End with CNTL/Z.\n') },
  { modes: EXEC, words: ['copy', 'running-config', 'startup-config'], run: () => '[########################################] 100%\nCopy complete, now saving to disk (please wait)...\nCopy complete.\n' },
  ...stubs(EXEC, 'unsupported', ['clear', 'debug', 'delete', 'dir', 'ping', 'reload', 'ssh', 'telnet', 'traceroute']),
  { modes: ['config', 'config-if'], words: ['interface', '<if>'], help: 'Configure interfaces', run: (s, [p]) => s.enterInterface(p, 'config-if') },
  { modes: CONFIG, words: ['exit'], run: (s) => s.setMode(s.mode === 'config' ? 'exec' : 'config') },
  { modes: CONFIG, words: ['end'], run: (s) => s.setMode('exec') },
  { modes: ['config'], words: ['feature', 'scheduler'], run: (s) => ((sched(s).enabled = true), '') },
  { modes: ['config'], words: ['scheduler', 'job', 'name', '<word>'], run: (s, [n]) => (needFeature(s).jobs.set(n, []), s.scratch.set('job', n), s.setMode('config-job')) },
  {
    modes: ['config'],
    words: ['scheduler', 'schedule', 'name', '<word>'],
    run: (s, [n]) => {
      const sc = needFeature(s);
      if (!sc.schedules.has(n)) sc.schedules.set(n, {});
      s.scratch.set('schedule', n);
      return s.setMode('config-schedule');
    },
  },
  {
    modes: ['config'],
    words: ['no', 'scheduler', 'schedule', 'name', '<word>'],
    run: (s, [n]) => {
      const sc = needFeature(s);
      if (!sc.schedules.delete(n)) throw new DeviceSays(`ERROR: Schedule ${n} does not exist\n`);
      s.ctx.timer.disarm();
      return '';
    },
  },
  { modes: ['config'], words: ['no', 'scheduler', 'job', 'name', '<word>'], run: (s, [n]) => (needFeature(s).jobs.delete(n), '') },
  { modes: ['config-job'], words: ['<rest>'], run: (s, [line]) => (sched(s).jobs.get(s.scratch.get('job') as string)!.push(line), '') },
  { modes: ['config-schedule'], words: ['job', 'name', '<word>'], run: (s, [j]) => ((sched(s).schedules.get(s.scratch.get('schedule') as string)!.job = j), '') },
  {
    modes: ['config-schedule'],
    words: ['time', 'start', '<word>'],
    run: (s, [t]) => {
      const name = s.scratch.get('schedule') as string;
      const sc = sched(s).schedules.get(name)!;
      if (!sc.job) throw new DeviceSays('ERROR: no job attached to this schedule\n');
      const job = sc.job;
      s.ctx.timer.arm(deltaMinutes(t) * s.ctx.minuteMs, `scheduler schedule ${name}`, () => {
        sched(s).schedules.delete(name);
        void runJob(s, job);
      });
      return `Schedule starts from ${ciscoClock(new Date(Date.now() + deltaMinutes(t) * s.ctx.minuteMs))}\n`;
    },
  },
  ...stubs(['config'], 'silent', ['hostname', 'ip', 'logging', 'ntp', 'snmp-server', 'spanning-tree', 'username', 'vlan']),
  { modes: ['config-if'], words: ['shutdown'], help: 'Enable/disable an interface', run: (s) => s.setAdmin(s.current!.name, 'down') },
  { modes: ['config-if'], words: ['no', 'shutdown'], run: (s) => s.setAdmin(s.current!.name, 'up') },
  { modes: ['config-if'], words: ['description', '<rest>'], run: (s, [d]) => (s.ctx.ports.descriptions.set(s.current!.name, d), '') },
  ...stubs(['config-if'], 'silent', ['channel-group', 'mtu', 'speed', 'switchport']),
];

function error(f: ParseFailure, _line: string, promptLen: number): string {
  const word = { ambiguous: 'Ambiguous', incomplete: 'Incomplete', invalid: 'Invalid' }[f.kind];
  return `${caret(promptLen, f.col)}% ${word} command at '^' marker.\n\n`;
}

export const nxos: LabPlatform = {
  name: 'cisco-nxos',
  imitates: 'Cisco NX-OS 10.3 on a Nexus 93180YC-FX',
  hostname: HOST,
  banner: '\nCisco Nexus Operating System (NX-OS) Software\nTAC support: http://www.cisco.com/tac\n',
  startMode: 'exec',
  prompt: (s) =>
    HOST +
    ({ exec: '# ', config: '(config)# ', 'config-if': '(config-if)# ', 'config-job': '(config-job)# ', 'config-schedule': '(config-schedule)# ' } as Record<string, string>)[s.mode],
  ports: NXOS_PORTS,
  resolvePort: prefixResolver(NXOS_PORTS, 'Ethernet', /\d+\/\d+/),
  commands: COMMANDS,
  error,
  pager: { prompt: ' --More-- ', erase: '\b'.repeat(10) + ' '.repeat(10) + '\b'.repeat(10) },
  monitorLines: (p, oper, admin, now) => [
    oper === 'up'
      ? `${now.getUTCFullYear()} ${syslogStamp(now, false)} ${HOST} %ETHPORT-5-IF_UP: Interface ${p.name} is up in mode trunk`
      : `${now.getUTCFullYear()} ${syslogStamp(now, false)} ${HOST} %ETHPORT-5-IF_DOWN_${admin === 'down' ? 'ADMIN_DOWN' : 'LINK_FAILURE'}: Interface ${p.name} is down (${admin === 'down' ? 'Administratively down' : 'Link failure'})`,
  ],
};
