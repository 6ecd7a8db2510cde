/**
 * Source of the hashing worker thread. It is plain JavaScript run with `new Worker(src, { eval: true })`
 * so the pool works the same under tsx, ts-jest and compiled output (a .ts worker file would need a loader
 * in every thread).
 *
 * Protocol: in {id, paths: '\0'-joined absolute paths}; out {id, sizes: Float64Array, digests: '\n'-joined}
 * (digest '!CODE' and size -1 for an unreadable file). One string each way, not arrays of strings: the
 * structured clone of 256 small strings costs more than hashing them.
 * and {progress: bytes} every 256 MiB inside large files so heartbeats keep moving.
 * Reads are synchronous into one reusable buffer (1 MiB by default): nothing else runs on this thread,
 * and one read plus a one-shot digest is the cheapest path for small files.
 */
export const WORKER_SOURCE = String.raw`
const { parentPort, workerData } = require('node:worker_threads');
const fs = require('node:fs');
const crypto = require('node:crypto');
const buf = Buffer.allocUnsafe(workerData.bufferSize);
const b3 = workerData.algorithm === 'blake3' ? require(workerData.blakePath) : null;
const FLAGS = fs.constants.O_RDONLY | (fs.constants.O_NOFOLLOW || 0);
const PROGRESS_EVERY = 256;
const oneShot = (b) => (b3 ? b3.blake3(b).toString('hex') : crypto.hash('sha256', b, 'hex'));
const hasher = () => (b3 ? new b3.Blake3Hasher() : crypto.createHash('sha256'));

function hashFile(p) {
  const fd = fs.openSync(p, FLAGS);
  try {
    let n = fs.readSync(fd, buf, 0, buf.length, null);
    if (n < buf.length) {
      const m = n === 0 ? 0 : fs.readSync(fd, buf, n, buf.length - n, null);
      if (m === 0) return [n, oneShot(buf.subarray(0, n))];
      n += m;
    }
    const h = hasher();
    let size = 0;
    let reads = 0;
    while (n > 0) {
      h.update(buf.subarray(0, n));
      size += n;
      if (++reads % PROGRESS_EVERY === 0) parentPort.postMessage({ progress: buf.length * PROGRESS_EVERY });
      n = fs.readSync(fd, buf, 0, buf.length, null);
    }
    return [size, h.digest('hex')];
  } finally {
    fs.closeSync(fd);
  }
}

parentPort.on('message', (job) => {
  const paths = job.paths.split('\0');
  const sizes = new Float64Array(paths.length);
  const digests = new Array(paths.length);
  for (let i = 0; i < paths.length; i++) {
    try {
      const [size, digest] = hashFile(paths[i]);
      sizes[i] = size;
      digests[i] = digest;
    } catch (err) {
      sizes[i] = -1;
      digests[i] = '!' + (err && typeof err.code === 'string' ? err.code : 'EIO');
    }
  }
  parentPort.postMessage({ id: job.id, sizes, digests: digests.join('\n') }, [sizes.buffer]);
});
`;
