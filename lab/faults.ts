/**
 * Injected device faults: a command line matching `match` prints `output` and fails with `exitCode` instead of
 * running, `times` times (unlimited when absent). Lets tests and the demo make any device step fail on demand.
 */
export const FAULT_DEVICES = ['switch', 'source-dd', 'vault-dd', 'vault-dd-rest', 'bareos', 'networker'] as const;
export type FaultDevice = (typeof FAULT_DEVICES)[number];

export interface Fault {
  device: FaultDevice;
  match: string;
  output: string;
  exitCode?: number;
  times?: number;
  /** REST faces: wait this long before answering (latency, or a hang past the client's timeout). */
  delayMs?: number;
}

export class Faults {
  private list: Array<Fault & { re: RegExp; left: number }> = [];

  add(f: Fault): void {
    if (!FAULT_DEVICES.includes(f.device)) throw new Error(`unknown device ${f.device}`);
    this.list.push({ ...f, re: new RegExp(f.match), left: f.times ?? Infinity });
  }

  clear(): void {
    this.list = [];
  }

  /** The first live fault matching this command line, consuming one of its `times`. */
  take(device: FaultDevice, line: string): { output: string; exitCode: number; delayMs?: number } | null {
    const f = this.list.find((x) => x.device === device && x.left > 0 && x.re.test(line));
    if (!f) return null;
    f.left -= 1;
    return { output: f.output, exitCode: f.exitCode ?? 1, delayMs: f.delayMs };
  }

  snapshot(): Fault[] {
    return this.list
      .filter((f) => f.left > 0)
      .map(({ device, match, output, exitCode, left }) => ({
        device,
        match,
        output,
        exitCode: exitCode ?? 1,
        ...(Number.isFinite(left) ? { times: left } : {}),
      }));
  }
}
