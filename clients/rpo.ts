/**
 * The RPO check of a schedule: the worst-case age of a vault's newest good copy, from the schedule's
 * period, its jitter and the vault's measured cycle durations (the catalog's reports), against `rpo`.
 *
 * Worst case, with overlap SKIP: cycle k starts at its nominal time t (no jitter) and its data is from
 * then; the next cycle that is not skipped starts at the latest m·period + jitter later, where m is the
 * number of periods a cycle of the longest measured duration D plus the jitter can span (a start that
 * falls while a cycle runs is skipped); its copy is good D after that. So the newest good copy can be
 * m·period + jitter + D old, with m = max(1, ceil((jitter + D) / period)).
 */
import { readFile } from 'node:fs/promises';
import { readCatalog } from '../activities/catalog';
import { formatDuration } from './vaults';

export interface RpoCheck {
  vaultId: string;
  rpoSeconds?: number;
  periodSeconds?: number;
  jitterSeconds: number;
  /** Longest measured cycle, and how many cycles were measured. */
  durationSeconds: number;
  measuredCycles: number;
  skippedPeriods: number;
  worstCaseSeconds?: number;
  /** undefined when it cannot be decided (no rpo set, or the period is not known yet). */
  ok?: boolean;
  detail: string;
}

/** Durations (start to RECORD) of the vault's recorded cycles that produced a copy, newest last. */
export async function measuredCycleSeconds(evidenceDir: string, vaultId: string, last = 20): Promise<number[]> {
  let entries;
  try {
    entries = await readCatalog(evidenceDir, vaultId);
  } catch {
    return [];
  }
  const out: number[] = [];
  for (const e of entries.filter((x) => x.copy).slice(-last)) {
    try {
      const report = JSON.parse(await readFile(e.report, 'utf8')) as { startedAt?: string; phases?: { phase: string; startedAt: string }[] };
      const record = report.phases?.find((p) => p.phase === 'RECORD');
      if (report.startedAt && record) out.push((Date.parse(record.startedAt) - Date.parse(report.startedAt)) / 1000);
    } catch {
      // a report moved or unreadable: that cycle is not measured
    }
  }
  return out.filter((s) => Number.isFinite(s) && s >= 0);
}

/** The longest gap between consecutive times (a cron schedule's period, from the server's next action times). */
export function longestGapSeconds(times: Date[]): number | undefined {
  if (times.length < 2) return undefined;
  let max = 0;
  for (let i = 1; i < times.length; i++) max = Math.max(max, (times[i].getTime() - times[i - 1].getTime()) / 1000);
  return max;
}

export function checkRpo(input: { vaultId: string; rpoSeconds?: number; periodSeconds?: number; jitterSeconds: number; durations: number[] }): RpoCheck {
  const D = input.durations.length ? Math.max(...input.durations) : 0;
  const J = input.jitterSeconds;
  const base = { vaultId: input.vaultId, rpoSeconds: input.rpoSeconds, periodSeconds: input.periodSeconds, jitterSeconds: J, durationSeconds: D, measuredCycles: input.durations.length };
  const measured = input.durations.length
    ? `${input.durations.length} measured cycle${input.durations.length === 1 ? '' : 's'}, longest ${formatDuration(D)}`
    : 'no measured cycles yet: duration taken as 0, a lower bound';
  if (input.periodSeconds === undefined) {
    return { ...base, skippedPeriods: 0, detail: `period not known until the schedule exists (cron): run irctl schedule describe ${input.vaultId} after apply; ${measured}` };
  }
  const P = input.periodSeconds;
  const m = Math.max(1, Math.ceil((J + D) / P));
  const worst = m * P + J + D;
  const formula = `${m > 1 ? `${m}×` : ''}${formatDuration(P)} period + ${formatDuration(J)} jitter + ${formatDuration(D)} cycle = ${formatDuration(worst)}`;
  const skipped = m > 1 ? `; a cycle plus jitter outlasts the period, so ${m - 1} start${m > 2 ? 's are' : ' is'} skipped` : '';
  if (input.rpoSeconds === undefined) {
    return { ...base, skippedPeriods: m - 1, worstCaseSeconds: worst, detail: `worst-case age of the newest good copy ${formula} (${measured}${skipped}); no rpo set for vault ${input.vaultId}: add rpo: 24h to check it` };
  }
  const ok = worst <= input.rpoSeconds;
  return {
    ...base,
    skippedPeriods: m - 1,
    worstCaseSeconds: worst,
    ok,
    detail: `worst-case age of the newest good copy ${formula} ${ok ? '≤' : '>'} rpo ${formatDuration(input.rpoSeconds)}: ${ok ? 'met' : 'NOT MET'} (${measured}${skipped})${ok ? '' : '; shorten every, lower jitter or speed the cycle up'}`,
  };
}
