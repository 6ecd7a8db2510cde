/**
 * irctl's signing of operator decisions with the real OpenSSH: `ssh-keygen -Y sign` with a key file, through a
 * real `ssh-agent` (keys added with `ssh-add`), a passphrase-protected key without an agent (a clear error at once,
 * no prompt), key lookup (--key, IR_OPERATOR_KEY, ~/.ssh/id_ed25519). Each signature is checked by the workflow's
 * verifier and by `ssh-keygen -Y verify` itself.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { operatorKeyPath, signDecision, SigningError, type DecisionToSign } from '../clients/decision-signing';
import { SIGNATURE_NAMESPACE, statementText, verifySshSignature } from '../vocabulary/decision-signature';
import { protectKey, startSshAgent, type SshAgent } from './helpers/ssh-agent';
import { makeKey } from './helpers/ssh-sign';

jest.setTimeout(30_000);

let dir: string;
const PASSPHRASE = 'correct horse battery staple';

function keygen(name: string, passphrase = ''): string {
  const { privateKeyFile } = makeKey(dir, name);
  if (passphrase) protectKey(privateKeyFile, passphrase);
  return privateKeyFile;
}
const fingerprintOf = (pub: string) => execFileSync('ssh-keygen', ['-lf', pub], { encoding: 'utf8' }).split(' ')[1];

/** What OpenSSH itself says of the signature: `ssh-keygen -Y verify` against an allowed_signers line. */
function opensshVerifies(signature: string, text: string, pubFile: string): boolean {
  const allowed = join(dir, 'allowed_signers');
  writeFileSync(allowed, `alice ${readFileSync(pubFile, 'utf8')}`);
  const sig = join(dir, 'check.sig');
  writeFileSync(sig, signature + '\n');
  try {
    execFileSync('ssh-keygen', ['-Y', 'verify', '-f', allowed, '-I', 'alice', '-n', SIGNATURE_NAMESPACE, '-s', sig], { input: text, stdio: ['pipe', 'pipe', 'pipe'] });
    return true;
  } catch {
    return false;
  }
}

const decision = (keyPath: string): DecisionToSign => ({
  namespace: 'default',
  workflowId: 'ir-cycle-lab-vault',
  copyId: 'lab-vault-20261204T120000Z',
  decision: 'approve',
  reason: 'expected mass change',
  ticket: 'CHG-1234',
  keyPath,
});

/** The environment irctl would see: no agent unless given. */
const envWith = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => {
  const env = { ...process.env, ...extra };
  if (!('SSH_AUTH_SOCK' in extra)) delete env.SSH_AUTH_SOCK;
  return env;
};

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ir-signing-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test('a key file: the payload carries the statement fields and a signature both verifiers accept', async () => {
  const key = keygen('alice');
  const before = Date.now();
  const signed = await signDecision(decision(key), envWith());
  expect(signed.payload).toEqual({
    reason: 'expected mass change',
    ticket: 'CHG-1234',
    issuedAt: signed.statement.issuedAt,
    nonce: signed.statement.nonce,
    signature: expect.stringMatching(/^-----BEGIN SSH SIGNATURE-----\n[\s\S]+\n-----END SSH SIGNATURE-----$/),
  });
  expect(Date.parse(signed.payload.issuedAt)).toBeGreaterThanOrEqual(before - 1000);
  expect(signed.payload.nonce).toMatch(/^[0-9a-f]{32}$/);
  expect(signed.signer.fingerprint).toBe(fingerprintOf(`${key}.pub`));
  expect(signed.signer.publicKey).toBe(readFileSync(`${key}.pub`, 'utf8').split(' ').slice(0, 2).join(' '));
  const text = statementText(signed.statement);
  expect(verifySshSignature(signed.payload.signature, text)).toMatchObject({ ok: true, fingerprint: signed.signer.fingerprint });
  expect(opensshVerifies(signed.payload.signature, text, `${key}.pub`)).toBe(true);
  // Bound to this cycle: the same signature over another workflow's statement does not verify.
  expect(opensshVerifies(signed.payload.signature, statementText({ ...signed.statement, workflowId: 'ir-cycle-other' }), `${key}.pub`)).toBe(false);
  // Fresh nonce each time; `by` only when given.
  const again = await signDecision({ ...decision(key), by: 'alice', ticket: undefined }, envWith());
  expect(again.payload.nonce).not.toBe(signed.payload.nonce);
  expect(again.payload.by).toBe('alice');
  expect(again.payload).not.toHaveProperty('ticket');
  expect(again.statement.ticket).toBe('');
});

test('a passphrase-protected key without an agent: a clear error at once, no prompt', async () => {
  const key = keygen('bob-locked', PASSPHRASE);
  const started = Date.now();
  const err = await signDecision(decision(key), envWith()).catch((e: Error) => e);
  expect(err).toBeInstanceOf(SigningError);
  expect((err as Error).message).toBe(
    `the key ${key} is passphrase-protected and no ssh-agent is reachable (SSH_AUTH_SOCK is not set); irctl never asks for a passphrase: ` +
      `run eval "$(ssh-agent)" (if none runs) and ssh-add ${key}, then try again (--key ${key}.pub works too)`,
  );
  expect(Date.now() - started).toBeLessThan(5000);
});

