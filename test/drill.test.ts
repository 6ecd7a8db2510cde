/**
 * Recovery drills on the dev server against the lab with real applications (SQLite, PostgreSQL, tar.gz) and the
 * ReaR recovery host: a passing drill (JUnit parsed in chromium), a restore fault, a failing check, missed RTO
 * and RPO objectives, an abort, a suspect copy refused unless approved, and the compliance page rendered in
 * headless chromium with its timeline. During every drill the lab's vault ports never change state and
 * replication stays disabled; after every drill the sandbox is gone.
 */
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { chromium, type Browser } from 'playwright-core';
import { stringify } from 'yaml';
import { runIrctl } from '../clients/irctl';
import { parseConfig } from '../config/load';
import type { Config } from '../config/schema';
import { readCatalog } from '../activities/catalog';
import { fileAlerter } from '../activities/notify';
import { APP_ROWS } from '../lab/apps';
import { createWorker } from '../workers/worker';
import { isolatedRecoveryCycle, recoveryDrill } from '../workflows';
import { abortDrillSignal, drillStatusQuery, drillWorkflowId, type DrillResult } from '../workflows/drill-messages';
import { bundleWorkflows, connectTemporal, describeTemporal } from './helpers/temporal';
import { startTestLab, VAULT, type TestLab } from './helpers/lab';

jest.setTimeout(300_000);

