/**
 * The production writer: backup jobs landing on prod-dd's MTree all the time, at a configurable rate.
 * Each job is one file under `jobs/` that grows by appends until it reaches `jobBytes`; then the next job
 * starts (a new file) and the oldest beyond `keepJobs` is deleted (retention on the backup server). A small
 * `jobs/catalog.txt` is rewritten after every job. So production sees new files, appends and deletions in every
 * phase of a cycle. Content is plain text (like the seed), so the entropy analytics stay quiet.
 *
 * Snapshots are hard links (lab/snapshots.ts): appends first give the file its own inode (`breakLink`), and
 * rewrites go through a temp file and a rename, so no snapshot ever changes.
 */
import fs from 'node:fs';
import path from 'node:path';
import { breakLink } from './snapshots';

export interface WriterOptions {
  bytesPerSec: number;
  /** Size at which a job file is complete (default: 2 s of writing, at least 256 KiB). */
  jobBytes?: number;
  /** Job files kept; older ones are deleted (default 4). */
  keepJobs?: number;
}

export interface WriterStats {
  running: boolean;
  bytesPerSec: number;
  bytesWritten: number;
  filesCreated: number;
  appends: number;
  deletions: number;
}

const TICK_MS = 50;
const LINE = 'job backup segment ledger invoice customer order shipment refund account vendor contract\n';

export class ProductionWriter {
  private timer: NodeJS.Timeout | null = null;
  private last = Date.now();
  private credit = 0;
  private jobNo = 0;
  private current: string | null = null;
  private stats: WriterStats;
  private readonly jobBytes: number;
  private readonly keepJobs: number;

  constructor(
    private readonly dir: string,
    opts: WriterOptions,
    private readonly log: (line: string) => void,
  ) {
    if (!(opts.bytesPerSec > 0)) throw new Error(`writer.bytesPerSec must be a positive number of bytes per second, got ${opts.bytesPerSec}`);
    this.jobBytes = opts.jobBytes ?? Math.max(256 * 1024, Math.round(opts.bytesPerSec * 2));
    this.keepJobs = opts.keepJobs ?? 4;
    this.stats = { running: false, bytesPerSec: opts.bytesPerSec, bytesWritten: 0, filesCreated: 0, appends: 0, deletions: 0 };
    const jobs = path.join(dir, 'jobs');
    // Carry on numbering after a restart.
    for (const f of fs.existsSync(jobs) ? fs.readdirSync(jobs) : []) {
      const m = /^job-(\d+)\.dat$/.exec(f);
      if (m) this.jobNo = Math.max(this.jobNo, Number(m[1]));
    }
  }

  start(): void {
    if (this.timer) return;
    this.last = Date.now();
    this.credit = 0;
    this.timer = setInterval(() => this.tick(), TICK_MS);
    this.stats.running = true;
    this.log(`writer: production writes at ${this.stats.bytesPerSec} bytes/s`);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.stats.running = false;
  }

  setRate(bytesPerSec: number): void {
    if (!(bytesPerSec > 0)) throw new Error(`writer rate must be a positive number of bytes per second, got ${bytesPerSec}`);
    this.stats.bytesPerSec = bytesPerSec;
  }

  status(): WriterStats {
    return { ...this.stats };
  }

  private jobPath(n: number): string {
    return path.join(this.dir, 'jobs', `job-${String(n).padStart(6, '0')}.dat`);
  }

  /** Synchronous on purpose: a snapshot (also synchronous) never sees half a tick. */
  private tick(): void {
    const now = Date.now();
    this.credit = Math.min(this.credit + (this.stats.bytesPerSec * (now - this.last)) / 1000, this.stats.bytesPerSec);
    this.last = now;
    try {
      while (this.credit >= 1) {
        if (!this.current) this.newJob();
        const file = this.current!;
        const size = fs.statSync(file).size;
        const n = Math.min(Math.floor(this.credit), this.jobBytes - size, 4 * 1024 * 1024);
        breakLink(file);
        fs.appendFileSync(file, Buffer.from(LINE.repeat(Math.ceil(n / LINE.length)).slice(0, n)));
        this.stats.appends += 1;
        this.stats.bytesWritten += n;
        this.credit -= n;
        if (size + n >= this.jobBytes) this.finishJob();
      }
    } catch (err) {
      this.log(`writer: ${(err as Error).message}`);
    }
  }

  private newJob(): void {
    this.jobNo += 1;
    this.current = this.jobPath(this.jobNo);
    fs.mkdirSync(path.dirname(this.current), { recursive: true });
    fs.writeFileSync(this.current, `# backup job ${this.jobNo} started ${new Date().toISOString()}\n`);
    this.stats.filesCreated += 1;
  }

  private finishJob(): void {
    this.current = null;
    const old = this.jobNo - this.keepJobs;
    if (old >= 1 && fs.existsSync(this.jobPath(old))) {
      fs.unlinkSync(this.jobPath(old));
      this.stats.deletions += 1;
    }
    const catalog = path.join(this.dir, 'jobs', 'catalog.txt');
    const tmp = `${catalog}.tmp~`;
    const kept = Array.from({ length: this.keepJobs }, (_, i) => this.jobNo - i).filter((n) => n >= 1);
    fs.writeFileSync(tmp, kept.map((n) => `job ${n} complete\n`).join(''));
    fs.renameSync(tmp, catalog);
  }
}
