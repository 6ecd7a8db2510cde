/**
 * The close path (invariants 1 and 2): once a port may have gone up, the gap is closed — replication disabled and
 * every port verified down — whatever happened, in a non-cancellable scope, retried until it succeeds; a maxOpen
 * timer started at link-up forces it. The backup software's hold is released after it, on every path too.
 */
import { CancellationScope, log, sleep } from '@temporalio/workflow';
import { backupHold, backupKeepHold, backupRelease, closeLink } from './cycle-activities';
import type { CycleBook } from './cycle-book';

export class AirGap {
  /** The maxOpen timer fired: the cycle was cut short to close the gap. */
  forcedClose = false;
  private touched = false;
  private closedByUs = false;
  private readonly maxOpenTimer = new CancellationScope();

  constructor(
    private readonly vaultId: string,
    private readonly book: CycleBook,
    private readonly cutShort: () => void,
  ) {}

  /** A gap found open (a hand-opened port, an earlier crash) is ours to close, even if we never open it. */
  mustClose(): void {
    this.touched = true;
  }

  /** From here on a port may be up: the close path is armed, and the maxOpen timer starts, before the first command. */
  opening(maxOpenSeconds: number): void {
    this.touched = true;
    this.book.opened();
    this.book.enter('OPEN', 'opening');
    this.maxOpenTimer
      .run(() => sleep(maxOpenSeconds * 1000))
      .then(
        () => {
          this.forcedClose = true;
          log.warn('maxOpen reached: forcing the close path', { maxOpenSeconds });
          this.cutShort();
        },
        () => undefined, // timer cancelled: the cycle closed in time
      );
  }

  /** Closes the gap once: right after CONVERGE with closeAfter=converge, else on the way out. */
  async close(): Promise<void> {
    if (this.closedByUs) return;
    this.maxOpenTimer.cancel();
    this.book.enter('CLOSE', 'closing');
    const closed = await CancellationScope.nonCancellable(() => closeLink(this.vaultId));
    this.closedByUs = true;
    this.book.closed(closed.verifiedAt);
  }

  get closed(): boolean {
    return this.closedByUs;
  }

  /** On every way out: close what may be open; a gap never touched was closed all along. */
  async closeIfTouched(): Promise<void> {
    this.maxOpenTimer.cancel();
    if (this.touched) await this.close();
    else this.book.status.gap = 'closed';
  }
}

/**
 * The backup software's hold (PREFLIGHT): no protected job writes while the cycle runs, the hold is re-asserted
 * until the close path, then released — also after a failure or an abort. Construct it at the workflow's top
 * level: its keeper must outlive a cancelled main scope until the release.
 */
export class BackupHold {
  private readonly keeperScope = new CancellationScope();
  private touched = false;
  private keeper?: Promise<unknown>;

  constructor(
    private readonly vaultId: string,
    private readonly book: CycleBook,
  ) {}

  async hold(): Promise<void> {
    this.touched = true;
    const held = await backupHold(this.vaultId);
    this.book.status.backup = held ?? undefined;
    if (held) this.keeper = this.keeperScope.run(() => backupKeepHold(this.vaultId)).catch(() => undefined);
  }

  async release(): Promise<void> {
    if (!this.touched) return;
    this.keeperScope.cancel();
    await this.keeper; // until the keeper has really stopped: no re-assertion lands after the release
    const released = await CancellationScope.nonCancellable(() => backupRelease(this.vaultId));
    if (released) this.book.status.backup = released;
  }
}
