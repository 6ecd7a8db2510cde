/**
 * Retention lock through a mount path (the management host's NFS mount of a retention-lock MTree): a file
 * is locked by setting its atime into the future (`touch -a -t`), keeping its mtime. Locks only grow: the
 * current atime is read first and a file whose atime is already at or beyond `until` is left alone.
 * Pure fs; the storage's own view (retention report) is for the caller to check.
 */
import { lstat, readdir, stat, utimes } from 'node:fs/promises';
import { isAbsolute, join, normalize, relative, sep } from 'node:path';

export interface LockProgress {
  done: number;
  total: number;
  locked: number;
  alreadyLonger: number;
  /** Where a later call may resume: every file before it in the sorted list is covered. */
  checkpoint: LockCheckpoint;
}

/**
 * A resume point: the first `settled` files of the sorted list are locked to at least the same `until` (files
 * finish out of order on the pool; this is the contiguous prefix). `lastFile` names the last of them, so a
 * checkpoint taken of another list is recognised and ignored. `bytes` are the settled files' bytes.
 */
export interface LockCheckpoint {
  settled: number;
  lastFile: string;
  bytes: number;
}

export interface LockResult {
  /** Files whose atime was raised to `until`. */
  locked: number;
  /** Files already locked to `until` or later: left untouched. */
  alreadyLonger: number;
  /** Files covered by the checkpoint resumed from: not looked at again (the storage's report checks them). */
  resumed: number;
  /** Bytes of all files now locked to at least `until` (locked + alreadyLonger + resumed). */
  bytes: number;
  /** Every regular file covered, relative to the mount root, `/`-separated, sorted. */
  files: string[];
  /** Entries that are not regular files (symlinks, devices…): not locked. */
  skipped: string[];
}

export type FileSelection = readonly string[] | 'walk';

export interface LockOptions {
  onProgress?: (p: LockProgress) => void;
  /**
   * A checkpoint of an earlier call with the same files and the same `until` (a retried activity): the files it
   * settled are not touched again. Ignored when it does not match the list.
   */
  resume?: LockCheckpoint;
}

const CONCURRENCY = 16;
const PROGRESS_EVERY = 200;
const PROGRESS_MS = 250;
// utimes goes through seconds as a double and the kernel's nanoseconds: an atime set to `until` can read back a
// fraction of a millisecond below it. Such a file is locked to `until` already (nothing lower is ever written).
const ROUNDING_MS = 1;

/**
 * Lock files under `mountRoot` until `until`.
 *   lockFiles(root, until, onProgress | options?)                 — every regular file under root (walked)
 *   lockFiles(root, relPaths | 'walk', until, onProgress | options?)
 */
