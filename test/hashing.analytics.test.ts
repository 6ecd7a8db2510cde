/** Ransomware analytics: the lab's scenario is suspect for the right reasons; archives and ordinary churn are clean. */
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { analyzeCopy, buildManifest, defaultThresholds, resolveThresholds, shannonEntropy } from '../activities/hashing';
import { analyticsThresholdsSchema } from '../config/analytics';
import { applyRansomware, textContent, prng, writeArchiveTree, writeProductionTree, zipBytes } from '../activities/hashing/fixtures';
import { detectFormat, isRansomNote, magicContradiction, ransomExtension } from '../activities/hashing/signatures';

let work: string;
let prod: string;
let prodFiles: string[];
let previous: string;
beforeAll(async () => {
  work = await fsp.mkdtemp(path.join(tmpdir(), 'ir-analytics-'));
  prod = path.join(work, 'prod');
  prodFiles = await writeProductionTree(prod, { files: 80 });
  previous = path.join(work, 'm', 'prev');
  await buildManifest(prod, previous);
});
afterAll(async () => {
  await fsp.rm(work, { recursive: true, force: true });
});

/** A new copy of the production tree after `mutate`, with its manifest. */
async function nextCopy(name: string, mutate: (dir: string) => Promise<void>): Promise<{ tree: string; current: string }> {
  const tree = path.join(work, name);
  await fsp.cp(prod, tree, { recursive: true });
  await mutate(tree);
  const current = path.join(work, 'm', name);
  await buildManifest(tree, current);
  return { tree, current };
}

describe('indicators', () => {
  test('entropy: random ≈ 8, text ≈ 4–5, small random blocks corrected above 7.5', () => {
    expect(shannonEntropy(randomBytes(65536))).toBeGreaterThan(7.99);
    expect(shannonEntropy(textContent(8192, prng(3)))).toBeLessThan(5);
    expect(shannonEntropy(randomBytes(512))).toBeGreaterThan(7.5);
    expect(shannonEntropy(Buffer.alloc(4096))).toBe(0);
  });

  test('ransom notes, ransomware extensions, magic numbers', () => {
    for (const n of ['README_TO_DECRYPT.txt', 'HOW_TO_RECOVER_FILES.txt', 'a/b/@Please_Read_Me@.txt', 'x/HOW_TO_DECRYPT_FILES_1234.html', '!!!READ_ME_TO_RESTORE!!!.txt']) {
      expect(isRansomNote(n)).toBe(true);
    }
    for (const n of ['README.md', 'readme.txt', 'HOWTO.txt', 'recovery-plan.docx', 'restore.log', 'backup/README_restore_procedure.pdf']) expect(isRansomNote(n)).toBe(false);
    expect(ransomExtension('a/report.docx.locky')).toBe('locky');
    expect(ransomExtension('a/b.WNCRY')).toBe('wncry');
    expect(ransomExtension('a/b.encrypted')).toBe('encrypted');
    expect(ransomExtension('src/Main.java')).toBeNull();
    expect(ransomExtension('x.custom', ['custom'])).toBe('custom');
    expect(detectFormat(zipBytes('a', Buffer.from('hello')))).toBe('zip');
    expect(magicContradiction('a.zip', zipBytes('a', Buffer.from('hello')))).toBeNull();
    expect(magicContradiction('a.zip', randomBytes(64))).toBe('zip');
    expect(magicContradiction('a.jpg', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))).toBeNull(); // mislabelled PNG: not encryption
    expect(magicContradiction('a.txt', randomBytes(64))).toBeNull(); // no magic to contradict
  });

  test('thresholds: zod schema, all optional, merged over the defaults', () => {
    expect(resolveThresholds({})).toEqual(defaultThresholds);
    expect(resolveThresholds({ changeRateSuspect: 0.5, allowHighEntropyExtensions: ['.VBK'] })).toMatchObject({ changeRateSuspect: 0.5, allowHighEntropyExtensions: ['vbk'], entropyBitsPerByte: 7.5 });
    expect(analyticsThresholdsSchema.safeParse({ changeRateSuspect: 2 }).success).toBe(false);
    expect(analyticsThresholdsSchema.safeParse({ entropyBitsPerByte: 9 }).success).toBe(false);
    expect(analyticsThresholdsSchema.safeParse({ unknownKnob: 1 }).success).toBe(false);
  });
});

