/**
 * The evidence chain (activities/evidence.ts) and the scrub's pure parts: a chain of real files in a temp
 * folder, rewritten the ways an intruder on the management host would; the rolling plan; the rate pacer.
 */
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { appendRecord, chainPath, openIncidents, recordEvidence, recordIncident, resolveIncident, verifyAgainstHistory, verifyChain, vaultDir } from '../activities/evidence';
import { buildManifest } from '../activities/hashing';
import { chooseCopies, pacer } from '../activities/scrub';
import type { ScrubTarget } from '../workflows/scrub-messages';

const V = 'vault-a';
let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ir-evidence-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function someRecords() {
  const tree = join(dir, 'tree');
  mkdirSync(tree, { recursive: true });
  writeFileSync(join(tree, 'a.bin'), 'aaaa');
  const manifest = join(vaultDir(dir, V), 'c1', 'copy.sha256sums');
  const info = await buildManifest(tree, manifest);
  const m = await appendRecord(dir, V, { kind: 'manifest', key: 'manifest:c1:copy', path: `${manifest}.json` });
  const r = await appendRecord(dir, V, { kind: 'report', key: 'report:c1', path: join(vaultDir(dir, V), 'c1', 'report.json'), json: { outcome: 'validated' } });
  const i = await recordIncident(dir, V, { id: 'inc-1', severity: 'critical', kind: 'scrub-mismatch', summary: 'copy c1 changed', source: 'test' });
  return { tree, manifest, info, m, r, i };
}

describe('evidence chain', () => {
  test('records link to the previous one; a retried append returns the same entry and never rewrites the file', async () => {
    const { m, r, i } = await someRecords();
    expect([m.seq, r.seq, i.seq]).toEqual([1, 2, 3]);
    expect(m.prev).toBeNull();
    expect(r.prev).toBe(m.hash);
    expect(i.prev).toBe(r.hash);
    const report = JSON.parse(readFileSync(join(vaultDir(dir, V), 'c1', 'report.json'), 'utf8'));
    expect(report.chain).toEqual({ vault: V, seq: 2, prev: m.hash });
    const again = await appendRecord(dir, V, { kind: 'report', key: 'report:c1', path: join(vaultDir(dir, V), 'c1', 'report.json'), json: { outcome: 'failed' } });
    expect(again).toEqual(r);
    expect(JSON.parse(readFileSync(join(vaultDir(dir, V), 'c1', 'report.json'), 'utf8')).outcome).toBe('validated');
    const check = await verifyChain(dir, V);
    expect(check).toMatchObject({ records: 3, head: i.hash, problems: [] });
  });

  test('concurrent appends from several writers keep one unbroken chain', async () => {
    await Promise.all(Array.from({ length: 20 }, (_, n) => recordEvidence(dir, V, 'decision', `d${n}`, { n })));
    const check = await verifyChain(dir, V);
    expect(check.records).toBe(20);
    expect(check.problems).toEqual([]);
  });

  test('a regenerated manifest is named as the first record that does not fit', async () => {
    const { tree, manifest } = await someRecords();
    writeFileSync(join(tree, 'b.bin'), 'appended');
    await buildManifest(tree, manifest); // `irctl manifest -o copy.sha256sums` over the damaged copy
    const check = await verifyChain(dir, V);
    expect(check.problems[0]).toMatchObject({ seq: 1, path: 'c1/copy.sha256sums.json' });
    expect(check.problems[0].problem).toMatch(/rewritten/);
  });

  test('an edited report, an edited chain line, a removed record: each is caught', async () => {
    await someRecords();
    const report = join(vaultDir(dir, V), 'c1', 'report.json');
    writeFileSync(report, readFileSync(report, 'utf8').replace('validated', 'suspect'));
    expect((await verifyChain(dir, V)).problems[0]).toMatchObject({ seq: 2, path: 'c1/report.json' });

    rmSync(dir, { recursive: true, force: true });
    await someRecords();
    const lines = readFileSync(chainPath(dir, V), 'utf8').trim().split('\n');
    writeFileSync(chainPath(dir, V), [lines[0], lines[2]].join('\n') + '\n');
    const removed = await verifyChain(dir, V);
    expect(removed.problems[0]).toMatchObject({ seq: 3 });
    expect(removed.problems.map((p) => p.problem).join(' ')).toMatch(/sequence number 3 where 2|previous record/);
  });

  test('a chain rebuilt from scratch over rewritten evidence is caught against the head and root in history', async () => {
    const { tree, manifest, info, r } = await someRecords();
    const history = [{ workflowId: 'w', runId: 'r', copyId: 'c1', chain: { seq: r.seq, head: r.hash }, copyManifest: { path: manifest, root: info.root, digest: info.manifestDigest, algorithm: 'sha256' } }];
    expect(await verifyAgainstHistory(await verifyChain(dir, V), history)).toEqual([]);
    // The intruder rewrites the manifest and re-creates a self-consistent chain.
    writeFileSync(join(tree, 'a.bin'), 'changed');
    await buildManifest(tree, manifest);
    rmSync(chainPath(dir, V));
    rmSync(join(vaultDir(dir, V), 'c1', 'report.json'));
    rmSync(join(vaultDir(dir, V), 'incidents'), { recursive: true });
    await appendRecord(dir, V, { kind: 'manifest', key: 'manifest:c1:copy', path: `${manifest}.json` });
    await appendRecord(dir, V, { kind: 'report', key: 'report:c1', path: join(vaultDir(dir, V), 'c1', 'report.json'), json: { outcome: 'validated' } });
    const chain = await verifyChain(dir, V);
    expect(chain.problems).toEqual([]);
    const problems = await verifyAgainstHistory(chain, history);
    expect(problems.map((p) => p.problem).join('\n')).toMatch(/chain was rewritten/);
    expect(problems.map((p) => p.problem).join('\n')).toMatch(/has root [0-9a-f]{64}, history recorded/);
  });

  test('a line that is not JSON stops appends and is reported', async () => {
    await someRecords();
    appendFileSync(chainPath(dir, V), 'garbage\n');
    expect((await verifyChain(dir, V)).problems.at(-1)?.problem).toMatch(/not JSON/);
    await expect(recordIncident(dir, V, { id: 'inc-2', severity: 'warning', kind: 'x', summary: 'y', source: 't' })).rejects.toThrow(/refusing to append/);
  });

  test('open incidents: listed until a resolution record closes them; ids are checked', async () => {
    await someRecords();
    expect((await openIncidents(dir, V)).map((i) => i.id)).toEqual(['inc-1']);
    await resolveIncident(dir, V, 'inc-1', 'auditor', 'copy restored from a sibling');
    expect(await openIncidents(dir, V)).toEqual([]);
    await expect(recordIncident(dir, V, { id: '../x', severity: 'critical', kind: 'k', summary: 's', source: 't' })).rejects.toThrow(/incident id/);
  });
});

