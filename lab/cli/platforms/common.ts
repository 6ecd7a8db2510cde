/** Pieces the Cisco-like platforms (IOS, NX-OS, EOS) share: port name resolution, time formats, stubs. */
import type { Cmd, CliSession } from '../engine';
import type { PortDef } from '../../ports';

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
export const two = (n: number) => String(n).padStart(2, '0');

/** `12:34:56.789 UTC Mon Nov 23 2026` (IOS and NX-OS `show clock`). */
export function ciscoClock(d: Date): string {
  const ms = String(d.getUTCMilliseconds()).padStart(3, '0');
  return `${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())}.${ms} UTC ${DAYS[d.getUTCDay()]} ${MONTHS[d.getUTCMonth()]} ${d.getUTCDate()} ${d.getUTCFullYear()}`;
}

/** `Nov 23 12:34:56.789` (IOS syslog timestamps). */
export function syslogStamp(d: Date, millis = true): string {
  const ms = millis ? `.${String(d.getUTCMilliseconds()).padStart(3, '0')}` : '';
  return `${MONTHS[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, ' ')} ${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())}${ms}`;
}

export function eosClock(d: Date): string {
  return `${DAYS[d.getUTCDay()]} ${MONTHS[d.getUTCMonth()]} ${d.getUTCDate()} ${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} ${d.getUTCFullYear()}`;
}

/**
 * A resolver accepting any prefix of the interface type (at least `minPrefix` letters), with or without a
 * space before the number: `Gi1/0/1`, `gi 1/0/1`, `GigabitEthernet1/0/1`, `e1/1`, `Et1`.
 */
export function prefixResolver(ports: PortDef[], typeName: string, numberRe: RegExp, minPrefix = 1): (text: string) => PortDef | undefined {
  return (text) => {
    const m = new RegExp(`^([a-z]+)\\s*(${numberRe.source})$`, 'i').exec(text.trim());
    if (!m || m[1].length < minPrefix || !typeName.toLowerCase().startsWith(m[1].toLowerCase())) return undefined;
    return ports.find((p) => p.name === `${typeName}${m[2]}`);
  };
}

export function stubs(modes: string[], stub: 'silent' | 'unsupported', names: string[]): Cmd[] {
  return names.map((n) => ({ modes, words: [n, '<rest?>'], stub }));
}

/** The caret line Cisco-like CLIs print under the offending column of the echoed command. */
export function caret(promptLen: number, col: number): string {
  return `${' '.repeat(promptLen + col)}^\n`;
}

export type Run = (s: CliSession, args: string[]) => string | Promise<string>;

export function pad(s: string, n: number): string {
  return s.length >= n ? `${s} ` : s.padEnd(n);
}
