/**
 * worker_threads pool for file hashing: one worker per core, pull-based dispatch (an idle worker takes the
 * next batch), a worker that dies is replaced and its batch retried once, close() terminates everything
 * (also mid-file, for prompt cancellation).
 *
 * `HashPool.shared()` is one pool per algorithm for the whole process, used by every manifest at once: a worker
 * running many vaults' cycles starts no threads per manifest, hashes with one thread per core in all, and takes
 * the batches of a side hashed while a gap is open (`priority: 'gap'`) before any other (a copy hashed after the
 * close, a scrub), so the exposure window does not wait for work that can wait. `cancel(owner)` drops one
 * manifest's batches (terminating a worker mid-file if needed) without touching the others'.
 */
import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import { WORKER_SOURCE } from './worker-source';
import type { HashAlgorithm } from './types';

export const READ_BUFFER_BYTES = 1 << 20;

export interface FileDigest {
  /** -1 when unreadable. */
  size: number;
  /** Hex digest, or '!CODE' when unreadable. */
  digest: string;
}

/** Who a batch is for: its progress goes there, and its priority decides its place in the queue. */
export interface HashOwner {
  priority: 'gap' | 'background';
  onBytes?: (bytes: number) => void;
}

interface Job {
  id: number;
  paths: string[];
  owner?: HashOwner;
  attempts: number;
  resolve: (r: FileDigest[]) => void;
  reject: (e: Error) => void;
}

interface Slot {
  worker: Worker;
  job: Job | null;
}

export interface HashPoolOptions {
  algorithm: HashAlgorithm;
  size?: number;
  bufferSize?: number;
  /** Bytes hashed inside large files, reported before their batch completes. */
  onBytes?: (bytes: number) => void;
}

const sharedPools = new Map<HashAlgorithm, HashPool>();

export class HashPool {
  readonly size: number;
  private readonly slots: Slot[] = [];
  /** Gap-priority batches first, then the rest; each in arrival order. */
  private readonly queue: { gap: Job[]; background: Job[] } = { gap: [], background: [] };
  private nextId = 1;
  private closed = false;

  constructor(private readonly opts: HashPoolOptions & { unref?: boolean }) {
    this.size = Math.max(1, opts.size ?? availableParallelism());
    for (let i = 0; i < this.size; i++) this.slots.push(this.spawn());
  }

  /** The process's pool for this algorithm (one worker per core, never closed; its threads keep nothing alive). */
  static shared(algorithm: HashAlgorithm): HashPool {
    let pool = sharedPools.get(algorithm);
    if (!pool) sharedPools.set(algorithm, (pool = new HashPool({ algorithm, unref: true })));
    return pool;
  }

  /** Digests of the given absolute paths, in order. */
  hash(paths: string[], owner?: HashOwner): Promise<FileDigest[]> {
    if (this.closed) return Promise.reject(new Error('hash pool is closed'));
    return new Promise((resolve, reject) => {
      this.queue[owner?.priority ?? 'background'].push({ id: this.nextId++, paths, owner, attempts: 0, resolve, reject });
      this.dispatch();
    });
  }

  /** Drops every batch of one owner, queued or running (a running one's worker is replaced). */
  cancel(owner: HashOwner): void {
    for (const q of [this.queue.gap, this.queue.background]) {
      for (let i = q.length - 1; i >= 0; i--) if (q[i].owner === owner) q.splice(i, 1)[0].reject(new Error('hashing cancelled'));
    }
    for (const slot of this.slots) {
      const job = slot.job;
      if (job?.owner !== owner) continue;
      slot.job = null; // its worker's death is then a plain replacement
      job.reject(new Error('hashing cancelled'));
      void slot.worker.terminate();
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const pending = [...this.queue.gap.splice(0), ...this.queue.background.splice(0), ...this.slots.flatMap((s) => (s.job ? [s.job] : []))];
    for (const job of pending) job.reject(new Error('hash pool closed'));
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }

  private spawn(): Slot {
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      // Plain JS needing no loader: do not inherit `--import tsx` & co., which cost every worker ~100 ms of start-up.
      execArgv: [],
      workerData: {
        algorithm: this.opts.algorithm,
        bufferSize: this.opts.bufferSize ?? READ_BUFFER_BYTES,
        blakePath: this.opts.algorithm === 'blake3' ? require.resolve('@napi-rs/blake-hash') : undefined,
      },
    });
    const slot: Slot = { worker, job: null };
    worker.on('message', (msg: { id?: number; progress?: number; sizes?: Float64Array; digests?: string }) => {
      if (msg.progress !== undefined) return (slot.job?.owner?.onBytes ?? this.opts.onBytes)?.(msg.progress);
      const job = slot.job;
      if (!job || job.id !== msg.id) return;
      slot.job = null;
      if (this.opts.unref) worker.unref();
      const digests = msg.digests!.split('\n');
      job.resolve(Array.from(msg.sizes!, (size, i) => ({ size, digest: digests[i] })));
      this.dispatch();
    });
    const onDeath = (err?: Error) => {
      if (this.closed) return;
      const idx = this.slots.indexOf(slot);
      if (idx < 0) return;
      const job = slot.job;
      slot.job = null;
      this.slots[idx] = this.spawn();
      if (job) {
        if (++job.attempts < 2) this.queue[job.owner?.priority ?? 'background'].unshift(job);
        else job.reject(new Error(`hash worker failed twice on a batch: ${err?.message ?? 'exited'}`));
      }
      this.dispatch();
    };
    worker.on('error', onDeath);
    worker.on('exit', () => onDeath());
    if (this.opts.unref) worker.unref(); // idle: keeps nothing alive (dispatch() takes a reference while it works)
    return slot;
  }

  private dispatch(): void {
    for (const slot of this.slots) {
      if (slot.job) continue;
      const job = this.queue.gap.shift() ?? this.queue.background.shift();
      if (!job) return;
      slot.job = job;
      if (this.opts.unref) slot.worker.ref();
      slot.worker.postMessage({ id: job.id, paths: job.paths.join('\0') });
    }
  }
}
