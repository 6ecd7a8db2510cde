/**
 * A DD OS CLI interpreter for prod-dd and vault-dd (docs/lab-protocol.md "Data Domain"): one command per exec
 * channel, exit status 0/1, errors as `**** ` lines, confirmation prompts read from stdin. Both DDs share the
 * one replication context; each sees only its own MTrees.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { DdNet } from './dd-net';
import type { FaultDevice, Faults } from './faults';
import type { ReplicationEngine } from './replication';
import { isReplTemp } from './replication';
import { DdExtras, everydayCommand, mtreeList } from './dd-everyday';
import type { MtreeDef } from './mtrees';
import { listDirs, listFiles, type RetentionLock } from './retention';
import { SNAPSHOT_DIR, type SnapshotCommands } from './snapshots';
import type { DeviceHandler, Terminal } from './ssh-server';

export interface DdContext {
  hostname: string;
  device: FaultDevice;
  username: string;
  mtrees: MtreeDef[];
  engine: ReplicationEngine;
  retention: RetentionLock | null; // on the device holding the retention-lock MTree
  faults: Faults;
  snapshots?: SnapshotCommands;
  source: string;
  destination: string;
  log: (line: string) => void;
  /** Capacity, interfaces and the vault-full fault (lab/dd-everyday.ts); one is made when absent. */
  extras?: DdExtras;
  /** `net …` commands (lab/dd-net.ts); absent: not modelled on this DD. */
  net?: DdNet;
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const two = (n: number) => String(n).padStart(2, '0');

/** `Sun Nov  2 13:32` — the DD's local time (UTC in the lab), day space-padded like ctime, no year. */
export function ddMinute(d: Date): string {
  return `${DAYS[d.getUTCDay()]} ${MONTHS[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, ' ')} ${two(d.getUTCHours())}:${two(d.getUTCMinutes())}`;
}

/** `Sun Nov  2 13:32:45 2026` (retention report); `system show date` adds the zone before the year. */
export function ddSeconds(d: Date, zone = false): string {
  return `${ddMinute(d)}:${two(d.getUTCSeconds())} ${zone ? 'UTC ' : ''}${d.getUTCFullYear()}`;
}

const grouped = (n: number) => Math.round(n).toLocaleString('en-US');

export function formatPeriod(seconds: number): string {
  if (seconds % 86400 === 0) return `${seconds / 86400}days`;
  if (seconds % 3600 === 0) return `${seconds / 3600}hours`;
  return `${Math.ceil(seconds / 60)}minutes`;
}

export function parsePeriod(text: string): number | null {
  const m = /^(\d+)\s*(min|mins|minute|minutes|hr|hrs|hour|hours|day|days)$/i.exec(text);
  if (!m) return null;
  const unit = m[2].toLowerCase();
  const mult = unit.startsWith('min') ? 60 : unit.startsWith('h') ? 3600 : 86400;
  return Number(m[1]) * mult;
}

function tokenize(line: string): string[] {
  return [...line.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2]);
}

/** Matches tokens against a pattern like `replication enable {dest}`; `{x?}` may be absent at the end. */
function match(tokens: string[], pattern: string): Record<string, string> | null {
  const words = pattern.split(' ');
  const args: Record<string, string> = {};
  if (tokens.length > words.length) return null;
  for (let i = 0; i < words.length; i++) {
    const w = words[i];
    const t = tokens[i];
    if (w.startsWith('{')) {
      const name = w.slice(1, -1);
      if (t === undefined) {
        if (name.endsWith('?')) continue;
        return null;
      }
      args[name.replace('?', '')] = t;
    } else if (t === undefined || t.toLowerCase() !== w) {
      return null;
    }
  }
  return args;
}

class CliError extends Error {}
const fail = (msg: string): never => {
  throw new CliError(`**** ${msg}`);
};

export class DdCli {
  private readonly extras: DdExtras;
  constructor(private readonly ctx: DdContext) {
    this.extras = ctx.extras ?? new DdExtras(ctx.hostname);
  }

  /** Runs one command line, writing its output; resolves to the exit status. */
  async run(line: string, term: Terminal): Promise<number> {
    const trimmed = line.trim();
    if (trimmed === '') return 0;
    const fault = this.ctx.faults.take(this.ctx.device, trimmed);
    if (fault) {
      this.ctx.log(`${this.ctx.hostname}: ${fault.kind} fault injected for "${trimmed}"`);
      const out = fault.output.endsWith('\n') || fault.output === '' ? fault.output : fault.output + '\n';
      if (fault.kind === 'latency') await new Promise((r) => setTimeout(r, fault.ms));
      if (fault.kind === 'drop') {
        term.write(out);
        await new Promise((r) => setTimeout(r, 50));
        term.dropConnection();
        return 255; // the connection is gone: nobody hears this status
      }
      if (fault.kind !== 'error') return this.execute(trimmed, term);
      term.write(out);
      return fault.exitCode;
    }
    return this.execute(trimmed, term);
  }

