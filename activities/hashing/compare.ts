/**
 * Compare two manifests with a streaming merge join over their sorted entries files: memory is constant
 * (beyond the capped findings) and time linear, so two 1M-entry manifests compare in seconds. Equal
 * Merkle roots settle equality without reading the entries at all.
 */
import { existsSync } from 'node:fs';
import { entryKey, parseEntry, TYPE_NAMES, type Entry } from './entries';
import { FindingCollector } from './findings';
import { LineReader } from './lines';
import { entriesPathOf, readGnuManifestEntries, readManifestInfo } from './manifest';
import { compareKeys } from './paths';
import type { CompareResult, HashAlgorithm, ManifestInfo } from './types';
import { promises as fsp } from 'node:fs';

/** Sorted entries of a manifest: ours stream from the entries file; a foreign GNU file is loaded. */
export interface EntrySource {
  next(): Promise<Entry | null>;
  close(): Promise<void>;
  /** Only files are listed (a plain sha256sum/b3sum file): directories and symlinks are unknown. */
  readonly filesOnly: boolean;
  readonly info: ManifestInfo | null;
}

export async function openEntries(manifestPath: string): Promise<EntrySource> {
  const entriesPath = entriesPathOf(manifestPath);
  const info = existsSync(manifestPath + '.json') ? await readManifestInfo(manifestPath) : null;
  if (existsSync(entriesPath)) {
    const reader = new LineReader(entriesPath);
    let prev: string | null = null;
    return {
      filesOnly: false,
      info,
      async next() {
        const line = await reader.next();
        if (line === null) return null;
        const e = parseEntry(line);
        const key = entryKey(e);
        if (prev !== null && compareKeys(prev, key) >= 0) throw new Error(`entries file not sorted at ${JSON.stringify(key)}: ${entriesPath}`);
        prev = key;
        return e;
      },
      close: () => reader.close(),
    };
  }
  await fsp.access(manifestPath);
  const entries = await readGnuManifestEntries(manifestPath);
  let i = 0;
  return { filesOnly: true, info, next: async () => entries[i++] ?? null, close: async () => undefined };
}

/** Walks two sorted sources in step; calls visit(a, b) with undefined for the side lacking a key. */
export async function mergeJoin(
  a: EntrySource,
  b: EntrySource,
  visit: (a: Entry | undefined, b: Entry | undefined) => void,
): Promise<void> {
  try {
    let x = await a.next();
    let y = await b.next();
    while (x || y) {
      const c = !x ? 1 : !y ? -1 : compareKeys(entryKey(x), entryKey(y));
      if (c === 0) {
        visit(x!, y!);
        x = await a.next();
        y = await b.next();
      } else if (c < 0) {
        visit(x!, undefined);
        x = await a.next();
      } else {
        visit(undefined, y!);
        y = await b.next();
      }
    }
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
}

function assertComparable(a: EntrySource, b: EntrySource): void {
  const [x, y]: Array<HashAlgorithm | undefined> = [a.info?.algorithm, b.info?.algorithm];
  if (x && y && x !== y) throw new Error(`cannot compare a ${x} manifest with a ${y} manifest: hash both trees with one algorithm`);
}

/** Both roots known, equal, and no unreadable entries: the trees are identical. */
function settledByRoot(a: ManifestInfo | null, b: ManifestInfo | null): boolean {
  return !!a && !!b && a.algorithm === b.algorithm && a.root === b.root && a.errors === 0 && b.errors === 0;
}

/** Source (expected) vs vault (actual): missing, extra, size-differs, content-differs, type-differs, unreadable. */
export async function compareManifests(expectedPath: string, actualPath: string, opts: { cap?: number } = {}): Promise<CompareResult> {
  const [exp, act] = [await openEntries(expectedPath), await openEntries(actualPath)];
  const out = new FindingCollector(opts.cap);
  if (settledByRoot(exp.info, act.info)) {
    await Promise.all([exp.close(), act.close()]);
    out.count('compared', exp.info!.files + exp.info!.dirs + exp.info!.symlinks + exp.info!.others);
    return out.result(true);
  }
  assertComparable(exp, act);
  // A plain checksum file lists files only: then the other side's dirs/symlinks are not "extra".
  const filesOnly = exp.filesOnly || act.filesOnly;
  await mergeJoin(exp, act, (e, a) => {
    if (filesOnly && !(e && a) && (e ?? a)!.type !== 'f' && (e ?? a)!.type !== 'e') return;
    out.count('compared');
    if (!a) return out.add({ class: 'missing', path: e!.path, severity: 'critical', detail: `${TYPE_NAMES[e!.type]} not in the copy` });
    if (!e) return out.add({ class: 'extra', path: a.path, severity: 'high', detail: `${TYPE_NAMES[a.type]} not in the source` });
    if (e.type === 'e' || a.type === 'e') {
      const detail = [e.type === 'e' ? `source: ${e.digest}` : '', a.type === 'e' ? `copy: ${a.digest}` : ''].filter(Boolean).join(', ');
      return out.add({ class: 'unreadable', path: e.path, severity: 'high', detail });
    }
    if (e.type !== a.type) return out.add({ class: 'type-differs', path: e.path, severity: 'critical', detail: `${TYPE_NAMES[e.type]} → ${TYPE_NAMES[a.type]}` });
    if (e.size >= 0 && a.size >= 0 && e.size !== a.size) {
      return out.add({ class: 'size-differs', path: e.path, severity: 'critical', detail: `${e.size} → ${a.size} bytes` });
    }
    if (e.digest !== a.digest) {
      const detail = e.type === 'l' ? 'symlink target differs' : `${e.digest.slice(0, 16)}… → ${a.digest.slice(0, 16)}…`;
      return out.add({ class: 'content-differs', path: e.path, severity: 'critical', detail });
    }
  });
  return out.result(out.size === 0);
}

/** Previous copy vs current copy: added, modified (content, size or type), deleted. */
export async function diffCopies(previousPath: string, currentPath: string, opts: { cap?: number } = {}): Promise<CompareResult> {
  const [prev, cur] = [await openEntries(previousPath), await openEntries(currentPath)];
  const out = new FindingCollector(opts.cap);
  if (settledByRoot(prev.info, cur.info)) {
    await Promise.all([prev.close(), cur.close()]);
    return out.result(true);
  }
  assertComparable(prev, cur);
  await mergeJoin(prev, cur, (p, c) => {
    const change = classifyChange(p, c);
    if (change) out.add({ ...change, severity: change.class === 'added' ? 'info' : 'low' });
  });
  return out.result(out.size === 0);
}

/** The change between two versions of a key, or null when unchanged. Directories only count when added/deleted. */
export function classifyChange(p: Entry | undefined, c: Entry | undefined): { class: 'added' | 'modified' | 'deleted'; path: string; detail?: string } | null {
  if (!p) return { class: 'added', path: c!.path, detail: TYPE_NAMES[c!.type] };
  if (!c) return { class: 'deleted', path: p.path, detail: TYPE_NAMES[p.type] };
  if (p.type !== c.type) return { class: 'modified', path: c.path, detail: `${TYPE_NAMES[p.type]} → ${TYPE_NAMES[c.type]}` };
  if (p.size !== c.size && p.size >= 0 && c.size >= 0) return { class: 'modified', path: c.path, detail: `${p.size} → ${c.size} bytes` };
  if (p.digest !== c.digest) return { class: 'modified', path: c.path, detail: 'content' };
  return null;
}
