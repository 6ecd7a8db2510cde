/**
 * Switch platforms as data (scrapli style): prompt patterns per privilege level, failure strings, on-open
 * commands, privilege escalation, configuration mode, port commands and the port-state parser. One session
 * engine (session.ts) runs them all. Prompt regexes follow scrapli's core drivers; they are tested against
 * the last line of the (ANSI-stripped, LF-normalised) output only.
 */
import { parseIosInterface, parseJunosTerse, parseNxosInterface, type AdminState, type PortStateParser } from './ports';
import { PLATFORM_NAMES, type PlatformName } from '../../../vocabulary/switch-platforms';

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
  /**
   * The device's own rollback timer, armed when the link opens so the switch shuts the ports by itself if
   * nothing closes them in time (Temporal down included). Its resolution and range are the device's.
   */
  revert: RevertTimerPlan;
}

/** How one configuration session differs from the platform's plain one (a revert timer armed with it). */
export interface ConfigOverrides {
  /** Instead of `config.enter`, e.g. IOS `configure terminal revert timer 30`, EOS `configure session ir-gap`. */
  enter?: string;
  /** Instead of `config.commit`, e.g. Junos `commit confirmed 30`, EOS `commit timer 00:30:00`. */
  commit?: { command: string; successContains?: string; timeoutMs: number };
  /** Instead of `config.discard` when a line failed (EOS `abort` of the session). */
  discard?: string[];
}

export interface RevertTimerPlan {
  /** What the device calls it (logs, README). */
  name: string;
  unitSeconds: number;
  minSeconds: number;
  maxSeconds: number;
  /** The configuration session that opens `ports` with the timer armed: its lines and how it differs from a plain one. */
  open(ports: string[], seconds: number): { lines: string[] } & ConfigOverrides;
  /** Exec commands run before the ports are shut, that revert now (EOS: abort the pending session). */
  overtake?: string[];
  /** Configuration lines added to the session that shuts the ports (NX-OS: remove the schedule). */
  disarmConfig?: string[];
  /** Exec commands run after the ports were shut, that confirm the (closed) state and drop the timer. */
  disarmExec?: string[];
}

/** The timer value for a wanted exposure bound: never longer than asked where the device allows it. */
export function revertSeconds(plan: RevertTimerPlan, maxOpenSeconds: number): number {
  const units = Math.floor(maxOpenSeconds / plan.unitSeconds) * plan.unitSeconds;
  return Math.min(plan.maxSeconds, Math.max(plan.minSeconds, units));
}

const hms = (sec: number) => [Math.floor(sec / 3600), Math.floor((sec % 3600) / 60), sec % 60].map((n) => String(n).padStart(2, '0')).join(':');
/** Name of the NX-OS scheduler job/schedule and the EOS session the vault owns on the switch. */
export const REVERT_NAME = 'ir-close-gap';

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
    // Configuration Rollback Confirmed Change (IOS XE 17 System Management guide): needs an `archive path`.
    revert: {
      name: 'configure terminal revert timer',
      unitSeconds: 60,
      minSeconds: 60,
      maxSeconds: 120 * 60,
      open: (ports, sec) => ({ enter: `configure terminal revert timer ${sec / 60}`, lines: ports.flatMap((p) => cisco(p, 'up')) }),
      disarmExec: ['configure confirm'],
    },
  },
  'cisco-nxos': {
    name: 'cisco-nxos',
    prompts: {
      // scrapli excludes `(config-s)` (a configuration session); `(config-schedule)` is plain configuration.
      configuration: /^[\w.\-]{1,63}\(config(?!-s\))[\w.\-@/:+]{0,32}\)#\s?$/i,
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
    // NX-OS has no revert timer for configure terminal; its scheduler runs a job at a time with nobody logged in.
    revert: {
      name: 'scheduler job (time start +minutes)',
      unitSeconds: 60,
      minSeconds: 60,
      maxSeconds: 7 * 86400,
      open: (ports, sec) => ({
        lines: [
          'feature scheduler',
          `scheduler job name ${REVERT_NAME}`,
          ['configure terminal', ...ports.flatMap((p) => cisco(p, 'down'))].join(' ; '),
          'exit',
          `scheduler schedule name ${REVERT_NAME}`,
          `job name ${REVERT_NAME}`,
          `time start +${sec / 60}`,
          'exit',
          ...ports.flatMap((p) => cisco(p, 'up')),
        ],
      }),
      disarmConfig: ['feature scheduler', `no scheduler schedule name ${REVERT_NAME}`],
    },
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
    // Configuration session with a commit timer (EOS 4.15+); `configure session X abort` reverts at once.
    revert: {
      name: 'configure session commit timer',
      unitSeconds: 1,
      minSeconds: 1,
      maxSeconds: 24 * 3600 - 1,
      open: (ports, sec) => ({
        enter: `configure session ${REVERT_NAME}`,
        lines: ports.flatMap((p) => cisco(p, 'up')),
        commit: { command: `commit timer ${hms(sec)}`, timeoutMs: 120_000 },
        discard: ['abort'],
      }),
      overtake: [`configure session ${REVERT_NAME} abort`],
    },
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
    // `commit confirmed <minutes>`; the close path's plain `commit` confirms it with the ports shut.
    revert: {
      name: 'commit confirmed',
      unitSeconds: 60,
      minSeconds: 60,
      maxSeconds: 65535 * 60,
      open: (ports, sec) => ({
        lines: ports.map((p) => `delete interfaces ${p} disable`),
        commit: { command: `commit confirmed ${sec / 60}`, successContains: 'commit complete', timeoutMs: 120_000 },
      }),
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
