/**
 * A Cisco IOS(-XE) CLI interpreter for the vault switch: modes, unique-prefix keyword matching, IOS's error
 * lines, and the few commands the drivers use (docs/lab-protocol.md "Switch"). Only the port state is real;
 * many other keywords exist only so that abbreviations are as (un)ambiguous as on a real switch.
 */
import type { Faults } from './faults';
import { PORTS, resolvePort, type PortDef, type SwitchPorts } from './ports';
import type { DeviceHandler, Terminal } from './ssh-server';

type Mode = 'user' | 'enable' | 'config' | 'config-if';
const EXEC: Mode[] = ['user', 'enable'];
const CONFIG: Mode[] = ['config', 'config-if'];

/** Placeholders: <if> an interface (one or two tokens), <num>, <rest> the rest of the line, <rest?> optional. */
interface Cmd {
  modes: Mode[];
  words: string[];
  run?: (s: IosSession, args: string[]) => Promise<string> | string;
  /** Stubs: real IOS keywords the lab does not model. */
  stub?: 'silent' | 'unsupported';
}

export interface IosContext {
  hostname: string;
  ports: SwitchPorts;
  faults: Faults;
  enableSecret: string;
  log: (line: string) => void;
}

const NOT_IN_LAB = '% This command is not available in the lab simulator.\n';

function stubs(modes: Mode[], stub: 'silent' | 'unsupported', names: string[]): Cmd[] {
  return names.map((n) => ({ modes, words: [n, '<rest?>'], stub }));
}

const COMMANDS: Cmd[] = [
  { modes: EXEC, words: ['enable'], run: (s) => s.enable() },
  { modes: ['enable'], words: ['disable'], run: (s) => s.setMode('user') },
  ...['exit', 'logout', 'quit'].map((w): Cmd => ({ modes: EXEC, words: [w], run: (s) => s.quit() })),
  { modes: EXEC, words: ['terminal', 'length', '<num>'], run: () => '' },
  { modes: EXEC, words: ['terminal', 'width', '<num>'], run: () => '' },
  { modes: EXEC, words: ['terminal', 'monitor'], run: () => '' },
  { modes: EXEC, words: ['show', 'interfaces', 'status'], run: (s) => s.showStatus() },
  { modes: EXEC, words: ['show', 'interfaces', '<if>'], run: (s, [p]) => s.showInterface(p) },
  { modes: EXEC, words: ['show', 'version'], run: (s) => s.showVersion() },
  { modes: ['enable'], words: ['show', 'running-config'], run: (s) => s.showRun() },
  { modes: ['enable'], words: ['show', 'running-config', 'interface', '<if>'], run: (s, [p]) => s.showRun(p) },
  { modes: ['enable'], words: ['configure', 'terminal'], run: (s) => s.configure() },
  { modes: ['enable'], words: ['write'], run: () => 'Building configuration...\n[OK]\n' },
  { modes: ['enable'], words: ['write', 'memory'], run: () => 'Building configuration...\n[OK]\n' },
  { modes: ['enable'], words: ['copy', 'running-config', 'startup-config'], run: (s) => s.copyRunStart() },
  ...stubs(EXEC, 'unsupported', ['clear', 'clock', 'connect', 'debug', 'delete', 'dir', 'ping', 'reload', 'send', 'setup', 'ssh', 'systat', 'telnet', 'traceroute', 'undebug', 'verify']),
  { modes: CONFIG, words: ['interface', '<if>'], run: (s, [p]) => s.enterInterface(p) },
  { modes: CONFIG, words: ['exit'], run: (s) => s.setMode(s.mode === 'config-if' ? 'config' : 'enable') },
  { modes: CONFIG, words: ['end'], run: (s) => s.setMode('enable') },
  { modes: CONFIG, words: ['do', '<rest>'], run: (s, [rest]) => s.doExec(rest) },
  ...stubs(['config'], 'silent', ['aaa', 'access-list', 'banner', 'hostname', 'ip', 'line', 'logging', 'ntp', 'router', 'service', 'snmp-server', 'spanning-tree', 'username', 'vlan', 'vtp']),
  { modes: ['config-if'], words: ['shutdown'], run: (s) => s.setAdmin('down') },
  { modes: ['config-if'], words: ['no', 'shutdown'], run: (s) => s.setAdmin('up') },
  { modes: ['config-if'], words: ['description', '<rest>'], run: (s, [d]) => s.describe(d) },
  { modes: ['config-if'], words: ['no', 'description'], run: (s) => s.describe('') },
  ...stubs(['config-if'], 'silent', ['channel-group', 'duplex', 'ip', 'mtu', 'spanning-tree', 'speed', 'storm-control', 'switchport']),
  ...['ip', 'logging', 'ntp', 'snmp-server', 'spanning-tree', 'username', 'vlan'].map((n): Cmd => ({ modes: ['config'], words: ['no', n, '<rest?>'], stub: 'silent' })),
  ...['channel-group', 'ip', 'spanning-tree', 'storm-control', 'switchport'].map((n): Cmd => ({ modes: ['config-if'], words: ['no', n, '<rest?>'], stub: 'silent' })),
];

