/**
 * DD OS CLI over SSH exec: one command per channel, exit status meaningful (0 ok), errors printed as
 * `**** …` lines. Commands that ask `Do you want to proceed? (yes|no) [no]:` are answered `yes` only when
 * the caller passes `confirm: true`; otherwise the driver answers `no` and refuses.
 */
import type { Client } from 'ssh2';
import { DeviceCommandError, DeviceError } from '../errors';
import { connectSsh, endSsh, execCommand, type SshTarget } from '../ssh';
import {
  ddErrorLines,
  parseDetailedStats,
  parseFastcopy,
  parseReplicationStatus,
  parseRetentionLockStatus,
  parseRetentionReport,
  parseSystemDate,
  type DdClock,
  type ReplicationStats,
  type ReplicationStatusRow,
  type RetentionLockStatus,
  type RetentionReportRow,
} from './parse';
import { parseSnapshotList, type SnapshotRow } from './snapshot-parse';

export type { SnapshotRow } from './snapshot-parse';
export type { ReplicationStats, ReplicationStatusRow, RetentionLockStatus, RetentionReportRow, DdClock } from './parse';

export interface RunOptions {
  /** Answer `yes` to a confirmation prompt (otherwise the command is refused). */
  confirm?: boolean;
  timeoutMs?: number;
}

export interface SystemDate {
  now: Date;
  zone: string;
  raw: string;
  /** Minutes east of UTC the DD's wall clock runs at. */
  offsetMinutes: number;
}

export interface DataDomainCli {
  readonly label: string;
  run(cmd: string, opts?: RunOptions): Promise<string>;
  systemDate(): Promise<SystemDate>;
  /** The device's time now: its last `system show date` on this session (at most 10 min old) advanced by ours. */
  now(): Promise<Date>;
  replicationEnable(dest: string): Promise<string>;
  replicationDisable(dest: string): Promise<string>;
  replicationSync(dest: string): Promise<string>;
  replicationStatus(dest?: string): Promise<ReplicationStatusRow[]>;
  replicationDetailedStats(dest: string): Promise<ReplicationStats>;
  retentionLockStatus(mtree: string): Promise<RetentionLockStatus>;
  retentionReport(mtree: string): Promise<RetentionReportRow[]>;
  /** `filesys fastcopy`; resolves with the number of files the DD reports copied (null if it did not say). */
  fastcopy(source: string, destination: string): Promise<{ files: number | null }>;
  /** `snapshot create <name> mtree <path> retention <n>minutes`. */
  snapshotCreate(name: string, mtree: string, retentionSeconds: number): Promise<string>;
  /** `snapshot list mtree <path>`: every snapshot, expired ones flagged. */
  snapshotList(mtree: string): Promise<SnapshotRow[]>;
  /** `snapshot expire <name> mtree <path>`: expires it now (space returns at the next cleaning). */
  snapshotExpire(name: string, mtree: string): Promise<string>;
  close(): Promise<void>;
}

const CONFIRM_PROMPT = /\(yes\|no\)\s*(?:\[[^\]]*\])?\s*:?\s*$/i;
const DEFAULT_TIMEOUT_MS = 60_000;
/** Re-read the device clock when the cached offset is older than this. */
const CLOCK_TTL_MS = 10 * 60_000;

/** Arguments are interpolated into a command line: allow only what DD paths and replication URLs use. */
const SAFE_ARG = /^(?!-)[\w.\-/:@]+$/;

export async function openDataDomain(target: SshTarget & { label?: string }): Promise<DataDomainCli> {
  const label = target.label ?? `dd ${target.host}:${target.port}`;
  const client: Client = await connectSsh(target, label);
  return new DdCli(client, label);
}

class DdCli implements DataDomainCli {
  private clock: { skewMs: number; offsetMinutes: number; at: number } | undefined;
  private closed = false;

  constructor(
    private readonly client: Client,
    readonly label: string,
  ) {}

  async run(cmd: string, opts: RunOptions = {}): Promise<string> {
    if (this.closed) throw new DeviceError(`${this.label}: session closed`, { device: this.label, command: cmd, retryable: false });
    if (/[\r\n]/.test(cmd)) {
      throw new DeviceError(`${this.label}: refusing to send a command containing a line break`, { device: this.label, command: cmd, retryable: false });
    }
    let prompted: string | undefined;
    const r = await execCommand(this.client, this.label, cmd, {
      timeoutMs: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      answer: (out) => {
        if (prompted !== undefined) return undefined;
        const last = out.slice(out.lastIndexOf('\n') + 1);
        if (!CONFIRM_PROMPT.test(last)) return undefined;
        prompted = last.trim();
        return opts.confirm ? 'yes\n' : 'no\n';
      },
    });
    const output = (r.stdout + (r.stderr ? `\n${r.stderr}` : '')).replace(/\r\n/g, '\n').trimEnd();
    const errors = ddErrorLines(output);
    if (prompted !== undefined && !opts.confirm) {
      throw new DeviceCommandError(
        this.label,
        cmd,
        output,
        `${this.label}: \`${cmd}\` asks for confirmation (${JSON.stringify(prompted)}); refused because the caller did not confirm${
          errors.length ? `: ${errors.join(' ')}` : ''
        }`,
      );
    }
    if (r.code === null && !r.signal && errors.length === 0) {
      // A DD always reports an exit status; without one the channel was cut and the outcome is unknown.
      throw new DeviceCommandError(
        this.label,
        cmd,
        output,
        `${this.label}: \`${cmd}\` ended without an exit status (connection lost?); output so far: ${JSON.stringify(output.slice(-300))}`,
        true,
      );
    }
    if (errors.length > 0 || (r.code !== null && r.code !== 0) || r.signal) {
      const said = errors.length > 0 ? errors.join(' ') : output.trim() || '(no output)';
      const status = r.signal ? `signal ${r.signal}` : `exit status ${r.code}`;
      throw new DeviceCommandError(this.label, cmd, output, `${this.label} rejected \`${cmd}\` (${status}): ${said}`);
    }
    return output;
  }

