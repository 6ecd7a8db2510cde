/**
 * Juniper Junos (an EX4300) as data for the lab CLI engine.
 * Imitates: prompts `user@host> ` and, in configuration mode, `[edit]` above `user@host# ` (scrapli
 * `juniper_junos`); the candidate configuration: `set|delete interfaces X disable` staged until `commit`
 * (`commit complete`), `rollback 0` discarding it, `exit configuration-mode` asking about uncommitted changes;
 * `commit confirmed <minutes>` (Junos CLI User Guide and the Junos XML protocol guide: "commit confirmed will
 * be automatically rolled back in N minutes unless confirmed", 1-65535 minutes, a later `commit` or `commit
 * check` confirms); errors `unknown command.`, `syntax error`, `is ambiguous` (scrapli); `---(more)---` pager
 * until `set cli screen-length 0`. Junos has no `show clock` or `show ip interface brief`: its everyday
 * equivalents `show system uptime` and `show interfaces terse` are here instead. Link messages come from
 * `monitor start messages` (SNMP_TRAP_LINK_UP/DOWN as mib2d logs them).
 */
import { DeviceSays, type Cmd, type CliSession, type LabPlatform, type ParseFailure } from '../engine';
import type { PortDef } from '../../ports';
import { pad, syslogStamp, two } from './common';

const HOST = 'vault-sw4';
const OP = ['op'];
const CFG = ['cfg'];

export const JUNOS_PORTS: PortDef[] = [
  { name: 'ge-0/0/1', short: 'ge-0/0/1', description: 'vault-repl-a', vlan: 'trunk', type: '1000BASE-SX', speedMbps: 1000, cabled: true, vault: true, defaultAdmin: 'down' },
  { name: 'ge-0/0/2', short: 'ge-0/0/2', description: 'vault-repl-b', vlan: 'trunk', type: '1000BASE-SX', speedMbps: 1000, cabled: true, vault: true, defaultAdmin: 'down' },
  { name: 'ge-0/0/3', short: 'ge-0/0/3', description: '', vlan: '1', type: '1000BASE-T', speedMbps: 1000, cabled: false, vault: false, defaultAdmin: 'up' },
];

function terseRow(s: CliSession, p: PortDef): string {
  const admin = s.ctx.ports.admin(p.name);
  const link = admin === 'up' && s.ctx.ports.operState(p.name) === 'up' ? 'up' : 'down';
  return pad(p.name, 24) + pad(admin, 6) + link;
}

function terse(s: CliSession, name?: string): string {
  const ports = name ? [s.ctx.ports.def(name)] : JUNOS_PORTS;
  return ['Interface               Admin Link Proto    Local                 Remote', ...ports.map((p) => terseRow(s, p)), ...(name ? [] : ['me0                     up    up', 'me0.0                   up    up   inet     192.168.10.4/24']), ''].join('\n');
}

function detail(s: CliSession, name: string): string {
  const p = s.ctx.ports.def(name);
  const admin = s.ctx.ports.admin(p.name);
  const link = admin === 'up' && s.ctx.ports.operState(p.name) === 'up' ? 'Up' : 'Down';
  return [
    `Physical interface: ${p.name}, ${admin === 'up' ? 'Enabled' : 'Administratively down'}, Physical link is ${link}`,
    `  Interface index: ${650 + JUNOS_PORTS.indexOf(p)}, SNMP ifIndex: ${513 + JUNOS_PORTS.indexOf(p)}`,
    ...(s.ctx.ports.descriptions.get(p.name) ? [`  Description: ${s.ctx.ports.descriptions.get(p.name)}`] : []),
    `  Link-level type: Ethernet, MTU: 1514, Speed: 1000mbps, Duplex: ${link === 'Up' ? 'Full-Duplex' : 'Auto'}, BPDU Error: None,`,
    '  Device flags   : Present Running',
    `  Interface flags: ${admin === 'up' ? 'SNMP-Traps Internal: 0x4000' : 'Down SNMP-Traps Internal: 0x4000'}`,
    `  Current address: 3c:61:04:11:22:${two(JUNOS_PORTS.indexOf(p) + 1)}, Hardware address: 3c:61:04:11:22:${two(JUNOS_PORTS.indexOf(p) + 1)}`,
    '  Last flapped   : Never',
    '',
  ].join('\n');
}