interface Token {
  text: string;
  col: number;
}

type Parsed =
  | { kind: 'ok'; cmd: Cmd; args: string[] }
  | { kind: 'ambiguous' }
  | { kind: 'incomplete' }
  | { kind: 'invalid'; col: number; first: boolean };

function parse(line: string, mode: Mode): Parsed {
  const tokens: Token[] = [...line.matchAll(/\S+/g)].map((m) => ({ text: m[0], col: m.index }));
  let viable = COMMANDS.filter((c) => c.modes.includes(mode));
  const args: string[] = [];
  let i = 0;
  let pos = 0;
  while (i < tokens.length) {
    const tok = tokens[i];
    const lower = tok.text.toLowerCase();
    const atPos = viable.filter((c) => pos < c.words.length);
    const literal = atPos.filter((c) => !c.words[pos].startsWith('<') && c.words[pos].startsWith(lower));
    const exact = literal.filter((c) => c.words[pos] === lower);
    const keywords = new Set(literal.map((c) => c.words[pos]));
    if (exact.length > 0 || keywords.size === 1) {
      viable = exact.length > 0 ? exact : literal;
      i += 1;
    } else if (keywords.size > 1) {
      return { kind: 'ambiguous' };
    } else {
      // No keyword fits: try the placeholders.
      const rest = atPos.filter((c) => c.words[pos].startsWith('<rest'));
      const iface = atPos.filter((c) => c.words[pos] === '<if>');
      const num = atPos.filter((c) => c.words[pos] === '<num>');
      if (rest.length > 0) {
        args.push(line.slice(tok.col).trim());
        viable = rest;
        i = tokens.length;
      } else if (iface.length > 0 && resolvePort(tok.text)) {
        args.push(resolvePort(tok.text)!.name);
        viable = iface;
        i += 1;
      } else if (iface.length > 0 && i + 1 < tokens.length && resolvePort(tok.text + tokens[i + 1].text)) {
        args.push(resolvePort(tok.text + tokens[i + 1].text)!.name);
        viable = iface;
        i += 2;
      } else if (num.length > 0 && /^\d+$/.test(tok.text)) {
        args.push(tok.text);
        viable = num;
        i += 1;
      } else {
        return { kind: 'invalid', col: tok.col, first: i === 0 };
      }
    }
    pos += 1;
  }
  const complete = viable.find((c) => c.words.length === pos || (c.words.length === pos + 1 && c.words[pos] === '<rest?>'));
  return complete ? { kind: 'ok', cmd: complete, args } : { kind: 'incomplete' };
}

function pad(s: string, n: number): string {
  return s.padEnd(n);
}

export class IosSession {
  mode: Mode = 'user';
  current: PortDef | null = null;
  done = false;

  constructor(
    private readonly ctx: IosContext,
    private readonly term: Terminal,
  ) {}