describe('analyzeCopy', () => {
  test('ordinary churn is clean', async () => {
    const { tree, current } = await nextCopy('churn', async (d) => {
      const rnd = prng(9);
      for (const f of prodFiles.slice(0, 6)) await fsp.appendFile(path.join(d, f), textContent(500, rnd));
      await fsp.writeFile(path.join(d, 'dept-0/new-report.txt'), textContent(3000, rnd));
    });
    const a = await analyzeCopy({ tree, current, previous, baseline: { changeRates: [0.05, 0.08, 0.1] } });
    expect(a.reasons).toEqual([]);
    expect(a.verdict).toBe('clean');
    expect(a.scores).toMatchObject({ added: 1, modified: 6, deleted: 0, ransomNotes: 0, ransomExtensions: 0, highEntropyFiles: 0 });
    expect(a.scores.changeRate).toBeCloseTo(7 / 80, 3);
  });

  test.each([
    ['locky', 'README_TO_DECRYPT.txt'],
    ['encrypted', 'HOW_TO_RECOVER_FILES.txt'],
    ['wncry', '@Please_Read_Me@.txt'],
  ])('the lab scenario (.%s + %s) is suspect with the right reasons', async (extension, note) => {
    const { tree, current } = await nextCopy(`ransom-${extension}`, async (d) => {
      await applyRansomware(d, prodFiles.filter((_, i) => i % 8 === 0), { extension, note }); // 10 of 80 files
    });
    const a = await analyzeCopy({ tree, current, previous });
    expect(a.verdict).toBe('suspect');
    expect(a.reasons.join('\n')).toMatch(/ransom note/);
    expect(a.reasons.join('\n')).toContain(`10 files with ransomware extensions (.${extension})`);
    expect(a.reasons.join('\n')).toMatch(/10 of 1\d sampled changed files look encrypted/);
    expect(a.scores).toMatchObject({ ransomExtensions: 10, added: 10 + a.scores.ransomNotes, deleted: 10 });
    expect(a.findings[0]).toMatchObject({ severity: 'critical' });
    expect(a.findings.some((f) => f.class === 'ransom-note' && f.path.endsWith(note))).toBe(true);
    expect(a.findings.filter((f) => f.class === 'high-entropy')).toHaveLength(10);
  });

  test('in-place encryption without renames or notes is caught by entropy and magic numbers', async () => {
    const { tree, current } = await nextCopy('stealth', async (d) => {
      for (const f of prodFiles.slice(0, 12)) await fsp.writeFile(path.join(d, f), randomBytes((await fsp.stat(path.join(d, f))).size));
    });
    const a = await analyzeCopy({ tree, current, previous });
    expect(a.verdict).toBe('suspect');
    expect(a.reasons).toEqual(['12 of 12 sampled changed files look encrypted (entropy ≥ 7.5 bits/byte)']);
  });

  test('encrypted archives cannot hide behind the high-entropy allow-list', async () => {
    const tree = path.join(work, 'arch-enc');
    const files = await writeArchiveTree(tree, { files: 20 });
    const prev = path.join(work, 'm', 'arch-enc-prev');
    await buildManifest(tree, prev);
    for (const f of files.filter((f) => f.endsWith('.zip') || f.endsWith('.gz'))) {
      await fsp.writeFile(path.join(tree, f), randomBytes((await fsp.stat(path.join(tree, f))).size));
    }
    const current = path.join(work, 'm', 'arch-enc');
    await buildManifest(tree, current);
    const a = await analyzeCopy({ tree, current, previous: prev, thresholds: { changeRateSuspect: 0.9 } });
    expect(a.verdict).toBe('suspect');
    expect(a.reasons).toEqual([`15 sampled files whose content contradicts their extension`]);
  });

  test('a tree of compressed archives and media is clean (first copy, and with churn)', async () => {
    const tree = path.join(work, 'archives');
    const files = await writeArchiveTree(tree, { files: 40 });
    const first = path.join(work, 'm', 'archives-1');
    await buildManifest(tree, first);
    const a1 = await analyzeCopy({ tree, current: first });
    expect(a1.reasons).toEqual([]);
    expect(a1.verdict).toBe('clean');
    expect(a1.scores.sampledFiles).toBe(40);

    await writeArchiveTree(path.join(work, 'archives-next'), { files: 40, seed: 99 });
    for (const f of files.slice(0, 8)) await fsp.copyFile(path.join(work, 'archives-next', f), path.join(tree, f)); // 20% rewritten
    const second = path.join(work, 'm', 'archives-2');
    await buildManifest(tree, second);
    const a2 = await analyzeCopy({ tree, current: second, previous: first, baseline: { changeRates: [0.15, 0.2, 0.25] } });
    expect(a2.reasons).toEqual([]);
    expect(a2.verdict).toBe('clean');
    expect(a2.scores).toMatchObject({ modified: 8, magicMismatches: 0, entropyJudged: 0 });
  });

  test('change rate above the threshold, and against the vault baseline', async () => {
    const { tree, current } = await nextCopy('mass-change', async (d) => {
      const rnd = prng(5);
      for (const f of prodFiles.slice(0, 30)) await fsp.writeFile(path.join(d, f), textContent(2000, rnd));
    });
    const a = await analyzeCopy({ tree, current, previous, baseline: { changeRates: [0.01, 0.02, 0.015] } });
    expect(a.verdict).toBe('suspect');
    expect(a.reasons).toEqual([
      'change rate 37.5% of files vs the previous copy exceeds 30.0%',
      `change rate 37.5% is 25.0× the vault's baseline 1.5%`,
    ]);
    const relaxed = await analyzeCopy({ tree, current, previous, baseline: { changeRates: [0.3, 0.4] }, thresholds: { changeRateSuspect: 0.5 } });
    expect(relaxed.verdict).toBe('clean');
  });
});
