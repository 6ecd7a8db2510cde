/**
 * Operators with the real `temporal` CLI binary on live cycles: `temporal workflow update execute --name approve`
 * (a refusal prints the validator's reason and exits non-zero), `temporal workflow signal --name abort`, and
 * `temporal workflow query --name status`. The outcome is what `irctl status` shows.
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { stringify } from 'yaml';
import { createWorker } from '../workers/worker';
import { runIrctl } from '../clients/irctl';
import { ensureTemporalCli } from '../clients/temporal-cli';
import { isolatedRecoveryCycle } from '../workflows';
import { cycleWorkflowId, type CycleResult } from '../workflows/cycle-messages';
import { bundleWorkflows, connectTemporal, describeTemporal, temporalAddress } from './helpers/temporal';
import { startTestLab, VAULT, type TestLab } from './helpers/lab';
import { outcomeOf, waitForDecide } from './helpers/decide';

jest.setTimeout(180_000);

let bundle: WorkflowBundleWithSourceMap;
let temporal: Awaited<ReturnType<typeof connectTemporal>>;
let t: TestLab;
let cli: string;

/** Runs the temporal CLI against the test server; never throws, returns the exit code and output. */
function temporalCli(...args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(cli, [...args, '--address', temporalAddress!, '--namespace', 'default'], { timeout: 60_000 }, (err, stdout, stderr) => {
      // The CLI logs errors as logfmt, with quotes escaped: unescape them to read the reason as sent.
      resolve({ code: err ? ((err as any).code ?? 1) : 0, out: `${stdout}\n${stderr}`.replace(/\\"/g, '"') });
    });
  });
}

async function irctlStatus(): Promise<CycleResult> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runIrctl(['status', VAULT, '--json'], { out: (l) => out.push(l), err: (l) => err.push(l) });
  if (code !== 0) throw new Error(`irctl status exited ${code}: ${err.join('\n')}`);
  return JSON.parse(out.join('\n'));
}

describeTemporal('the temporal CLI on live cycles', () => {
  const saved = { ...process.env };
  beforeAll(async () => {
    bundle = await bundleWorkflows();
    temporal = await connectTemporal();
    cli = await ensureTemporalCli();
    t = await startTestLab({ bandwidthBytesPerSec: 8 * 1024 * 1024 }, { approval: { when: 'always', approvers: ['alice', 'bob'] } });
    const configPath = join(t.dir, 'config.yaml');
    writeFileSync(configPath, stringify(t.config));
    Object.assign(process.env, { IR_CONFIG: configPath, TEMPORAL_ADDRESS: temporalAddress });
  });
  afterEach(async () => {
    // A failed test must not leave a cycle waiting in DECIDE for the next one's workflow id.
    await temporal.client.workflow.getHandle(cycleWorkflowId(VAULT)).terminate('test cleanup').catch(() => undefined);
  });
  afterAll(async () => {
    process.env = saved;
    if (t) {
      expect(t.lab.vaultPortsDown()).toBe(true);
      expect(t.lab.replication().enabled).toBe(false);
      await t.close();
    }
    await temporal?.close();
  });

  test('temporal workflow update execute --name approve: a refusal prints the reason; an approval completes the cycle', async () => {
    const tq = `cli-approve-${Date.now()}`;
    const w = await createWorker({ connection: temporal.native, config: t.config, taskQueue: tq, workflowBundle: bundle });
    const id = cycleWorkflowId(VAULT);
    await w.runUntil(async () => {
      const handle = await temporal.client.workflow.start(isolatedRecoveryCycle, { taskQueue: tq, workflowId: id, args: [VAULT, {}] });
      await waitForDecide(handle);
      const listed = await temporalCli('workflow', 'list', '--query', `WorkflowId="${id}" AND IrPhase="DECIDE" AND IrDecision="pending"`);
      expect(listed.out).toContain(id);

      const refused = await temporalCli('workflow', 'update', 'execute', '-w', id, '--name', 'approve', '-i', '{"by":"mallory","reason":"trust me"}');
      expect(refused.code).not.toBe(0);
      expect(refused.out).toContain('mallory is not an approver of vault lab-vault (approval.approvers: alice, bob)');
      const malformed = await temporalCli('workflow', 'update', 'execute', '-w', id, '--name', 'approve', '-i', '{"by":"alice"}');
      expect(malformed.code).not.toBe(0);
      expect(malformed.out).toContain('approve payload field "reason" is required');

      const status = await temporalCli('workflow', 'query', '-w', id, '--name', 'status', '-o', 'json');
      expect(status.out).toContain('"state": "pending"');

      const approved = await temporalCli('workflow', 'update', 'execute', '-w', id, '--name', 'approve', '-i', '{"by":"alice","reason":"weekly copy checked","ticket":"CHG-1"}');
      expect(approved.code).toBe(0);
      expect(approved.out).toContain('approved by alice: the copy counts as good');
      const result = await handle.result();
      expect(result.outcome).toBe('validated');
    });
    // What irctl shows is what the CLI did.
    const shown = await irctlStatus();
    expect(shown.outcome).toBe('validated');
    expect(shown.decisions?.[0]).toMatchObject({ state: 'approved', by: 'alice', reason: 'weekly copy checked', ticket: 'CHG-1' });
  });

  test('temporal workflow signal --name abort on a cycle in DECIDE ends it; irctl shows who aborted', async () => {
    const tq = `cli-abort-${Date.now()}`;
    const w = await createWorker({ connection: temporal.native, config: t.config, taskQueue: tq, workflowBundle: bundle });
    const id = cycleWorkflowId(VAULT);
    await w.runUntil(async () => {
      const handle = await temporal.client.workflow.start(isolatedRecoveryCycle, { taskQueue: tq, workflowId: id, args: [VAULT, {}] });
      await waitForDecide(handle);
      const sent = await temporalCli('workflow', 'signal', '-w', id, '--name', 'abort', '-i', '{"by":"bob","reason":"vault maintenance"}');
      expect(sent.code).toBe(0);
      const { result } = await outcomeOf(handle);
      expect(result.outcome).toBe('aborted');
    });
    const shown = await irctlStatus();
    expect(shown.outcome).toBe('aborted');
    expect(shown.gap).toBe('closed');
    expect(shown.abort).toMatchObject({ by: 'bob', reason: 'vault maintenance' });
    expect(shown.decisions?.[0].state).toBe('aborted');
  });
});