  private async execute(trimmed: string, term: Terminal): Promise<number> {
    try {
      term.write(await this.dispatch(tokenize(trimmed), trimmed, term));
      return 0;
    } catch (err) {
      if (!(err instanceof CliError)) throw err;
      term.write(err.message + '\n');
      return 1;
    }
  }

  private async dispatch(t: string[], line: string, term: Terminal): Promise<string> {
    let a: Record<string, string> | null;
    if (t[0]?.toLowerCase() === 'net' && this.ctx.net) return this.ctx.net.run(t, fail);
    const everyday = everydayCommand(t, { ...this.ctx, replicationEnabled: () => this.ctx.engine.status().enabled }, this.extras);
    if (everyday !== null) return typeof everyday === 'string' ? everyday : fail(everyday.error);
    if (match(t, 'system show date')) return ddSeconds(new Date(), true) + '\n';
    if ((a = match(t, 'replication enable {dest}'))) return this.enable(a.dest, true);
    if ((a = match(t, 'replication disable {dest}'))) return this.enable(a.dest, false);
    if ((a = match(t, 'replication sync {dest}'))) return this.sync(a.dest);
    if ((a = match(t, 'replication status {dest?}'))) return this.replStatus(a.dest);
    if ((a = match(t, 'replication show detailed-stats {dest}'))) return this.detailedStats(a.dest);
    if (match(t, 'mtree list')) return this.mtreeList();
    if ((a = match(t, 'mtree retention-lock status mtree {path}'))) return this.rlStatus(a.path);
    if ((a = match(t, 'mtree retention-lock report generate retention-details mtrees {path}'))) return this.rlReport(a.path);
    if ((a = match(t, 'mtree retention-lock set {which} {period} mtree {path}'))) return this.rlSet(a.which, a.period, a.path, term);
    if ((a = match(t, 'mtree retention-lock reset {which} mtree {path}'))) return this.rlSet(a.which, null, a.path, term);
    if ((a = match(t, 'filesys fastcopy source {src} destination {dst}'))) return this.fastcopy(a.src, a.dst);
    if (t[0]?.toLowerCase() === 'snapshot' && this.ctx.snapshots) return this.snapshot(t, line);
    return fail(`Unrecognized command "${line}".`);
  }

  // ---- replication ----

  private contexts(dest: string): string[] {
    if (dest === 'all' || dest === this.ctx.destination) return [this.ctx.destination];
    return fail(`Replication context for "${dest}" does not exist.`);
  }

  private enable(dest: string, on: boolean): string {
    return this.contexts(dest)
      .map((d) => {
        this.ctx.engine.setEnabled(on);
        return `Replication ${on ? 'enabled' : 'disabled'} for "${d}".\n`;
      })
      .join('');
  }

  private async sync(dest: string): Promise<string> {
    const [d] = this.contexts(dest);
    await this.ctx.engine.sync();
    return `Sync initiated for "${d}".\n`;
  }

  private async replStatus(dest?: string): Promise<string> {
    if (dest) this.contexts(dest);
    await this.ctx.engine.refresh();
    const s = this.ctx.engine.status();
    const rule = `${'---'.padEnd(6)}${'-'.repeat(43).padEnd(46)}${'-------'.padEnd(10)}${'------------'.padEnd(15)}${'-'.repeat(18)}`;
    return [
      `${'CTX'.padEnd(6)}${'Destination'.padEnd(46)}${'Enabled'.padEnd(10)}${'Connection'.padEnd(15)}Sync'ed-as-of-time`,
      rule,
      `${'1'.padEnd(6)}${this.ctx.destination.padEnd(46)}${(s.enabled ? 'yes' : 'no').padEnd(10)}${s.connection.padEnd(15)}${s.syncedAsOf ? ddMinute(s.syncedAsOf) : '-'}`,
      rule,
      '',
    ].join('\n');
  }

