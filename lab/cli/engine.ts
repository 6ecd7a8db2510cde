/**
 * The lab's one CLI engine: every simulated switch (IOS/IOS-XE, NX-OS, EOS, Junos) is this engine run on a
 * platform's data (lab/cli/platforms/*.ts): its modes and prompts, its command tree, its error lines, its pager.
 * The engine does what all of them share: unique-prefix keyword matching (so abbreviations are exactly as
 * (un)ambiguous as the command tree makes them), `?` help, paging with a pager prompt until paging is turned
 * off, `terminal monitor` log lines on link changes, faults, and one revert timer per switch.
 */
import type { PlatformName } from '../../vocabulary/switch-platforms';
import type { Fault, FaultKind, Faults } from '../faults';
import type { PortDef, SwitchPorts, UpDown } from '../ports';
import type { DeviceHandler, Terminal } from '../ssh-server';
import { RevertTimer } from './revert';

/**
 * One command: keywords and placeholders — `<if>` an interface (one or two tokens), `<num>`, `<word>` any one
 * token, `<rest>` the rest of the line, `<rest?>` an optional rest.
 */
export interface Cmd {
  modes: string[];
  words: string[];
  /** `?` help text for the keyword this command adds at each position (by keyword). */
  help?: string;
  run?: (s: CliSession, args: string[]) => string | Promise<string>;
  /** Real keywords the lab does not model: `silent` accepts and ignores, `unsupported` says so. */
  stub?: 'silent' | 'unsupported';
}

export type ParseFailure =
  | { kind: 'ambiguous'; col: number; token: string }
  | { kind: 'incomplete'; col: number }
  | { kind: 'invalid'; col: number; token: string; first: boolean };

export interface LabPlatform {
  name: PlatformName;
  /** What the lab says it imitates, with sources (shown in `lab/README.md` and the README table). */
  imitates: string;
  hostname: string;
  /** Printed once before the first prompt. */
  banner: string;
  startMode: string;
  prompt(s: CliSession): string;
  ports: PortDef[];
  /** What a user may type for a port (abbreviations, with or without a space before the number). */
  resolvePort(text: string): PortDef | undefined;
  commands: Cmd[];
  /** The platform's error text for a line that failed to parse (the caret line included where it prints one). */
  error(f: ParseFailure, line: string, promptLen: number, s: CliSession): string;
  /** Pager prompt, and the text that erases it once answered. */
  pager: { prompt: string; erase: string };
  /** `terminal monitor` lines for a link change (the device's syslog format). */
  monitorLines(port: PortDef, oper: UpDown, admin: UpDown, now: Date): string[];
  /** Privilege escalation (`enable`), when the platform logs in below its working level. */
  enable?: { tries: number; prompt: string; failure: string; toMode: string };
}

export interface SwitchContext {
  platform: LabPlatform;
  ports: SwitchPorts;
  faults: Faults;
  enableSecret: string;
  username: string;
  log: (line: string) => void;
  timer: RevertTimer;
  /** The device clock for revert timers: how long one device minute lasts here (60000 on real time). */
  minuteMs: number;
  /** Configuration beside the ports that commands may keep (NX-OS scheduler jobs, EOS sessions…). */
  store: Map<string, unknown>;
}

const DEFAULT_PAGE_LINES = 24;

/** Lower-cased, prefix-matched keyword parse of `line` in `mode`. */
export function parse(
  line: string,
  mode: string,
  commands: Cmd[],
  resolvePort: (t: string) => PortDef | undefined,
): { kind: 'ok'; cmd: Cmd; args: string[] } | ParseFailure {
  const tokens = [...line.matchAll(/\S+/g)].map((m) => ({ text: m[0], col: m.index }));
  let viable = commands.filter((c) => c.modes.includes(mode));
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
    } else if (keywords.size > 1 && !atPos.some((c) => c.words[pos] === '<word>')) {
      return { kind: 'ambiguous', col: tok.col, token: tok.text };
    } else {
      const rest = atPos.filter((c) => c.words[pos].startsWith('<rest'));
      const iface = atPos.filter((c) => c.words[pos] === '<if>');
      const num = atPos.filter((c) => c.words[pos] === '<num>');
      const word = atPos.filter((c) => c.words[pos] === '<word>');
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
      } else if (word.length > 0) {
        args.push(tok.text);
        viable = word;
        i += 1;
      } else {
        return { kind: 'invalid', col: tok.col, token: tok.text, first: i === 0 };
      }
    }
    pos += 1;
  }
  const complete = viable.find((c) => c.words.length === pos || (c.words.length === pos + 1 && c.words[pos] === '<rest?>'));
  if (complete) return { kind: 'ok', cmd: complete, args };
  const end = tokens.length ? tokens[tokens.length - 1].col + tokens[tokens.length - 1].text.length : 0;
  return { kind: 'incomplete', col: end };
}

const PLACEHOLDER_HELP: Record<string, string> = {
  '<if>': 'Interface name',
  '<num>': 'Number',
  '<word>': 'Word',
  '<rest>': 'Line',
  '<rest?>': 'Line',
};

