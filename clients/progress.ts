/**
 * The live progress of a cycle while irctl waits for it: phase, gap, exposure so far, bytes replicated or
 * hashed and an ETA. Read from the status query and the heartbeats of the running activities (describe);
 * drawn on one redrawn line on a terminal, as plain lines (on each phase, when byte counts appear, else every
 * 10 s) otherwise.
 */
import type { WorkflowHandle } from '@temporalio/client';
import type { CycleStatus } from '../workflows/cycle-messages';
import type { CommandIO } from './cli';
import { formatDuration } from './vaults';

export interface ProgressSample {
  at: number;
  phase: CycleStatus['phase'];
  gap: CycleStatus['gap'];
  exposureSeconds?: number;
  /** CONVERGE: bytes still to replicate; VALIDATE: bytes hashed of the total. */
  bytesRemaining?: number;
  bytesDone?: number;
  bytesTotal?: number;
  etaSeconds?: number;
}

const mib = (b: number) => `${(b / 1048576).toFixed(1)} MiB`;

/** Sums what the running activities last heartbeated (awaitSync: {remaining}; hashTree: {progress}). */
async function heartbeats(handle: WorkflowHandle): Promise<{ remaining?: number; done?: number; total?: number }> {
  const { defaultPayloadConverter } = await import('@temporalio/common');
  const described = await handle.describe();
  const out: { remaining?: number; done?: number; total?: number } = {};
  for (const a of described.raw.pendingActivities ?? []) {
    const payload = a.heartbeatDetails?.payloads?.[0];
    if (!payload) continue;
    let d: any;
    try {
      d = defaultPayloadConverter.fromPayload(payload);
    } catch {
      continue; // an encoded payload (codec server) is not ours to read
    }
    if (typeof d?.remaining === 'number') out.remaining = (out.remaining ?? 0) + d.remaining;
    if (d?.progress && typeof d.progress.bytes === 'number') {
      out.done = (out.done ?? 0) + d.progress.bytes;
      if (typeof d.progress.totalBytes === 'number') out.total = (out.total ?? 0) + d.progress.totalBytes;
    }
  }
  return out;
}

export class ProgressTracker {
  private last?: ProgressSample;
  private lastPrinted = 0;
  private lastPhase?: string;
  private lastShape?: string;

  constructor(
    private readonly io: CommandIO,
    /** Durations of earlier cycles on this vault (catalog): the ETA when no byte counts are known. */
    private readonly typicalCycleSeconds?: number,
  ) {}

  async sample(handle: WorkflowHandle, status: CycleStatus): Promise<ProgressSample> {
    const now = Date.now();
    const hb = await heartbeats(handle).catch(() => ({}) as { remaining?: number; done?: number; total?: number });
    const s: ProgressSample = { at: now, phase: status.phase, gap: status.gap };
    if (status.exposure.openedAt) {
      const end = status.exposure.closedAt ? Date.parse(status.exposure.closedAt) : now;
      s.exposureSeconds = (end - Date.parse(status.exposure.openedAt)) / 1000;
    }
    if (status.phase === 'CONVERGE' && hb.remaining !== undefined) s.bytesRemaining = hb.remaining;
    if (status.phase === 'VALIDATE' && hb.done !== undefined) {
      s.bytesDone = hb.done;
      s.bytesTotal = hb.total;
    }
    const prev = this.last?.phase === s.phase ? this.last : undefined;
    const dt = prev ? (now - prev.at) / 1000 : 0;
    if (prev && dt > 0 && s.bytesRemaining !== undefined && prev.bytesRemaining !== undefined && prev.bytesRemaining > s.bytesRemaining) {
      s.etaSeconds = s.bytesRemaining / ((prev.bytesRemaining - s.bytesRemaining) / dt);
    } else if (prev && dt > 0 && s.bytesDone !== undefined && s.bytesTotal && prev.bytesDone !== undefined && s.bytesDone > prev.bytesDone) {
      s.etaSeconds = (s.bytesTotal - s.bytesDone) / ((s.bytesDone - prev.bytesDone) / dt);
    } else if (this.typicalCycleSeconds !== undefined) {
      const elapsed = (now - Date.parse(status.startedAt)) / 1000;
      s.etaSeconds = Math.max(0, this.typicalCycleSeconds - elapsed);
    }
    this.last = s;
    return s;
  }

  static line(s: ProgressSample): string {
    const parts = [s.phase.padEnd(9), `gap ${s.gap}`];
    if (s.exposureSeconds !== undefined) parts.push(`exposure ${s.exposureSeconds.toFixed(1)} s`);
    if (s.bytesRemaining !== undefined) parts.push(`${mib(s.bytesRemaining)} to replicate`);
    if (s.bytesDone !== undefined) parts.push(`hashed ${mib(s.bytesDone)}${s.bytesTotal ? ` of ${mib(s.bytesTotal)}` : ''}`);
    if (s.etaSeconds !== undefined) parts.push(`ETA ${formatDuration(Math.ceil(s.etaSeconds))}`);
    return parts.join('  ');
  }

  show(s: ProgressSample): void {
    const text = ProgressTracker.line(s);
    // Plain lines: a new one when the phase changes or byte counts first appear, else every 10 s.
    const shape = `${s.phase}:${s.bytesRemaining !== undefined}:${s.bytesDone !== undefined}`;
    if (this.io.isTTY) {
      process.stdout.write(`\r\x1b[K${text}`);
    } else if (shape !== this.lastShape || s.at - this.lastPrinted >= 10_000) {
      this.io.out(text);
      this.lastPrinted = s.at;
    }
    this.lastShape = shape;
    this.lastPhase = s.phase;
  }

  /** Ends the redrawn line before other output follows. */
  done(): void {
    if (this.io.isTTY && this.lastPhase) process.stdout.write('\n');
  }
}
