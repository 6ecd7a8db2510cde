/**
 * MTree snapshots on the lab DDs: `snapshot create <name> mtree <path> [retention <period>]`, `snapshot list mtree
 * <path>`, `snapshot expire <name> mtree <path>`, and the read-only `.snapshot/<name>` folder under the MTree's
 * mount, as DD OS exposes it over NFS.
 *
 * A snapshot is a tree of hard links taken synchronously (one event-loop turn), so it is an exact instant even
 * while the production writer runs. That is safe because every lab writer of an MTree replaces files (temp +
 * rename) or breaks the link before appending (`breakLink`) instead of writing in place.
 *
 * On the replica MTree, snapshots are not created by hand: the replication engine adds each source snapshot once
 * the replica holds exactly that snapshot's state (`adopt`), the way MTree replication carries source snapshots
 * (Dell KB 000010873 "Data Domain - How MTree Replication Works": the destination exposes a snapshot's changes only
 * once all of them arrived; KB 000010902 "Snapshots and behavior with MTree Replication | FAQ").
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';

export const SNAPSHOT_DIR = '.snapshot';
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/;

export interface SnapshotRecord {
  name: string;
  createdAt: string;
  retainUntil: string;
}

/** Hard-links every file of `from` (skipping its .snapshot folder) into `to`, which must not exist yet. */
function linkTree(from: string, to: string, rel = ''): void {
  fs.mkdirSync(path.join(to, rel), { recursive: true });
  for (const e of fs.readdirSync(path.join(from, rel), { withFileTypes: true })) {
    if (rel === '' && e.name === SNAPSHOT_DIR) continue;
    if (e.name.endsWith('.ddrepl~')) continue; // a replication temp file is not data yet
    const r = rel ? path.join(rel, e.name) : e.name;
    if (e.isDirectory()) linkTree(from, to, r);
    else if (e.isFile()) fs.linkSync(path.join(from, r), path.join(to, r));
  }
}

/** Before a lab writer changes a file in place: give it its own inode so no snapshot sees the change. */
export function breakLink(file: string): void {
  const st = fs.statSync(file, { throwIfNoEntry: false });
  if (!st || st.nlink < 2) return;
  const tmp = `${file}.cow~`;
  fs.copyFileSync(file, tmp);
  fs.utimesSync(tmp, st.atime, st.mtime);
  fs.renameSync(tmp, file);
}

export class MtreeSnapshots {
  private records: SnapshotRecord[];
  private readonly removing = new Set<Promise<void>>();
  private trashSeq = 0;

  constructor(
    readonly mtree: string,
    private readonly dir: string,
    private readonly metaFile: string,
    private readonly log: (line: string) => void,
  ) {
    this.records = fs.existsSync(metaFile) ? (JSON.parse(fs.readFileSync(metaFile, 'utf8')) as SnapshotRecord[]) : [];
    // A snapshot folder without a record (a crash between link and save) is not a snapshot: remove it.
    const root = path.join(dir, SNAPSHOT_DIR);
    for (const name of fs.existsSync(root) ? fs.readdirSync(root) : []) {
      if (!this.records.some((r) => r.name === name)) fs.rmSync(path.join(root, name), { recursive: true, force: true });
    }
  }