const VERSION = [
  'fpc0:',
  '--------------------------------------------------------------------------',
  `Hostname: ${HOST}`,
  'Model: ex4300-48t',
  'Junos: 21.4R3-S5.4',
  'JUNOS OS Kernel 64-bit  [20230321.be2fa8e_builder_stable_11]',
  'JUNOS OS libs [20230321.be2fa8e_builder_stable_11]',
  'JUNOS OS runtime [20230321.be2fa8e_builder_stable_11]',
  '',
].join('\n');

function uptime(): string {
  const d = new Date();
  const t = `${d.getUTCFullYear()}-${two(d.getUTCMonth() + 1)}-${two(d.getUTCDate())} ${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} UTC`;
  return `fpc0:\n--------------------------------------------------------------------------\nCurrent time: ${t}\nTime Source:  LOCAL CLOCK\nSystem booted: 2026-08-30 08:15:02 UTC (12w1d 04:05 ago)\n`;
}

function minutes(s: CliSession, n: string): number {
  const m = Number(n);
  if (!Number.isInteger(m) || m < 1 || m > 65535) throw new DeviceSays(`error: value ${n} is not within range (1..65535)\n`);
  return m * s.ctx.minuteMs;
}

/** A plain `commit` applies the candidate and confirms a pending `commit confirmed`. */
function commit(s: CliSession, confirmedMs?: number, minutesText?: string): string {
  const wasPending = s.ctx.timer.pending !== null;
  if (confirmedMs === undefined) {
    s.commitCandidate();
    s.ctx.timer.disarm();
    return wasPending ? 'commit confirmed rollback cancelled\ncommit complete\n' : 'commit complete\n';
  }
  s.commitCandidate(confirmedMs, 'commit confirmed');
  return `commit confirmed will be automatically rolled back in ${minutesText} minutes unless confirmed\ncommit complete\n`;
}

async function exitConfig(s: CliSession): Promise<string> {
  if (s.candidate.size > 0) {
    s.term.write('The configuration has been changed but not committed\nExit with uncommitted changes? [yes,no] (yes) ');
    const a = await s.term.readLine();
    if (a !== null && /^no?$/i.test(a.trim()) && a.trim() !== '') return '';
    s.candidate.clear();
  }
  s.setMode('op');
  return 'Exiting configuration mode\n\n';
}