  async systemDate(): Promise<SystemDate> {
    const raw = await this.run('system show date');
    const hostNow = Date.now();
    const d = parseSystemDate(raw, new Date(hostNow));
    this.clock = { skewMs: d.now.getTime() - hostNow, offsetMinutes: d.offsetMinutes, at: hostNow };
    return { now: d.now, zone: d.zone, raw: d.raw, offsetMinutes: d.offsetMinutes };
  }

  async now(): Promise<Date> {
    return (await this.deviceClock()).now;
  }

  /** The device clock: its own `system show date`, cached briefly and advanced by the local clock. */
  private async deviceClock(): Promise<DdClock> {
    if (!this.clock || Date.now() - this.clock.at > CLOCK_TTL_MS) await this.systemDate();
    const c = this.clock!;
    return { now: new Date(Date.now() + c.skewMs), offsetMinutes: c.offsetMinutes };
  }

  private arg(value: string, what: string): string {
    if (!SAFE_ARG.test(value)) {
      throw new DeviceError(`${this.label}: ${what} ${JSON.stringify(value)} contains characters not allowed in a DD CLI argument`, {
        device: this.label,
        retryable: false,
      });
    }
    return value;
  }

  async replicationEnable(dest: string): Promise<string> {
    return this.run(`replication enable ${this.arg(dest, 'destination')}`);
  }

  async replicationDisable(dest: string): Promise<string> {
    return this.run(`replication disable ${this.arg(dest, 'destination')}`);
  }

  async replicationSync(dest: string): Promise<string> {
    return this.run(`replication sync ${this.arg(dest, 'destination')}`);
  }

  async replicationStatus(dest?: string): Promise<ReplicationStatusRow[]> {
    const clock = await this.deviceClock();
    const out = await this.run(dest === undefined ? 'replication status' : `replication status ${this.arg(dest, 'destination')}`);
    return this.parsed('replication status', out, () => parseReplicationStatus(out, clock));
  }

  async replicationDetailedStats(dest: string): Promise<ReplicationStats> {
    const clock = await this.deviceClock();
    const cmd = `replication show detailed-stats ${this.arg(dest, 'destination')}`;
    const out = await this.run(cmd);
    return this.parsed(cmd, out, () => parseDetailedStats(out, clock));
  }

  async retentionLockStatus(mtree: string): Promise<RetentionLockStatus> {
    const cmd = `mtree retention-lock status mtree ${this.arg(mtree, 'mtree')}`;
    const out = await this.run(cmd);
    return this.parsed(cmd, out, () => parseRetentionLockStatus(out));
  }

  async retentionReport(mtree: string): Promise<RetentionReportRow[]> {
    const clock = await this.deviceClock();
    const cmd = `mtree retention-lock report generate retention-details mtrees ${this.arg(mtree, 'mtree')}`;
    const out = await this.run(cmd, { timeoutMs: 300_000 });
    return this.parsed(cmd, out, () => parseRetentionReport(out, clock.offsetMinutes));
  }

  async fastcopy(source: string, destination: string): Promise<{ files: number | null }> {
    const cmd = `filesys fastcopy source ${this.arg(source, 'source')} destination ${this.arg(destination, 'destination')}`;
    const out = await this.run(cmd, { timeoutMs: 600_000 });
    return { files: parseFastcopy(out) };
  }

  async snapshotCreate(name: string, mtree: string, retentionSeconds: number): Promise<string> {
    const minutes = Math.max(1, Math.ceil(retentionSeconds / 60));
    return this.run(`snapshot create ${this.arg(name, 'snapshot')} mtree ${this.arg(mtree, 'mtree')} retention ${minutes}minutes`);
  }

  async snapshotList(mtree: string): Promise<SnapshotRow[]> {
    const clock = await this.deviceClock();
    const cmd = `snapshot list mtree ${this.arg(mtree, 'mtree')}`;
    const out = await this.run(cmd);
    return this.parsed(cmd, out, () => parseSnapshotList(out, clock.offsetMinutes));
  }

  async snapshotExpire(name: string, mtree: string): Promise<string> {
    return this.run(`snapshot expire ${this.arg(name, 'snapshot')} mtree ${this.arg(mtree, 'mtree')}`);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await endSsh(this.client);
  }

  /** Parse failures become DeviceCommandError with the device's output, so the caller sees what it said. */
  private parsed<T>(cmd: string, out: string, fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      throw new DeviceCommandError(this.label, cmd, out, `${this.label}: ${(err as Error).message}`);
    }
  }
}