const CHROMIUM_FLAGS = ['--no-sandbox', '--headless', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

let temporal: Awaited<ReturnType<typeof connectTemporal>>;
let bundle: WorkflowBundleWithSourceMap;
let t: TestLab;
let config: Config;
let configPath: string;
let worker: Worker;
let running: Promise<void>;
let browser: Browser;
let cleanCopy: string;
const tq = `drill-${Date.now()}`;
let seq = 0;

/** The lab's applications, as in config/lab.yaml, plus variants with objectives no drill can meet. */
function drillConfig(base: Config, lab: TestLab['lab']): Config {
  const e = lab.endpoints;
  const raw = JSON.parse(JSON.stringify(base)) as any;
  const crm = { tier: 1, rto: '15m', rpo: '24h', paths: ['apps/crm'], checks: [{ name: 'sqlite integrity and rows', kind: 'sqlite', database: 'apps/crm/crm.sqlite', rows: APP_ROWS.crm }] };
  raw.vaults[0].applications = [
    { name: 'crm', ...crm },
    { name: 'ledger', tier: 1, rto: '30m', rpo: '24h', paths: ['apps/ledger'], checks: [{ name: 'postgres starts and answers', kind: 'postgres', dataDir: 'apps/ledger/pgdata', database: 'ledger', rows: APP_ROWS.ledger }] },
    { name: 'records', tier: 3, rto: '4h', rpo: '7d', paths: ['apps/archive'], checks: [{ name: 'archive readable', kind: 'targz', archive: 'apps/archive/records-2026.tar.gz' }] },
    {
      name: 'app-server',
      tier: 2,
      rto: '1h',
      rpo: '24h',
      paths: ['docs'],
      checks: [
        { name: 'rear layout unchanged', kind: 'command', on: 'recovery-host', run: 'rear -v checklayout', expectExit: 0 },
        { name: 'rear unattended recover', kind: 'command', on: 'recovery-host', run: 'rear -v recover', expectExit: 0, expectOutput: "Finished 'recover'" },
      ],
    },
    { name: 'crm-tight-rto', ...crm, rto: '1ms' },
    { name: 'crm-tight-rpo', ...crm, rpo: '1ms' },
    { name: 'slow', tier: 4, rto: '1h', rpo: '30d', paths: ['docs/notes'], checks: [{ name: 'long check', kind: 'command', run: 'sleep 120', timeout: '5m' }] },
  ];
  raw.vaults[0].drill = {
    sandbox: { method: 'fastcopy', mtree: e.vaultDd.sandboxMtree, mountPath: e.vaultDd.sandboxMountPath },
    recoveryHost: { host: e.host, port: e.recoveryHost.port, username: e.recoveryHost.username, privateKeyFile: e.recoveryHost.privateKeyFile, hostKey: { knownHostsFile: e.knownHostsFile } },
    cycleEvery: '24h',
    schedule: { every: '24h', jitter: '2h' },
  };
  return parseConfig(raw, 'drill test config', '/');
}

/** Watches the lab while fn runs: vault ports and replication must never change. */
async function watchingTheGap<T>(fn: () => Promise<T>): Promise<T> {
  const before = JSON.stringify(t.lab.portStates());
  const seen = new Set<string>();
  let replicationSeenEnabled = false;
  const timer = setInterval(() => {
    seen.add(JSON.stringify(t.lab.portStates()));
    if (t.lab.replication().enabled) replicationSeenEnabled = true;
  }, 10);
  try {
    return await fn();
  } finally {
    clearInterval(timer);
    seen.add(JSON.stringify(t.lab.portStates()));
    expect([...seen]).toEqual([before]);
    expect(t.lab.vaultPortsDown()).toBe(true);
    expect(replicationSeenEnabled).toBe(false);
  }
}

async function irctl(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  Object.assign(process.env, { IR_CONFIG: configPath, TEMPORAL_ADDRESS: process.env.TEMPORAL_TEST_ADDRESS, IR_TASK_QUEUE: tq });
  const out: string[] = [];
  const err: string[] = [];
  const code = await watchingTheGap(() => runIrctl(argv, { out: (l) => out.push(l), err: (l) => err.push(l) }));
  return { code, out: out.join('\n'), err: err.join('\n') };
}

/**
 * The drill's history replays on the current code; IR_RECORD_HISTORIES=1 also keeps it as a golden fixture under a
 * new name (test/replay.test.ts replays those on every run). irctl starts drills under the vault's fixed id.
 */
async function replayAndRecord(name: string, workflowId = drillWorkflowId(VAULT)): Promise<void> {
  const history = await temporal.client.workflow.getHandle(workflowId).fetchHistory();
  await Worker.runReplayHistory({ workflowBundle: bundle }, history, workflowId);
  if (process.env.IR_RECORD_HISTORIES === '1') writeFileSync(resolve(__dirname, 'histories', `${name}.json`), historyToJSON(history));
}

const sandboxEntries = () => readdirSync(t.lab.endpoints.vaultDd.sandboxMountPath);

/** A real XML parser (chromium's DOMParser) reads the JUnit file: suites, cases, failures, times. */
async function parseJUnit(file: string) {
  const page = await browser.newPage();
  try {
    return await page.evaluate((text) => {
      const doc = new (globalThis as any).DOMParser().parseFromString(text, 'application/xml') as any;
      if (doc.getElementsByTagName('parsererror').length) throw new Error('JUnit XML does not parse');
      return [...doc.querySelectorAll('testsuite')].map((s: any) => ({
        name: s.getAttribute('name')!,
        failures: Number(s.getAttribute('failures')),
        time: Number(s.getAttribute('time')),
        cases: [...s.querySelectorAll('testcase')].map((c: any) => ({
          name: c.getAttribute('name')!,
          time: Number(c.getAttribute('time')),
          failure: c.querySelector('failure') ? { message: c.querySelector('failure')!.getAttribute('message')!, text: c.querySelector('failure')!.textContent ?? '' } : null,
          skipped: !!c.querySelector('skipped'),
        })),
      }));
    }, readFileSync(file, 'utf8'));
  } finally {
    await page.close();
  }
}

async function runCycle(): Promise<string> {
  const handle = await temporal.client.workflow.start(isolatedRecoveryCycle, { taskQueue: tq, workflowId: `drill-test-cycle-${Date.now()}-${seq++}`, args: [VAULT, {}] });
  const r = await handle.result().catch((err) => err.cause?.details?.[0]);
  return r.copyId;
}

describeTemporal('recoveryDrill on the dev server against the lab', () => {
  beforeAll(async () => {
    temporal = await connectTemporal();
    bundle = await bundleWorkflows();
    t = await startTestLab({ apps: true, bandwidthBytesPerSec: 256 * 1024 * 1024 });
    // mkdtemp makes the lab folder private; open it like the embedded .lab, so PostgreSQL (user postgres) starts
    // on the restored data directory itself, not on a scratch copy.
    chmodSync(t.dir, 0o755);
    config = drillConfig(t.config, t.lab);
    configPath = join(t.dir, 'vaults.yaml');
    writeFileSync(configPath, stringify(config));
    // Alerts still go to the evidence store's alerts.jsonl, without printing each one into the test output.
    worker = await createWorker({ connection: temporal.native, config, taskQueue: tq, workflowBundle: bundle, deps: { alert: fileAlerter(config.evidenceDir, () => undefined) } });
    running = worker.run();
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_FLAGS });
    cleanCopy = await runCycle();
  });
  afterAll(async () => {
    await browser?.close();
    worker?.shutdown();
    await running;
    await temporal?.close();
    await t?.close();
  });
  afterEach(() => {
    // Whatever the drill did, its sandbox is gone.
    expect(sandboxEntries()).toEqual([]);
  });

  test('a drill that passes: every application restored, verified, checked on its engine; JUnit with suites, cases and times; exit 0', async () => {
    const junit = join(t.dir, 'pass.xml');
    const markdown = join(t.dir, 'pass.md');
    const r = await irctl('drill', 'run', VAULT, '--app', 'crm', '--app', 'ledger', '--app', 'records', '--app', 'app-server', '--wait', '--junit', junit, '--markdown', markdown);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toContain(`passed (copy ${cleanCopy})`);
    await replayAndRecord('drill-passed');
    const suites = await parseJUnit(junit);
    expect(suites.map((s) => s.name)).toEqual(['crm', 'ledger', 'records', 'app-server'].map((n) => `${VAULT}.${n}`));
    for (const s of suites) {
      expect(s.failures).toBe(0);
      expect(s.time).toBeGreaterThan(0);
      expect(s.cases.slice(0, 2).map((c) => c.name)).toEqual(['restore', 'verify against the copy manifest']);
      expect(s.cases.every((c) => c.failure === null && !c.skipped && Number.isFinite(c.time))).toBe(true);
      expect(s.cases.filter((c) => /^(RTO|RPO) /.test(c.name))).toHaveLength(2);
    }
    expect(suites[0].cases[2].name).toBe('check: sqlite integrity and rows');
    expect(suites[1].cases[2].name).toBe('check: postgres starts and answers');
    expect(suites[1].cases[2].time).toBeGreaterThan(0.1); // PostgreSQL really started and stopped
    const stored0 = JSON.parse(readFileSync(join(config.evidenceDir, VAULT, 'drills.json'), 'utf8')).pop();
    const pgOutput = (JSON.parse(readFileSync(stored0.report, 'utf8')) as DrillResult).apps[1].steps[2].output!;
    expect(pgOutput).toMatch(/pg_ctl -D \S+\/drill-sandbox\/drill-[^/]+\/apps\/ledger\/pgdata -w .* start/);
    expect(suites[3].cases.map((c) => c.name)).toContain('check: rear unattended recover');
    // Evidence: the report in the store, the history, the same Markdown irctl wrote.
    const history = JSON.parse(readFileSync(join(config.evidenceDir, VAULT, 'drills.json'), 'utf8'));
    expect(history[history.length - 1]).toMatchObject({ copyId: cleanCopy, outcome: 'passed' });
    const stored = JSON.parse(readFileSync(history[history.length - 1].report, 'utf8')) as DrillResult;
    expect(stored.apps.map((a) => a.files)).toEqual([1, expect.any(Number), 1, expect.any(Number)]);
    expect(stored.apps[1].files).toBeGreaterThan(500);
    expect(readFileSync(markdown, 'utf8')).toContain('| crm | 1 | yes |');
    if (process.env.IR_DRILL_SAMPLES) {
      copyFileSync(junit, join(process.env.IR_DRILL_SAMPLES, 'drill-junit.xml'));
      copyFileSync(markdown, join(process.env.IR_DRILL_SAMPLES, 'drill.md'));
    }
    const list = await irctl('drill', 'list', VAULT);
    expect(list.out).toMatch(/ledger\s+\d/);
  });

  test('a restore fault: verification names the corrupted files; exit 1 (recovery failed)', async () => {
    t.lab.restoreFaults.corruptNext(2);
    const junit = join(t.dir, 'fault.xml');
    const r = await irctl('drill', 'run', VAULT, '--app', 'ledger', '--wait', '--junit', junit);
    expect(r.code).toBe(1);
    expect(r.out).toContain('recovery-failed');
    await replayAndRecord('drill-restore-fault');
    const corrupted = t.lab.restoreFaults.corrupted.splice(0).map((f) => f.slice(f.indexOf('apps/ledger/')));
    expect(corrupted).toHaveLength(2);
    const [suite] = await parseJUnit(junit);
    const verify = suite.cases.find((c) => c.name === 'verify against the copy manifest')!;
    expect(verify.failure?.message).toContain('2 restored files differ');
    for (const f of corrupted) expect(verify.failure?.text).toContain(`content differs: ${f}`);
    // No check runs on data that did not verify.
    expect(suite.cases.find((c) => c.name === 'check: postgres starts and answers')?.skipped).toBe(true);
  });

  test('a failing application check: its name and the command output in the JUnit failure; exit 1', async () => {
    t.lab.addFault({ device: 'recovery-host', match: 'checklayout', output: 'Disk layout has changed', exitCode: 1, times: 1 });
    const junit = join(t.dir, 'check.xml');
    const r = await irctl('drill', 'run', VAULT, '--app', 'app-server', '--wait', '--junit', junit);
    expect(r.code).toBe(1);
    await replayAndRecord('drill-check-failed');
    const [suite] = await parseJUnit(junit);
    const failed = suite.cases.filter((c) => c.failure);
    expect(failed.map((c) => c.name)).toEqual(['check: rear layout unchanged']);
    expect(suite.cases.find((c) => c.name.startsWith('RTO '))?.skipped).toBe(true); // not recovered: no RTO to measure
    expect(failed[0].failure!.text).toContain('$ ssh root@127.0.0.1');
    expect(failed[0].failure!.text).toContain('Disk layout has changed');
    expect(failed[0].failure!.text).toContain('exit 1');
  });

  test('an RTO objective missed and an RPO objective missed: exit 6 (objectives)', async () => {
    const rto = await irctl('drill', 'run', VAULT, '--app', 'crm-tight-rto', '--wait', '--json');
    expect(rto.code).toBe(6);
    const rtoResult = JSON.parse(rto.out) as DrillResult;
    expect(rtoResult.outcome).toBe('objectives-missed');
    await replayAndRecord('drill-objectives-missed');
    expect(rtoResult.apps[0]).toMatchObject({ recovered: true, rtoMet: false, rpoMet: true });
    const rpo = await irctl('drill', 'run', VAULT, '--app', 'crm-tight-rpo', '--wait', '--json');
    expect(rpo.code).toBe(6);
    expect((JSON.parse(rpo.out) as DrillResult).apps[0]).toMatchObject({ recovered: true, rtoMet: true, rpoMet: false });
  });

  test('an abort during a check: the sandbox is cleaned, the drill records aborted', async () => {
    const handle = await temporal.client.workflow.start(recoveryDrill, { taskQueue: tq, workflowId: `drill-abort-${Date.now()}`, args: [VAULT, { applications: ['slow'] }] });
    const result = await watchingTheGap(async () => {
      for (let i = 0; ; i++) {
        const s = await handle.query(drillStatusQuery).catch(() => undefined);
        if (s?.current === 'slow: long check') break;
        if (i > 600) throw new Error('the slow check never started');
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(sandboxEntries()).toHaveLength(1); // restored data is there while the check runs
      await handle.signal(abortDrillSignal, { reason: 'test abort', by: 'jest' });
      return handle.result();
    });
    expect(result.outcome).toBe('aborted');
    await replayAndRecord('drill-aborted', handle.workflowId);
    expect(result.sandbox?.cleanedAt).toBeDefined();
    expect(readFileSync(result.report!.markdown, 'utf8')).toContain('aborted by jest: test abort');
  });

  test('a suspect copy is refused unless approved; the newest good copy is drilled by default', async () => {
    await t.lab.ransomware(3);
    const suspect = await runCycle();
    const entries = await readCatalog(config.evidenceDir, VAULT);
    expect(entries.find((e) => e.copyId === suspect)?.outcome).toBe('suspect');
    const refused = await irctl('drill', 'run', VAULT, '--copy', suspect, '--app', 'records', '--wait');
    expect(refused.code).toBe(1);
    expect(refused.err + refused.out).toMatch(new RegExp(`copy ${suspect} is suspect .* not approved`));
    await replayAndRecord('drill-refused');
    const byDefault = await irctl('drill', 'run', VAULT, '--app', 'records', '--wait', '--json');
    expect((JSON.parse(byDefault.out) as DrillResult).copyId).toBe(cleanCopy);
    // A person approves the suspect copy at DECIDE (test/decide.test.ts runs that on the dev server): RECORD then
    // writes the catalog entry with outcome approved and the decision, as here, and the copy may be drilled.
    const catalogFile = join(config.evidenceDir, VAULT, 'catalog.json');
    const approvedEntry = { outcome: 'approved', decision: { state: 'approved', by: 'jest', reason: 'false positive' } };
    writeFileSync(catalogFile, JSON.stringify(entries.map((e) => (e.copyId === suspect ? { ...e, ...approvedEntry } : e)), null, 2));
    const approved = await irctl('drill', 'run', VAULT, '--copy', suspect, '--app', 'records', '--wait', '--json');
    const result = JSON.parse(approved.out) as DrillResult;
    expect(result.copyId).toBe(suspect);
    expect(result.outcome).not.toBe('refused');
  });

  test('the compliance page renders in headless chromium with its timeline of gap openings', async () => {
    const html = join(t.dir, 'compliance.html');
    const r = await irctl('report', 'compliance', '--html', html, '--markdown', join(t.dir, 'compliance.md'));
    expect(r.code).toBe(0);
    const text = readFileSync(html, 'utf8');
    expect(text).not.toMatch(/(src|href)="(https?:)?\/\//); // self-contained
    const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    try {
      await page.goto(`file://${html}`);
      expect(await page.locator('h1').textContent()).toContain('compliance report');
      expect(await page.locator('svg.timeline rect.opening').count()).toBe(2); // the clean and the suspect cycle
      const box = await page.locator('svg.timeline').boundingBox();
      expect(box!.width).toBeGreaterThan(500);
      // crm's last drill passed: its RTO against the objective, met; the newest good copy's age against the RPO, met.
      const crm = page.locator('tr', { has: page.locator('td', { hasText: /^crm$/ }) });
      expect(await crm.locator('td').allTextContents()).toEqual(['crm', '1', expect.stringMatching(/ \/ 24\.0 h$/), 'met', expect.stringMatching(/^passed/), expect.stringMatching(/ \/ 15\.0 min$/), 'met', expect.any(String)]);
      // ledger's last drill is the restore fault's: not recovered, so its RTO counts as missed.
      const ledger = page.locator('tr', { has: page.locator('td', { hasText: /^ledger$/ }) });
      expect((await ledger.locator('td').allTextContents())[6]).toBe('MISSED');
      expect(await page.locator('svg.timeline rect.opening[fill="#2e7d32"]').count()).toBe(1); // the clean cycle
      expect(await page.locator('svg.timeline rect.opening[fill="#f9a825"]').count()).toBe(1); // the suspect one, approved
      const shot = join(t.dir, 'compliance.png');
      await page.screenshot({ path: shot, fullPage: true });
      expect(readFileSync(shot).subarray(1, 4).toString()).toBe('PNG');
      if (process.env.IR_UPDATE_SCREENSHOTS === '1') {
        mkdirSync(resolve(__dirname, '../docs'), { recursive: true });
        copyFileSync(shot, resolve(__dirname, '../docs/compliance-report.png'));
      }
    } finally {
      await page.close();
    }
    expect(existsSync(html)).toBe(true);
  });
});
