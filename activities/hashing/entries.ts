/**
 * The entries file (`<manifest>.entries`): the complete sorted listing of a tree, one entry per line:
 *
 *     <type> <size> <digest> <path>
 *
 * type: f file, d directory, l symlink, o other (fifo, socket, device), e unreadable.
 * size: bytes (files), target length (symlinks), 0 otherwise.
 * digest: hex content digest (files), digest of the target string (symlinks), the error code (e), '-' otherwise.
 * path: relative, '/'-separated, escaped with '\\', '\n', '\r' (always, so a line never holds a raw newline).
 *
 * Lines are sorted by path (paths.ts compareKeys), which makes compare a streaming merge join, and every line is a
 * Merkle leaf (merkle.ts).
 */
import { escapeName, unescapeName } from './paths';

export type EntryType = 'f' | 'd' | 'l' | 'o' | 'e';

export interface Entry {
  type: EntryType;
  path: string;
  size: number;
  digest: string;
}

export const TYPE_NAMES: Record<EntryType, string> = { f: 'file', d: 'dir', l: 'symlink', o: 'other', e: 'unreadable' };

/** The sort and join key (paths.ts compareKeys orders it). */
export function entryKey(e: Pick<Entry, 'path'>): string {
  return e.path;
}

export function formatEntry(e: Entry): string {
  return `${e.type} ${e.size} ${e.digest} ${escapeName(e.path, 'coreutils')}`;
}

export function parseEntry(line: string): Entry {
  const a = line.indexOf(' ');
  const b = line.indexOf(' ', a + 1);
  const c = line.indexOf(' ', b + 1);
  const type = line.slice(0, a) as EntryType;
  if (c < 0 || !(type in TYPE_NAMES)) throw new Error(`malformed entries line: ${JSON.stringify(line.slice(0, 200))}`);
  return { type, size: Number(line.slice(a + 1, b)), digest: line.slice(b + 1, c), path: unescapeName(line.slice(c + 1)) };
}
