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
}

export interface LockResult {
  /** Files whose atime was raised to `until`. */
  locked: number;
  /** Files already locked to `until` or later: left untouched. */
  alreadyLonger: number;
  /** Bytes of all files now locked to at least `until` (locked + alreadyLonger). */
  bytes: number;
  /** Every regular file covered, relative to the mount root, `/`-separated, sorted. */
  files: string[];
  /** Entries that are not regular files (symlinks, devices…): not locked. */
  skipped: string[];
}

export type FileSelection = readonly string[] | 'walk';

const CONCURRENCY = 16;
const PROGRESS_EVERY = 200;

/**
 * Lock files under `mountRoot` until `until`.
 *   lockFiles(root, until, onProgress?)                 — every regular file under root (walked)
 *   lockFiles(root, relPaths | 'walk', until, onProgress?)
 */
export function lockFiles(mountRoot: string, until: Date, onProgress?: (p: LockProgress) => void): Promise<LockResult>;
export function lockFiles(mountRoot: string, files: FileSelection, until: Date, onProgress?: (p: LockProgress) => void): Promise<LockResult>;
export async function lockFiles(
  mountRoot: string,
  a: Date | FileSelection,
  b?: Date | ((p: LockProgress) => void),
  c?: (p: LockProgress) => void,
): Promise<LockResult> {
  const selection: FileSelection = a instanceof Date ? 'walk' : a;
  const until = a instanceof Date ? a : (b as Date);
  const onProgress = a instanceof Date ? (b as ((p: LockProgress) => void) | undefined) : c;
  if (!(until instanceof Date) || Number.isNaN(until.getTime())) throw new Error(`lockFiles: invalid lock time ${String(until)}`);
  const rootStat = await stat(mountRoot);
  if (!rootStat.isDirectory()) throw new Error(`lockFiles: ${mountRoot} is not a directory`);

  const skipped: string[] = [];
  const rels = selection === 'walk' ? await walk(mountRoot, skipped) : selection.map((p) => checkRelative(mountRoot, p));
  const untilMs = until.getTime();
  const untilSeconds = untilMs / 1000;
  const result: LockResult = { locked: 0, alreadyLonger: 0, bytes: 0, files: [], skipped };
  const covered: string[] = [];
  let done = 0;

  const one = async (rel: string): Promise<void> => {
    const abs = join(mountRoot, rel);
    const st = await lstat(abs);
    if (!st.isFile()) {
      skipped.push(rel);
    } else if (st.atimeMs >= untilMs) {
      result.alreadyLonger++;
      result.bytes += st.size;
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
      covered.push(rel);
    }
    done++;
    if (onProgress && (done % PROGRESS_EVERY === 0 || done === rels.length)) {
      onProgress({ done, total: rels.length, locked: result.locked, alreadyLonger: result.alreadyLonger });
    }
  };

  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < rels.length) await one(rels[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, rels.length) }, worker));
  result.files = covered.sort();
  skipped.sort();
  return result;
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