  list(): SnapshotRecord[] {
    const now = Date.now();
    // Past their retention they are gone (the lab cleans at once; a DD would at the next cleaning).
    const live = this.records.filter((r) => Date.parse(r.retainUntil) > now);
    if (live.length !== this.records.length) {
      for (const r of this.records.filter((x) => !live.includes(x))) this.remove(r.name);
    }
    return [...this.records].sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.name.localeCompare(b.name));
  }

  get(name: string): SnapshotRecord | undefined {
    return this.list().find((r) => r.name === name);
  }

  pathOf(name: string): string {
    return path.join(this.dir, SNAPSHOT_DIR, name);
  }

  validName(name: string): boolean {
    return NAME.test(name);
  }

  /** Takes the snapshot now; throws a plain Error with the DD's words when it cannot. */
  create(name: string, retentionSeconds: number, createdAt = new Date()): SnapshotRecord {
    if (!NAME.test(name)) throw new Error(`Invalid snapshot name "${name}".`);
    if (this.get(name)) throw new Error(`Snapshot "${name}" already exists for mtree "${this.mtree}".`);
    return this.capture(name, this.dir, createdAt, new Date(createdAt.getTime() + retentionSeconds * 1000));
  }

  /** Replica side: records a snapshot carried from the source, taken from the replica's current state. */
  adopt(src: SnapshotRecord): void {
    if (this.get(src.name)) return;
    this.capture(src.name, this.dir, new Date(src.createdAt), new Date(src.retainUntil));
  }

  expire(name: string): void {
    if (!this.get(name)) throw new Error(`Snapshot "${name}" does not exist for mtree "${this.mtree}".`);
    this.remove(name);
    this.log(`${this.mtree}: snapshot ${name} expired`);
  }

  private capture(name: string, from: string, createdAt: Date, retainUntil: Date): SnapshotRecord {
    const target = this.pathOf(name);
    const tmp = path.join(this.dir, SNAPSHOT_DIR, `.${name}.tmp`);
    fs.rmSync(tmp, { recursive: true, force: true });
    linkTree(from, tmp);
    fs.rmSync(target, { recursive: true, force: true });
    fs.renameSync(tmp, target);
    const rec = { name, createdAt: createdAt.toISOString(), retainUntil: retainUntil.toISOString() };
    this.records.push(rec);
    this.save();
    this.log(`${this.mtree}: snapshot ${name} created`);
    return rec;
  }

  /** Waits for expired snapshot trees still being removed in the background. */
  async drain(): Promise<void> {
    await Promise.all([...this.removing]);
  }

  private remove(name: string): void {
    // Gone at once (a rename); its files are removed in the background, so one expire does not hold up the lab.
    // A leftover (a crash meanwhile) has no record and is removed at the next start.
    const dir = this.pathOf(name);
    if (fs.existsSync(dir)) {
      const trash = path.join(this.dir, SNAPSHOT_DIR, `.${name}.expired-${process.pid}-${this.trashSeq++}~`);
      fs.renameSync(dir, trash);
      const p = fsp.rm(trash, { recursive: true, force: true }).catch(() => undefined);
      this.removing.add(p);
      void p.finally(() => this.removing.delete(p));
    }
    this.records = this.records.filter((r) => r.name !== name);
    this.save();
  }

  private save(): void {
    const tmp = `${this.metaFile}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(this.records, null, 2) + '\n');
    fs.renameSync(tmp, this.metaFile);
  }
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
/** `Nov 23 2026 12:40`, the DD's local time (UTC in the lab). */
export function snapshotDate(d: Date): string {
  const two = (n: number) => String(n).padStart(2, '0');
  return `${MONTHS[d.getUTCMonth()]} ${two(d.getUTCDate())} ${d.getUTCFullYear()} ${two(d.getUTCHours())}:${two(d.getUTCMinutes())}`;
}

/**
 * The `snapshot …` commands of one DD over its MTrees (DD OS Command Reference, "snapshot": create, list, expire).
 * Methods return the output; they throw an Error whose message is the DD's words (without the `**** `).
 */
export class SnapshotCommands {
  constructor(
    private readonly stores: MtreeSnapshots[],
    private readonly readOnly: (mtree: string) => boolean,
  ) {}

  private store(mtree: string): MtreeSnapshots {
    const norm = path.posix.normalize(mtree).replace(/\/+$/, '');
    const s = this.stores.find((x) => x.mtree === norm);
    if (!s) throw new Error(`MTree "${mtree}" does not exist.`);
    return s;
  }

  create(name: string, mtree: string, retentionSeconds: number): string {
    const s = this.store(mtree);
    if (this.readOnly(s.mtree)) throw new Error(`Snapshots cannot be created on mtree "${s.mtree}": it is a replication destination.`);
    const r = s.create(name, retentionSeconds);
    return `Snapshot "${r.name}" for mtree "${s.mtree}" will be retained until ${snapshotDate(new Date(r.retainUntil))}.\n`;
  }

  expire(name: string, mtree: string): string {
    const s = this.store(mtree);
    s.expire(name);
    return `Snapshot "${name}" for mtree "${s.mtree}" expired.\n`;
  }

  list(mtree: string): string {
    const s = this.store(mtree);
    const rows = s.list();
    const w = Math.max(33, ...rows.map((r) => r.name.length));
    const rule = `${'-'.repeat(w)}   ${'-'.repeat(14)}   ${'-'.repeat(17)}   ${'-'.repeat(17)}   ${'-'.repeat(7)}`;
    return [
      `Snapshot Information for MTree: ${s.mtree}`,
      '----------------------------------------------',
      `${'Name'.padEnd(w)}   Pre-Comp (GiB)   ${'Create Date'.padEnd(17)}   ${'Retain Until'.padEnd(17)}   Status`,
      rule,
      ...rows.map((r) => `${r.name.padEnd(w)}   ${'0.0'.padStart(14)}   ${snapshotDate(new Date(r.createdAt))}   ${snapshotDate(new Date(r.retainUntil))}   `.trimEnd()),
      rule,
      '',
      'Snapshot Summary',
      '-------------------',
      `Total:          ${rows.length}`,
      `Not expired:    ${rows.length}`,
      'Expired:        0',
      '',
    ].join('\n');
  }
}
