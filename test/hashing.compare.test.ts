/** compareManifests (source vs vault) and diffCopies (previous vs current): every class, root shortcut, foreign manifests. */
import { execFileSync } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { buildManifest, compareManifests, diffCopies } from '../activities/hashing';
import { writeProductionTree } from '../activities/hashing/fixtures';

let work: string;
let source: string;
let sourceManifest: string;
beforeAll(async () => {
  work = await fsp.mkdtemp(path.join(tmpdir(), 'ir-compare-'));
  source = path.join(work, 'source');
  await writeProductionTree(source, { files: 40 });
  await fsp.mkdir(path.join(source, 'will-be-file'));
  await fsp.writeFile(path.join(source, 'will-be-dir'), 'x');
  await fsp.writeFile(path.join(source, 'will-be-link'), 'y');
  await fsp.symlink('dept-0', path.join(source, 'link'));
  sourceManifest = path.join(work, 'm', 'source');
  await buildManifest(source, sourceManifest);
});
afterAll(async () => {
  await fsp.rm(work, { recursive: true, force: true });
});

async function copyOf(name: string, mutate: (dir: string) => Promise<void>): Promise<string> {
  const dir = path.join(work, name);
  await fsp.cp(source, dir, { recursive: true, verbatimSymlinks: true });
  await mutate(dir);
  const out = path.join(work, 'm', name);
  await buildManifest(dir, out);
  return out;
}

test('equal trees are equal, settled on the Merkle root alone', async () => {
  const vault = await copyOf('same', async () => undefined);
  // Without the entries files only the roots can decide: still equal.
  await fsp.rename(vault + '.entries', vault + '.entries.hidden');
  const r = await compareManifests(sourceManifest, vault);
  await fsp.rename(vault + '.entries.hidden', vault + '.entries');
  expect(r).toMatchObject({ equal: true, findings: [], truncated: false });
  expect(r.counts.compared).toBeGreaterThan(40);
});

test('every compare class, exact, worst first', async () => {
  const vault = await copyOf('vault', async (d) => {
    await fsp.rm(path.join(d, 'dept-0/archive/doc-0000.txt')); // missing
    await fsp.writeFile(path.join(d, 'dept-1/extra.txt'), 'planted'); // extra
    await fsp.appendFile(path.join(d, 'dept-2/doc-0002.log'), 'more'); // size-differs
    const f = path.join(d, 'dept-3/archive/doc-0003.md'); // content-differs, same size
    const buf = await fsp.readFile(f);
    buf[10] ^= 0xff;
    await fsp.writeFile(f, buf);
    await fsp.rm(path.join(d, 'will-be-file'), { recursive: true }); // type-differs dir → file
    await fsp.writeFile(path.join(d, 'will-be-file'), '');
    await fsp.rm(path.join(d, 'will-be-dir')); // type-differs file → dir
    await fsp.mkdir(path.join(d, 'will-be-dir'));
    await fsp.rm(path.join(d, 'will-be-link')); // type-differs file → symlink
    await fsp.symlink('x', path.join(d, 'will-be-link'));
    await fsp.rm(path.join(d, 'link')); // symlink target changed → content-differs
    await fsp.symlink('dept-1', path.join(d, 'link'));
  });
  const r = await compareManifests(sourceManifest, vault);
  expect(r.equal).toBe(false);
  const byClass = (c: string) => r.findings.filter((f) => f.class === c).map((f) => f.path).sort();
  expect(byClass('missing')).toEqual(['dept-0/archive/doc-0000.txt']);
  expect(byClass('extra')).toEqual(['dept-1/extra.txt']);
  expect(byClass('size-differs')).toEqual(['dept-2/doc-0002.log']);
  expect(byClass('content-differs')).toEqual(['dept-3/archive/doc-0003.md', 'link']);
  expect(byClass('type-differs')).toEqual(['will-be-dir', 'will-be-file', 'will-be-link']);
  expect(r.findings.find((f) => f.path === 'will-be-dir')?.detail).toBe('file → dir');
  expect(r.counts).toMatchObject({ missing: 1, extra: 1, 'size-differs': 1, 'content-differs': 2, 'type-differs': 3 });
  expect(r.findings).toHaveLength(8);
  const rank = { critical: 0, high: 1, medium: 2, low: 3, info: 4 };
  expect(r.findings.map((f) => rank[f.severity])).toEqual([...r.findings.map((f) => rank[f.severity])].sort((a, b) => a - b));
});

test('findings are capped and flagged truncated', async () => {
  const vault = await copyOf('capped', async (d) => {
    for (let i = 0; i < 30; i++) await fsp.writeFile(path.join(d, `planted-${i}`), 'x');
  });
  const r = await compareManifests(sourceManifest, vault, { cap: 10 });
  expect(r.findings).toHaveLength(10);
  expect(r.truncated).toBe(true);
  expect(r.counts.extra).toBe(30);
});

test('diffCopies: added, modified, deleted', async () => {
  const current = await copyOf('next', async (d) => {
    await fsp.writeFile(path.join(d, 'dept-0/new.csv'), 'a,b\n');
    await fsp.appendFile(path.join(d, 'dept-1/doc-0001.csv'), 'c,d\n');
    await fsp.rm(path.join(d, 'dept-2/archive/doc-0006.csv'));
  });
  const r = await diffCopies(sourceManifest, current);
  expect(r.equal).toBe(false);
  expect(r.counts).toEqual({ added: 1, modified: 1, deleted: 1 });
  expect(r.findings.map((f) => `${f.class} ${f.path}`).sort()).toEqual(['added dept-0/new.csv', 'deleted dept-2/archive/doc-0006.csv', 'modified dept-1/doc-0001.csv']);
  expect((await diffCopies(sourceManifest, sourceManifest)).equal).toBe(true);
});

test('a plain sha256sum file works as the expected side (files only)', async () => {
  const foreign = path.join(work, 'm', 'FOREIGN.SHA256SUMS');
  const files = execFileSync('find', ['.', '-type', 'f', '-print0'], { cwd: source }).toString().split('\0').filter(Boolean);
  await fsp.writeFile(foreign, execFileSync('sha256sum', files, { cwd: source }));
  const same = await compareManifests(foreign, path.join(work, 'm', 'same'));
  expect(same.findings).toEqual([]);
  expect(same.equal).toBe(true);
  const vault = await copyOf('vs-foreign', async (d) => {
    await fsp.writeFile(path.join(d, 'dept-0/doc-0004.json'), 'changed');
  });
  const r = await compareManifests(foreign, vault);
  expect(r.findings.map((f) => `${f.class} ${f.path}`)).toEqual(['content-differs dept-0/doc-0004.json']);
});

test('manifests of different algorithms are not compared', async () => {
  const b3 = path.join(work, 'm', 'source.b3');
  await buildManifest(source, b3, { algorithm: 'blake3' });
  await expect(compareManifests(sourceManifest, b3)).rejects.toThrow(/sha256 manifest with a blake3/);
});
