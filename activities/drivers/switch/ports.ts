/**
 * Port-state parsers: pure functions from a device's `show interfaces` output to admin/oper state.
 * `line` is always the device's own line the state was read from.
 */
export type AdminState = 'up' | 'down';

export interface PortState {
  port: string;
  admin: AdminState;
  oper: 'up' | 'down';
  /** The device's own first line (or table row) the state was read from. */
  line: string;
}

export type PortStateParser = (port: string, output: string) => PortState;

export class PortStateParseError extends Error {
  constructor(
    readonly port: string,
    readonly output: string,
    what: string,
  ) {
    super(`cannot read the state of ${port} from the device output (${what}): ${JSON.stringify(output.slice(0, 300))}`);
    this.name = 'PortStateParseError';
  }
}

function lines(output: string): string[] {
  return output
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
}

/**
 * IOS / IOS-XE / EOS `show interfaces X`, first line:
 *   `GigabitEthernet1/0/1 is up, line protocol is up`
 *   `GigabitEthernet1/0/1 is administratively down, line protocol is down`
 *   `GigabitEthernet1/0/1 is down, line protocol is down (err-disabled)`, `Ethernet1 is up, line protocol is up (connected)`
 */
export const parseIosInterface: PortStateParser = (port, output) => {
  for (const line of lines(output)) {
    const m = /^(\S+) is (up|down|administratively down|deleted)\s*,\s*line protocol is (up|down)\b/i.exec(line);
    if (m) {
      const admin = m[2].toLowerCase() === 'administratively down' ? 'down' : 'up';
      return { port, admin, oper: m[3].toLowerCase() === 'up' && admin === 'up' ? 'up' : 'down', line };
    }
  }
  throw new PortStateParseError(port, output, 'no "X is …, line protocol is …" line');
};

/**
 * NX-OS `show interface X`, first line: `Ethernet1/1 is up`, `Ethernet1/1 is down (Administratively down)`,
 * `Ethernet1/1 is down (Link not connected)`; newer releases add `admin state is up|down,` on the next line.
 */
export const parseNxosInterface: PortStateParser = (port, output) => {
  const all = lines(output);
  const idx = all.findIndex((l) => /^\S+ is (up|down)\b/i.test(l));
  if (idx < 0) throw new PortStateParseError(port, output, 'no "X is up|down" line');
  const line = all[idx];
  const m = /^\S+ is (up|down)(?:\s*\(([^)]*)\))?/i.exec(line)!;
  const oper = m[1].toLowerCase() as 'up' | 'down';
  let admin: AdminState = 'up';
  if (m[2] && /administratively down/i.test(m[2])) admin = 'down';
  const adminLine = all.slice(idx + 1, idx + 3).find((l) => /admin state is (up|down)/i.test(l));
  if (adminLine) admin = /admin state is up/i.test(adminLine) ? 'up' : 'down';
  return { port, admin, oper: admin === 'down' ? 'down' : oper, line };
};

/**
 * Junos `show interfaces X terse`:
 *   Interface               Admin Link Proto    Local                 Remote
 *   ge-0/0/1                down  down
 */
export const parseJunosTerse: PortStateParser = (port, output) => {
  for (const line of lines(output)) {
    const f = line.split(/\s+/);
    if (f[0] === port && f.length >= 3 && /^(up|down)$/i.test(f[1]) && /^(up|down)$/i.test(f[2])) {
      const admin = f[1].toLowerCase() as AdminState;
      return { port, admin, oper: admin === 'up' && f[2].toLowerCase() === 'up' ? 'up' : 'down', line };
    }
  }
  throw new PortStateParseError(port, output, `no "${port} <admin> <link>" row`);
};
