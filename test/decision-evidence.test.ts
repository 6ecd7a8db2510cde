/** The evidence check of signed decisions (activities/decision-evidence.ts) on records signed by the real ssh-keygen. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkDecisionRecord, type DecisionRecord } from '../activities/decision-evidence';
import { parsePublicKeyLine, statementText, type DecisionStatement } from '../vocabulary/decision-signature';
import { makeKey, newNonce, sshSign, type TestKey } from './helpers/ssh-sign';

const dir = mkdtempSync(join(tmpdir(), 'ir-decision-evidence-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let alice: TestKey;
let bob: TestKey;
beforeAll(() => {
  alice = makeKey(dir, 'alice', 'ed25519');
  bob = makeKey(dir, 'bob', 'ecdsa-p256');
});

const canonical = (k: TestKey) => parsePublicKeyLine(k.publicKey).canonical;
const signed = (key: TestKey, name: string, decision: DecisionStatement['decision'], copyId = 'c1') => {
  const statement: DecisionStatement = { namespace: 'default', workflowId: 'ir-cycle-v1', copyId, decision, reason: 'ok', ticket: '', issuedAt: '2026-12-04T12:00:00.000Z', nonce: newNonce() };
  return { operator: name, fingerprint: key.fingerprint, publicKey: canonical(key), statement, signature: sshSign(key, statementText(statement)) };
};
const record = (over: Partial<DecisionRecord> = {}): DecisionRecord => ({
  id: 'c1.after-validate',
  vaultId: 'v1',
  copyId: 'c1',
  signing: 'signed',
  stage: 'after-validate',
  why: 'suspect',
  askedAt: '',
  deadline: '',
  timeoutSeconds: 600,
  onTimeout: 'reject',
  quorum: 2,
  approvals: [
    { by: 'alice', reason: 'ok', at: '2026-12-04T12:01:00.000Z', signed: signed(alice, 'alice', 'approve') },
    { by: 'bob', reason: 'ok', at: '2026-12-04T12:01:00.000Z', signed: signed(bob, 'bob', 'approve') },
  ],
  state: 'approved',
  operators: [
    { name: 'alice', roles: ['approver'], keys: [canonical(alice)] },
    { name: 'bob', roles: ['approver'], keys: [canonical(bob)] },
  ],
  ...over,
});

test('a record signed as configured verifies', () => {
  expect(checkDecisionRecord(record())).toEqual({ signatures: 2, problems: [] });
});

test('a key that was not the operator’s, another copy, a missing signature and an edited statement are each named', () => {
  const r = record();
  r.operators![1].keys = [canonical(alice)];
  expect(checkDecisionRecord(r).problems).toEqual([{ decision: 'c1.after-validate', operator: 'bob', problem: `key ${bob.fingerprint} was not one of bob's configured keys when the decision was recorded` }]);
  const other = record();
  other.approvals[0].signed = signed(alice, 'alice', 'approve', 'c0');
  expect(checkDecisionRecord(other).problems.map((p) => p.problem)).toEqual(['the signed statement is for copy c0, the record for c1']);
  const unsigned = record();
  delete unsigned.approvals[1].signed;
  expect(checkDecisionRecord(unsigned).problems.map((p) => p.problem)).toEqual(['approval by bob at 2026-12-04T12:01:00.000Z carries no signature, but the vault took only signed decisions']);
  const edited = record();
  edited.approvals[0].signed!.statement.reason = 'changed afterwards';
  expect(checkDecisionRecord(edited).problems[0].problem).toMatch(/^alice's approve signature does not verify: the signature does not match the statement/);
  // an unsigned vault's record carries no proof and claims none
  expect(checkDecisionRecord(record({ signing: 'unsigned', approvals: [{ by: 'alice', reason: 'ok', at: '2026-12-04T12:01:00.000Z' }], operators: undefined }))).toEqual({ signatures: 0, problems: [] });
});
