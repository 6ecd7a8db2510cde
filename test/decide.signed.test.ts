/**
 * Signed operator decisions from OUTSIDE, with the real `temporal` CLI on the dev server and signatures made by the
 * real `ssh-keygen -Y sign -n isolated-recovery`: each forged, misdirected, stale or repeated request is refused with
 * its reason and changes nothing; two approvers' signatures complete the cycle; the evidence keeps the signatures and
 * `irctl evidence verify` names a decision whose signature was altered.
 */
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { stringify } from 'yaml';
import { createWorker } from '../workers/worker';
import { runIrctl } from '../clients/irctl';
import { ensureTemporalCli } from '../clients/temporal-cli';
import { isolatedRecoveryCycle } from '../workflows';
import { cycleWorkflowId, statusQuery, type CycleResult } from '../workflows/cycle-messages';
import { approveUpdate } from '../workflows/operator-messages';
import type { DecisionStatement, SignedDecision } from '../vocabulary/decision-signature';
import { bundleWorkflows, connectTemporal, describeTemporal, temporalAddress } from './helpers/temporal';
import { startTestLab, type TestLab } from './helpers/lab';
import { outcomeOf, recordHistory, waitForDecide, waitForStatus } from './helpers/decide';
import { makeKey, newNonce, signedPayload, type TestKey } from './helpers/ssh-sign';

jest.setTimeout(180_000);

let bundle: WorkflowBundleWithSourceMap;
let temporal: Awaited<ReturnType<typeof connectTemporal>>;
let t: TestLab;
let cli: string;
const keys: Record<'alice' | 'alice2' | 'bob' | 'carol' | 'mallory', TestKey> = {} as never;

function temporalCli(...args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(cli, [...args, '--address', temporalAddress!, '--namespace', 'default'], { timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as any).code ?? 1) : 0, out: `${stdout}\n${stderr}`.replace(/\\"/g, '"').replace(/\\\\n/g, '\\n') });
    });
  });
}

async function irctl(...args: string[]): Promise<{ code: number; out: string }> {
  const lines: string[] = [];
  const code = await runIrctl(args, { out: (l) => lines.push(l), err: (l) => lines.push(l) });
  return { code, out: lines.join('\n') };
}

// A vault of its own: `irctl evidence verify` checks every cycle of the vault in Temporal history, and other test
// files' lab-vault cycles on the same dev server keep their evidence in stores this test does not have.
const VAULT = 'signed-vault';
const id = cycleWorkflowId(VAULT);