  prompt(): string {
    const suffix = { user: '>', enable: '#', config: '(config)#', 'config-if': '(config-if)#' }[this.mode];
    return this.ctx.hostname + suffix;
  }

  /** Runs one input line; returns the output to print and whether it was an error. */
  async run(line: string, promptLen: number): Promise<{ out: string; error: boolean; exitCode?: number }> {
    if (line.trim() === '') return { out: '', error: false };
    const fault = this.ctx.faults.take('switch', line.trim());
    if (fault) {
      this.ctx.log(`switch: fault injected for "${line.trim()}"`);
      return { out: fault.output.endsWith('\n') || fault.output === '' ? fault.output : fault.output + '\n', error: true, exitCode: fault.exitCode };
    }
    return this.evaluate(line, this.mode, promptLen);
  }

  private async evaluate(line: string, mode: Mode, promptLen: number): Promise<{ out: string; error: boolean }> {
    const p = parse(line, mode);
    switch (p.kind) {
      case 'ambiguous':
        return { out: `% Ambiguous command:  "${line.trim()}"\n`, error: true };
      case 'incomplete':
        return { out: '% Incomplete command.\n\n', error: true };
      case 'invalid':
        // On exec levels, an unknown single word is taken as a host name to telnet to.
        if (p.first && EXEC.includes(mode) && line.trim().split(/\s+/).length === 1) {
          return { out: `Translating "${line.trim()}"\n% Unknown command or computer name, or unable to find computer address\n`, error: true };
        }
        return { out: `${' '.repeat(promptLen + p.col)}^\n% Invalid input detected at '^' marker.\n\n`, error: true };
      case 'ok':
        if (p.cmd.stub === 'unsupported') return { out: NOT_IN_LAB, error: true };
        if (p.cmd.stub === 'silent') return { out: '', error: false };
        return { out: await p.cmd.run!(this, p.args), error: false };
    }
  }

  setMode(mode: Mode): string {
    this.mode = mode;
    if (mode !== 'config-if') this.current = null;
    return '';
  }

  quit(): string {
    this.done = true;
    return '';
  }

  async enable(): Promise<string> {
    if (this.mode === 'enable') return '';
    this.term.write('Password: ');
    const pw = await this.term.readLine({ echo: false });
    if (pw === null) return '';
    if (pw !== this.ctx.enableSecret) return '% Access denied\n\n';
    this.mode = 'enable';
    return '';
  }

  configure(): string {
    this.mode = 'config';
    return 'Enter configuration commands, one per line.  End with CNTL/Z.\n';
  }

  enterInterface(name: string): string {
    this.current = PORTS.find((p) => p.name === name)!;
    this.mode = 'config-if';
    return '';
  }

  async doExec(rest: string): Promise<string> {
    // `do` runs an exec command from config mode; the caret column is not worth reproducing here.
    const r = await this.evaluate(rest, 'enable', 0);
    return r.out;
  }

  setAdmin(admin: 'up' | 'down'): string {
    const p = this.current!;
    if (this.ctx.ports.admin(p.name) !== admin) this.ctx.log(`switch: ${p.short} ${admin === 'up' ? 'no shutdown' : 'shutdown'}`);
    this.ctx.ports.setAdmin(p.name, admin);
    return '';
  }

  describe(text: string): string {
    this.ctx.ports.descriptions.set(this.current!.name, text);
    return '';
  }

  private status(p: PortDef): 'connected' | 'notconnect' | 'disabled' {
    if (this.ctx.ports.admin(p.name) === 'down') return 'disabled';
    return this.ctx.ports.operState(p.name) === 'up' ? 'connected' : 'notconnect';
  }

  showStatus(): string {
    const lines = ['', 'Port         Name               Status       Vlan       Duplex  Speed Type'];
    for (const p of PORTS) {
      const st = this.status(p);
      const up = st === 'connected';
      const name = (this.ctx.ports.descriptions.get(p.name) ?? '').slice(0, 18);
      lines.push(pad(p.short, 13) + pad(name, 19) + pad(st, 13) + pad(p.vlan, 11) + (up ? 'full' : 'auto').padStart(6) + ' ' + (up ? '10G' : 'auto').padStart(6) + ' ' + p.type);
    }
    return lines.join('\n') + '\n';
  }

