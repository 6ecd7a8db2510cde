/**
 * Retention lock of the vault's ir-copies MTree (governance mode), per docs/lab-protocol.md:
 * a file is locked when its atime is set to a time within [t + min, t + max], where t is when the atime was
 * set. The lab reads t from the file's ctime (utimes updates it), so a lock request is judged at the instant
 * it was made, however late the lab looks. Later atimes extend a lock, earlier ones are ignored.
 *
 * Every lab writer that touches ir-copies goes through the guard methods here, which refuse locked files
 * with EACCES, as a DD does over NFS.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { LabState } from './state';

export interface RetentionLimits {
  minSeconds: number;
  maxSeconds: number;
  /** governance (a lock can be reverted) or compliance (never); default governance. */
  mode?: 'governance' | 'compliance';
}

export function eacces(syscall: string, p: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`EACCES: permission denied, ${syscall} '${p}'`), { code: 'EACCES', errno: -13, syscall, path: p });
}

/** Relative paths of every regular file under root (posix separators). */
export function listFiles(root: string, rel = ''): string[] {
  const dir = path.join(root, rel);
  if (!fs.existsSync(dir)) return [];
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    if (rel === '' && e.name === '.snapshot') continue; // an MTree's snapshots are not part of its tree
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...listFiles(root, r));
    else if (e.isFile()) out.push(r);
  }
  return out.sort();
}

/** Every folder under root, relative with posix separators (fastcopy keeps empty ones). */
export function listDirs(root: string, rel = ''): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(path.join(root, rel), { withFileTypes: true })) {
    if (!e.isDirectory()) continue;
    const r = rel ? `${rel}/${e.name}` : e.name;
    out.push(r, ...listDirs(root, r));
  }
  return out;
}

export class RetentionLock {
  constructor(
    readonly root: string,
    private readonly state: LabState,
    private readonly defaults: RetentionLimits,
  ) {}

  limits(): RetentionLimits {
    return {
      minSeconds: this.state.data.retention.minSeconds ?? this.defaults.minSeconds,
      maxSeconds: this.state.data.retention.maxSeconds ?? this.defaults.maxSeconds,
    };
  }

  setLimit(which: 'min' | 'max', seconds: number | undefined): void {
    if (which === 'min') this.state.data.retention.minSeconds = seconds;
    else this.state.data.retention.maxSeconds = seconds;
    this.state.save();
  }

  private abs(rel: string): string {
    const abs = path.resolve(this.root, rel);
    if (abs !== this.root && !abs.startsWith(this.root + path.sep)) throw new Error(`path outside ir-copies: ${rel}`);
    return abs;
  }

  /** Looks at one file's atime and takes or extends its lock. Returns whether the state changed. */
  private observe(rel: string, now: number): boolean {
    let st: fs.Stats;
    try {
      st = fs.statSync(this.abs(rel));
    } catch {
      return false;
    }
    if (!st.isFile()) return false;
    const { minSeconds, maxSeconds } = this.limits();
    const requestedAt = Math.min(st.ctimeMs, now);
    // Whole milliseconds: utimes() with a JS Date round-trips through nanoseconds and a double.
    const atime = Math.round(st.atimeMs);
    if (atime < requestedAt + minSeconds * 1000 || atime > requestedAt + maxSeconds * 1000) return false;
    const current = this.state.data.locks[rel];
    if (current && Date.parse(current) >= atime) return false; // locks only grow
    this.state.data.locks[rel] = new Date(atime).toISOString();
    return true;
  }

  /** Re-reads every file (or the given ones) and forgets locks of files that no longer exist. */
  refresh(rels?: string[]): void {
    const now = Date.now();
    let changed = false;
    const files = rels ?? listFiles(this.root);
    for (const rel of files) changed = this.observe(rel, now) || changed;
    if (!rels) {
      const present = new Set(files);
      for (const rel of Object.keys(this.state.data.locks)) {
        if (!present.has(rel)) {
          delete this.state.data.locks[rel];
          changed = true;
        }
      }
    }
    if (changed) this.state.save();
  }

  /** `until` is the recorded expiry, also after it passed (then `locked` is false). */
  lockOf(rel: string): { locked: boolean; until: Date | null } {
    rel = path.posix.normalize(rel).replace(/^\/+/, '');
    this.refresh([rel]);
    const until = this.state.data.locks[rel];
    if (!until) return { locked: false, until: null };
    return { locked: Date.parse(until) > Date.now(), until: new Date(until) };
  }

