/**
 * Copies you can prove untouched, on the dev server against the lab: the copies mount refuses changes to locked
 * files; with the lab's guard lifted (its tamper switch) the scrub finds each change against the roots in
 * Temporal history, the next cycle's report lists the incident, `irctl evidence verify` names a rewritten
 * evidence record, `irctl verify --copy` fails against the history's root, and the probe reports a non-WORM vault.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync, statSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { type Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { stringify } from 'yaml';
import { createWorker } from '../workers/worker';
import { runIrctl } from '../clients/irctl';
import { isolatedRecoveryCycle, scrubCopies } from '../workflows';
import type { CycleResult } from '../workflows/cycle-messages';
import type { ScrubOptions, ScrubResult } from '../workflows/scrub-messages';
import { readCatalog } from '../activities/catalog';
import { bundleWorkflows, connectTemporal, describeTemporal } from './helpers/temporal';
import { startTestLab, type TestLab } from './helpers/lab';

// Its own vault id: other test files' cycles on the same dev server are history of `lab-vault`.
const VAULT = 'scrub-vault';

jest.setTimeout(240_000);

let bundle: WorkflowBundleWithSourceMap;
let temporal: Awaited<ReturnType<typeof connectTemporal>>;
let t: TestLab;
let worker: Worker;
let running: Promise<void>;
const tq = `scrub-${Date.now()}`;
let seq = 0;
const cycles: CycleResult[] = [];

const show = (label: string, text: string) => {
  if (process.env.IR_SHOW_OUTPUT === '1') process.stdout.write(`\n--- ${label}\n${text}\n`);
};

/** IR_RECORD_HISTORIES=1: golden histories of the new paths, replayed by test/replay.test.ts. */
async function recordHistory(workflowId: string, name: string): Promise<void> {
  if (process.env.IR_RECORD_HISTORIES !== '1') return;
  const dir = resolve(__dirname, 'histories');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${name}.json`), historyToJSON(await temporal.client.workflow.getHandle(workflowId).fetchHistory()));
}

async function cycle(): Promise<CycleResult> {
  const handle = await temporal.client.workflow.start(isolatedRecoveryCycle, { taskQueue: tq, workflowId: `scrub-test-cycle-${seq++}`, args: [VAULT, {}] });
  return handle.result();
}

let lastScrubId = '';
async function scrub(opts: ScrubOptions): Promise<ScrubResult> {
  lastScrubId = `scrub-test-scrub-${seq++}`;
  return temporal.client.workflow.execute(scrubCopies, { taskQueue: tq, workflowId: lastScrubId, args: [VAULT, opts] });
}

async function irctl(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runIrctl(argv, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

const tamper = (on: boolean) =>
  fetch(`${t.lab.endpoints.control}/tamper`, { method: 'POST', body: JSON.stringify({ on }) }).then((r) => {
    expect(r.status).toBe(200);
  });

/** The files of a copy, from its manifest (relative paths). */
const filesOf = (r: CycleResult) =>
  readFileSync(r.validation!.copy.path, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => l.replace(/^\\?[0-9a-f]+ [ *]/, ''));

describeTemporal('scrubbing, evidence chain and WORM probes on the dev server against the lab', () => {
  const saved = { ...process.env };
  beforeAll(async () => {
    bundle = await bundleWorkflows();
    temporal = await connectTemporal();
    t = await startTestLab({ seed: { files: 30, totalBytes: 3 * 1024 * 1024 } });
    t.config.vaults[0].id = VAULT;
    expect(t.lab.endpoints.worm.immutable).toBe(true); // CI runs as root on ext4: the guard must be real
    worker = await createWorker({ connection: temporal.native, config: t.config, taskQueue: tq, workflowBundle: bundle });
    running = worker.run();
    const configPath = join(t.dir, 'config.yaml');
    writeFileSync(configPath, stringify(t.config));
    Object.assign(process.env, { IR_CONFIG: configPath, TEMPORAL_ADDRESS: process.env.TEMPORAL_TEST_ADDRESS, IR_TASK_QUEUE: tq });
    for (let i = 0; i < 3; i++) cycles.push(await cycle());
  });
  afterAll(async () => {
    process.env = saved;
    worker?.shutdown();
    await running;
    await temporal?.close();
    await t?.close();
  });

  test('each cycle seals its evidence in history and its probe finds the storage WORM', () => {
    for (const r of cycles) {
      expect(r.outcome).toBe('validated');
      expect(r.evidence?.copyManifest?.root).toBe(r.validation?.copy.root);
      expect(r.evidence?.chain.head).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(r.probe?.worm).toBe(true);
      expect(r.probe?.attempts.map((a) => a.action).sort()).toEqual(['append', 'delete', 'rename', 'shorten-lock', 'write']);
    }
    expect(cycles[1].evidence!.chain.seq).toBeGreaterThan(cycles[0].evidence!.chain.seq);
    return recordHistory('scrub-test-cycle-0', 'cycle-validated-worm-probe');
  });

  test('locked files refuse delete, append, overwrite, rename and a pulled-back atime through the mount path', () => {
    const root = join(t.lab.endpoints.vaultDd.copiesMountPath, cycles[0].copyId);
    const [a] = filesOf(cycles[0]);
    const f = join(root, a);
    const before = readFileSync(f);
    expect(() => unlinkSync(f)).toThrow(/EPERM/);
    expect(() => appendFileSync(f, 'x')).toThrow(/EPERM/);
    expect(() => writeFileSync(f, 'x')).toThrow(/EPERM/);
    expect(() => renameSync(f, `${f}.x`)).toThrow(/EPERM/);
    expect(() => utimesSync(f, new Date(), statSync(f).mtime)).toThrow(/EPERM/);
    expect(readFileSync(f).equals(before)).toBe(true);
    expect(t.lab.lockOf(`${cycles[0].copyId}/${a}`).locked).toBe(true);
  });

  test('a clean vault: evidence verify OK; the scrub covers every copy within its period at its rate', async () => {
    const verify = await irctl('evidence', 'verify', VAULT);
    show('irctl evidence verify (clean)', verify.out + verify.err);
    expect(verify.code).toBe(0);
    expect(verify.out).toMatch(/OK: every record fits the chain and every copy root matches history/);
    expect(verify.out).toContain('3 copy roots');

    const limit = 2 * 1024 * 1024;
    const opts = { periodSeconds: 6, intervalSeconds: 2, maxBytesPerSecond: limit };
    const covered = new Set<string>();
    const runs: ScrubResult[] = [];
    const started = Date.now();
    // Three runs a period-share apart: every copy must be covered, each run within its I/O limit.
    for (let i = 0; i < 3; i++) {
      const r = await scrub(opts);
      runs.push(r);
      for (const s of r.scrubbed) {
        expect(s.ok).toBe(true);
        expect(s.root).toBe(s.expectedRoot);
        covered.add(s.copyId);
      }
      expect(r.bytes).toBeGreaterThan(0);
      expect(r.bytesPerSecond).toBeLessThanOrEqual(limit * 1.05);
      expect(r.probe?.worm).toBe(true);
      show(`scrub run ${i + 1}`, JSON.stringify({ copies: r.scrubbed.map((s) => s.copyId), bytes: r.bytes, seconds: r.seconds, bytesPerSecond: r.bytesPerSecond }));
    }
    expect([...covered].sort()).toEqual(cycles.map((c) => c.copyId).sort());
    expect(Date.now() - started).toBeLessThan(120_000);
    await recordHistory(lastScrubId, 'scrub-clean');
  });

  test('with the guard lifted: the scrub finds each change, the catalog marks the copy, the next report lists the incident', async () => {
    const victim = cycles[1];
    const root = join(t.lab.endpoints.vaultDd.copiesMountPath, victim.copyId);
    const [deleted, appended, retouched] = filesOf(victim);
    await tamper(true);
    try {
      unlinkSync(join(root, deleted));
      appendFileSync(join(root, appended), 'one more line');
      const st = statSync(join(root, retouched));
      utimesSync(join(root, retouched), new Date(Date.now() + 30_000), st.mtime); // `touch -a` pulls the lock back
    } finally {
      await tamper(false);
    }
    const r = await scrub({ all: true, maxBytesPerSecond: 64 * 1024 * 1024 });
    show('scrub after tampering', JSON.stringify(r.scrubbed.map((s) => ({ copyId: s.copyId, ok: s.ok, problems: s.problems })), null, 2));
    const bad = r.scrubbed.find((s) => s.copyId === victim.copyId)!;
    expect(bad.ok).toBe(false);
    expect(bad.root).not.toBe(victim.validation!.copy.root);
    const got = bad.problems.map((p) => `${p.class} ${p.path}`);
    expect(got).toContain(`root-mismatch ${victim.copy!.mtreePath}`);
    expect(got).toContain(`missing ${deleted}`);
    expect(got.some((g) => /^(content-differs|size-differs) /.test(g) && g.endsWith(appended))).toBe(true);
    expect(got).toContain(`lock-shortened ${victim.copy!.mtreePath}/${retouched}`);
    for (const s of r.scrubbed.filter((s) => s.copyId !== victim.copyId)) expect(s.ok).toBe(true);
    await recordHistory(lastScrubId, 'scrub-tampered-copy');
    // The storage's report still lists the deleted file it once accepted.
    const state = (await fetch(`${t.lab.endpoints.control}/state`).then((x) => x.json())) as { locks: Array<{ path: string }> };
    expect(state.locks.map((l) => l.path)).toContain(`${victim.copy!.mtreePath}/${deleted}`);
    // The incident is in the evidence, the catalog marks the copy.
    const catalog = await readCatalog(t.config.evidenceDir, VAULT);
    expect(catalog.find((e) => e.copyId === victim.copyId)?.incidents).toEqual([bad.incidentId]);
    const incident = JSON.parse(readFileSync(join(t.config.evidenceDir, VAULT, 'incidents', `${bad.incidentId}.json`), 'utf8'));
    expect(incident).toMatchObject({ severity: 'critical', copyId: victim.copyId });
    expect(incident.paths.join('\n')).toContain(deleted);

    const next = await cycle();
    cycles.push(next);
    expect(next.evidence?.openIncidents).toBe(1);
    const md = readFileSync(next.report!.markdownPath, 'utf8');
    expect(md).toContain(`## Open incidents of vault ${VAULT} (1)`);
    expect(md).toContain(victim.copyId);
    expect(JSON.parse(readFileSync(next.report!.path, 'utf8')).openIncidents[0].id).toBe(bad.incidentId);

    // verify --copy checks against the root in history: the damaged copy fails, an intact one passes.
    const failed = await irctl('verify', '--copy', victim.copyId);
    show('irctl verify --copy (damaged copy)', failed.out + '\n' + failed.err);
    expect(failed.code).toBe(1);
    expect(failed.out).toContain(`history root ${victim.validation!.copy.root}`);
    expect(failed.out).toMatch(/FAILED: the copy hashes to [0-9a-f]{64}, not to the root in history/);
    expect(failed.out).toContain(`${deleted}: FAILED (missing)`);
    const intact = await irctl('verify', '--copy', cycles[0].copyId);
    expect(intact.code).toBe(0);
    expect(intact.out).toContain('hash to the root recorded in Temporal history');
  });

  test('rewritten evidence: irctl evidence verify names the record, verify --copy still fails against history', async () => {
    const victim = cycles[1];
    const root = join(t.lab.endpoints.vaultDd.copiesMountPath, victim.copyId);
    const manifest = victim.validation!.copy.path;
    // The intruder regenerates the copy's manifest from the damaged copy.
    const regen = await irctl('manifest', root, '-o', manifest);
    expect(regen.code).toBe(0);
    const verify = await irctl('evidence', 'verify', VAULT);
    show('irctl evidence verify (rewritten evidence)', verify.out + verify.err);
    expect(verify.code).toBe(1);
    expect(verify.out).toMatch(new RegExp(`first record that does not fit: #\\d+ ${victim.copyId}/copy\\.sha256sums\\.json: the record file was rewritten`));
    expect(verify.out).toMatch(new RegExp(`copy ${victim.copyId} .*has root [0-9a-f]{64}, history recorded ${victim.validation!.copy.root}`));
    expect(verify.out).toContain('FAILED');
    // `irctl verify DIR MANIFEST` is fooled by the regenerated manifest; --copy is not.
    expect((await irctl('verify', root, manifest)).code).toBe(0);
    const byHistory = await irctl('verify', '--copy', victim.copyId);
    expect(byHistory.code).toBe(1);
    expect(byHistory.out).toMatch(/evidence manifest .* was rewritten too/);
  });

  test('with the guard lifted the immutability probe reports a non-WORM vault as a critical incident', async () => {
    await tamper(true);
    let r: ScrubResult;
    try {
      r = await scrub({ periodSeconds: 86400 * 365, intervalSeconds: 1 });
    } finally {
      await tamper(false);
    }
    expect(r.probe?.worm).toBe(false);
    expect(r.probe?.attempts.filter((a) => !a.refused).map((a) => a.action)).toEqual(expect.arrayContaining(['write', 'append', 'delete']));
    const incident = JSON.parse(readFileSync(join(t.config.evidenceDir, VAULT, 'incidents', `${r.probe!.incidentId}.json`), 'utf8'));
    expect(incident).toMatchObject({ kind: 'not-worm', severity: 'critical' });
    expect(incident.summary).toMatch(/not WORM/);
  });

  test('a probe the storage cannot answer does not fail the scrub: the copies are still re-read, the probe error is recorded', async () => {
    // The vault DD refuses the probe's retention-lock question on every attempt (the scrub's re-read never asks it).
    t.lab.addFault({ device: 'vault-dd', match: '^mtree retention-lock status', output: '**** Retention lock service is not responding.', exitCode: 1, times: 10 });
    let r: ScrubResult;
    try {
      r = await scrub({ periodSeconds: 86400 * 365, intervalSeconds: 1 });
    } finally {
      t.lab.clearFaults();
    }
    expect(r.scrubbed.length).toBeGreaterThan(0);
    expect(r.scrubbed.every((s) => s.ok)).toBe(true);
    expect(r.probe).toMatchObject({ worm: false, attempts: [] });
    expect(r.probe?.error).toContain('Retention lock service is not responding');
    expect(existsSync(r.recordPath!)).toBe(true);
    await recordHistory(lastScrubId, 'scrub-probe-failed');
  });

  test('scrub.schedule: irctl schedule apply puts the scrub on a Temporal schedule every scrub.interval', async () => {
    t.config.vaults[0].scrub.schedule = true;
    const configPath = join(t.dir, 'config-scheduled.yaml');
    writeFileSync(configPath, stringify(t.config));
    t.config.vaults[0].scrub.schedule = false;
    const applied = await irctl('--config', configPath, 'schedule', 'apply');
    expect(applied.code).toBe(0);
    expect(applied.out).toContain(`created ir-scrub-schedule-${VAULT} (scrub of vault ${VAULT})`);
    const handle = temporal.client.schedule.getHandle(`ir-scrub-schedule-${VAULT}`);
    try {
      const desc = await handle.describe();
      expect(desc.action).toMatchObject({ workflowType: 'scrubCopies', taskQueue: tq });
      expect(desc.spec.intervals?.[0].every).toBe(t.config.vaults[0].scrub.interval * 1000);
    } finally {
      await handle.delete();
    }
  });

  test('bad input changes nothing: unknown vault, missing subcommand, bad copy id', async () => {
    expect((await irctl('evidence', 'verify', 'no-such-vault')).code).toBe(2);
    expect((await irctl('evidence')).code).toBe(2);
    expect((await irctl('evidence', 'scrub', VAULT, '--max-rate', '-1')).code).toBe(2);
    const badCopy = await irctl('verify', '--copy', '../etc');
    expect(badCopy.code).toBe(2);
    expect(badCopy.err).toContain("--copy '../etc' is not a copy id");
    const unknownCopy = await irctl('verify', '--copy', '20200101T000000Z-deadbeef');
    expect(unknownCopy.code).toBe(4); // not found
    expect(unknownCopy.err).toContain('has no cycle result in Temporal history');
    expect(existsSync(join(t.config.evidenceDir, 'no-such-vault'))).toBe(false);
  });
});