describe('scrub planning and pacing', () => {
  const targets: ScrubTarget[] = Array.from({ length: 10 }, (_, i) => ({
    copyId: `c${i}`,
    workflowId: 'w',
    runId: `r${i}`,
    mtreePath: `/data/col1/ir-copies/c${i}`,
    lockedUntil: '2099-01-01T00:00:00Z',
    manifest: { path: '', root: '', digest: '', algorithm: 'sha256' },
  }));

  test('every copy is covered within the period, a share per run', () => {
    const period = 7 * 86400;
    const interval = 86400;
    const last = new Map<string, number>();
    const seen = new Map<string, number[]>();
    const t0 = Date.parse('2026-01-01T00:00:00Z');
    for (let run = 0; run < 21; run++) {
      const now = t0 + run * interval * 1000;
      const chosen = chooseCopies(targets, last, now, period, interval);
      expect(chosen.length).toBeLessThanOrEqual(targets.length);
      if (run > 0) expect(chosen.length).toBeLessThan(targets.length); // rolling, not everything every time
      for (const c of chosen) {
        last.set(c.copyId, now);
        seen.set(c.copyId, [...(seen.get(c.copyId) ?? []), now]);
      }
    }
    for (const t of targets) {
      const times = [t0 - 1, ...(seen.get(t.copyId) ?? [])];
      for (let i = 1; i < times.length; i++) expect(times[i] - times[i - 1]).toBeLessThanOrEqual(period * 1000);
      expect(seen.get(t.copyId)!.at(-1)).toBeGreaterThan(t0 + 20 * interval * 1000 - period * 1000);
    }
  });

  test('the pacer holds reads to the rate', async () => {
    const pace = pacer(1_000_000);
    const started = Date.now();
    for (let i = 0; i < 5; i++) await pace(100_000);
    expect(Date.now() - started).toBeGreaterThanOrEqual(490);
  });
});
