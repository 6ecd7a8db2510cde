/**
 * Injected device faults: a command line matching `match` prints `output` and fails with `exitCode` instead of
 * running, `times` times (unlimited when absent). Lets tests and the demo make any device step fail on demand.
 */
export type FaultDevice = 'switch' | 'source-dd' | 'vault-dd';

export interface Fault {
  device: FaultDevice;
  match: string;
  output: string;
  exitCode?: number;
  times?: number;
  /** The channel is cut after the output: no exit status reaches the client (a lost session). */
  cut?: boolean;
}

export class Faults {
  private list: Array<Fault & { re: RegExp; left: number }> = [];

  add(f: Fault): void {
    if (!['switch', 'source-dd', 'vault-dd'].includes(f.device)) throw new Error(`unknown device ${f.device}`);
    this.list.push({ ...f, re: new RegExp(f.match), left: f.times ?? Infinity });
  }

  clear(): void {
    this.list = [];
  }

  /** The first live fault matching this command line, consuming one of its `times`. */
  take(device: FaultDevice, line: string): { output: string; exitCode: number; cut: boolean } | null {
    const f = this.list.find((x) => x.device === device && x.left > 0 && x.re.test(line));
    if (!f) return null;
    f.left -= 1;
    return { output: f.output, exitCode: f.exitCode ?? 1, cut: f.cut ?? false };
  }

  snapshot(): Fault[] {
    return this.list
      .filter((f) => f.left > 0)
      .map(({ device, match, output, exitCode, left, cut }) => ({
        device,
        match,
        output,
        exitCode: exitCode ?? 1,
        ...(cut ? { cut } : {}),
        ...(Number.isFinite(left) ? { times: left } : {}),
      }));
  }
}
