/**
 * Switch platforms as data (scrapli style): prompt patterns per privilege level, failure strings, on-open
 * commands, privilege escalation, configuration mode, port commands and the port-state parser. One session
 * engine (session.ts) runs them all. Prompt regexes follow scrapli's core drivers; they are tested against
 * the last line of the (ANSI-stripped, LF-normalised) output only.
 */
import { parseIosInterface, parseJunosTerse, parseNxosInterface, type AdminState, type PortStateParser } from './ports';

export type PlatformName = 'cisco-ios' | 'cisco-nxos' | 'arista-eos' | 'junos';
export const PLATFORM_NAMES: readonly PlatformName[] = ['cisco-ios', 'cisco-nxos', 'arista-eos', 'junos'];

export type PrivilegeLevel = 'exec' | 'privileged' | 'configuration';

/** A prompt the device may ask mid-command, and what to answer (a line is sent: answer + "\n"). */
export interface ExpectPrompt {
  pattern: RegExp;
  answer: string;
  /** Shown in errors/logs instead of the answer (for secrets). */
  hideAnswer?: boolean;
}

export interface Platform {
  name: PlatformName;
  /** Tested against the last output line, most specific first (configuration, privileged, exec). */
  prompts: { [L in PrivilegeLevel]?: RegExp };
  /** Output containing any of these means the device rejected the command. */
  failedWhenContains: string[];
  /** Sent once after login at the working privilege level (paging off, wide terminal). */
  onOpen: string[];
  /** A pager prompt to answer with a space, in case paging could not be turned off. */
  pager: RegExp;
  /** Level commands run at; `enable` escalates from exec to privileged. */
  workingLevel: 'exec' | 'privileged';
  enable?: { command: string; passwordPrompt: RegExp; deniedWhenContains: string[] };
  config: {
    enter: string;
    /** Junos: `commit`, whose output must contain `successContains`. */
    commit?: { command: string; successContains: string; timeoutMs: number };
    /** Sent when a config line failed, before leaving config mode (Junos `rollback 0`). */
    discard?: string[];
    exit: string;
  };
  ports: {
    /** Configuration lines that set the port's admin state. */
    setAdmin(port: string, admin: AdminState): string[];
    show(port: string): string;
    parse: PortStateParser;
  };
  /** How to persist the running config; undefined when committing already persists it (Junos). */
  save?: { command: string; expect: ExpectPrompt[]; timeoutMs: number };
}

const cisco = (port: string, admin: AdminState): string[] => [`interface ${port}`, admin === 'up' ? 'no shutdown' : 'shutdown'];
const DEST_FILENAME: ExpectPrompt = { pattern: /Destination filename \[[^\]]*\]\?\s*$/i, answer: '' };

