/**
 * The one MTree replication context (prod-dd:/data/col1/prod → vault-dd:/data/col1/vault-prod).
 *
 * It mirrors the source folder into the replica folder (copies new/changed files, removes files gone from the
 * source) only while the context is enabled AND every vault port is oper-up, at `bandwidthBytesPerSec`.
 * Files land atomically: written to a hidden temp name beside the target, renamed when complete. When the
 * link drops (or replication is disabled) mid-file, the temp file is removed and the connection goes
 * `disconnected`, so the replica never holds a partial file.
 *
 * `sync` records the set of paths that differ at that instant; `syncedAsOf` is set when the last of them
 * has reached the destination.
 *
 * Source snapshots are carried in order, like DD MTree replication (lab/snapshots.ts has the sources): while a
 * source snapshot is missing on the replica, the engine replicates that snapshot's frozen tree instead of the live
 * one, and when the replica holds exactly its state, the replica gets the snapshot too. Then the next snapshot,
 * then the live tree again. So a snapshot arrives whatever production writes meanwhile.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { LabState } from './state';
import { SNAPSHOT_DIR, type MtreeSnapshots, type SnapshotRecord } from './snapshots';

const TICK_MS = 50;
const RESCAN_MS = 1000;
const CHUNK = 1 << 20;
const TEMP_SUFFIX = '.ddrepl~';

export type Connection = 'connected' | 'disconnected' | 'idle';

export interface ReplicationStatus {
  enabled: boolean;
  connection: Connection;
  state: 'normal' | 'disabled' | 'disconnected' | 'error';
  bytesRemaining: number;
  filesRemaining: number;
  syncedAsOf: Date | null;
  throughputBytesPerSec: number;
  error: string | null;
}

interface Entry {
  size: number;
  mtimeMs: number;
  dir: boolean;
}

interface WorkItem {
  rel: string;
  kind: 'copy' | 'delete' | 'mkdir';
  size: number;
  mtimeMs: number;
}

interface Transfer {
  root: string;
  item: WorkItem;
  src: fsp.FileHandle;
  dst: fsp.FileHandle;
  tmp: string;
  done: number;
}

export function isReplTemp(name: string): boolean {
  return name.endsWith(TEMP_SUFFIX);
}

/**
 * Every file and folder under root, relative with posix separators; replication temp files are skipped.
 * Synchronous on purpose: stat calls answered from the page cache take microseconds, while the same calls through
 * libuv's four-thread pool queued behind every other lab's file copies (a fleet of labs in one process).
 */
function walk(root: string, rel = '', out = new Map<string, Entry>()): Map<string, Entry> {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(path.join(root, rel), { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries) {
    if (isReplTemp(e.name) || (rel === '' && e.name === SNAPSHOT_DIR)) continue;
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) {
      out.set(r, { size: 0, mtimeMs: 0, dir: true });
      walk(root, r, out);
    } else if (e.isFile()) {
      const st = fs.statSync(path.join(root, r), { throwIfNoEntry: false });
      if (st) out.set(r, { size: st.size, mtimeMs: st.mtimeMs, dir: false });
    }
  }
  return out;
}

export class ReplicationEngine {
  private timer: NodeJS.Timeout | null = null;
  private chain: Promise<unknown> = Promise.resolve();
  private queued = 0;
  private work: WorkItem[] = [];
  private scannedAt = 0;
  private transfer: Transfer | null = null;
  private budget = 0;
  private lastTick = Date.now();
  private samples: Array<{ t: number; bytes: number }> = [];
  private pending: Set<string> | null;
  private connection: Connection = 'disconnected';
  private error: string | null = null;
  /** The tree being replicated now: the live source, or the source snapshot being carried. */
  private srcRoot: string;
  private carrying: SnapshotRecord | null = null;

  constructor(
    private readonly o: {
      srcDir: string;
      dstDir: string;
      state: LabState;
      linkUp: () => boolean;
      bandwidthBytesPerSec: number;
      /** A stall fault aimed at now (lab/faults.ts): as `stalled`, from the fault list. */
      stalledBy?: () => boolean;
      destination: string;
      log: (line: string) => void;
      snapshots?: { source: MtreeSnapshots; replica: MtreeSnapshots };
    },
  ) {
    this.srcRoot = o.srcDir;
    const p = o.state.data.replication.pending;
    this.pending = p ? new Set(p) : null;
  }

  private get repl() {
    return this.o.state.data.replication;
  }

  async start(): Promise<void> {
    await this.removeStaleTemps(this.o.dstDir);
    await this.exclusive(() => this.scan());
    this.timer = setInterval(() => this.kick(), TICK_MS);
  }

  /** Runs a step now unless one is running or waiting (port changes call this to react at once). */
  /** Fault (control API): enabled and connected, yet no byte moves, as a stuck DD replication context looks. */
  stalled = false;

  kick(): void {
    if (this.queued > 0 || !this.timer) return;
    this.exclusive(() => this.step()).catch((err: Error) => this.o.log(`replication: ${err.message}`));
  }

