/**
 * Depth-first walk of a tree in entry-key order (paths.ts), so manifests come out sorted without holding
 * the tree in memory: the state is one sorted listing per directory level of the current path.
 * Symlinks are recorded, never followed. Can resume after a given key (checkpoint).
 */
import { promises as fsp, type Dirent } from 'node:fs';
import * as path from 'node:path';
import type { EntryType } from './entries';
import { compareKeys } from './paths';

export interface WalkItem {
  type: EntryType;
  /** Relative path. */
  path: string;
  abs: string;
  linkTarget?: string;
  error?: string;
}

interface Child {
  name: string;
  type: EntryType;
  /** Relative path. */
  key: string;
}

interface Frame {
  abs: string;
  rel: string;
  children: Child[];
  next: number;
}

export interface WalkOptions {
  exclude?: (relPath: string) => boolean;
  /** Skip every entry whose key is <= after (resume). */
  after?: string;
}

export class TreeWalker {
  /** rel of a frame is its directory's relative path plus '/' ('' for the root). */
  private readonly stack: Frame[] = [];
  private started = false;

  constructor(
    private readonly root: string,
    private readonly opts: WalkOptions = {},
  ) {}

  async next(): Promise<WalkItem | null> {
    if (!this.started) {
      this.started = true;
      this.stack.push({ abs: this.root, rel: '', children: await listDir(this.root, ''), next: 0 });
    }
    for (;;) {
      const frame = this.stack[this.stack.length - 1];
      if (!frame) return null;
      if (frame.next >= frame.children.length) {
        this.stack.pop();
        continue;
      }
      const child = frame.children[frame.next++];
      const rel = child.key;
      const abs = joinAbs(frame.abs, child.name);
      if (this.opts.exclude?.(rel)) continue;
      const after = this.opts.after;
      if (after !== undefined && compareKeys(child.key, after) <= 0) {
        // Already emitted; descend only into the directory the cursor is inside of.
        if (child.type === 'd' && after.startsWith(child.key + '/')) {
          const listed = await listDir(abs, child.key + '/').catch(() => null);
          if (listed) this.stack.push({ abs, rel: child.key + '/', children: listed, next: 0 });
        }
        continue;
      }
      switch (child.type) {
        case 'd':
          try {
            this.stack.push({ abs, rel: rel + '/', children: await listDir(abs, rel + '/'), next: 0 });
            return { type: 'd', path: rel, abs };
          } catch (err) {
            return { type: 'e', path: rel, abs, error: errorCode(err) };
          }
        case 'l':
          try {
            return { type: 'l', path: rel, abs, linkTarget: await fsp.readlink(abs) };
          } catch (err) {
            return { type: 'e', path: rel, abs, error: errorCode(err) };
          }
        default:
          return { type: child.type, path: rel, abs };
      }
    }
  }
}

async function listDir(abs: string, relPrefix: string): Promise<Child[]> {
  const dirents = await fsp.readdir(abs, { withFileTypes: true });
  const children: Child[] = [];
  for (const d of dirents) {
    const type = direntType(d) ?? (await lstatType(joinAbs(abs, d.name)));
    children.push({ name: d.name, type, key: relPrefix + d.name });
  }
  return children.sort((a, b) => compareKeys(a.key, b.key));
}

/** path.join normalises, which costs more than the rest of a step on a million entries. */
function joinAbs(dir: string, name: string): string {
  return dir.endsWith(path.sep) ? dir + name : dir + path.sep + name;
}

function direntType(d: Dirent): EntryType | undefined {
  if (d.isFile()) return 'f';
  if (d.isDirectory()) return 'd';
  if (d.isSymbolicLink()) return 'l';
  if (d.isFIFO() || d.isSocket() || d.isBlockDevice() || d.isCharacterDevice()) return 'o';
  return undefined; // DT_UNKNOWN on some file systems
}

async function lstatType(abs: string): Promise<EntryType> {
  try {
    const st = await fsp.lstat(abs);
    return st.isFile() ? 'f' : st.isDirectory() ? 'd' : st.isSymbolicLink() ? 'l' : 'o';
  } catch {
    return 'f'; // vanished or unreadable: the hasher records the error
  }
}

export function errorCode(err: unknown): string {
  const code = (err as NodeJS.ErrnoException)?.code;
  return typeof code === 'string' && /^[A-Z0-9_]+$/.test(code) ? code : 'EIO';
}
