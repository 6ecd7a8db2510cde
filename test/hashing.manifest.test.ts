/** Hasher and manifests: coreutils/b3sum compatibility, order, Merkle root, progress, resume, cancellation. */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promises as fsp, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { buildManifest, merkleRootOf, MerkleBuilder, readManifestInfo } from '../activities/hashing';
import { parseEntry } from '../activities/hashing/entries';
import { writeAwkwardTree, writeProductionTree } from '../activities/hashing/fixtures';
import { parseGnuLine } from '../activities/hashing/manifest';
import { compareKeys, escapeName, unescapeName } from '../activities/hashing/paths';

let work: string;
beforeAll(async () => {
  work = await fsp.mkdtemp(path.join(tmpdir(), 'ir-hashing-'));
});
afterAll(async () => {
  await fsp.rm(work, { recursive: true, force: true });
});

const lines = (file: string) => readFileSync(file, 'utf8').split('\n').filter(Boolean);
// b3sum is a Debian package (.ci/run installs it); without it the BLAKE3 cross-checks are skipped, loudly.
// Under CI (.ci/run installs b3sum) a missing b3sum fails these checks instead of skipping them.
const hasB3sum = !!process.env.CI || spawnSync('b3sum', ['--version']).status === 0;
if (!hasB3sum) console.warn('b3sum is not installed (apt-get install b3sum): skipping the b3sum --check cross-checks');
const withB3sum = hasB3sum ? test : test.skip;

const run = (cmd: string, args: string[], cwd: string) => {
  try {
    return { code: 0, out: execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }) };
  } catch (err) {
    const e = err as { status: number; stdout: string; stderr: string };
    return { code: e.status, out: e.stdout + e.stderr };
  }
};

describe('GNU manifests', () => {
  let tree: string;
  beforeAll(async () => {
    tree = path.join(work, 'awkward');
    await writeAwkwardTree(tree);
  });

  test('sha256sum -c --strict accepts ours, names with spaces/newlines/CR/backslashes/unicode included', async () => {
    const out = path.join(work, 'm', 'SHA256SUMS');
    const info = await buildManifest(tree, out);
    expect(info).toMatchObject({ format: 'ir-manifest/1', algorithm: 'sha256', files: 14, dirs: 3, symlinks: 1, errors: 0 });
    const r = run('sha256sum', ['-c', '--strict', out], tree);
    expect(r.code).toBe(0);
    expect(r.out.match(/: OK$/gm)).toHaveLength(14);
    // Byte for byte what sha256sum itself writes for the same names.
    const names = lines(out).map((l) => parseGnuLine(l).path);
    const theirs = execFileSync('sha256sum', ['--', ...names], { cwd: tree, encoding: 'utf8' });
    expect(readFileSync(out, 'utf8')).toBe(theirs);
  });

  withB3sum('b3sum --check accepts ours (b3sum escaping: raw CR)', async () => {
    const out = path.join(work, 'm', 'B3SUMS');
    const info = await buildManifest(tree, out, { algorithm: 'blake3' });
    expect(info.algorithm).toBe('blake3');
    const r = run('b3sum', ['--check', out], tree);
    expect(r.code).toBe(0);
    expect(r.out.match(/: OK$/gm)).toHaveLength(14);
    const names = lines(out).map((l) => parseGnuLine(l).path);
    expect(readFileSync(out, 'utf8')).toBe(execFileSync('b3sum', ['--', ...names], { cwd: tree, encoding: 'utf8' }));
  });

  test('a tampered file fails sha256sum -c', async () => {
    const copy = path.join(work, 'awkward-tampered');
    await fsp.cp(tree, copy, { recursive: true, verbatimSymlinks: true });
    const out = path.join(work, 'm', 'T.SHA256SUMS');
    await buildManifest(copy, out);
    await fsp.appendFile(path.join(copy, 'new\nline.txt'), 'x');
    const r = run('sha256sum', ['-c', out], copy);
    expect(r.code).toBe(1);
    expect(r.out).toContain('\\new\\nline.txt: FAILED');
  });

  test('header round-trips and carries the manifest digests', async () => {
    const out = path.join(work, 'm', 'SHA256SUMS');
    const info = await readManifestInfo(out);
    expect(info.manifestDigest).toBe(createHash('sha256').update(readFileSync(out)).digest('hex'));
    expect(info.entriesDigest).toBe(createHash('sha256').update(readFileSync(out + '.entries')).digest('hex'));
    expect(info.bytes).toBe(lines(out + '.entries').map(parseEntry).filter((e) => e.type === 'f').reduce((a, e) => a + e.size, 0));
  });

  test('escaping round-trips', () => {
    for (const name of ['a\\b', 'a\nb', 'a\rb', '\\\\n', 'plain']) {
      expect(unescapeName(escapeName(name, 'coreutils'))).toBe(name);
      expect(unescapeName(escapeName(name, 'b3sum'))).toBe(name);
    }
  });
});