  /** Locked files, for the retention-details report. */
  locked(): Array<{ rel: string; size: number; until: Date }> {
    this.refresh();
    const now = Date.now();
    return Object.entries(this.state.data.locks)
      .filter(([, until]) => Date.parse(until) > now)
      .map(([rel, until]) => ({ rel, size: fs.statSync(this.abs(rel)).size, until: new Date(until) }))
      .sort((a, b) => a.rel.localeCompare(b.rel));
  }

  /** Throws EACCES when rel, or any file under it, is locked. */
  assertMutable(rel: string, syscall: string): void {
    const abs = this.abs(rel);
    if (!fs.existsSync(abs)) return;
    const base = path.relative(this.root, abs).split(path.sep).join('/');
    const files = fs.statSync(abs).isDirectory() ? listFiles(abs).map((f) => (base ? `${base}/${f}` : f)) : [base];
    for (const f of files) if (this.lockOf(f).locked) throw eacces(syscall, abs);
  }

  // ---- the guard: every lab write into ir-copies ----

  writeFile(rel: string, data: Buffer): void {
    this.assertMutable(rel, 'open');
    fs.mkdirSync(path.dirname(this.abs(rel)), { recursive: true });
    fs.writeFileSync(this.abs(rel), data);
  }

  unlink(rel: string): void {
    this.assertMutable(rel, 'unlink');
    fs.unlinkSync(this.abs(rel));
  }

  rename(from: string, to: string): void {
    this.assertMutable(from, 'rename');
    this.assertMutable(to, 'rename');
    fs.renameSync(this.abs(from), this.abs(to));
  }

  /** Copies a file in (fastcopy), keeping its mtime; never over a locked file. */
  copyIn(srcAbs: string, rel: string): void {
    this.assertMutable(rel, 'open');
    const dst = this.abs(rel);
    fs.mkdirSync(path.dirname(dst), { recursive: true });
    fs.copyFileSync(srcAbs, dst);
    const st = fs.statSync(srcAbs);
    fs.utimesSync(dst, new Date(), st.mtime);
  }

  mkdir(rel: string): void {
    fs.mkdirSync(this.abs(rel), { recursive: true });
  }

  // ---- the REST face (rlfiles): the same locks, set and reverted by API instead of atime ----

  mode(): 'governance' | 'compliance' {
    return this.state.data.retention.mode ?? this.defaults.mode ?? 'governance';
  }

  /** Locks rel until `until`; returns the DD's refusal, or null. The atime is set too, as the DD shows it over NFS. */
  setLock(rel: string, until: Date): string | null {
    let abs: string;
    try {
      abs = this.abs(rel);
    } catch {
      return `File "${rel}" is not in the MTree.`;
    }
    if (!fs.existsSync(abs) || !fs.statSync(abs).isFile()) return `File "${rel}" does not exist.`;
    const now = Date.now();
    const { minSeconds, maxSeconds } = this.limits();
    if (until.getTime() < now + minSeconds * 1000 || until.getTime() > now + maxSeconds * 1000) {
      return `Retention time ${until.toISOString()} is outside the MTree's retention period limits (min ${minSeconds} s, max ${maxSeconds} s).`;
    }
    const current = this.lockOf(rel);
    if (current.locked && current.until && current.until.getTime() > until.getTime()) {
      return `Retention time of locked file "${rel}" cannot be reduced (locked until ${current.until.toISOString()}).`;
    }
    fs.utimesSync(abs, until, fs.statSync(abs).mtime);
    this.state.data.locks[rel] = new Date(Math.round(until.getTime())).toISOString();
    this.state.save();
    return null;
  }

  /** `set_time: false`: governance locks can be reverted, compliance locks cannot. */
  revert(rel: string): string | null {
    const current = this.lockOf(rel);
    if (!current.locked) return null;
    if (this.mode() === 'compliance') return `File "${rel}" is locked in compliance mode: the retention lock cannot be reverted.`;
    const abs = this.abs(rel);
    fs.utimesSync(abs, new Date(), fs.statSync(abs).mtime);
    delete this.state.data.locks[rel];
    this.state.save();
    return null;
  }
}
