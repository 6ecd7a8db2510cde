/**
 * buildManifest: walk a tree in sorted order, hash files on the worker pool in batches, and stream the GNU
 * manifest, the entries file and the Merkle root out in that order.
 *
 * Memory stays bounded whatever the tree size: the walker holds one directory listing per level, at most
 * `pool.size * 3` batches are in flight, and results are written in walk order as they complete.
 * Resume: after each written batch the state (output offsets, last key, counters, Merkle stack) is a
 * small checkpoint; a later call with it truncates the partial outputs to the offsets and walks on after
 * the last key.
 */
import { hash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { entryKey, formatEntry, type Entry } from './entries';
import { entriesPathOf, escapeStyleFor, formatGnuLine, headerPath, MANIFEST_FORMAT, sha256OfFile, writeManifestInfo } from './manifest';
import { MerkleBuilder, type MerkleState } from './merkle';
import { HashPool, type HashOwner } from './pool';
import { TreeWalker, type WalkItem } from './walker';
import type { HashAlgorithm, HashProgress, ManifestInfo } from './types';
import { blake3 } from '@napi-rs/blake-hash';

export interface BuildManifestOptions {
  /** Default sha256. */
  algorithm?: HashAlgorithm;
  /** Worker threads of a pool of its own; default: the process's shared pool (one thread per core). */
  concurrency?: number;
  /** 'gap': hashed while an air gap is open, so its batches go before every 'background' one (the default). */
  priority?: 'gap' | 'background';
  /** Called at most every ~500 ms, and once at the end (the activity heartbeats it). */
  onProgress?: (p: HashProgress) => void;
  /** Opaque cursor from a previous onCheckpoint: resume instead of restart. Ignored if it does not match. */
  checkpoint?: unknown;
  /** Called once when `checkpoint` was usable: what the earlier run had done (not hashed again). */
  onResume?: (done: { files: number; bytes: number; lastPath: string }) => void;
  /** Small JSON-serialisable cursor (well under a few KB), emitted with progress. */
  onCheckpoint?: (c: unknown) => void;
  /** Skip a path (relative, no trailing '/'); a skipped directory is skipped whole. */
  exclude?: (relPath: string) => boolean;
  /** Cancellation: stops promptly, terminates the worker threads, removes partial outputs. */
  signal?: AbortSignal;
  /** Progress/checkpoint interval; default 500 ms (tests use 0). */
  progressIntervalMs?: number;
  /** Awaited after each batch with its file bytes: a rate limiter (the scrub) paces the reads with it. */
  throttle?: (bytes: number) => Promise<void>;
}

interface Counts {
  files: number;
  dirs: number;
  symlinks: number;
  others: number;
  errors: number;
  bytes: number;
}

interface Checkpoint {
  v: 1;
  root: string;
  outPath: string;
  algorithm: HashAlgorithm;
  lastKey: string;
  manifestBytes: number;
  entriesBytes: number;
  counts: Counts;
  merkle: MerkleState;
}

/**
 * The process's shared pool (HashPool.shared), or a pool of its own when a concurrency is asked for (a scrub
 * reading at one file at a time). close() cancels what this manifest still has queued or running.
 */
function hashingPool(algorithm: HashAlgorithm, concurrency: number | undefined, owner: HashOwner) {
  if (concurrency !== undefined) {
    const own = new HashPool({ algorithm, size: concurrency, onBytes: owner.onBytes });
    return { size: own.size, hash: (paths: string[]) => own.hash(paths), close: () => own.close() };
  }
  const shared = HashPool.shared(algorithm);
  return { size: shared.size, hash: (paths: string[]) => shared.hash(paths, owner), close: async () => shared.cancel(owner) };
}

interface Batch {
  items: WalkItem[];
  results: Promise<{ size: number; digest: string }[]> | null;
}

const PROGRESS_INTERVAL_MS = 500;
/** Batches aim at this many bytes of file data so small files share one message and large ones go alone. */
const TARGET_BATCH_BYTES = 4 << 20;
const MAX_BATCH_FILES = 256;
/** Directories, symlinks and others ride along with files; this caps a batch of only those. */
const MAX_BATCH_ITEMS = 4096;
/** Manifest output is buffered up to this many characters between writes. */
const WRITE_CHUNK_CHARS = 1 << 20;

export async function buildManifest(root: string, outPath: string, opts: BuildManifestOptions = {}): Promise<ManifestInfo> {
  const algorithm = opts.algorithm ?? 'sha256';
  root = path.resolve(root);
  outPath = path.resolve(outPath);
  if (!(await fsp.stat(root)).isDirectory()) throw new Error(`not a directory: ${root}`);
  opts.signal?.throwIfAborted();
  await fsp.mkdir(path.dirname(outPath), { recursive: true });

  const out = { manifest: outPath + '.partial', entries: entriesPathOf(outPath) + '.partial' };
  const exclude = excludeOutputs(root, outPath, opts.exclude);
  const resume = await usableCheckpoint(opts.checkpoint, { root, outPath, algorithm }, out);
  const counts: Counts = resume ? { ...resume.counts } : { files: 0, dirs: 0, symlinks: 0, others: 0, errors: 0, bytes: 0 };
  const merkle = new MerkleBuilder(resume?.merkle);
  let offsets = { manifest: resume?.manifestBytes ?? 0, entries: resume?.entriesBytes ?? 0 };
  let lastKey = resume?.lastKey ?? '';
  if (resume) opts.onResume?.({ files: resume.counts.files, bytes: resume.counts.bytes, lastPath: resume.lastKey });

  const manifestFh = await fsp.open(out.manifest, resume ? 'r+' : 'w');
  const entriesFh = await fsp.open(out.entries, resume ? 'r+' : 'w');
  let streamingBytes = 0;
  const pool = hashingPool(algorithm, opts.concurrency, { priority: opts.priority ?? 'background', onBytes: (n) => (streamingBytes += n) });
  const onAbort = () => void pool.close();
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  let ok = false;
  try {
    if (resume) {
      await manifestFh.truncate(offsets.manifest);
      await entriesFh.truncate(offsets.entries);
    }
    const style = escapeStyleFor(algorithm);
    const walker = new TreeWalker(root, { exclude, after: resume ? lastKey : undefined });
    const inflight: Batch[] = [];
    const maxInflight = pool.size * 3;
    let avgFileSize = 0; // EWMA of completed file sizes; 0 = unknown, start with single-file batches
    let lastReport = Date.now();

    // Output is written in large chunks; a checkpoint is only taken on flushed offsets.
    const pending = { gnu: '', ent: '' };
    const flushOutput = async () => {
      const [gnu, ent] = [pending.gnu, pending.ent];
      pending.gnu = pending.ent = '';
      offsets = {
        manifest: offsets.manifest + (await writeAt(manifestFh, gnu, offsets.manifest)),
        entries: offsets.entries + (await writeAt(entriesFh, ent, offsets.entries)),
      };
      checkpointable = { lastKey, counts: { ...counts }, merkle: merkle.state() };
    };
    let checkpointable = { lastKey, counts: { ...counts }, merkle: merkle.state() };

    const report = async (force: boolean) => {
      const now = Date.now();
      if (!force && now - lastReport < (opts.progressIntervalMs ?? PROGRESS_INTERVAL_MS)) return;
      lastReport = now;
      await flushOutput();
      opts.onProgress?.({ files: counts.files, bytes: counts.bytes + streamingBytes, lastPath: lastKey });
      opts.onCheckpoint?.({
        v: 1, root, outPath, algorithm, manifestBytes: offsets.manifest, entriesBytes: offsets.entries, ...checkpointable,
      } satisfies Checkpoint);
    };

    const writeBatch = async (batch: Batch) => {
      let results: { size: number; digest: string }[] = [];
      try {
        if (batch.results) results = await batch.results;
      } finally {
        opts.signal?.throwIfAborted(); // the pool was closed by the abort: report the abort, not that
      }
      if (opts.throttle) await opts.throttle(results.reduce((n, x) => n + Math.max(0, x.size), 0));
      let gnu = '';
      let ent = '';
      let r = 0;
      for (const item of batch.items) {
        const e = toEntry(item, item.type === 'f' ? results[r++] : undefined, algorithm);
        const line = formatEntry(e);
        ent += line + '\n';
        merkle.addLeaf(line);
        lastKey = entryKey(e);
        switch (e.type) {
          case 'f':
            gnu += formatGnuLine(e.digest, e.path, style) + '\n';
            counts.files++;
            counts.bytes += e.size;
            avgFileSize = avgFileSize === 0 ? e.size + 1 : avgFileSize * 0.9 + e.size * 0.1;
            break;
          case 'd': counts.dirs++; break;
          case 'l': counts.symlinks++; break;
          case 'o': counts.others++; break;
          case 'e': counts.errors++; break;
        }
      }
      pending.gnu += gnu;
      pending.ent += ent;
      streamingBytes = 0;
      if (pending.ent.length >= WRITE_CHUNK_CHARS) await flushOutput();
      await report(false);
    };

    let items: WalkItem[] = [];
    let files: string[] = [];
    const flush = async () => {
      if (items.length === 0) return;
      const results = files.length > 0 ? pool.hash(files) : null;
      results?.catch(() => undefined); // a batch may be abandoned on error/abort before it is awaited
      inflight.push({ items, results });
      items = [];
      files = [];
      while (inflight.length >= maxInflight) await writeBatch(inflight.shift()!);
    };
    for (let item = await walker.next(); item; item = await walker.next()) {
      opts.signal?.throwIfAborted();
      items.push(item);
      if (item.type === 'f') files.push(item.abs);
      const batchFiles = avgFileSize === 0 ? 1 : Math.min(MAX_BATCH_FILES, Math.max(1, Math.round(TARGET_BATCH_BYTES / avgFileSize)));
      if (files.length >= batchFiles || items.length >= MAX_BATCH_ITEMS) await flush();
    }
    await flush();
    while (inflight.length > 0) await writeBatch(inflight.shift()!);
    await report(true);
    ok = true;
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    await pool.close();
    await manifestFh.close();
    await entriesFh.close();
    // Partial outputs stay for a resume (the caller keeps checkpoints) unless cancelled.
    if (!ok && (opts.signal?.aborted || !opts.onCheckpoint)) await Promise.all([fsp.rm(out.manifest, { force: true }), fsp.rm(out.entries, { force: true })]);
  }
  opts.signal?.throwIfAborted();

  const entriesPath = entriesPathOf(outPath);
  await fsp.rename(out.manifest, outPath);
  await fsp.rename(out.entries, entriesPath);
  const info: ManifestInfo = {
    format: MANIFEST_FORMAT,
    algorithm,
    root: merkle.root(),
    files: counts.files,
    dirs: counts.dirs,
    symlinks: counts.symlinks,
    bytes: counts.bytes,
    created: new Date().toISOString(),
    manifestPath: outPath,
    manifestDigest: await sha256OfFile(outPath),
    entriesPath,
    entriesDigest: await sha256OfFile(entriesPath),
    others: counts.others,
    errors: counts.errors,
  };
  await writeManifestInfo(outPath, info);
  return info;
}

function toEntry(item: WalkItem, result: { size: number; digest: string } | undefined, algorithm: HashAlgorithm): Entry {
  switch (item.type) {
    case 'f':
      return result!.size < 0
        ? { type: 'e', path: item.path, size: 0, digest: result!.digest.slice(1) }
        : { type: 'f', path: item.path, size: result!.size, digest: result!.digest };
    case 'l':
      return { type: 'l', path: item.path, size: Buffer.byteLength(item.linkTarget!), digest: digestOfString(item.linkTarget!, algorithm) };
    case 'e':
      return { type: 'e', path: item.path, size: 0, digest: item.error ?? 'EIO' };
    default:
      return { type: item.type, path: item.path, size: 0, digest: '-' };
  }
}

export function digestOfString(s: string, algorithm: HashAlgorithm): string {
  return algorithm === 'blake3' ? blake3(Buffer.from(s)).toString('hex') : hash('sha256', s, 'hex');
}

async function writeAt(fh: fsp.FileHandle, text: string, position: number): Promise<number> {
  if (text.length === 0) return 0;
  const buf = Buffer.from(text);
  let done = 0;
  while (done < buf.length) done += (await fh.write(buf, done, buf.length - done, position + done)).bytesWritten;
  return buf.length;
}

/** The manifest's own files are never part of the tree they describe. */
function excludeOutputs(root: string, outPath: string, user?: (rel: string) => boolean): (rel: string) => boolean {
  const own = new Set<string>();
  for (const f of [outPath, headerPath(outPath), entriesPathOf(outPath)]) {
    for (const g of [f, f + '.partial', f + '.tmp']) {
      const rel = path.relative(root, g);
      if (!rel.startsWith('..') && !path.isAbsolute(rel)) own.add(rel.split(path.sep).join('/'));
    }
  }
  return (rel) => own.has(rel) || (user?.(rel) ?? false);
}

async function usableCheckpoint(
  c: unknown,
  expect: { root: string; outPath: string; algorithm: HashAlgorithm },
  out: { manifest: string; entries: string },
): Promise<Checkpoint | null> {
  const cp = c as Partial<Checkpoint> | null | undefined;
  if (!cp || cp.v !== 1 || cp.root !== expect.root || cp.outPath !== expect.outPath || cp.algorithm !== expect.algorithm) return null;
  if (typeof cp.lastKey !== 'string' || !cp.counts || !cp.merkle) return null;
  try {
    const [m, e] = await Promise.all([fsp.stat(out.manifest), fsp.stat(out.entries)]);
    if (m.size < (cp.manifestBytes ?? Infinity) || e.size < (cp.entriesBytes ?? Infinity)) return null;
  } catch {
    return null;
  }
  return cp as Checkpoint;
}
