/**
 * A switch's revert timer: the device-side rollback a platform arms with a confirmed change (IOS
 * `configure terminal revert timer`, EOS `commit timer`, Junos `commit confirmed`, NX-OS a scheduler job).
 * When it fires, the ports go back to the admin states saved when it was armed — on the switch, with no
 * session and no orchestrator involved. Confirming disarms it; reverting now fires it early.
 */
import type { SwitchPorts, UpDown } from '../ports';

export interface PendingRevert {
  label: string;
  armedAt: Date;
  deadline: Date;
}

export class RevertTimer {
  private timer: NodeJS.Timeout | null = null;
  private snapshot: Record<string, UpDown> | (() => void) | null = null;
  private info: PendingRevert | null = null;
  /** Every revert that fired, for the lab's state and tests. */
  readonly fired: Array<{ label: string; at: Date }> = [];

  constructor(
    private readonly ports: SwitchPorts,
    private readonly log: (line: string) => void,
  ) {}

  get pending(): PendingRevert | null {
    return this.info;
  }

  /**
   * Arms (or re-arms: the deadline moves, the saved state stays the first one). `snapshot` is the port state
   * to restore, or what to run instead (NX-OS runs its scheduler job).
   */
  arm(ms: number, label: string, snapshot: Record<string, UpDown> | (() => void)): void {
    if (this.timer) clearTimeout(this.timer);
    if (!this.snapshot) this.snapshot = snapshot;
    const now = new Date();
    this.info = { label, armedAt: this.info?.armedAt ?? now, deadline: new Date(now.getTime() + ms) };
    this.timer = setTimeout(() => this.fire(), ms);
    this.timer.unref?.();
  }

  /** Confirms the change: the timer is gone, the current state stays. Returns whether one was pending. */
  disarm(): boolean {
    const was = this.info !== null;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.snapshot = null;
    this.info = null;
    return was;
  }

  /** Reverts now (IOS `configure revert now`, EOS `configure session X abort`). Returns whether one was pending. */
  fire(): boolean {
    const info = this.info;
    if (!info) return false;
    const snap = this.snapshot;
    this.disarm();
    this.log(`revert timer "${info.label}" fired: restoring the configuration saved at ${info.armedAt.toISOString()}`);
    if (typeof snap === 'function') snap();
    else if (snap) this.ports.restore(snap);
    this.fired.push({ label: info.label, at: new Date() });
    return true;
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