const COMMANDS: Cmd[] = [
  { modes: OP, words: ['exit'], help: 'Exit the management session', run: (s) => s.quit() },
  { modes: OP, words: ['quit'], run: (s) => s.quit() },
  { modes: OP, words: ['set', 'cli', 'screen-length', '<num>'], help: 'Set CLI properties, date/time, craft interface message', run: (s, [n]) => ((s.pageLines = Number(n)), `Screen length set to ${n}\n`) },
  { modes: OP, words: ['set', 'cli', 'screen-width', '<num>'], run: (_s, [n]) => `Screen width set to ${n}\n` },
  { modes: OP, words: ['set', 'cli', 'complete-on-space', '<word>'], run: (_s, [v]) => `Disabling complete-on-space\n`.replace('Disabling', v === 'on' ? 'Enabling' : 'Disabling') },
  { modes: OP, words: ['show', 'interfaces', 'terse'], help: 'Show system information', run: (s) => terse(s) },
  { modes: OP, words: ['show', 'interfaces', '<if>', 'terse'], run: (s, [p]) => terse(s, p) },
  { modes: OP, words: ['show', 'interfaces', '<if>'], run: (s, [p]) => detail(s, p) },
  { modes: OP, words: ['show', 'version'], run: () => VERSION },
  { modes: OP, words: ['show', 'system', 'uptime'], run: () => uptime() },
  {
    modes: OP,
    words: ['show', 'system', 'commit'],
    run: (s) => {
      const p = s.ctx.timer.pending;
      return `${p ? `commit confirmed, rollback in ${Math.ceil((p.deadline.getTime() - Date.now()) / s.ctx.minuteMs)}mins\n` : ''}0   ${new Date().toISOString().replace('T', ' ').slice(0, 19)} UTC by ${s.ctx.username} via cli\n`;
    },
  },
  { modes: OP, words: ['monitor', 'start', 'messages'], run: (s) => s.monitor(true) },
  { modes: OP, words: ['monitor', 'stop'], run: (s) => s.monitor(false) },
  { modes: OP, words: ['configure'], help: 'Manipulate software configuration information', run: (s) => (s.setMode('cfg'), 'Entering configuration mode\n') },
  { modes: OP, words: ['configure', 'private'], run: (s) => (s.setMode('cfg'), 'warning: uncommitted changes will be discarded on exit\nEntering configuration mode\n') },
  { modes: CFG, words: ['set', 'interfaces', '<if>', 'disable'], help: 'Set a parameter', run: (s, [p]) => s.stage(p, 'down') },
  { modes: CFG, words: ['delete', 'interfaces', '<if>', 'disable'], help: 'Delete a data element', run: (s, [p]) => s.stage(p, 'up') },
  { modes: CFG, words: ['set', 'interfaces', '<if>', 'description', '<rest>'], run: (s, [p, d]) => (s.ctx.ports.descriptions.set(p, d.replace(/^"|"$/g, '')), '') },
  { modes: CFG, words: ['commit'], help: 'Commit current set of changes', run: (s) => commit(s) },
  { modes: CFG, words: ['commit', 'check'], run: (s) => (s.ctx.timer.disarm(), 'configuration check succeeds\n') },
  { modes: CFG, words: ['commit', 'confirmed', '<num>'], run: (s, [n]) => commit(s, minutes(s, n), n) },
  { modes: CFG, words: ['commit', 'confirmed'], run: (s) => commit(s, 10 * s.ctx.minuteMs, '10') },
  { modes: CFG, words: ['rollback'], help: 'Roll back to previous committed configuration', run: (s) => (s.candidate.clear(), 'load complete\n') },
  { modes: CFG, words: ['rollback', '<num>'], run: (s) => (s.candidate.clear(), 'load complete\n') },
  { modes: CFG, words: ['exit', 'configuration-mode'], help: 'Exit from this level', run: (s) => exitConfig(s) },
  { modes: CFG, words: ['exit'], run: (s) => exitConfig(s) },
  { modes: CFG, words: ['quit'], run: (s) => exitConfig(s) },
  { modes: CFG, words: ['run', '<rest>'], help: 'Run an operational-mode command', run: async (s, [rest]) => (await s.evaluate(rest, 'op', 0)).out },
  { modes: CFG, words: ['show', '<rest?>'], stub: 'silent' },
];

function error(f: ParseFailure, line: string, promptLen: number, s: CliSession): string {
  const caretLine = `${' '.repeat(promptLen + f.col)}^\n`;
  switch (f.kind) {
    case 'ambiguous': {
      const word = f.token.toLowerCase();
      const opts = [...new Set(COMMANDS.filter((c) => c.modes.includes(s.mode) && c.words[0].startsWith(word)).map((c) => c.words[0]))];
      return `${caretLine}'${f.token}' is ambiguous.\nPossible completions:\n${opts.map((o) => `  ${o}`).join('\n')}\n`;
    }
    case 'incomplete':
      return `${caretLine}syntax error, expecting <command>.\n`;
    case 'invalid':
      return f.first ? `${caretLine}unknown command.\n` : `${caretLine}syntax error.\n`;
  }
}

export const junos: LabPlatform = {
  name: 'junos',
  imitates: 'Juniper Junos 21.4R3 on an EX4300-48T',
  hostname: HOST,
  banner: '--- JUNOS 21.4R3-S5.4 Kernel 64-bit  JNPR-12.1-20230321.be2fa8e_buil\n',
  startMode: 'op',
  prompt: (s) => (s.mode === 'cfg' ? `\n[edit]\n${s.ctx.username}@${HOST}# ` : `${s.ctx.username}@${HOST}> `),
  ports: JUNOS_PORTS,
  resolvePort: (t) => JUNOS_PORTS.find((p) => p.name === t.trim().toLowerCase()),
  commands: COMMANDS,
  error,
  pager: { prompt: '---(more)---', erase: '\r' + ' '.repeat(12) + '\r' },
  monitorLines: (p, oper, admin, now) => [
    `${syslogStamp(now, false)}  ${HOST} mib2d[1873]: SNMP_TRAP_LINK_${oper === 'up' ? 'UP' : 'DOWN'}: ifIndex ${513 + JUNOS_PORTS.indexOf(p)}, ifAdminStatus ${admin}(${admin === 'up' ? 1 : 2}), ifOperStatus ${oper}(${oper === 'up' ? 1 : 2}), ifName ${p.name}`,
  ],
};