export class CliSession {
  mode: string;
  /** The interface being configured (config-if modes). */
  current: PortDef | null = null;
  done = false;
  /** Lines per page; 0 = paging off (`terminal length 0`, `set cli screen-length 0`). */
  pageLines = DEFAULT_PAGE_LINES;
  /** Per-session scratch a platform keeps (a Junos candidate, an EOS session name). */
  readonly scratch = new Map<string, unknown>();
  private monitorOff: (() => void) | null = null;
  /** Interface changes a commit-model platform has staged but not applied. */
  candidate = new Map<string, UpDown>();
  /** Text to put back on the input line after the next prompt (after `?` help). */
  retype: string | null = null;

  constructor(
    readonly ctx: SwitchContext,
    readonly term: Terminal,
  ) {
    this.mode = ctx.platform.startMode;
  }

  get hostname(): string {
    return this.ctx.platform.hostname;
  }

  prompt(): string {
    return this.ctx.platform.prompt(this);
  }

  /** Runs one input line; returns its output (not yet paged) and whether it failed. */
  async run(line: string, promptLen: number): Promise<{ out: string; error: boolean; exitCode?: number }> {
    const trimmed = line.trim();
    if (trimmed === '') return { out: '', error: false };
    if (trimmed.endsWith('?') && this.term.interactive) return { out: this.help(trimmed.slice(0, -1)), error: false };
    const fault = this.ctx.faults.take('switch', trimmed);
    if (fault) {
      const r = await this.applyFault(fault, trimmed, promptLen);
      if (r) return r;
    }
    return this.evaluate(line, this.mode, promptLen);
  }

  private async applyFault(
    fault: { kind: FaultKind; output: string; exitCode: number; ms: number },
    line: string,
    promptLen: number,
  ): Promise<{ out: string; error: boolean; exitCode?: number } | null> {
    this.ctx.log(`${this.hostname}: ${fault.kind} fault injected for "${line}"`);
    const out = fault.output === '' || fault.output.endsWith('\n') ? fault.output : `${fault.output}\n`;
    switch (fault.kind) {
      case 'latency':
        await new Promise((r) => setTimeout(r, fault.ms));
        return null;
      case 'drop':
        this.term.write(out);
        await new Promise((r) => setTimeout(r, 50));
        this.term.dropConnection();
        this.done = true;
        return { out: '', error: true, exitCode: 255 };
      case 'flap': {
        const r = await this.evaluate(line, this.mode, promptLen);
        for (const p of this.ctx.ports.defs.filter((d) => d.vault)) this.ctx.ports.flap(p.name, fault.ms);
        return r;
      }
      default:
        return { out, error: true, exitCode: fault.exitCode };
    }
  }

  async evaluate(line: string, mode: string, promptLen: number): Promise<{ out: string; error: boolean }> {
    const p = parse(line, mode, this.ctx.platform.commands, (t) => this.ctx.platform.resolvePort(t));
    if (p.kind !== 'ok') return { out: this.ctx.platform.error(p, line, promptLen, this), error: true };
    if (p.cmd.stub === 'unsupported') return { out: '% This command is not available in the lab simulator.\n', error: true };
    if (p.cmd.stub === 'silent') return { out: '', error: false };
    try {
      return { out: await p.cmd.run!(this, p.args), error: false };
    } catch (err) {
      if (err instanceof DeviceSays) return { out: err.text, error: true };
      throw err;
    }
  }

  /** `?`: the keywords (or placeholders) that may come next, with their help, as the platform lists them. */
  help(before: string): string {
    const partial = before.length > 0 && !/\s$/.test(before);
    const tokens = before.trim().split(/\s+/).filter(Boolean);
    const done = partial ? tokens.slice(0, -1) : tokens;
    const prefix = partial ? tokens[tokens.length - 1].toLowerCase() : '';
    const options = new Map<string, string>();
    for (const c of this.ctx.platform.commands.filter((x) => x.modes.includes(this.mode) && !x.stub)) {
      if (done.length >= c.words.length && !c.words.includes('<rest>')) {
        if (!partial && done.length === c.words.length && matchesPrefix(c, done)) options.set('<cr>', '');
        continue;
      }
      if (!matchesPrefix(c, done)) continue;
      const w = c.words[done.length];
      if (w === undefined) continue;
      if (w.startsWith('<')) {
        if (!partial) options.set(w.replace('?', ''), PLACEHOLDER_HELP[w] ?? '');
      } else if (w.startsWith(prefix)) {
        options.set(w, c.help && done.length === 0 ? c.help : (options.get(w) ?? ''));
      }
    }
    // The router re-types the line after the next prompt for the user to go on (Terminal.prefill).
    this.retype = before;
    if (options.size === 0) return '% Unrecognized command\n';
    const rows = [...options.entries()].sort(([a], [b]) => (a === '<cr>' ? 1 : b === '<cr>' ? -1 : a.localeCompare(b)));
    if (partial) return rows.map(([w]) => w).join('  ') + '\n\n';
    return rows.map(([w, h]) => `  ${w.padEnd(20)} ${h}`.trimEnd()).join('\n') + '\n\n';
  }

  // ---- operations platforms build their commands from ----