  showInterface(name: string): string {
    const p = PORTS.find((x) => x.name === name)!;
    const admin = this.ctx.ports.admin(p.name);
    const oper = this.ctx.ports.operState(p.name);
    // Admin up without link reads `is up, line protocol is down` (docs/lab-protocol.md), also on the uncabled port.
    const first = admin === 'down' ? `${p.name} is administratively down, line protocol is down` : `${p.name} is up, line protocol is ${oper}`;
    const mac = `70b3.1711.81${p.short.slice(-1).padStart(2, '0')}`;
    const desc = this.ctx.ports.descriptions.get(p.name);
    const up = oper === 'up';
    return [
      first,
      `  Hardware is ${p.cabled ? 'Ten Gigabit Ethernet' : 'Gigabit Ethernet'}, address is ${mac} (bia ${mac})`,
      ...(desc ? [`  Description: ${desc}`] : []),
      `  MTU 1500 bytes, BW ${up ? '10000000' : '1000000'} Kbit/sec, DLY 10 usec,`,
      '     reliability 255/255, txload 1/255, rxload 1/255',
      '  Encapsulation ARPA, loopback not set',
      '  Keepalive set (10 sec)',
      `  ${up ? 'Full-duplex, 10Gb/s' : 'Auto-duplex, Auto-speed'}, link type is auto, media type is ${p.type}`,
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

  private interfaceConfig(p: PortDef): string[] {
    const desc = this.ctx.ports.descriptions.get(p.name);
    return [
      `interface ${p.name}`,
      ...(desc ? [` description ${desc}`] : []),
      p.vlan === 'trunk' ? ' switchport mode trunk' : ' switchport mode access',
      ...(this.ctx.ports.admin(p.name) === 'down' ? [' shutdown'] : []),
    ];
  }

  showRun(name?: string): string {
    const body = name
      ? ['!', ...this.interfaceConfig(PORTS.find((p) => p.name === name)!), 'end']
      : ['!', 'version 17.9', `hostname ${this.ctx.hostname}`, '!', ...PORTS.flatMap((p) => [...this.interfaceConfig(p), '!']), 'end'];
    const text = body.join('\n') + '\n';
    return `Building configuration...\n\nCurrent configuration : ${text.length} bytes\n${text}\n`;
  }

  showVersion(): string {
    return [
      'Cisco IOS XE Software, Version 17.09.04a',
      'Cisco IOS Software [Cupertino], Catalyst L3 Switch Software (CAT9K_IOSXE), Version 17.9.4a, RELEASE SOFTWARE (fc3)',
      '',
      `${this.ctx.hostname} uptime is 12 weeks, 3 days, 4 hours, 5 minutes`,
      'cisco C9300-24T (X86) processor with 1338184K/6147K bytes of memory.',
      '',
    ].join('\n');
  }

  async copyRunStart(): Promise<string> {
    this.term.write('Destination filename [startup-config]? ');
    const answer = await this.term.readLine();
    if (answer === null) return '';
    const dest = answer.trim();
    if (dest !== '' && dest !== 'startup-config') return `%Error opening flash:${dest} (Permission denied)\n`;
    return 'Building configuration...\n[OK]\n';
  }
}

export function iosDevice(ctx: IosContext): DeviceHandler {
  return {
    async shell(term) {
      const s = new IosSession(ctx, term);
      term.write('\n' + s.prompt());
      while (!s.done) {
        const line = await term.readLine();
        if (line === null) return;
        const { out } = await s.run(line, s.prompt().length);
        term.write(out);
        if (!s.done) term.write(s.prompt());
      }
    },
    async exec(command, term) {
      const s = new IosSession(ctx, term);
      const r = await s.run(command, 0);
      term.write(r.out);
      return r.exitCode ?? (r.error ? 1 : 0);
    },
  };
}
