/** irctl manifest / verify: what an auditor runs without Temporal. */
import { execFile } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { runIrctl } from '../clients/irctl';
import { writeAwkwardTree } from '../activities/hashing/fixtures';

let work: string;
let tree: string;
beforeAll(async () => {
  work = await fsp.mkdtemp(path.join(tmpdir(), 'ir-irctl-'));
  tree = path.join(work, 'tree');
  await writeAwkwardTree(tree);
});
afterAll(async () => {
  await fsp.rm(work, { recursive: true, force: true });
});

async function irctl(...argv: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runIrctl(argv, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out, err };
}

test('manifest then verify: 0 when the tree matches (sha256 and blake3)', async () => {
  for (const algo of ['sha256', 'blake3']) {
    const m = path.join(work, `M.${algo}`);
    const made = await irctl('manifest', tree, '--algo', algo, '-o', m);
    expect(made.code).toBe(0);
    expect(made.out.join('\n')).toContain('14 files, 3 dirs, 1 symlinks');
    const v = await irctl('verify', tree, m);
    expect(v).toMatchObject({ code: 0, out: [] });
    expect(v.err.join('\n')).toMatch(/^OK: \d+ entries match/);
  }
});

test('verify lists findings as `path: FAILED (class)` and exits 1', async () => {
  const copy = path.join(work, 'copy');
  await fsp.cp(tree, copy, { recursive: true, verbatimSymlinks: true });
  const m = path.join(work, 'M.copy');
  expect((await irctl('manifest', copy, '-o', m)).code).toBe(0);
  await fsp.appendFile(path.join(copy, 'plain.txt'), '!');
  await fsp.writeFile(path.join(copy, 'with space.txt'), 'other content of same len.....');
  await fsp.rm(path.join(copy, 'new\nline.txt'));
  await fsp.writeFile(path.join(copy, 'planted'), 'x');
  const v = await irctl('verify', copy, m);
  expect(v.code).toBe(1);
  expect(v.out).toHaveLength(4);
  expect(v.out).toEqual(
    expect.arrayContaining([
      '\\new\\nline.txt: FAILED (missing) file not in the copy',
      'planted: FAILED (extra) file not in the source',
      'plain.txt: FAILED (size-differs) 25 → 26 bytes',
      expect.stringMatching(/^with space\.txt: FAILED \(content-differs\)/),
    ]),
  );
  expect(v.err.join('\n')).toMatch(/FAILED: .*1 missing/);
  const json = await irctl('verify', copy, m, '--json');
  expect(JSON.parse(json.out.join('\n'))).toMatchObject({ ok: false, counts: { missing: 1, extra: 1 } });
});

test('verify detects an edited manifest, and accepts a manifest kept inside the tree', async () => {
  const inside = path.join(tree, 'SHA256SUMS');
  expect((await irctl('manifest', tree, '-o', inside)).code).toBe(0);
  expect((await irctl('verify', tree, inside)).code).toBe(0);
  const text = await fsp.readFile(inside, 'utf8');
  await fsp.writeFile(inside, text.replace(/^[0-9a-f]/m, (c) => (c === '0' ? '1' : '0')));
  const v = await irctl('verify', tree, inside);
  expect(v.code).toBe(1);
  expect(v.out.join('\n')).toContain('FAILED (manifest-altered)');
  await Promise.all(['', '.json', '.entries'].map((s) => fsp.rm(inside + s)));
});

test('usage errors exit 2 naming the bad argument', async () => {
  const cases: Array<[string[], RegExp]> = [
    [['manifest'], /missing DIR/],
    [['manifest', path.join(work, 'nope')], /DIR '.*nope' does not exist/],
    [['manifest', tree, '--algo', 'md5'], /--algo must be sha256 or blake3, not 'md5'/],
    [['manifest', tree, '--frobnicate'], /--frobnicate/],
    [['verify', tree], /missing MANIFEST/],
    [['verify', tree, path.join(work, 'absent')], /MANIFEST '.*absent' does not exist/],
    [['bogus'], /unknown command 'bogus'/],
    [[], /usage: irctl <command>/],
  ];
  for (const [argv, message] of cases) {
    const r = await irctl(...argv);
    expect({ argv, code: r.code }).toEqual({ argv, code: 2 });
    expect(r.err.join('\n')).toMatch(message);
  }
});

test('the real CLI process exits with the verify code', async () => {
  const m = path.join(work, 'M.cli');
  expect((await irctl('manifest', tree, '-o', m)).code).toBe(0);
  await fsp.writeFile(path.join(tree, 'late-arrival'), 'x');
  const cli = path.join(__dirname, '..', 'clients', 'irctl.ts');
  const tsx = path.join(__dirname, '..', 'node_modules', '.bin', 'tsx');
  const err = await promisify(execFile)(tsx, [cli, 'verify', tree, m]).then(() => null, (e: { code: number; stdout: string }) => e);
  expect(err?.code).toBe(1);
  expect(err?.stdout).toBe('late-arrival: FAILED (extra) file not in the source\n');
  await fsp.rm(path.join(tree, 'late-arrival'));
}, 30000);
