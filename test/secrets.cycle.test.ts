/**
 * No secret, key or token in history, logs or reports (invariant 6): a full lab cycle with every credential-bearing
 * feature on — switch and DD logins over SSH with passwords and a client key, the DD REST lock method (login, token),
 * Bareos coordination (password, JWT), a decision asked and approved — then the raw history (without encryption:
 * the worst case), every worker log line and every file of the evidence store are searched for each secret.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { DefaultLogger, Runtime, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { createWorker } from '../workers/worker';
import { isolatedRecoveryCycle } from '../workflows';
import { approveUpdate } from '../workflows/operator-messages';
import type { CycleResult } from '../workflows/cycle-messages';
import { bundleWorkflows, connectTemporal, describeTemporal } from './helpers/temporal';
import { startTestLab, VAULT, type TestLab } from './helpers/lab';
import { withRest } from './helpers/rest';
import { issuedTokens } from '../lab/rest-server';
import { waitForDecide } from './helpers/decide';

jest.setTimeout(180_000);

const logLines: string[] = [];
// Before connectTemporal (which installs a quieter one): every worker log line, at every level, is kept.
Runtime.install({ logger: new DefaultLogger('TRACE', (entry) => logLines.push(`${entry.level} ${entry.message} ${JSON.stringify(entry.meta ?? {})}`)) });

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

describeTemporal('secrets stay out of history, logs and reports', () => {
  let bundle: WorkflowBundleWithSourceMap;
  let temporal: Awaited<ReturnType<typeof connectTemporal>>;
  let t: TestLab;

  beforeAll(async () => {
    bundle = await bundleWorkflows();
    temporal = await connectTemporal();
    t = await startTestLab(
      { rest: { bareosJobs: [{ name: 'backup-prod-fs', client: 'prod-fs-fd', trigger: 'NightlyProd', everyMs: 3600_000, durationMs: 1000 }], networkerJobs: [] } },
      { approval: { when: 'always', approvers: ['alice'] } },
    );
  });
  afterAll(async () => {
    await t?.close();
    await temporal?.close();
  });

  test('a full cycle (SSH passwords and key, REST lock, Bareos, a decision) leaves no secret behind', async () => {
    const config = withRest(t.config, t.lab, { lock: 'rest', backup: 'bareos' });
    const console: string[] = [];
    const spies = (['log', 'info', 'warn', 'error'] as const).map((m) => jest.spyOn(global.console, m).mockImplementation((...a: unknown[]) => void console.push(a.map(String).join(' '))));
    const taskQueue = `secrets-${Date.now()}`;
    const w = await createWorker({ connection: temporal.native, config, taskQueue, workflowBundle: bundle });
    const { result, history } = await w.runUntil(async () => {
      const handle = await temporal.client.workflow.start(isolatedRecoveryCycle, { taskQueue, workflowId: `${taskQueue}-cycle`, args: [VAULT, {}] });
      await waitForDecide(handle);
      await handle.executeUpdate(approveUpdate, { args: [{ by: 'alice', reason: 'secrets test' }] });
      const r = (await handle.result()) as CycleResult;
      return { result: r, history: historyToJSON(await handle.fetchHistory()) };
    });
    for (const s of spies) s.mockRestore();
    expect(result.outcome).toBe('validated');
    expect(result.copy).toMatchObject({ lockMethod: 'rest' });
    expect(result.backup?.software).toBe('bareos');

    // Every secret the worker used: the lab's password files, the SSH client key, and the tokens the REST faces issued.
    const secretsDir = join(t.dir, 'lab', 'secrets');
    const secrets = readdirSync(secretsDir).map((f) => ({ name: `secrets/${f}`, value: readFileSync(join(secretsDir, f), 'utf8').trim() }));
    const key = readFileSync(join(t.dir, 'lab', 'client_ed25519'), 'utf8');
    secrets.push({ name: 'client_ed25519 (its base64 body)', value: key.split('\n').filter((l) => l && !l.startsWith('-----')).join('').slice(0, 60) });
    const tokens = issuedTokens(); // the vault DD's X-DD-AUTH-TOKEN sessions and Bareos's bearer tokens
    expect(tokens.length).toBeGreaterThanOrEqual(2);
    for (const [i, v] of tokens.entries()) secrets.push({ name: `REST token ${i}`, value: v });
    expect(secrets.map((s) => s.name)).toEqual(expect.arrayContaining(['secrets/switch-password', 'secrets/dd-password', 'secrets/bareos-password']));
    for (const s of secrets) expect(s.value.length).toBeGreaterThanOrEqual(12); // long enough that a hit is no accident

    const evidence = filesUnder(config.evidenceDir).map((f) => ({ f, text: readFileSync(f).toString('latin1') }));
    expect(evidence.some((e) => e.f.endsWith('report.md'))).toBe(true);
    const places = [
      { where: 'workflow history', text: history },
      { where: 'worker log', text: logLines.join('\n') },
      { where: 'console', text: console.join('\n') },
      ...evidence.map((e) => ({ where: e.f, text: e.text })),
    ];
    expect(logLines.length).toBeGreaterThan(20);
    const leaks = secrets.flatMap((s) => places.filter((p) => p.text.includes(s.value)).map((p) => `${s.name} in ${p.where}`));
    expect(leaks).toEqual([]);
    // The references are there instead: the history names secret files by path, never by content.
    expect(t.lab.vaultPortsDown()).toBe(true);
  });
});