  private async detailedStats(dest: string): Promise<string> {
    this.contexts(dest);
    await this.ctx.engine.refresh();
    const s = this.ctx.engine.status();
    const rows: Array<[string, string]> = [
      ['Destination:', this.ctx.destination],
      ['Source:', this.ctx.source],
      ['State:', s.state],
      ['Enabled:', s.enabled ? 'yes' : 'no'],
      ['Connection:', s.connection],
      ['Pre-compressed bytes remaining:', grouped(s.bytesRemaining)],
      ['Files remaining:', grouped(s.filesRemaining)],
      ['Synced as of time:', s.syncedAsOf ? ddMinute(s.syncedAsOf) : '-'],
      ['Current throughput (KB/s):', grouped(s.throughputBytesPerSec / 1024)],
    ];
    return rows.map(([k, v]) => `${k.padEnd(32)}${v}\n`).join('');
  }

  // ---- mtrees and retention lock ----

  private mtree(p: string): MtreeDef {
    const norm = path.posix.normalize(p).replace(/\/+$/, '');
    return this.ctx.mtrees.find((m) => m.path === norm) ?? fail(`MTree "${p}" does not exist.`);
  }

  /** Maps a DD path (an MTree or a path inside one) to the lab folder. */
  private resolve(p: string): { m: MtreeDef; abs: string; rel: string } | null {
    const norm = path.posix.normalize(p).replace(/\/+$/, '');
    for (const m of this.ctx.mtrees) {
      if (norm === m.path) return { m, abs: m.dir, rel: '' };
      if (norm.startsWith(m.path + '/')) {
        const rel = norm.slice(m.path.length + 1);
        if (rel.split('/').includes('..')) return null;
        return { m, abs: path.join(m.dir, rel), rel };
      }
    }
    return null;
  }

  private mtreeList(): string {
    return mtreeList({ ...this.ctx, replicationEnabled: () => this.ctx.engine.status().enabled });
  }

  private rlStatus(p: string): string {
    const m = this.mtree(p);
    const row = (k: string, v: string) => `${k.padEnd(42)}${v}\n`;
    if (m.kind !== 'retention' || !this.ctx.retention) return row('Retention-lock', 'never-enabled');
    const { minSeconds, maxSeconds } = this.ctx.retention.limits();
    return (
      row('Retention-lock', 'enabled') +
      row('Retention-lock mode', this.ctx.retention.mode()) +
      row('Retention-lock min-retention-period', formatPeriod(minSeconds)) +
      row('Retention-lock max-retention-period', formatPeriod(maxSeconds)) +
      row('Retention-lock automatic-retention-period', 'not set')
    );
  }

  private async rlReport(p: string): Promise<string> {
    const trees = p === 'all' ? this.ctx.mtrees.filter((m) => m.kind === 'retention') : [this.mtree(p)];
    const out = trees
      .map((m) => {
        if (m.kind !== 'retention' || !this.ctx.retention) return fail(`Retention-lock is not enabled on mtree "${m.path}".`);
        const files = this.ctx.retention.locked();
        return [
          `Report for mtree: ${m.path}`,
          'File Path  Mode  Size(Bytes)  Expiration Date',
          ...files.map((f) => `${m.path}/${f.rel} ${this.ctx.retention!.mode()} ${f.size} ${ddSeconds(f.until)}`),
          `Total files: ${files.length}`,
          '',
        ].join('\n');
      })
      .join('');
    await this.ctx.retention?.settled(); // what the report calls locked is immutable by now
    return out;
  }

  private async rlSet(which: string, period: string | null, p: string, term: Terminal): Promise<string> {
    const m = this.mtree(p);
    const kind = { 'min-retention-period': 'min', 'max-retention-period': 'max' }[which] as 'min' | 'max' | undefined;
    if (!kind) return fail(`Unrecognized command "mtree retention-lock ${period ? 'set' : 'reset'} ${which}".`);
    if (m.kind !== 'retention' || !this.ctx.retention) return fail(`Retention-lock is not enabled on mtree "${m.path}".`);
    const seconds = period === null ? undefined : (parsePeriod(period) ?? fail(`Invalid retention period "${period}".`));
    const limits = { ...this.ctx.retention.limits(), [`${kind}Seconds`]: seconds };
    if (seconds !== undefined && limits.minSeconds > limits.maxSeconds) fail('The min-retention-period must not exceed the max-retention-period.');
    term.write(`The ${which} of mtree ${m.path} will be ${seconds === undefined ? 'reset' : `set to ${formatPeriod(seconds)}`}.\nDo you want to proceed? (yes|no) [no]: `);
    const answer = (await term.readLine())?.trim().toLowerCase();
    if (answer !== 'yes' && answer !== 'y') return fail('Operation cancelled.');
    this.ctx.retention.setLimit(kind, seconds);
    this.ctx.log(`${this.ctx.hostname}: retention-lock ${which} ${seconds === undefined ? 'reset' : formatPeriod(seconds)}`);
    return `Retention-lock ${which} ${seconds === undefined ? 'reset' : `set to ${formatPeriod(seconds)}`} for mtree ${m.path}.\n`;
  }

