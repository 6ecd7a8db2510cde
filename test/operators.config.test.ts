/** The `operators:` configuration: keys, roles, vaults; each mistake named by its path with the fix. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { ConfigError, parseConfig } from '../config/load';
import { operatorsForVault } from '../config/schema';
import { ensureOperatorKeys, LAB_OPERATORS, labOperatorKey } from '../lab/operator-keys';
import { verifySshSignature } from '../vocabulary/decision-signature';
import { makeKey, type TestKey } from './helpers/ssh-sign';

const dir = mkdtempSync(join(tmpdir(), 'ir-operators-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let alice: TestKey;
let bob: TestKey;
beforeAll(() => {
  alice = makeKey(dir, 'alice', 'ed25519');
  bob = makeKey(dir, 'bob', 'ecdsa-p256');
});

const lab = () => parse(readFileSync('config/lab.yaml', 'utf8'));
const withOperators = (operators: unknown, approval: Record<string, unknown> = {}) => {
  const raw = lab();
  raw.operators = operators;
  raw.vaults[0].policy.approval = { ...raw.vaults[0].policy.approval, ...approval };
  return raw;
};
const errorOf = (raw: unknown): string => {
  try {
    parseConfig(raw, 'ops.yaml', '/');
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected a ConfigError');
};

test('operators load; the workflow gets canonical keys (no comment) and roles for the vault', () => {
  const config = parseConfig(
    withOperators([
      { name: 'alice', keys: [alice.publicKey], roles: ['approver', 'operator'] },
      { name: 'bob', keys: [bob.publicKey], roles: ['approver'], vaults: ['lab-vault'] },
    ], { unsignedAbort: true, signatureMaxAge: '5m' }),
    'ops.yaml',
    '/',
  );
  expect(config.vaults[0].policy.approval).toMatchObject({ unsignedAbort: true, signatureMaxAge: 300 });
  expect(operatorsForVault(config.operators, 'lab-vault')).toEqual([
    { name: 'alice', roles: ['approver', 'operator'], keys: [alice.publicKey.split(' ').slice(0, 2).join(' ')] },
    { name: 'bob', roles: ['approver'], keys: [bob.publicKey.split(' ').slice(0, 2).join(' ')] },
  ]);
  expect(operatorsForVault(undefined, 'lab-vault')).toBeUndefined(); // no operators: decisions unsigned
});

test('a bad key line, an unknown role, a key shared by two people, an unknown vault are each named with the fix', () => {
  const msg = errorOf(
    withOperators([
      { name: 'alice', keys: ['ssh-ed25519 AAAAnotakey'], roles: ['approver'] },
      { name: 'bob', keys: [bob.publicKey], roles: ['admin'] },
    ]),
  );
  expect(msg).toContain('operators[0].keys[0]: not a usable SSH public key (the key\'s base64 part is not base64: "AAAAnotakey…");');
  expect(msg).toContain('paste the .pub file\'s line, e.g. "ssh-ed25519 AAAA… alice@laptop" (ssh-keygen -t ed25519)');
  expect(msg).toContain('operators[1].roles[0]: a role: approver, operator, auditor');
  // checked once every entry reads well
  const shared = errorOf(
    withOperators([
      { name: 'alice', keys: [alice.publicKey], roles: ['approver'] },
      { name: 'bob', keys: [bob.publicKey], roles: ['approver'] },
      { name: 'carol', keys: [bob.publicKey], roles: ['approver'], vaults: ['v9'] },
    ]),
  );
  expect(shared).toContain(`operators[2].keys[0]: key ${bob.fingerprint} is already operators[1] bob's: a key belongs to one person (give carol a key of their own)`);
  expect(shared).toContain('operators[2].vaults[0]: no vault "v9" in this configuration; use one of lab-vault');
});

test('approvers must be operators with the approver role; a vault that asks needs someone who can sign', () => {
  const msg = errorOf(withOperators([{ name: 'alice', keys: [alice.publicKey], roles: ['operator'] }], { approvers: ['alice', 'dave'], quorum: 2 }));
  expect(msg).toContain('vaults[0].policy.approval.approvers[0]: alice is not an operator with role approver for vault lab-vault');
  expect(msg).toContain('vaults[0].policy.approval.approvers[1]: dave is not an operator with role approver for vault lab-vault');
  expect(msg).toContain('vaults[0].policy.approval: no operator has role approver for vault lab-vault, so nobody could sign a decision');
  expect(errorOf(withOperators([{ name: 'alice', keys: [alice.publicKey], roles: ['approver'] }], { quorum: 2 }))).toContain(
    'vaults[0].policy.approval.quorum: quorum 2 needs two operators with role approver for vault lab-vault; 1 has it',
  );
  expect(errorOf(withOperators([{ name: 'alice', keys: [alice.publicKey], roles: ['approver'] }, { name: 'alice', keys: [bob.publicKey], roles: ['approver'] }]))).toContain(
    'operators[1].name: "alice" is listed twice (operators[0]); one entry per person, with all their keys',
  );
});

test("config/lab.yaml's operators are the lab's keys: the lab writes them, ssh-keygen signs with them, the verifier names them", () => {
  const config = parseConfig(lab(), 'config/lab.yaml', '/');
  const files = ensureOperatorKeys(dir);
  for (const name of LAB_OPERATORS) {
    const op = config.operators!.find((o) => o.name === name)!;
    expect(op.keys).toEqual([labOperatorKey(name).public]);
    expect(readFileSync(`${files[name]}.pub`, 'utf8').trim()).toBe(op.keys[0]);
    expect(statSync(files[name]).mode & 0o777).toBe(0o600);
    const text = '{"decision":"approve"}';
    const sig = execFileSync('ssh-keygen', ['-q', '-Y', 'sign', '-n', 'isolated-recovery', '-f', files[name], '-'], { input: text, encoding: 'utf8' });
    expect(verifySshSignature(sig, text)).toMatchObject({ ok: true, publicKey: op.keys[0].split(' ').slice(0, 2).join(' ') });
  }
  expect(config.vaults[0].policy.approval).toMatchObject({ unsignedAbort: true, signatureMaxAge: 900 });
});