export function lockFiles(mountRoot: string, until: Date, opts?: ((p: LockProgress) => void) | LockOptions): Promise<LockResult>;
export function lockFiles(mountRoot: string, files: FileSelection, until: Date, opts?: ((p: LockProgress) => void) | LockOptions): Promise<LockResult>;
export async function lockFiles(
  mountRoot: string,
  a: Date | FileSelection,
  b?: Date | ((p: LockProgress) => void) | LockOptions,
  c?: ((p: LockProgress) => void) | LockOptions,
): Promise<LockResult> {
  const selection: FileSelection = a instanceof Date ? 'walk' : a;
  const until = a instanceof Date ? a : (b as Date);
  const last = a instanceof Date ? b : c;
  const opts: LockOptions = typeof last === 'function' ? { onProgress: last } : ((last as LockOptions | undefined) ?? {});
  const onProgress = opts.onProgress;
  if (!(until instanceof Date) || Number.isNaN(until.getTime())) throw new Error(`lockFiles: invalid lock time ${String(until)}`);
  const rootStat = await stat(mountRoot);
  if (!rootStat.isDirectory()) throw new Error(`lockFiles: ${mountRoot} is not a directory`);

  const skipped: string[] = [];
  const rels = selection === 'walk' ? await walk(mountRoot, skipped) : selection.map((p) => checkRelative(mountRoot, p));
  const untilMs = until.getTime();
  const untilSeconds = untilMs / 1000;
  const resume = usable(opts.resume, rels);
  const result: LockResult = { locked: 0, alreadyLonger: 0, resumed: resume?.settled ?? 0, bytes: resume?.bytes ?? 0, files: [], skipped };
  const covered: string[] = rels.slice(0, result.resumed);
  // The contiguous prefix of finished entries: what a checkpoint may promise.
  const finished = new Uint8Array(rels.length);
  const sizes = new Float64Array(rels.length);
  let settled = result.resumed;
  let settledBytes = result.bytes;
  let done = result.resumed;
  let lastReport = Date.now();

  const report = (force: boolean) => {
    if (!onProgress) return;
    const now = Date.now();
    if (!force && done % PROGRESS_EVERY !== 0 && now - lastReport < PROGRESS_MS) return;
    lastReport = now;
    onProgress({
      done,
      total: rels.length,
      locked: result.locked,
      alreadyLonger: result.alreadyLonger,
      checkpoint: { settled, lastFile: settled > 0 ? rels[settled - 1] : '', bytes: settledBytes },
    });
  };

  const one = async (i: number): Promise<void> => {
    const rel = rels[i];
    const abs = join(mountRoot, rel);
    const st = await lstat(abs);
    if (!st.isFile()) {
      skipped.push(rel);
    } else if (st.atimeMs >= untilMs - ROUNDING_MS) {
      result.alreadyLonger++;
      result.bytes += st.size;
      sizes[i] = st.size;
      covered.push(rel);
    } else {
      // utimes takes seconds; pass the mtime with its sub-second part so it is kept as it was.
      await utimes(abs, untilSeconds, st.mtimeMs / 1000);
      const after = await lstat(abs);
      if (after.atimeMs < untilMs - 1000) {
        throw new Error(`lockFiles: the atime of ${abs} did not take (${after.atime.toISOString()} < ${until.toISOString()}): is the mount noatime/read-only?`);
      }
      result.locked++;
      result.bytes += st.size;
      sizes[i] = st.size;
      covered.push(rel);
    }
    finished[i] = 1;
    while (settled < rels.length && finished[settled]) settledBytes += sizes[settled++];
    done++;
    report(done === rels.length);
  };

  let next = result.resumed;
  const worker = async (): Promise<void> => {
    while (next < rels.length) await one(next++);
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, rels.length - result.resumed) }, worker));
  if (result.resumed === rels.length) report(true);
  result.files = covered.sort();
  skipped.sort();
  return result;
}

/** A checkpoint applies only to the list it was taken of: same file at the same place. */
function usable(cp: LockCheckpoint | undefined, rels: readonly string[]): LockCheckpoint | null {
  if (!cp || !Number.isInteger(cp.settled) || cp.settled <= 0 || cp.settled > rels.length) return null;
  if (rels[cp.settled - 1] !== cp.lastFile || typeof cp.bytes !== 'number') return null;
  return cp;
}

function checkRelative(root: string, rel: string): string {
  const n = normalize(rel);
  if (isAbsolute(rel) || n === '..' || n.startsWith(`..${sep}`) || n === '.' || n === '') {
    throw new Error(`lockFiles: ${JSON.stringify(rel)} is not a file path inside ${root}`);
  }
  return n.split(sep).join('/');
}

async function walk(root: string, skipped: string[]): Promise<string[]> {
  const out: string[] = [];
  const visit = async (dir: string): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true });
    for (const e of entries) {
      const abs = join(dir, e.name);
      const rel = relative(root, abs).split(sep).join('/');
      if (e.isDirectory()) await visit(abs);
      else if (e.isFile()) out.push(rel);
      else skipped.push(rel);
    }
  };
  await visit(root);
  return out.sort();
}

/**
 * The latest lock already set on a copy's files (the atime furthest in the future), or undefined when none is in
 * the future. A LOCK retry whose checkpoint was lost (the heartbeat never reached the server) recovers from it the
 * lock time the earlier attempt chose, instead of asking the storage to extend every lock it already set.
 */
export async function latestLockOnFiles(mountRoot: string, now: Date): Promise<Date | undefined> {
  let latest = now.getTime();
  for (const rel of await walk(mountRoot, [])) {
    const st = await stat(join(mountRoot, rel));
    if (st.atimeMs > latest) latest = st.atimeMs;
  }
  return latest > now.getTime() ? new Date(latest) : undefined;
}

