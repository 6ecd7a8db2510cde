/**
 * The hashing pool's scheduling (activities/hashing/pool.ts): a side hashed while an air gap is open goes before
 * every queued background batch, and cancelling one manifest drops only its own batches. Real worker threads
 * hashing real files; the digests are checked against node:crypto.
 */
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { HashPool, type HashOwner } from '../activities/hashing/pool';

let work: string;
const files: string[] = [];
const sha256 = async (f: string) => createHash('sha256').update(await fsp.readFile(f)).digest('hex');

beforeAll(async () => {
  work = await fsp.mkdtemp(path.join(tmpdir(), 'ir-hash-pool-'));
  for (let i = 0; i < 6; i++) {
    const f = path.join(work, `f${i}.bin`);
    await fsp.writeFile(f, Buffer.alloc(2 << 20, i + 1)); // 2 MiB each: the first batch is still running when the rest queue
    files.push(f);
  }
});
afterAll(async () => {
  await fsp.rm(work, { recursive: true, force: true });
});

test('a gap-priority batch is hashed before the background batches queued ahead of it', async () => {
  const pool = new HashPool({ algorithm: 'sha256', size: 1 });
  try {
    const background: HashOwner = { priority: 'background' };
    const gap: HashOwner = { priority: 'gap' };
    const order: string[] = [];
    const job = (name: string, f: string, owner: HashOwner) =>
      pool.hash([f], owner).then(([d]) => {
        order.push(name);
        return d;
      });
    const runs = [job('b0', files[0], background), job('b1', files[1], background), job('b2', files[2], background), job('g3', files[3], gap)];
    const digests = await Promise.all(runs);
    // b0 had the only thread already; g3 came last but went next.
    expect(order).toEqual(['b0', 'g3', 'b1', 'b2']);
    for (const [i, d] of digests.entries()) expect(d).toEqual({ size: 2 << 20, digest: await sha256(files[i]) });
  } finally {
    await pool.close();
  }
});

test("cancelling one owner drops its batches, queued or running, and leaves another owner's intact", async () => {
  const pool = new HashPool({ algorithm: 'sha256', size: 1 });
  try {
    const mine: HashOwner = { priority: 'background' };
    const other: HashOwner = { priority: 'background' };
    const running = pool.hash([files[0]], mine);
    const queued = pool.hash([files[1]], mine);
    const theirs = pool.hash([files[2]], other);
    pool.cancel(mine);
    await expect(running).rejects.toThrow('hashing cancelled');
    await expect(queued).rejects.toThrow('hashing cancelled');
    // The running batch's worker was replaced; the other owner's batch is hashed by the new one, correctly.
    expect(await theirs).toEqual([{ size: 2 << 20, digest: await sha256(files[2]) }]);
  } finally {
    await pool.close();
  }
});

test('the shared pool is one per algorithm (the CLI exits with it idle: test/hashing.irctl.test.ts)', () => {
  expect(HashPool.shared('sha256')).toBe(HashPool.shared('sha256'));
  expect(HashPool.shared('sha256')).not.toBe(HashPool.shared('blake3'));
});