  setMode(mode: string): string {
    this.mode = mode;
    if (!mode.includes('if')) this.current = null;
    return '';
  }

  quit(): string {
    this.done = true;
    return '';
  }

  /** `enable` with the platform's number of tries (IOS: three, then `% Bad secrets`). */
  async enable(): Promise<string> {
    const e = this.ctx.platform.enable!;
    if (this.mode === e.toMode) return '';
    for (let i = 0; i < e.tries; i++) {
      this.term.write(e.prompt);
      const pw = await this.term.readLine({ echo: false });
      if (pw === null) return '';
      if (pw === this.ctx.enableSecret) {
        this.mode = e.toMode;
        return '';
      }
    }
    return `${e.failure}\n\n`;
  }

  enterInterface(name: string, mode: string): string {
    this.current = this.ctx.ports.def(name);
    this.mode = mode;
    return '';
  }

  /** Applies an admin state at once (IOS, NX-OS, EOS configure terminal). */
  setAdmin(name: string, admin: UpDown): string {
    const p = this.ctx.ports.def(name);
    if (this.ctx.ports.admin(p.name) !== admin) this.ctx.log(`${this.hostname}: ${p.short} ${admin === 'up' ? 'enabled' : 'disabled'}`);
    this.ctx.ports.setAdmin(p.name, admin);
    return '';
  }

  /** Stages an admin state in the candidate (Junos, EOS configuration sessions). */
  stage(name: string, admin: UpDown): string {
    this.candidate.set(name, admin);
    return '';
  }

  /** Applies the candidate; with `revertAfterMs`, arms the switch's revert timer back to the state before. */
  commitCandidate(revertAfterMs?: number, label = 'commit'): void {
    const before = this.ctx.ports.snapshot();
    for (const [name, admin] of this.candidate) this.setAdmin(name, admin);
    this.candidate.clear();
    if (revertAfterMs !== undefined) this.ctx.timer.arm(revertAfterMs, label, before);
  }

  /** Output, paged while paging is on: the pager prompt waits for a key (space: a page, return: a line, q: stop). */
  async print(text: string): Promise<void> {
    const lines = text.split('\n');
    const page = this.pageLines;
    if (page <= 0 || !this.term.interactive || lines.length <= page) {
      this.term.write(text);
      return;
    }
    let i = 0;
    let budget = page - 1;
    while (i < lines.length - 1) {
      const chunk = lines.slice(i, i + budget);
      i += chunk.length;
      this.term.write(chunk.join('\n') + '\n');
      if (i >= lines.length - 1) break;
      this.term.write(this.ctx.platform.pager.prompt);
      const key = await this.term.readKey();
      this.term.write(this.ctx.platform.pager.erase);
      if (key === null || key === 'q' || key === 'Q' || key === '\x03') return;
      budget = key === '\r' || key === '\n' ? 1 : page - 1;
    }
    if (lines[lines.length - 1] !== '') this.term.write(lines[lines.length - 1]);
  }

  /** `terminal monitor`: link up/down log lines appear in this session as they happen. */
  monitor(on: boolean): string {
    this.monitorOff?.();
    this.monitorOff = null;
    if (!on) return '';
    const listener = (name: string, oper: UpDown) => {
      const def = this.ctx.ports.def(name);
      for (const l of this.ctx.platform.monitorLines(def, oper, this.ctx.ports.admin(name), new Date())) this.term.write(`\n${l}`);
      this.term.write('\n');
    };
    this.ctx.ports.on('oper', listener);
    this.monitorOff = () => this.ctx.ports.off('oper', listener);
    return '';
  }

  end(): void {
    this.monitor(false);
  }
}

/** Thrown by a command to print the device's own error text (the line counts as failed). */
export class DeviceSays extends Error {
  constructor(readonly text: string) {
    super(text);
  }
}

function matchesPrefix(c: Cmd, done: string[]): boolean {
  return done.every((t, i) => {
    const w = c.words[i];
    if (w === undefined) return false;
    if (w.startsWith('<')) return true;
    return w.startsWith(t.toLowerCase());
  });
}

/** The SSH face of a switch: interactive shell (prompts, paging, monitor) and one-command exec. */
export function switchDevice(ctx: SwitchContext): DeviceHandler {
  return {
    async shell(term) {
      term.helpKeys = '?';
      const s = new CliSession(ctx, term);
      try {
        term.write(ctx.platform.banner + s.prompt());
        while (!s.done) {
          const line = await term.readLine();
          if (line === null) return;
          const prompt = s.prompt();
          const { out } = await s.run(line, prompt.length - prompt.lastIndexOf('\n') - 1);
          if (s.done && out === '') return;
          await s.print(out);
          if (!s.done) term.write(s.prompt());
          if (s.retype !== null && !s.done) term.prefill(s.retype);
          s.retype = null;
        }
      } finally {
        s.end();
      }
    },
    async exec(command, term) {
      const s = new CliSession(ctx, term);
      s.pageLines = 0;
      const r = await s.run(command, 0);
      term.write(r.out);
      s.end();
      return r.exitCode ?? (r.error ? 1 : 0);
    },
  };
}

export type { Fault };