  // ---- snapshots (lab/snapshots.ts) ----

  private snapshot(t: string[], line: string): string {
    const snaps = this.ctx.snapshots!;
    let a: Record<string, string> | null;
    try {
      if ((a = match(t, 'snapshot create {name} mtree {path} retention {period}')) || (a = match(t, 'snapshot create {name} mtree {path}'))) {
        const seconds = a.period === undefined ? 86400 : parsePeriod(a.period);
        if (seconds === null) return fail(`Invalid retention period "${a.period}".`);
        return snaps.create(a.name, a.path, seconds);
      }
      if ((a = match(t, 'snapshot list mtree {path}'))) return snaps.list(a.path);
      if ((a = match(t, 'snapshot expire {name} mtree {path}'))) return snaps.expire(a.name, a.path);
    } catch (err) {
      if (err instanceof CliError) throw err;
      return fail((err as Error).message);
    }
    return fail(`Unrecognized command "${line}".`);
  }

  // ---- fastcopy ----

  private async fastcopy(srcPath: string, dstPath: string): Promise<string> {
    const src = this.resolve(srcPath);
    const dst = this.resolve(dstPath);
    if (!src || !fs.existsSync(src.abs)) return fail(`Source path "${srcPath}" does not exist.`);
    if (!dst) return fail(`Destination path "${dstPath}" is not in an MTree.`);
    if (fs.existsSync(dst.abs)) return fail(`Destination path "${dstPath}" already exists.`);
    if (dst.rel.split('/')[0] === SNAPSHOT_DIR) return fail(`Destination path "${dstPath}" is in a snapshot (read-only).`);
    if (dst.m.kind === 'replica') return fail(`Destination path "${dstPath}" is in a replication destination MTree (read-only).`);
    if (dst.abs.startsWith(src.abs + path.sep)) return fail('Destination path cannot be inside the source path.');
    const single = fs.statSync(src.abs).isFile();
    const files = single ? [''] : listFiles(src.abs).filter((f) => !isReplTemp(path.posix.basename(f)));
    // Copied off the event loop into a hidden folder beside the destination, which appears whole in one rename:
    // nobody (a retried fastcopy, a worker reading the mount) ever sees half a copy.
    const tmp = path.join(path.dirname(dst.abs), `.${path.basename(dst.abs)}.fastcopy-${process.pid}-${fastcopySeq++}~`);
    try {
      for (const f of files) {
        const from = f ? path.join(src.abs, f) : src.abs;
        const to = f ? path.join(tmp, f) : tmp;
        fs.mkdirSync(path.dirname(to), { recursive: true });
        await fsp.copyFile(from, to);
        fs.utimesSync(to, new Date(), fs.statSync(from).mtime);
      }
      if (!single) fs.mkdirSync(tmp, { recursive: true }); // an empty source still makes its folder
      if (!single) for (const d of listDirs(src.abs)) fs.mkdirSync(path.join(tmp, d), { recursive: true }); // and empty subfolders
      if (dst.m.kind === 'retention') this.ctx.retention?.assertMutable(dst.rel, 'rename'); // never over a locked file
      if (fs.existsSync(dst.abs)) return fail(`Destination path "${dstPath}" already exists.`);
      if (single) {
        fs.linkSync(tmp, dst.abs); // fails if the name was taken meanwhile
        fs.unlinkSync(tmp);
      } else {
        fs.renameSync(tmp, dst.abs);
      }
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
    this.ctx.log(`${this.ctx.hostname}: fastcopy ${srcPath} -> ${dstPath} (${files.length} files)`);
    return `Fastcopy completed: ${files.length} files.\n`;
  }
}

let fastcopySeq = 0;

export function ddDevice(ctx: DdContext): DeviceHandler {
  const cli = new DdCli(ctx);
  return {
    async shell(term) {
      const prompt = `${ctx.username}@${ctx.hostname}# `;
      term.write(prompt);
      for (;;) {
        const line = await term.readLine();
        if (line === null || ['exit', 'quit', 'bye'].includes(line.trim())) return;
        await cli.run(line, term);
        term.write(prompt);
      }
    },
    exec: (command, term) => cli.run(command, term),
  };
}