describe('through a real ssh-agent', () => {
  let agent: SshAgent;
  let sock: string;
  beforeAll(async () => {
    agent = await startSshAgent(dir);
    sock = agent.sock;
  });
  afterAll(() => agent?.stop());
  const sshAdd = (key: string) => agent.add(key, PASSPHRASE);

  test('the passphrase-protected key signs once ssh-add holds it, with its .pub path or the private path', async () => {
    const key = keygen('carol-locked', PASSPHRASE);
    const notHeld = await signDecision(decision(key), envWith({ SSH_AUTH_SOCK: sock })).catch((e: Error) => e);
    expect((notHeld as Error).message).toContain('is passphrase-protected and the ssh-agent at SSH_AUTH_SOCK does not hold it');

    sshAdd(key);
    for (const path of [`${key}.pub`, key]) {
      const signed = await signDecision(decision(path), envWith({ SSH_AUTH_SOCK: sock }));
      expect(signed.signer.fingerprint).toBe(fingerprintOf(`${key}.pub`));
      expect(opensshVerifies(signed.payload.signature, statementText(signed.statement), `${key}.pub`)).toBe(true);
    }
  });

  test('only the .pub on disk: the agent signs; with no agent, the error says to ssh-add the key', async () => {
    const key = keygen('dave');
    sshAdd(key);
    const pubOnly = join(dir, 'pub-only');
    mkdirSync(pubOnly);
    copyFileSync(`${key}.pub`, join(pubOnly, 'dave.pub'));
    const signed = await signDecision(decision(join(pubOnly, 'dave.pub')), envWith({ SSH_AUTH_SOCK: sock }));
    expect(signed.signer.fingerprint).toBe(fingerprintOf(`${key}.pub`));
    const noAgent = await signDecision(decision(join(pubOnly, 'dave.pub')), envWith()).catch((e: Error) => e);
    expect(noAgent).toBeInstanceOf(SigningError);
    expect((noAgent as Error).message).toBe(
      `${join(pubOnly, 'dave.pub')}: no ssh-agent is reachable (SSH_AUTH_SOCK is not set) and no private key lies beside it: ssh-add the private key (ssh-add -l lists what the agent holds), or pass --key with the private key's path`,
    );
  });
});

test('an ecdsa-p256 key signs; an RSA key is refused before anything is sent (the workflow would refuse it)', async () => {
  const ecdsa = makeKey(dir, 'grace', 'ecdsa-p256');
  const signed = await signDecision(decision(ecdsa.privateKeyFile), envWith());
  expect(signed.signer).toMatchObject({ keyType: 'ecdsa-sha2-nistp256', fingerprint: ecdsa.fingerprint });
  expect(opensshVerifies(signed.payload.signature, statementText(signed.statement), `${ecdsa.privateKeyFile}.pub`)).toBe(true);
  const rsa = makeKey(dir, 'heidi', 'rsa');
  const err = await signDecision(decision(rsa.privateKeyFile), envWith()).catch((e: Error) => e);
  expect(err).toBeInstanceOf(SigningError);
  expect((err as Error).message).toMatch(new RegExp(`^the signature made with ${rsa.privateKeyFile} would be refused: .*rsa`, 'i'));
});

test('a private key readable by others: ssh-keygen refuses it and the error says chmod 600', async () => {
  const key = keygen('erin');
  chmodSync(key, 0o644);
  const err = await signDecision(decision(key), envWith()).catch((e: Error) => e);
  expect((err as Error).message).toBe(`the private key ${key} is readable by others: chmod 600 ${key} (ssh-keygen refuses it)`);
});

test('which key: --key, else IR_OPERATOR_KEY, else ~/.ssh/id_ed25519; a missing one says how to make one', () => {
  const home = join(dir, 'home');
  mkdirSync(join(home, '.ssh'), { recursive: true });
  const fallback = join(home, '.ssh', 'id_ed25519');
  expect(() => operatorKeyPath(undefined, { HOME: home })).toThrow(`the default key: no key at ${fallback}. Pass --key PATH`);
  expect(() => operatorKeyPath(undefined, { HOME: home })).toThrow('ssh-keygen -t ed25519');
  writeFileSync(fallback, 'x');
  expect(operatorKeyPath(undefined, { HOME: home })).toBe(fallback);
  const env = keygen('frank');
  expect(operatorKeyPath(undefined, { HOME: home, IR_OPERATOR_KEY: env })).toBe(env);
  expect(operatorKeyPath('~/.ssh/id_ed25519', { HOME: home, IR_OPERATOR_KEY: env })).toBe(fallback);
  expect(() => operatorKeyPath(join(dir, 'nope'), { HOME: home })).toThrow(`--key: no key at ${join(dir, 'nope')}`);
});
