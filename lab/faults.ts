/**
 * Injected device faults. A fault is aimed at a device and a command line (`match`, a regex), and optionally
 * after the first N matching commands (`afterCommands`), only while the gap is in a given phase as the lab
 * sees it (`phase`: closed/opening/open), or only while the cycle is in one of its phases (`cyclePhase`:
 * PREFLIGHT…RECORD). The lab cannot see the cycle, so the cycle's phase is told to it (`POST /cycle/phase`;
 * the tests' phase feed does it before every activity, from the workflow's own `status` query). What a fault
 * does is its `kind`:
 *   - `error` (default): the command prints `output` and fails with `exitCode` instead of running;
 *   - `latency`: the command runs after a delay of `ms`;
 *   - `drop`: the device prints `output` (partial output) and cuts the SSH connection mid-command;
 *   - `flap`: the command runs, then the vault ports' link drops for `ms` and comes back (a flapping optic);
 *   - `auth`: logins to the device are refused (`match` is ignored), `times` times;
 *   - `stall` (source-dd or vault-dd; `match` ignored): replication stays enabled and connected but no byte moves,
 *     for as long as the fault's aim holds (a stuck DD context; its `times` is not consumed).
 * Each fires `times` times (unlimited when absent).
 */
import { PHASES, type Phase } from '../vocabulary/phases';

/** SSH devices, and the HTTPS faces (vault DD REST, Bareos, NetWorker: match on `METHOD /path`, exitCode = HTTP status). */
export const FAULT_DEVICES = ['switch', 'source-dd', 'vault-dd', 'recovery-host', 'vault-dd-rest', 'bareos', 'networker'] as const;
export type FaultDevice = (typeof FAULT_DEVICES)[number];
export const FAULT_KINDS = ['error', 'latency', 'drop', 'flap', 'auth', 'stall'] as const;
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
  /** Only while the cycle is in this phase (as last told to the lab). */
  cyclePhase?: Phase;
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
  /** The cycle's phase as last told to the lab (null: no cycle, or nobody tells). */
  cyclePhase: Phase | null = null;

  add(f: Fault): void {
    if (!FAULT_DEVICES.includes(f.device)) throw new Error(`unknown device ${f.device}`);
    if (f.kind !== undefined && !FAULT_KINDS.includes(f.kind)) throw new Error(`unknown fault kind ${f.kind} (known: ${FAULT_KINDS.join(', ')})`);
    if (f.cyclePhase !== undefined && !PHASES.includes(f.cyclePhase)) throw new Error(`unknown cycle phase ${f.cyclePhase} (known: ${PHASES.join(', ')})`);
    if (f.kind === 'stall' && f.device !== 'source-dd' && f.device !== 'vault-dd') throw new Error(`a stall is a replication fault: device source-dd or vault-dd, not ${f.device}`);
    this.list.push({ ...f, re: new RegExp(f.match), left: f.times ?? Infinity, seen: 0 });
  }

  /** Aimed at now: the gap's phase and the cycle's phase are the ones the fault names (when it names them). */
  private aimed(f: Live, phase: LabPhase): boolean {
    return (!f.phase || f.phase === phase) && (!f.cyclePhase || f.cyclePhase === this.cyclePhase);
  }

  clear(): void {
    this.list = [];
  }

  /** The first live fault matching this command line, consuming one of its `times`. */
  take(device: FaultDevice, line: string): TakenFault | null {
    const phase = this.phase();
    let hit: Live | undefined;
    for (const f of this.list) {
      if (f.device !== device || f.left <= 0 || f.kind === 'auth' || f.kind === 'stall' || !f.re.test(line)) continue;
      if (!this.aimed(f, phase)) continue;
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
    const phase = this.phase();
    const f = this.list.find((x) => x.device === device && x.kind === 'auth' && x.left > 0 && this.aimed(x, phase));
    if (!f) return false;
    f.left -= 1;
    return true;
  }

  /** True while a `stall` fault is aimed at now: the replication engine moves no byte. */
  stalled(): boolean {
    const phase = this.phase();
    return this.list.some((x) => x.kind === 'stall' && x.left > 0 && this.aimed(x, phase));
  }

  snapshot(): Fault[] {
    return this.list
      .filter((f) => f.left > 0)
      .map(({ device, match, output, exitCode, left, kind, afterCommands, phase, cyclePhase, ms }) => ({
        device,
        match,
        kind: kind ?? 'error',
        output: output ?? '',
        exitCode: exitCode ?? 1,
        ...(Number.isFinite(left) ? { times: left } : {}),
        ...(afterCommands !== undefined ? { afterCommands } : {}),
        ...(phase !== undefined ? { phase } : {}),
        ...(cyclePhase !== undefined ? { cyclePhase } : {}),
        ...(ms !== undefined ? { ms } : {}),
      }));
  }
}
