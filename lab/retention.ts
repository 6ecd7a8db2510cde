/**
 * Retention lock of the vault's ir-copies MTree (governance mode), per docs/lab-protocol.md:
 * a file is locked when its atime is set to a time within [t + min, t + max], where t is when the atime was
 * set. The lab reads t from the file's ctime (utimes updates it), so a lock request is judged at the instant
 * it was made, however late the lab looks. Later atimes extend a lock, earlier ones are ignored.
 *
 * Every lab writer that touches ir-copies goes through the guard methods here, which refuse locked files
 * with EACCES, as a DD does over NFS. Writers that bypass the lab (anything using the mount path) meet the
 * immutable attribute (lab/worm.ts). The report keeps every lock it ever accepted, also of a file since gone.
 * The tamper switch lifts both guards, for tests that must damage a locked copy.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { LabState } from './state';
import { ImmutableAttr } from './worm';

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

/** Size of a locked file, 0 once it is gone (the report still lists it). */
function sizeOf(abs: string): number {
  try {
    return fs.statSync(abs).size;
  } catch {
    return 0;
  }
}

export class RetentionLock {
  readonly immutable: ImmutableAttr;
  private tampering = false;
  /** Files that carry the immutable attribute now. */
  private readonly sealed = new Set<string>();

  constructor(
    readonly root: string,
    private readonly state: LabState,
    private readonly defaults: RetentionLimits,
  ) {
    this.immutable = new ImmutableAttr(root);
    const now = Date.now();
    this.seal(this.stillLocked(now), 'now');
    // A lab killed while it held locks lifted nothing: whatever expired since still carries the attribute.
    const ended = Object.entries(this.state.data.locks)
      .filter(([rel, until]) => Date.parse(until) <= now && fs.existsSync(this.abs(rel)))
      .map(([rel]) => this.abs(rel));
    if (this.immutable.available && ended.length) void this.immutable.clear(ended).catch(() => undefined); // settled() reports a failure
  }

  /** Waits until the attribute is on (or off) wherever the locks say; throws chattr's words if it failed. */
  settled(): Promise<void> {
    return this.immutable.settled();
  }

  get tamper(): boolean {
    return this.tampering;
  }

  /** The tamper switch: on lifts the guard and the immutable attribute; off puts them back. */
  async setTamper(on: boolean): Promise<void> {
    if (on) {
      this.tampering = true;
      await this.unsealAll();
    } else {
      this.refresh(); // take what was done to the locks meanwhile (a pulled-back atime), then seal again
      this.tampering = false;
      this.reseal();
    }
    await this.settled();
  }

  private stillLocked(now: number): string[] {
    return Object.entries(this.state.data.locks)
      .filter(([rel, until]) => Date.parse(until) > now && !this.sealed.has(rel) && fs.existsSync(this.abs(rel)))
      .map(([rel]) => rel);
  }

  /** Puts the attribute on every file whose lock still runs (tamper off). */
  reseal(): void {
    if (this.tampering) return;
    this.seal(this.stillLocked(Date.now()));
  }

  /** 'now' before returning; 'queued' in the background (many files at once: whoever reports awaits settled()). */
  private seal(rels: string[], when: 'now' | 'queued' = 'queued'): void {
    if (this.tampering || !this.immutable.available || rels.length === 0) return;
    const abs = rels.map((r) => this.abs(r));
    if (when === 'now') this.immutable.setNow(abs);
    else void this.immutable.set(abs).catch(() => undefined); // settled() reports a failure
    for (const r of rels) this.sealed.add(r);
  }

  /** Lifts the attribute where the lock has expired; called on a timer. */
  expire(): void {
    const now = Date.now();
    const done = [...this.sealed].filter((rel) => Date.parse(this.state.data.locks[rel] ?? '') <= now || !fs.existsSync(this.abs(rel)));
    if (done.length === 0) return;
    void this.immutable.clear(done.map((r) => this.abs(r))).catch(() => undefined);
    for (const r of done) this.sealed.delete(r);
  }

  /** Lifts every attribute (tamper on, lab close: its folder must stay removable); locks stay recorded. */
  async unsealAll(): Promise<void> {
    const all = [...this.sealed];
    this.sealed.clear();
    await this.immutable.clear(all.map((r) => this.abs(r)));
  }

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
    const held = this.state.data.locks[rel];
    if (this.tampering && held && atime < Date.parse(held)) {
      // Tamper switch on: the storage is compromised and honours a pulled-back atime (a shortened lock).
      this.state.data.locks[rel] = new Date(atime).toISOString();
      return true;
    }
    if (atime < requestedAt + minSeconds * 1000 || atime > requestedAt + maxSeconds * 1000) return false;
    const current = this.state.data.locks[rel];
    if (current && Date.parse(current) >= atime) return false; // locks only grow
    this.state.data.locks[rel] = new Date(atime).toISOString();
    return true;
  }

  /**
   * Re-reads every file (or the given ones), takes the locks their atimes ask for and seals them. A lock once
   * accepted is never forgotten, also when its file is gone: the report must show what was lost.
   */
  refresh(rels?: string[]): void {
    const now = Date.now();
    const taken: string[] = [];
    const files = rels ?? listFiles(this.root);
    for (const rel of files) if (this.observe(rel, now)) taken.push(rel);
    if (taken.length) {
      this.state.save();
      // One file asked about (lockOf) is sealed before the answer; a whole-tree pass (the report) in the background.
      this.seal(taken.filter((rel) => !this.sealed.has(rel)), rels ? 'now' : 'queued');
    }
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
      .map(([rel, until]) => ({ rel, size: sizeOf(this.abs(rel)), until: new Date(until) }))
      .sort((a, b) => a.rel.localeCompare(b.rel));
  }

  /** Throws EACCES when rel, or any file under it, is locked (unless the tamper switch is on). */
  assertMutable(rel: string, syscall: string): void {
    if (this.tampering) return;
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