export const PLATFORMS: Record<PlatformName, Platform> = {
  'cisco-ios': {
    name: 'cisco-ios',
    prompts: {
      configuration: /^[\w.\-@/:]{1,63}\((?!tcl)[\w.\-@/:+]{0,32}\)#\s*$/i,
      privileged: /^[\w.\-@/:]{1,63}#\s*$/i,
      exec: /^[\w.\-@/:]{1,63}>\s*$/i,
    },
    failedWhenContains: ['% Ambiguous command', '% Incomplete command', '% Invalid input detected', '% Unknown command', '%Error'],
    onOpen: ['terminal length 0', 'terminal width 512'],
    pager: /\s*--More--\s*$/,
    workingLevel: 'privileged',
    enable: {
      command: 'enable',
      passwordPrompt: /^(?:enable\s)?password:\s?$/i,
      deniedWhenContains: ['% Access denied', '% Bad secrets', '% Bad passwords', '% No password set'],
    },
    config: { enter: 'configure terminal', exit: 'end' },
    ports: { setAdmin: cisco, show: (p) => `show interfaces ${p}`, parse: parseIosInterface },
    save: { command: 'copy running-config startup-config', expect: [DEST_FILENAME], timeoutMs: 120_000 },
  },
  'cisco-nxos': {
    name: 'cisco-nxos',
    prompts: {
      configuration: /^[\w.\-]{1,63}\(config(?!-s)[\w.\-@/:+]{0,32}\)#\s?$/i,
      privileged: /^[\w.\-]{1,63}#\s?$/i,
      exec: /^[\w.\-]{1,63}>\s?$/i,
    },
    failedWhenContains: [
      '% Ambiguous command',
      '% Incomplete command',
      '% Invalid input detected',
      '% Invalid command at',
      '% Invalid parameter',
      '% Permission denied',
      '%Error',
    ],
    onOpen: ['terminal length 0', 'terminal width 511'],
    pager: /\s*--More--\s*$/,
    workingLevel: 'privileged',
    enable: {
      command: 'enable',
      passwordPrompt: /^(?:enable\s)?password:\s?$/i,
      deniedWhenContains: ['% Access denied', '% Permission denied'],
    },
    config: { enter: 'configure terminal', exit: 'end' },
    ports: { setAdmin: cisco, show: (p) => `show interface ${p}`, parse: parseNxosInterface },
    save: { command: 'copy running-config startup-config', expect: [DEST_FILENAME], timeoutMs: 300_000 },
  },
  'arista-eos': {
    name: 'arista-eos',
    prompts: {
      configuration: /^[\w.\-@()/: ]{1,63}\(config[\w.\-@/:+]{0,63}\)#\s?$/i,
      privileged: /^[\w.\-@()/: ]{1,63}#\s?$/i,
      exec: /^[\w.\-@()/: ]{1,63}>\s?$/i,
    },
    failedWhenContains: [
      '% Invalid input',
      '% Incomplete command',
      '% Ambiguous command',
      '% Error',
      '% Cannot commit',
      '% Unavailable command',
    ],
    onOpen: ['terminal length 0', 'terminal width 32767'],
    pager: /\s*--More--\s*$/,
    workingLevel: 'privileged',
    enable: {
      command: 'enable',
      passwordPrompt: /^(?:enable\s)?password:\s?$/i,
      deniedWhenContains: ['% Access denied', '% Authorization denied'],
    },
    config: { enter: 'configure terminal', exit: 'end' },
    ports: { setAdmin: cisco, show: (p) => `show interfaces ${p}`, parse: parseIosInterface },
    save: { command: 'copy running-config startup-config', expect: [DEST_FILENAME], timeoutMs: 120_000 },
  },
  junos: {
    name: 'junos',
    prompts: {
      configuration: /^[\w\-@()/:.]{1,63}#\s?$/i,
      exec: /^[\w\-@()/:.]{1,63}>\s?$/i,
    },
    failedWhenContains: ['is ambiguous', 'No valid completions', 'unknown command', 'syntax error', 'error: '],
    onOpen: ['set cli screen-length 0', 'set cli screen-width 511', 'set cli complete-on-space off'],
    pager: /---\(more[^)]*\)---\s*$/i,
    workingLevel: 'exec',
    config: {
      enter: 'configure',
      commit: { command: 'commit', successContains: 'commit complete', timeoutMs: 120_000 },
      discard: ['rollback 0'],
      exit: 'exit configuration-mode',
    },
    ports: {
      setAdmin: (p, admin) => [admin === 'up' ? `delete interfaces ${p} disable` : `set interfaces ${p} disable`],
      show: (p) => `show interfaces ${p} terse`,
      parse: parseJunosTerse,
    },
  },
};

export function platform(name: string): Platform {
  const p = (PLATFORMS as Record<string, Platform | undefined>)[name];
  if (!p) throw new Error(`unknown switch platform ${JSON.stringify(name)} (known: ${PLATFORM_NAMES.join(', ')})`);
  return p;
}

/** The privilege level a prompt line belongs to, or undefined when the line is not a prompt. */
export function promptLevel(p: Platform, line: string): PrivilegeLevel | undefined {
  for (const level of ['configuration', 'privileged', 'exec'] as const) {
    const re = p.prompts[level];
    if (re && re.test(line)) return level;
  }
  return undefined;
}