describeTemporal('signed decisions through the temporal CLI', () => {
  const saved = { ...process.env };
  beforeAll(async () => {
    bundle = await bundleWorkflows();
    temporal = await connectTemporal();
    cli = await ensureTemporalCli();
    t = await startTestLab({ bandwidthBytesPerSec: 8 * 1024 * 1024 }, { approval: { when: 'always', approvers: ['alice', 'bob'], quorum: 2, signatureMaxAge: '10m' } }, {}, (dir) => {
      keys.alice = makeKey(dir, 'alice', 'ed25519');
      keys.alice2 = makeKey(dir, 'alice', 'ecdsa-p256');
      keys.bob = makeKey(dir, 'bob', 'ecdsa-p256');
      keys.carol = makeKey(dir, 'carol', 'ed25519');
      keys.mallory = makeKey(dir, 'mallory', 'ed25519');
      return [
        { name: 'alice', keys: [keys.alice.publicKey, keys.alice2.publicKey], roles: ['approver', 'operator'] },
        { name: 'bob', keys: [keys.bob.publicKey], roles: ['approver'] },
        { name: 'carol', keys: [keys.carol.publicKey], roles: ['operator', 'auditor'] },
      ];
    });
    t.config.vaults[0].id = VAULT;
    const configPath = join(t.dir, 'config.yaml');
    writeFileSync(configPath, stringify(t.config));
    Object.assign(process.env, { IR_CONFIG: configPath, TEMPORAL_ADDRESS: temporalAddress });
  });
  afterEach(async () => {
    await temporal.client.workflow.getHandle(id).terminate('test cleanup').catch(() => undefined);
  });
  afterAll(async () => {
    process.env = saved;
    if (t) {
      expect(t.lab.vaultPortsDown()).toBe(true);
      await t.close();
    }
    await temporal?.close();
  });

  /** The statement for this cycle, as the workflow rebuilds it, with overrides for the forged cases. */
  const statementFor = (copyId: string, decision: SignedDecision, over: Partial<DecisionStatement> = {}): DecisionStatement => ({
    namespace: 'default',
    workflowId: id,
    copyId,
    decision,
    reason: 'weekly copy checked',
    ticket: 'CHG-7',
    issuedAt: new Date().toISOString(),
    nonce: newNonce(),
    ...over,
  });
  const send = (name: string, payload: unknown) => temporalCli('workflow', 'update', 'execute', '-w', id, '--name', name, '-i', JSON.stringify(payload));
  const refusedWith = async (name: string, payload: unknown, text: string | RegExp) => {
    const r = await send(name, payload);
    expect(r.code).not.toBe(0);
    if (typeof text === 'string') expect(r.out).toContain(text);
    else expect(r.out).toMatch(text);
    return r.out;
  };

  test('unsigned, a non-approver, another workflow, a replay and the same key or person twice are refused; alice and bob approve', async () => {
    const tq = `signed-${Date.now()}`;
    const w = await createWorker({ connection: temporal.native, config: t.config, taskQueue: tq, workflowBundle: bundle });
    let copyId = '';
    const texts: string[] = [];
    await w.runUntil(async () => {
      const handle = await temporal.client.workflow.start(isolatedRecoveryCycle, { taskQueue: tq, workflowId: id, args: [VAULT, {}] });
      const asked = await waitForDecide(handle);
      copyId = asked.copyId;
      expect(asked.decisionSigning).toBe('signed');
      const sign = (key: TestKey, decision: SignedDecision = 'approve', over: Partial<DecisionStatement> = {}) => signedPayload(key, statementFor(copyId, decision, over));

      texts.push(await refusedWith('approve', { by: 'alice', reason: 'trust me' }, `unsigned: vault ${VAULT} takes only signed approve requests (operators are configured). Sign with your operator key: irctl decision sign approve ${VAULT}`));
      texts.push(await refusedWith('approve', sign(keys.carol), `carol (key ${keys.carol.fingerprint}) does not have the approver role for vault ${VAULT} (roles: operator, auditor): approve needs an operator with role approver`));
      texts.push(await refusedWith('approve', sign(keys.mallory), `unknown key ${keys.mallory.fingerprint}: no operator of vault ${VAULT} has it (operators: alice, bob, carol)`));
      texts.push(await refusedWith('approve', sign(keys.alice, 'approve', { workflowId: 'ir-cycle-other-vault' }), `signed for something else: alice's signature (key ${keys.alice.fingerprint}) does not match this request's statement; it was made for another workflow, copy, namespace or decision`));
      texts.push(await refusedWith('approve', sign(keys.alice, 'approve', { copyId: 'lab-vault-older-copy' }), "signed for something else: alice's signature"));
      texts.push(await refusedWith('approve', sign(keys.alice, 'reject'), "signed for something else: alice's signature"));
      texts.push(await refusedWith('approve', sign(keys.alice, 'approve', { issuedAt: new Date(Date.now() - 3600_000).toISOString() }), /expired: alice's approve was signed at \S+, 3[56]\d\ds ago, more than approval\.signatureMaxAge \(10m\); sign a fresh statement/));
      texts.push(await refusedWith('approve', { ...sign(keys.alice), by: 'bob' }, `"by" says bob but the signing key ${keys.alice.fingerprint} is alice's`));
      texts.push(await refusedWith('approve', { ...sign(keys.alice), signature: 'not a signature' }, 'malformed signature: not an SSH signature'));
      // Nothing changed: no approval recorded yet.
      expect((await handle.query(statusQuery)).decisions?.at(-1)?.approvals).toEqual([]);

      const first = sign(keys.alice);
      const ok1 = await send('approve', first);
      expect(ok1.code).toBe(0);
      expect(ok1.out).toContain('approval 1 of 2 recorded from alice; waiting for another approver');
      texts.push(await refusedWith('approve', first, `replayed: nonce ${first.nonce} was already used in this cycle (approve by alice); every signed request needs a fresh statement and signature`));
      texts.push(await refusedWith('approve', sign(keys.alice), `the same key ${keys.alice.fingerprint} (alice) has already approved: approval.quorum 2 needs 1 more approval(s) signed by another approver's key`));
      texts.push(await refusedWith('approve', sign(keys.alice2), 'alice has already approved: approval.quorum 2 needs 1 more approval(s) from another person'));
      // A signal cannot answer: its refusal is in status.rejectedMessages, and changes nothing either.
      expect((await temporalCli('workflow', 'signal', '-w', id, '--name', 'approve', '-i', JSON.stringify(first))).code).toBe(0);
      const s = await waitForStatus(handle, (st) => st.rejectedMessages.some((m) => m.startsWith('approve rejected: replayed')), 'the refused signal');
      expect(s.decisions?.at(-1)?.approvals).toHaveLength(1);

      const ok2 = await send('approve', sign(keys.bob));
      expect(ok2.code).toBe(0);
      expect(ok2.out).toContain('approved by alice, bob: the copy counts as good');
      const result = (await handle.result()) as CycleResult;
      expect(result.outcome).toBe('validated');
      const d = result.decisions![0];
      expect(d).toMatchObject({ state: 'approved', by: 'alice, bob' });
      expect(d.approvals.map((a) => [a.by, a.signed?.fingerprint, a.signed?.statement.copyId])).toEqual([
        ['alice', keys.alice.fingerprint, copyId],
        ['bob', keys.bob.fingerprint, copyId],
      ]);
      await recordHistory(handle, 'cycle-decide-signed-two-person');
    });
    // For the notes: the refusal texts as the CLI printed them.
    if (process.env.IR_PRINT_REFUSALS) console.log(texts.map((x) => x.trim()).join('\n----\n'));

    // The report says who signed with which key; the evidence keeps the proof, and irctl re-verifies it.
    const report = readFileSync(join(t.config.evidenceDir, VAULT, copyId, 'report.md'), 'utf8');
    expect(report).toContain(`signed by alice, key ${keys.alice.fingerprint}`);
    expect(report).toContain('| decisions | signed');
    const ok = await irctl('evidence', 'verify', VAULT);
    expect(ok.out).toContain('decisions: 1 recorded, 2 signatures re-verified');
    expect(ok.code).toBe(0);

    const recordPath = join(t.config.evidenceDir, VAULT, 'decisions', `${copyId}.after-validate.json`);
    const record = JSON.parse(readFileSync(recordPath, 'utf8'));
    expect(record.operators.map((o: { name: string }) => o.name)).toEqual(['alice', 'bob', 'carol']);
    const sig: string = record.approvals[1].signed.signature;
    const lines = sig.split('\n');
    const body = lines[lines.length - 2];
    lines[lines.length - 2] = body.slice(0, 10) + (body[10] === 'A' ? 'B' : 'A') + body.slice(11);
    record.approvals[1].signed.signature = lines.join('\n');
    writeFileSync(recordPath, JSON.stringify(record, null, 2));
    const bad = await irctl('evidence', 'verify', VAULT);
    expect(bad.code).toBe(1);
    expect(bad.out).toContain(`decision ${copyId}.after-validate (bob): bob's approve signature does not verify`);
  });

  test('abort: unsigned and a non-operator refused; carol, an operator, aborts with a signature', async () => {
    const tq = `signed-abort-${Date.now()}`;
    const w = await createWorker({ connection: temporal.native, config: t.config, taskQueue: tq, workflowBundle: bundle });
    await w.runUntil(async () => {
      const handle = await temporal.client.workflow.start(isolatedRecoveryCycle, { taskQueue: tq, workflowId: id, args: [VAULT, {}] });
      const { copyId } = await waitForDecide(handle);
      const sign = (key: TestKey) => signedPayload(key, statementFor(copyId, 'abort', { reason: 'vault maintenance', ticket: '' }));
      expect((await temporalCli('workflow', 'signal', '-w', id, '--name', 'abort', '-i', '{"by":"carol","reason":"vault maintenance"}')).code).toBe(0);
      await waitForStatus(handle, (s) => s.rejectedMessages.some((m) => m.startsWith(`abort rejected: unsigned: vault ${VAULT} takes only signed abort requests (operators are configured; approval.unsignedAbort is false)`)), 'the refused abort signal');
      await refusedWith('abort', sign(keys.bob), `bob (key ${keys.bob.fingerprint}) does not have the operator role for vault ${VAULT} (roles: approver): abort needs an operator with role operator`);
      // a client's own update call is refused the same way
      await expect(handle.executeUpdate(approveUpdate, { args: [{ by: 'alice', reason: 'unsigned' }] })).rejects.toMatchObject({
        cause: { type: 'RequestRefused', message: expect.stringContaining(`unsigned: vault ${VAULT} takes only signed approve requests`) },
      });
      const aborted = await send('abort', sign(keys.carol));
      expect(aborted.code).toBe(0);
      expect(aborted.out).toContain('aborted in DECIDE by carol: no decision on the copy');
      const { result } = await outcomeOf(handle);
      expect(result.outcome).toBe('aborted');
      expect(result.abort).toMatchObject({ by: 'carol', reason: 'vault maintenance', signed: { operator: 'carol', fingerprint: keys.carol.fingerprint } });
      expect(result.decisions![0]).toMatchObject({ state: 'aborted', by: 'carol', signed: { fingerprint: keys.carol.fingerprint } });
    });
  });
});