describe('order and entries', () => {
  test('path order: "/" first, code points (astral after U+FFFD), file and dir of one name share a key', () => {
    const sorted = ['a-b', 'a/x', 'a', 'a.b', 'b', '\uFFFD', '😀', 'a/x/y', 'A'].sort(compareKeys);
    expect(sorted).toEqual(['A', 'a', 'a/x', 'a/x/y', 'a-b', 'a.b', 'b', '\uFFFD', '😀']);
  });

  test('entries file is sorted, complete, and dirs/symlinks/fifos are typed', async () => {
    const tree = path.join(work, 'order');
    for (const f of ['a/x', 'a-b', 'a.c', 'b/c/d', 'Z']) {
      await fsp.mkdir(path.dirname(path.join(tree, f)), { recursive: true });
      await fsp.writeFile(path.join(tree, f), f);
    }
    await fsp.symlink('a-b', path.join(tree, 'ln'));
    execFileSync('mkfifo', [path.join(tree, 'fifo')]);
    const out = path.join(work, 'm', 'order');
    const info = await buildManifest(tree, out);
    const entries = lines(out + '.entries').map(parseEntry);
    expect(entries.map((e) => `${e.type} ${e.path}`)).toEqual(['f Z', 'd a', 'f a/x', 'f a-b', 'f a.c', 'd b', 'd b/c', 'f b/c/d', 'o fifo', 'l ln']);
    expect(info).toMatchObject({ files: 5, dirs: 3, symlinks: 1, others: 1 });
  });

  test('large files across read-buffer boundaries and empty files hash like sha256sum', async () => {
    const tree = path.join(work, 'sizes');
    await fsp.mkdir(tree);
    const sizes = [0, 1, (1 << 20) - 1, 1 << 20, (1 << 20) + 1, 3 * (1 << 20) + 7];
    for (const s of sizes) await fsp.writeFile(path.join(tree, `f${s}`), Buffer.alloc(s, s % 251));
    const out = path.join(work, 'm', 'sizes');
    const info = await buildManifest(tree, out, { concurrency: 2 });
    expect(info.bytes).toBe(sizes.reduce((a, b) => a + b, 0));
    expect(run('sha256sum', ['-c', '--strict', out], tree).code).toBe(0);
    await buildManifest(tree, out + '.b3', { algorithm: 'blake3' });
    if (hasB3sum) expect(run('b3sum', ['--check', out + '.b3'], tree).code).toBe(0);
  });

  test('the manifest written inside the tree is not part of it; exclude skips whole directories', async () => {
    const tree = path.join(work, 'inside');
    await writeProductionTree(tree, { files: 12 });
    const info = await buildManifest(tree, path.join(tree, 'SHA256SUMS'), { exclude: (p) => p === 'dept-1' });
    const entries = lines(path.join(tree, 'SHA256SUMS.entries')).map(parseEntry);
    expect(entries.some((e) => e.path.startsWith('SHA256SUMS') || e.path.startsWith('dept-1'))).toBe(false);
    expect(info.files).toBe(9);
  });
});

