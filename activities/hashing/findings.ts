/** Collects findings worst first under a cap, in memory bounded by the cap whatever the number found. */
import { SEVERITY_ORDER, type CompareResult, type Finding, type Severity } from './types';

export const DEFAULT_FINDINGS_CAP = 1000;

export class FindingCollector {
  private readonly bySeverity = new Map<Severity, Finding[]>(SEVERITY_ORDER.map((s) => [s, []]));
  readonly counts: Record<string, number> = {};
  private total = 0;

  constructor(private readonly cap = DEFAULT_FINDINGS_CAP) {}

  add(f: Finding): void {
    this.count(f.class);
    this.total++;
    const list = this.bySeverity.get(f.severity)!;
    if (list.length < this.cap) list.push(f);
  }

  count(key: string, n = 1): void {
    this.counts[key] = (this.counts[key] ?? 0) + n;
  }

  get size(): number {
    return this.total;
  }

  /** Worst first; within a severity, in path order (the order they were found). */
  findings(): Finding[] {
    return SEVERITY_ORDER.flatMap((s) => this.bySeverity.get(s)!).slice(0, this.cap);
  }

  result(equal: boolean): CompareResult {
    return { equal, counts: this.counts, findings: this.findings(), truncated: this.total > this.cap };
  }
}
