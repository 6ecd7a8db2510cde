/**
 * Injected device faults. A fault is aimed at a device and a command line (`match`, a regex), and optionally
 * after the first N matching commands (`afterCommands`) or only while the gap is in a given phase as the lab
 * sees it (`phase`). What it does is its `kind`:
 *   - `error` (default): the command prints `output` and fails with `exitCode` instead of running;
 *   - `latency`: the command runs after a delay of `ms`;
 *   - `drop`: the device prints `output` (partial output) and cuts the SSH connection mid-command;
 *   - `flap`: the command runs, then the vault ports' link drops for `ms` and comes back (a flapping optic);
 *   - `auth`: logins to the device are refused (`match` is ignored), `times` times.
 * Each fires `times` times (unlimited when absent).
 */
export type FaultDevice = 'switch' | 'source-dd' | 'vault-dd';
export const FAULT_KINDS = ['error', 'latency', 'drop', 'flap', 'auth'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];
/** The gap as the lab sees it: every vault port down, some coming up, or up. */
export const LAB_PHASES = ['closed', 'opening', 'open'] as const;
export type LabPhase = (typeof LAB_PHASES)[number];

export interface Fault {
  device: FaultDevice;
  match: string;
  output?: string;
  exitCode?: number;
  times?: number;
  kind?: FaultKind;
  /** Let this many matching commands run normally first. */
  afterCommands?: number;
  /** Only while the lab's gap is in this phase. */
  phase?: LabPhase;
  /** latency / flap duration. */
  ms?: number;
}

export interface TakenFault {
  kind: FaultKind;
  output: string;
  exitCode: number;
  ms: number;
}

type Live = Fault & { re: RegExp; left: number; seen: number };

export class Faults {
  private list: Live[] = [];
  /** Set by the lab from the switches' port states. */
  phase: () => LabPhase = () => 'closed';

  add(f: Fault): void {
    if (!['switch', 'source-dd', 'vault-dd'].includes(f.device)) throw new Error(`unknown device ${f.device}`);
    if (f.kind !== undefined && !FAULT_KINDS.includes(f.kind)) throw new Error(`unknown fault kind ${f.kind} (known: ${FAULT_KINDS.join(', ')})`);
    this.list.push({ ...f, re: new RegExp(f.match), left: f.times ?? Infinity, seen: 0 });
  }

  clear(): void {
    this.list = [];
  }

  /** The first live fault matching this command line, consuming one of its `times`. */
  take(device: FaultDevice, line: string): TakenFault | null {
    const phase = this.phase();
    let hit: Live | undefined;
    for (const f of this.list) {
      if (f.device !== device || f.left <= 0 || (f.kind ?? 'error') === 'auth' || !f.re.test(line)) continue;
      if (f.phase && f.phase !== phase) continue;
      f.seen += 1;
      if (f.seen <= (f.afterCommands ?? 0)) continue;
      hit ??= f;
    }
    if (!hit) return null;
    hit.left -= 1;
    return { kind: hit.kind ?? 'error', output: hit.output ?? '', exitCode: hit.exitCode ?? 1, ms: hit.ms ?? 1000 };
  }

  /** True when a login to `device` must be refused (an `auth` fault), consuming one of its `times`. */
  refuseLogin(device: FaultDevice): boolean {
    const f = this.list.find((x) => x.device === device && x.kind === 'auth' && x.left > 0 && (!x.phase || x.phase === this.phase()));
    if (!f) return false;
    f.left -= 1;
    return true;
  }

  snapshot(): Fault[] {
    return this.list
      .filter((f) => f.left > 0)
      .map(({ device, match, output, exitCode, left, kind, afterCommands, phase, ms }) => ({
        device,
        match,
        kind: kind ?? 'error',
        output: output ?? '',
        exitCode: exitCode ?? 1,
        ...(Number.isFinite(left) ? { times: left } : {}),
        ...(afterCommands !== undefined ? { afterCommands } : {}),
        ...(phase !== undefined ? { phase } : {}),
        ...(ms !== undefined ? { ms } : {}),
      }));
  }
}
