/**
 * worker_threads pool for file hashing: one worker per core, pull-based dispatch (an idle worker takes the
 * next batch), a worker that dies is replaced and its batch retried once, close() terminates everything
 * (also mid-file, for prompt cancellation).
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

interface Job {
  id: number;
  paths: string[];
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

export class HashPool {
  readonly size: number;
  private readonly slots: Slot[] = [];
  private readonly queue: Job[] = [];
  private nextId = 1;
  private closed = false;

  constructor(private readonly opts: HashPoolOptions) {
    this.size = Math.max(1, opts.size ?? availableParallelism());
    for (let i = 0; i < this.size; i++) this.slots.push(this.spawn());
  }

  /** Digests of the given absolute paths, in order. */
  hash(paths: string[]): Promise<FileDigest[]> {
    if (this.closed) return Promise.reject(new Error('hash pool is closed'));
    return new Promise((resolve, reject) => {
      this.queue.push({ id: this.nextId++, paths, attempts: 0, resolve, reject });
      this.dispatch();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    const pending = [...this.queue.splice(0), ...this.slots.flatMap((s) => (s.job ? [s.job] : []))];
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
      if (msg.progress !== undefined) return this.opts.onBytes?.(msg.progress);
      const job = slot.job;
      if (!job || job.id !== msg.id) return;
      slot.job = null;
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
        if (++job.attempts < 2) this.queue.unshift(job);
        else job.reject(new Error(`hash worker failed twice on a batch: ${err?.message ?? 'exited'}`));
      }
      this.dispatch();
    };
    worker.on('error', onDeath);
    worker.on('exit', () => onDeath());
    return slot;
  }

  private dispatch(): void {
    for (const slot of this.slots) {
      if (this.queue.length === 0) return;
      if (slot.job) continue;
      const job = this.queue.shift()!;
      slot.job = job;
      slot.worker.postMessage({ id: job.id, paths: job.paths.join('\0') });
    }
  }
}
