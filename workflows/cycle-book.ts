/**
 * The cycle's status bookkeeping: what the `status` query, the search attributes and the report say. Phases with
 * their timings, the exposure window and where it went, the outcome. No orchestration here.
 */
import { upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import { IrGapState, IrPhase, IrVault, IrVerdict, type CyclePolicy, type CycleStatus, type GapState, type Outcome, type Phase } from './cycle-messages';

/** Copy ids sort by time and stay unique: the run's start instant and the random tail of its UUIDv7 run id. */
function copyIdFor(startTime: Date, runId: string): string {
  const stamp = startTime.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return `${stamp}-${runId.replace(/-/g, '').slice(-8)}`;
}

/** Data work inside the window (replication beside source hashing, and with closeAfter=validate the isolated steps). */
export interface WindowWork {
  replicationSeconds: number;
  sourceHashSeconds: number;
  isolatedDataSeconds: number;
}

export class CycleBook {
  readonly status: CycleStatus;
  policy?: CyclePolicy;
  work: WindowWork = { replicationSeconds: 0, sourceHashSeconds: 0, isolatedDataSeconds: 0 };

  constructor(vaultId: string) {
    const info = workflowInfo();
    this.status = {
      vaultId,
      copyId: copyIdFor(info.startTime, info.runId),
      phase: 'PREFLIGHT',
      gap: 'unknown',
      startedAt: new Date().toISOString(),
      phases: [],
      exposure: {},
      verdict: 'none',
      findings: [],
      rejectedMessages: [],
    };
  }

  /** Ends the running phase, starts the next one, and tells the UI (search attributes). */
  enter(phase: Phase, gap?: GapState): void {
    const s = this.status;
    const now = new Date().toISOString();
    const last = s.phases[s.phases.length - 1];
    if (last && !last.endedAt) {
      last.endedAt = now;
      last.seconds = (Date.parse(now) - Date.parse(last.startedAt)) / 1000;
    }
    s.phase = phase;
    if (gap) s.gap = gap;
    if (phase !== 'DONE') s.phases.push({ phase, startedAt: now });
    upsertSearchAttributes([
      { key: IrVault, value: s.vaultId },
      { key: IrPhase, value: phase },
      { key: IrGapState, value: s.gap },
      { key: IrVerdict, value: s.verdict },
    ]);
  }

  phaseSeconds(phase: Phase): number {
    return this.status.phases.filter((p) => p.phase === phase).reduce((n, p) => n + (p.seconds ?? 0), 0);
  }

  /** Seconds since the running phase began (LOCK and VALIDATE inside the window under closeAfter=validate). */
  runningPhaseSeconds(): number {
    const last = this.status.phases[this.status.phases.length - 1];
    return last ? (Date.now() - Date.parse(last.startedAt)) / 1000 : 0;
  }

  /** The gap opened (first command on its way): the exposure window starts. */
  opened(): void {
    this.status.exposure.openedAt = new Date().toISOString();
  }

  /** The close path verified the gap closed at this instant (the devices' own clock). */
  closed(verifiedAt: string): void {
    const e = this.status.exposure;
    this.status.gap = 'closed';
    e.closedAt = verifiedAt;
    if (e.openedAt) e.seconds = (Date.parse(verifiedAt) - Date.parse(e.openedAt)) / 1000;
  }

  /** Where the exposure went: data work (replication beside source hashing) and the orchestration's overhead. */
  splitExposure(): void {
    const { exposure, replication } = this.status;
    if (exposure.seconds === undefined || !replication?.syncedAsOf) return;
    const w = this.work;
    const data = Math.max(w.replicationSeconds, w.sourceHashSeconds) + w.isolatedDataSeconds;
    exposure.split = {
      order: this.policy?.closeAfter ?? 'converge',
      replicationSeconds: w.replicationSeconds,
      sourceHashSeconds: w.sourceHashSeconds,
      openSeconds: this.phaseSeconds('OPEN'),
      closeSeconds: this.phaseSeconds('CLOSE'),
      overheadSeconds: Math.max(0, exposure.seconds - data),
    };
  }

  /** The phase a failure belongs to: the last one before the close path and the report. */
  failedPhase(): Phase {
    const beforeClose = this.status.phases.filter((p) => !['CLOSE', 'RECORD', 'DONE'].includes(p.phase));
    return beforeClose[beforeClose.length - 1]?.phase ?? 'PREFLIGHT';
  }
}

/** How the run ended, from what interrupted it (if anything) and what people decided. */
export function outcomeOf(
  status: CycleStatus,
  end: { failure: unknown; forcedClose: boolean; aborted: boolean; cancelled: boolean; decided?: Outcome },
): Outcome {
  if (!end.failure) return end.decided ?? (status.verdict === 'clean' ? 'validated' : 'suspect');
  if (end.forcedClose) return 'failed';
  if (end.aborted) return 'aborted';
  return end.cancelled ? 'cancelled' : 'failed';
}