describe('Merkle root', () => {
  test('streaming builder equals the recursive RFC 6962 definition for every size', () => {
    for (let n = 0; n <= 40; n++) {
      const leaves = Array.from({ length: n }, (_, i) => `leaf ${i}`);
      const b = new MerkleBuilder();
      leaves.forEach((l, i) => {
        b.addLeaf(l);
        if (i === 16) {
          // state survives JSON (checkpoint)
          const resumed = new MerkleBuilder(JSON.parse(JSON.stringify(b.state())));
          expect(resumed.root()).toBe(b.root());
        }
      });
      expect(b.root()).toBe(merkleRootOf(leaves));
    }
  });

  test('root = Merkle over the entries lines; equal trees give equal roots; any change changes it', async () => {
    const a = path.join(work, 'mk-a');
    await writeAwkwardTree(a);
    const base = await buildManifest(a, path.join(work, 'm', 'mk-a'));
    expect(base.root).toBe(merkleRootOf(lines(path.join(work, 'm', 'mk-a.entries'))));

    const variants: Array<[string, (dir: string) => Promise<void>]> = [
      ['identical copy', async () => undefined],
      ['one byte changed', (d) => fsp.writeFile(path.join(d, 'plain.txt'), 'content 0 of "plain.txU"\n')],
      ['renamed', (d) => fsp.rename(path.join(d, 'plain.txt'), path.join(d, 'plain2.txt'))],
      ['empty dir added', (d) => fsp.mkdir(path.join(d, 'new dir'))],
      ['symlink retargeted', async (d) => { await fsp.rm(path.join(d, 'link-to-plain')); await fsp.symlink('empty', path.join(d, 'link-to-plain')); }],
      ['file became dir', async (d) => { await fsp.rm(path.join(d, 'empty')); await fsp.mkdir(path.join(d, 'empty')); }],
    ];
    const roots = new Set<string>();
    for (const [name, mutate] of variants) {
      const d = path.join(work, `mk-${name.replace(/ /g, '-')}`);
      await fsp.cp(a, d, { recursive: true, verbatimSymlinks: true });
      await mutate(d);
      const info = await buildManifest(d, path.join(work, 'm', `mk-${name.replace(/ /g, '-')}`));
      if (name === 'identical copy') expect(info.root).toBe(base.root);
      else expect(info.root).not.toBe(base.root);
      roots.add(info.root);
    }
    expect(roots.size).toBe(variants.length);
  });
});

describe('progress, resume, cancellation', () => {
  let tree: string;
  let reference: string;
  beforeAll(async () => {
    tree = path.join(work, 'resume');
    await writeProductionTree(tree, { files: 400, minBytes: 100, maxBytes: 3000 });
    reference = (await buildManifest(tree, path.join(work, 'm', 'resume-ref'))).root;
  });

  test('progress is reported; a crashed run resumes from its checkpoint and ends identical', async () => {
    const out = path.join(work, 'm', 'resume');
    const checkpoints: unknown[] = [];
    const crash = new Error('worker process died');
    await expect(
      buildManifest(tree, out, {
        concurrency: 2,
        progressIntervalMs: 0,
        onCheckpoint: (c) => {
          checkpoints.push(c);
          if (checkpoints.length === 4) throw crash;
        },
      }),
    ).rejects.toBe(crash);
    const cp = checkpoints[2] as { counts: { files: number }; lastKey: string };
    expect(JSON.stringify(cp).length).toBeLessThan(4096);
    expect(cp.counts.files).toBeGreaterThan(0);

    const progress: number[] = [];
    const resumed: unknown[] = [];
    const info = await buildManifest(tree, out, { concurrency: 2, checkpoint: cp, progressIntervalMs: 0, onProgress: (p) => progress.push(p.files), onResume: (d) => resumed.push(d) });
    expect(progress[0]).toBeGreaterThan(cp.counts.files); // did not start from zero
    expect(resumed).toEqual([{ files: cp.counts.files, bytes: expect.any(Number), lastPath: cp.lastKey }]);
    expect(info.root).toBe(reference);
    expect(info.files).toBe(400);
    expect(readFileSync(out, 'utf8')).toBe(readFileSync(path.join(work, 'm', 'resume-ref'), 'utf8'));
  });

  test('a checkpoint for another tree or algorithm is ignored (fresh run)', async () => {
    const resumed: unknown[] = [];
    const info = await buildManifest(tree, path.join(work, 'm', 'resume-other'), { checkpoint: { v: 1, root: '/elsewhere' }, onResume: (d) => resumed.push(d) });
    expect(info.root).toBe(reference);
    expect(resumed).toEqual([]);
  });

  test('abort stops promptly, rejects, and leaves no partial output', async () => {
    const ac = new AbortController();
    const out = path.join(work, 'm', 'aborted');
    const p = buildManifest(tree, out, { progressIntervalMs: 0, signal: ac.signal, onProgress: () => ac.abort() });
    await expect(p).rejects.toThrow(/abort/i);
    const left = (await fsp.readdir(path.join(work, 'm'))).filter((f) => f.startsWith('aborted'));
    expect(left).toEqual([]);
  });
});