  /** Serialises steps, scans and sync requests: only one of them touches the folders at a time. */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    this.queued += 1;
    const p = this.chain.then(fn).finally(() => (this.queued -= 1));
    this.chain = p.catch(() => undefined);
    return p;
  }

  active(): boolean {
    return this.repl.enabled && this.o.linkUp();
  }

  setEnabled(on: boolean): void {
    if (this.repl.enabled !== on) this.o.log(`replication: ${on ? 'enabled' : 'disabled'}`);
    this.repl.enabled = on;
    this.o.state.save();
    this.kick();
  }

  /** `replication sync`: remember what differs now; returns at once. */
  async sync(): Promise<void> {
    await this.exclusive(async () => {
      await this.scan();
      const differing = this.work.map((w) => w.rel);
      this.pending = new Set(differing);
      this.o.log(`replication: sync requested, ${differing.length} paths pending`);
      this.checkPending();
      this.persistPending();
    });
  }

  /** Refreshes the remaining-work numbers while the engine is idle (status commands call this). */
  async refresh(): Promise<void> {
    if (this.active()) return;
    await this.exclusive(() => this.scan());
  }

  status(): ReplicationStatus {
    const enabled = this.repl.enabled;
    const copying = this.work.filter((w) => w.kind === 'copy');
    const bytes = copying.reduce((n, w) => n + w.size, 0) - (this.transfer?.done ?? 0);
    const now = Date.now();
    const throughput = this.samples.filter((s) => s.t > now - 1000).reduce((n, s) => n + s.bytes, 0);
    return {
      enabled,
      connection: this.connection,
      state: this.error ? 'error' : !enabled ? 'disabled' : this.connection === 'connected' ? 'normal' : 'disconnected',
      bytesRemaining: Math.max(0, bytes),
      filesRemaining: this.work.filter((w) => w.kind !== 'mkdir').length, // folders are not files
      syncedAsOf: this.repl.syncedAsOf ? new Date(this.repl.syncedAsOf) : null,
      throughputBytesPerSec: this.connection === 'connected' ? throughput : 0,
      error: this.error,
    };
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.exclusive(() => this.abort());
    this.persistPending();
  }

  // ---- internals (always run inside exclusive) ----

  private persistPending(): void {
    this.repl.pending = this.pending ? [...this.pending].sort() : null;
    this.o.state.save();
  }

  private checkPending(): void {
    if (!this.pending) return;
    const differing = new Set(this.work.map((w) => w.rel));
    for (const p of this.pending) if (!differing.has(p)) this.pending.delete(p);
    if (this.pending.size > 0) return;
    this.pending = null;
    this.repl.syncedAsOf = new Date().toISOString();
    this.repl.pending = null;
    this.o.state.save();
    this.o.log(`replication: destination in sync as of ${this.repl.syncedAsOf}`);
  }

  private async removeStaleTemps(dir: string): Promise<void> {
    const entries = await fsp.readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const e of entries) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) await this.removeStaleTemps(p);
      else if (isReplTemp(e.name)) await fsp.rm(p, { force: true });
    }
  }

  /** Computes the work list: deletions first (a folder missing on the source goes as one item), then copies. */
  private async scan(): Promise<void> {
    const snaps = this.o.snapshots;
    const onReplica = new Set(snaps?.replica.list().map((r) => r.name));
    this.carrying = snaps?.source.list().find((r) => !onReplica.has(r.name)) ?? null;
    const root = this.carrying ? snaps!.source.pathOf(this.carrying.name) : this.o.srcDir;
    if (root !== this.srcRoot) {
      await this.abort();
      this.srcRoot = root;
    }
    const [src, dst] = [walk(this.srcRoot), walk(this.o.dstDir)];
    const deletes: WorkItem[] = [];
    const copies: WorkItem[] = [];
    for (const [rel, d] of dst) {
      const s = src.get(rel);
      const parentGone = deletes.some((x) => rel.startsWith(x.rel + '/'));
      if (!parentGone && (!s || s.dir !== d.dir)) deletes.push({ rel, kind: 'delete', size: 0, mtimeMs: 0 });
    }
    for (const [rel, s] of src) {
      // Folders replicate too (an empty one, e.g. in a database's data directory, must exist in the replica).
      if (s.dir) {
        if (!dst.get(rel)?.dir) copies.push({ rel, kind: 'mkdir', size: 0, mtimeMs: 0 });
        continue;
      }
      const d = dst.get(rel);
      if (!d || d.dir || d.size !== s.size || Math.abs(d.mtimeMs - s.mtimeMs) >= 1) copies.push({ rel, kind: 'copy', size: s.size, mtimeMs: s.mtimeMs });
    }
    this.work = [...deletes, ...copies];
    this.scannedAt = Date.now();
    // Keep a transfer in flight only if its file is still wanted, unchanged; put it first again.
    if (this.transfer) {
      const t = this.transfer.item;
      const i = this.work.findIndex((w) => w.rel === t.rel && w.kind === 'copy' && w.size === t.size && w.mtimeMs === t.mtimeMs);
      if (i < 0) await this.abort();
      else this.work.unshift(...this.work.splice(i, 1));
    }
    this.checkPending();
  }

  private async abort(): Promise<void> {
    const t = this.transfer;
    if (!t) return;
    this.transfer = null;
    await t.src.close().catch(() => undefined);
    await t.dst.close().catch(() => undefined);
    await fsp.rm(t.tmp, { force: true });
    this.o.log(`replication: transfer of ${t.item.rel} dropped at ${t.done}/${t.item.size} bytes`);
  }

  private done(item: WorkItem): void {
    this.work.shift();
    if (this.pending?.delete(item.rel) && this.pending.size === 0) this.checkPending();
  }

  private async step(): Promise<void> {
    const now = Date.now();
    const dt = now - this.lastTick;
    this.lastTick = now;
    this.samples = this.samples.filter((s) => s.t > now - 2000);
    if (!this.active()) {
      await this.abort();
      this.connection = 'disconnected';
      this.budget = 0;
      return;
    }
    this.connection = 'connected';
    try {
      // Rescan now and then: the source keeps changing while the context runs (continuous replication).
      if (now - this.scannedAt >= RESCAN_MS) await this.scan();
      // Cap the credit so a stalled loop cannot burst far above the configured bandwidth.
      const rate = this.stalled || this.o.stalledBy?.() ? 0 : this.o.bandwidthBytesPerSec;
      this.budget = Math.min(this.budget + (rate * dt) / 1000, rate * 0.2);
      while (this.work.length > 0 && this.budget > 0) {
        // A sync or status request waits for this step: let it in now, the rest of the budget keeps for the next.
        if (this.queued > 1) break;
        if (!this.active()) {
          await this.abort();
          this.connection = 'disconnected';
          return;
        }
        await this.advance(this.work[0]);
      }
      if (this.work.length === 0 && this.carrying && this.o.snapshots) {
        await this.scan(); // the snapshot is frozen: a clean scan proves the replica holds exactly its state
        if (this.work.length === 0 && this.carrying && this.active()) {
          this.o.snapshots.replica.adopt(this.carrying);
          this.o.log(`replication: snapshot ${this.carrying.name} replicated`);
          this.carrying = null;
          this.scannedAt = 0;
        }
      }
      this.error = null;
    } catch (err) {
      this.error = (err as Error).message;
      this.o.log(`replication: error: ${this.error}`);
      await this.abort();
      this.scannedAt = 0;
      this.work = [];
    }
  }

  /** Moves one work item forward by at most one chunk of the budget. */
  private async advance(item: WorkItem): Promise<void> {
    const target = path.join(this.o.dstDir, item.rel);
    if (item.kind === 'delete') {
      await fsp.rm(target, { recursive: true, force: true });
      this.done(item);
      return;
    }
    if (item.kind === 'mkdir') {
      await fsp.mkdir(target, { recursive: true });
      this.done(item);
      return;
    }
    if (!this.transfer) {
      const src = await fsp.open(path.join(this.srcRoot, item.rel), 'r').catch(() => null);
      if (!src) {
        // Source file vanished since the scan: the next scan decides what to do.
        this.work.shift();
        this.scannedAt = 0;
        return;
      }
      // A file may replace a folder of the same name (or the other way round): clear the way first.
      const existing = await fsp.stat(target).catch(() => null);
      if (existing?.isDirectory()) await fsp.rm(target, { recursive: true, force: true });
      await fsp.mkdir(path.dirname(target), { recursive: true });
      const tmp = path.join(path.dirname(target), `.${path.basename(target)}${TEMP_SUFFIX}`);
      this.transfer = { root: this.srcRoot, item, src, dst: await fsp.open(tmp, 'w'), tmp, done: 0 };
    }
    const t = this.transfer;
    const want = Math.min(CHUNK, Math.ceil(this.budget), item.size - t.done);
    if (want > 0) {
      const buf = Buffer.allocUnsafe(want);
      const { bytesRead } = await t.src.read(buf, 0, want, t.done);
      if (bytesRead > 0) await t.dst.write(buf, 0, bytesRead);
      t.done += bytesRead;
      this.budget -= bytesRead;
      this.samples.push({ t: Date.now(), bytes: bytesRead });
      if (bytesRead < want) t.done = item.size; // source shrank under us; the next scan catches it
    }
    if (!this.active()) return; // the loop drops the transfer
    if (t.done >= item.size) {
      this.transfer = null;
      await t.src.close();
      await t.dst.close();
      // Seconds as a number keep the sub-millisecond part; a Date would truncate it, and a file whose mtime ends
      // in .999… ms would then differ by a whole millisecond from its source and be copied again forever.
      await fsp.utimes(t.tmp, new Date(), item.mtimeMs / 1000);
      await fsp.rename(t.tmp, target);
      this.done(item);
    }
  }
}
