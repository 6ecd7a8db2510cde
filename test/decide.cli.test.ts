/**
 * Operators with real tools on live cycles whose vault has operators configured (signed decisions): the real
 * `temporal` CLI sends what `irctl decision sign` printed (`workflow update execute --name approve`, `workflow signal
 * --name abort`), and `irctl cycle approve` signs by itself with a key file or through a real ssh-agent (a
 * passphrase-protected key). Unsigned, unknown-key and wrong-decision requests are refused with the validator's
 * reason; `temporal workflow query --name status` and `irctl status` show who decided and with which key.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { stringify } from 'yaml';
import { createWorker } from '../workers/worker';
import { runIrctl } from '../clients/irctl';
import { ensureTemporalCli } from '../clients/temporal-cli';
import { isolatedRecoveryCycle } from '../workflows';
import { cycleWorkflowId, statusQuery, type CycleResult } from '../workflows/cycle-messages';
import { bundleWorkflows, connectTemporal, describeTemporal, temporalAddress } from './helpers/temporal';
import { startTestLab, VAULT, type TestLab } from './helpers/lab';
import { outcomeOf, waitForDecide, waitForStatus } from './helpers/decide';
import { protectKey, startSshAgent, type SshAgent } from './helpers/ssh-agent';
import { makeKey, type TestKey } from './helpers/ssh-sign';

jest.setTimeout(180_000);

let bundle: WorkflowBundleWithSourceMap;
let temporal: Awaited<ReturnType<typeof connectTemporal>>;
let t: TestLab;
let cli: string;
let agent: SshAgent;
let alice: TestKey; // approver + operator, a key file
let bob: TestKey; // approver + operator, passphrase-protected: signs only through ssh-agent
let mallory: TestKey; // not an operator
const BOB_PASSPHRASE = 'bob says hunter2 twice';

/** Runs the temporal CLI against the test server; never throws, returns the exit code and output. */
function temporalCli(...args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(cli, [...args, '--address', temporalAddress!, '--namespace', 'default'], { timeout: 60_000 }, (err, stdout, stderr) => {
      // The CLI logs errors as logfmt, with quotes escaped: unescape them to read the reason as sent.
      resolve({ code: err ? ((err as any).code ?? 1) : 0, out: `${stdout}\n${stderr}`.replace(/\\"/g, '"') });
    });
  });
}

/** irctl in this process (the environment is the test's: IR_CONFIG, TEMPORAL_ADDRESS, SSH_AUTH_SOCK). */
async function irctl(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runIrctl(args, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

async function irctlStatus(): Promise<CycleResult> {
  const r = await irctl('status', VAULT, '--json');
  if (r.code !== 0) throw new Error(`irctl status exited ${r.code}: ${r.err}`);
  return JSON.parse(r.out);
}

/** `irctl decision sign ...`: stdout is the one-line payload. */
async function signed(...args: string[]): Promise<string> {
  const r = await irctl('decision', 'sign', ...args);
  if (r.code !== 0) throw new Error(`irctl decision sign exited ${r.code}: ${r.err}`);
  expect(r.out.split('\n')).toHaveLength(1);
  return r.out;
}

describeTemporal('operators sign their decisions: irctl, irctl decision sign + the temporal CLI', () => {
  const saved = { ...process.env };
  beforeAll(async () => {
    bundle = await bundleWorkflows();
    temporal = await connectTemporal();
    cli = await ensureTemporalCli();
    // The operators' keys are made in the lab's folder; bob's carries a passphrase (he signs through ssh-agent).
    t = await startTestLab({ bandwidthBytesPerSec: 8 * 1024 * 1024 }, { approval: { when: 'always', approvers: ['alice', 'bob'] } }, {}, (dir) => {
      alice = makeKey(dir, 'alice');
      bob = makeKey(dir, 'bob');
      protectKey(bob.privateKeyFile, BOB_PASSPHRASE);
      mallory = makeKey(dir, 'mallory');
      return [
        { name: 'alice', keys: [alice.publicKey], roles: ['approver', 'operator'] },
        { name: 'bob', keys: [bob.publicKey], roles: ['approver', 'operator'] },
      ];
    });
    const keys = join(t.dir, 'agent');
    mkdirSync(keys, { mode: 0o700 });
    agent = await startSshAgent(keys);
    const configPath = join(t.dir, 'config.yaml');
    writeFileSync(configPath, stringify(t.config));
    Object.assign(process.env, { IR_CONFIG: configPath, TEMPORAL_ADDRESS: temporalAddress });
    delete process.env.SSH_AUTH_SOCK; // the runner's own agent, if any, is not the test's
    delete process.env.IR_OPERATOR_KEY;
  });
  afterEach(async () => {
    // A failed test must not leave a cycle waiting in DECIDE for the next one's workflow id.
    await temporal.client.workflow.getHandle(cycleWorkflowId(VAULT)).terminate('test cleanup').catch(() => undefined);
    delete process.env.SSH_AUTH_SOCK;
  });
  afterAll(async () => {
    process.env = saved;
    agent?.stop();
    if (t) {
      expect(t.lab.vaultPortsDown()).toBe(true);
      expect(t.lab.replication().enabled).toBe(false);
      await t.close();
    }
    await temporal?.close();
  });

  test('temporal workflow update execute with the payload of irctl decision sign: refusals print the reason; the signed approval completes the cycle', async () => {
    const tq = `cli-approve-${Date.now()}`;
    const w = await createWorker({ connection: temporal.native, config: t.config, taskQueue: tq, workflowBundle: bundle });
    const id = cycleWorkflowId(VAULT);
    await w.runUntil(async () => {
      const handle = await temporal.client.workflow.start(isolatedRecoveryCycle, { taskQueue: tq, workflowId: id, args: [VAULT, {}] });
      const { copyId } = await waitForDecide(handle);
      const listed = await temporalCli('workflow', 'list', '--query', `WorkflowId="${id}" AND IrPhase="DECIDE" AND IrDecision="pending"`);
      expect(listed.out).toContain(id);

      // Unsigned: the old payload is refused, and the refusal says how to sign.
      const unsigned = await temporalCli('workflow', 'update', 'execute', '-w', id, '--name', 'approve', '-i', '{"by":"alice","reason":"trust me"}');
      expect(unsigned.code).not.toBe(0);
      expect(unsigned.out).toContain('unsigned: vault lab-vault takes only signed approve requests (operators are configured)');
      // Signed by a key nobody configured.
      const byMallory = await temporalCli('workflow', 'update', 'execute', '-w', id, '--name', 'approve', '-i', await signed('-w', id, '--decision', 'approve', '--reason', 'trust me', '--key', mallory.privateKeyFile));
      expect(byMallory.code).not.toBe(0);
      expect(byMallory.out).toContain(`unknown key ${mallory.fingerprint}: no operator of vault lab-vault has it (operators: alice, bob)`);
      // alice's signature over a rejection does not approve.
      const rejection = await signed('reject', VAULT, '--reason', 'weekly copy checked', '--key', alice.privateKeyFile);
      const wrongDecision = await temporalCli('workflow', 'update', 'execute', '-w', id, '--name', 'approve', '-i', rejection);
      expect(wrongDecision.code).not.toBe(0);
      expect(wrongDecision.out).toContain(`signed for something else: alice's signature (key ${alice.fingerprint}) does not match this request's statement`);

      const status = await temporalCli('workflow', 'query', '-w', id, '--name', 'status', '-o', 'json');
      expect(status.out).toContain('"state": "pending"');
      expect(status.out).toContain('"decisionSigning": "signed"');

      // What an operator runs: the payload on stdout, where it came from on stderr.
      const sign = await irctl('decision', 'sign', '-w', id, '--decision', 'approve', '--reason', 'weekly copy checked', '--ticket', 'CHG-1', '--key', alice.privateKeyFile);
      expect(sign.code).toBe(0);
      expect(sign.err).toContain(`signed approve for ${id} (copy ${copyId}, namespace default) with ssh-ed25519 ${alice.fingerprint}`);
      const payload = JSON.parse(sign.out);
      expect(Object.keys(payload)).toEqual(['reason', 'ticket', 'issuedAt', 'nonce', 'signature']);
      const approved = await temporalCli('workflow', 'update', 'execute', '-w', id, '--name', 'approve', '-i', sign.out);
      expect(approved.code).toBe(0);
      expect(approved.out).toContain('approved by alice: the copy counts as good');
      const result = await handle.result();
      expect(result.outcome).toBe('validated');
      expect(result.decisions?.[0].approvals[0].signed).toMatchObject({ operator: 'alice', fingerprint: alice.fingerprint, signature: payload.signature });
    });
    // What irctl shows is what the CLI did.
    const shown = await irctlStatus();
    expect(shown.outcome).toBe('validated');
    expect(shown.decisions?.[0]).toMatchObject({ state: 'approved', by: 'alice', reason: 'weekly copy checked', ticket: 'CHG-1' });
  });

  test('irctl cycle approve under quorum 2: a key file, then a passphrase-protected key through ssh-agent; nothing secret in history', async () => {
    const tq = `cli-quorum-${Date.now()}`;
    const w = await createWorker({ connection: temporal.native, config: t.config, taskQueue: tq, workflowBundle: bundle });
    const id = cycleWorkflowId(VAULT);
    await w.runUntil(async () => {
      const handle = await temporal.client.workflow.start(isolatedRecoveryCycle, { taskQueue: tq, workflowId: id, args: [VAULT, { approval: { quorum: 2 } } as unknown as Parameters<typeof isolatedRecoveryCycle>[1]] }); // a run may make the rule stricter
      await waitForDecide(handle);

      // bob's key is passphrase-protected and no agent holds it: a clear error at once, nothing sent.
      const locked = await irctl('cycle', 'approve', VAULT, '--reason', 'second look', '--key', bob.privateKeyFile);
      expect(locked.code).toBe(2);
      expect(locked.err).toContain(`the key ${bob.privateKeyFile} is passphrase-protected and no ssh-agent is reachable (SSH_AUTH_SOCK is not set); irctl never asks for a passphrase`);
      expect((await handle.query(statusQuery)).decisions?.at(-1)?.approvals).toHaveLength(0);

      const first = await irctl('cycle', 'approve', VAULT, '--reason', 'weekly copy checked', '--ticket', 'CHG-2', '--key', alice.privateKeyFile);
      expect(first.err).toBe('');
      expect(first.code).toBe(0);
      expect(first.out).toBe(`approve accepted by ${id} (signed with ${alice.fingerprint}): approval 1 of 2 recorded from alice; waiting for another approver`);
      const twice = await irctl('cycle', 'approve', VAULT, '--reason', 'me again', '--key', alice.privateKeyFile);
      expect(twice.code).toBe(5);
      expect(twice.err).toContain(`approve rejected by ${id}: the same key ${alice.fingerprint} (alice) has already approved`);

      // bob unlocks his key into ssh-agent once; irctl signs through the agent with the .pub path.
      agent.add(bob.privateKeyFile, BOB_PASSPHRASE);
      process.env.SSH_AUTH_SOCK = agent.sock;
      const second = await irctl('cycle', 'approve', VAULT, '--reason', 'second look', '--key', `${bob.privateKeyFile}.pub`, '--json');
      expect(second.code).toBe(0);
      expect(JSON.parse(second.out)).toMatchObject({ accepted: true, signer: { fingerprint: bob.fingerprint }, result: { message: 'approved by alice, bob: the copy counts as good' } });
      const result = await handle.result();
      expect(result.outcome).toBe('validated');
      expect(result.decisions?.[0].approvals.map((a) => [a.by, a.signed?.fingerprint])).toEqual([['alice', alice.fingerprint], ['bob', bob.fingerprint]]);

      // History carries signatures and public keys only: no private key, no passphrase.
      const raw = JSON.stringify(await handle.fetchHistory());
      const payloads = [...raw.matchAll(/"data":"([A-Za-z0-9+/=]+)"/g)].map((m) => Buffer.from(m[1], 'base64').toString('utf8'));
      const history = [raw, ...payloads].join('\n');
      const privateBody = (file: string) => readFileSync(file, 'utf8').split('\n').filter((l) => l && !l.startsWith('-----'));
      expect(history).toContain(bob.fingerprint);
      for (const secret of [BOB_PASSPHRASE, 'PRIVATE KEY', ...privateBody(alice.privateKeyFile), ...privateBody(bob.privateKeyFile)]) expect(history).not.toContain(secret);
    });
  });

  test('abort: unsigned (temporal workflow signal) and signed by an unknown key (irctl) are refused; signed by irctl decision sign, the signal ends the cycle', async () => {
    const tq = `cli-abort-${Date.now()}`;
    const w = await createWorker({ connection: temporal.native, config: t.config, taskQueue: tq, workflowBundle: bundle });
    const id = cycleWorkflowId(VAULT);
    await w.runUntil(async () => {
      const handle = await temporal.client.workflow.start(isolatedRecoveryCycle, { taskQueue: tq, workflowId: id, args: [VAULT, {}] });
      await waitForDecide(handle);
      const unsigned = await temporalCli('workflow', 'signal', '-w', id, '--name', 'abort', '-i', '{"by":"bob","reason":"vault maintenance"}');
      expect(unsigned.code).toBe(0); // a signal has no answer: the refusal is in the status
      const refused = await waitForStatus(handle, (s) => s.rejectedMessages.some((m) => m.includes('unsigned')), 'the unsigned abort refused');
      expect(refused.rejectedMessages.join('\n')).toContain('abort rejected: unsigned: vault lab-vault takes only signed abort requests (operators are configured; approval.unsignedAbort is false)');
      expect(refused.phase).toBe('DECIDE');
      // irctl signs its abort too: with a key nobody configured it is refused (exit 5), naming the key.
      const byMallory = await irctl('cycle', 'abort', VAULT, '--reason', 'vault maintenance', '--key', mallory.privateKeyFile);
      expect(byMallory.code).toBe(5);
      expect(byMallory.err).toContain(`abort rejected by ${id}: unknown key ${mallory.fingerprint}`);

      const sent = await temporalCli('workflow', 'signal', '-w', id, '--name', 'abort', '-i', await signed('abort', VAULT, '--reason', 'vault maintenance', '--key', alice.privateKeyFile));
      expect(sent.code).toBe(0);
      const { result } = await outcomeOf(handle);
      expect(result.outcome).toBe('aborted');
    });
    const shown = await irctlStatus();
    expect(shown.outcome).toBe('aborted');
    expect(shown.gap).toBe('closed');
    expect(shown.abort).toMatchObject({ by: 'alice', reason: 'vault maintenance' });
    expect(shown.decisions?.[0].state).toBe('aborted');
  });
});
