/**
 * vocabulary/decision-signature.ts against signatures made by the real OpenSSH (`ssh-keygen -Y sign -n
 * isolated-recovery`), and the same verifier run inside the workflow sandbox on the dev server.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundleWorkflowCode, Worker } from '@temporalio/worker';
import { keyFingerprint, parsePublicKeyLine, statementText, verifySshSignature, type DecisionStatement } from '../vocabulary/decision-signature';
import { connectTemporal, describeTemporal } from './helpers/temporal';
import { makeKey, newNonce, sshSign, type TestKey } from './helpers/ssh-sign';

const dir = mkdtempSync(join(tmpdir(), 'ir-sig-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const statement = (over: Partial<DecisionStatement> = {}): DecisionStatement => ({
  namespace: 'default',
  workflowId: 'ir-cycle-lab-vault',
  copyId: 'lab-vault-20261204T120000Z',
  decision: 'approve',
  reason: 'expected mass change — zählt',
  ticket: 'CHG-1234',
  issuedAt: '2026-12-04T12:00:00.000Z',
  nonce: newNonce(),
  ...over,
});

describe('statementText', () => {
  it('is the JSON of the fields in the contract order, no spaces, whatever order the object had', () => {
    const st = statement({ nonce: '0123456789abcdef' });
    const shuffled = Object.fromEntries(Object.entries(st).reverse()) as unknown as DecisionStatement;
    expect(statementText(shuffled)).toBe(
      '{"namespace":"default","workflowId":"ir-cycle-lab-vault","copyId":"lab-vault-20261204T120000Z","decision":"approve","reason":"expected mass change — zählt","ticket":"CHG-1234","issuedAt":"2026-12-04T12:00:00.000Z","nonce":"0123456789abcdef"}',
    );
  });
});

describe.each(['ed25519', 'ecdsa-p256', 'ecdsa-p384'] as const)('verifySshSignature with a %s key made by ssh-keygen', (kind) => {
  let key: TestKey;
  let other: TestKey;
  beforeAll(() => {
    key = makeKey(dir, 'alice', kind);
    other = makeKey(dir, 'mallory', kind);
  });

  it("accepts ssh-keygen's signature of the statement and names the key as ssh-keygen -l does", () => {
    const text = statementText(statement());
    const check = verifySshSignature(sshSign(key, text), text);
    expect(check).toEqual({ ok: true, keyType: key.publicKey.split(' ')[0], publicKey: key.publicKey.split(' ').slice(0, 2).join(' '), fingerprint: key.fingerprint });
    expect(keyFingerprint(key.publicKey)).toBe(key.fingerprint);
    // and ssh-keygen itself agrees (the test's own cross-check: sshSign signs what we think)
    const allowed = join(dir, `allowed_${kind}`);
    const sigFile = join(dir, `sig_${kind}`);
    writeFileSync(allowed, `alice ${key.publicKey}\n`);
    writeFileSync(sigFile, sshSign(key, text) + '\n');
    execFileSync('ssh-keygen', ['-Y', 'verify', '-f', allowed, '-I', 'alice', '-n', 'isolated-recovery', '-s', sigFile], { input: text, stdio: ['pipe', 'ignore', 'ignore'] });
  });

  it('refuses a tampered statement (another workflow, another reason)', () => {
    const st = statement();
    const sig = sshSign(key, statementText(st));
    for (const changed of [statement({ ...st, workflowId: 'ir-cycle-other' }), statement({ ...st, reason: st.reason + '.' }), statement({ ...st, decision: 'reject' })]) {
      const check = verifySshSignature(sig, statementText(changed));
      expect(check).toEqual({ ok: false, error: `the signature does not match the statement (key ${key.fingerprint}): the signed text differs from this request, or the signature was altered` });
    }
  });

  it('refuses a signature made for another namespace', () => {
    const text = statementText(statement());
    const check = verifySshSignature(sshSign(key, text, 'file'), text);
    expect(check).toEqual({ ok: false, error: 'the signature is for namespace "file", not "isolated-recovery": sign with ssh-keygen -Y sign -n isolated-recovery' });
  });

  it("names the other key when another operator signed: the caller's key list decides who it is", () => {
    const text = statementText(statement());
    const check = verifySshSignature(sshSign(other, text), text);
    expect(check.ok && check.fingerprint).toBe(other.fingerprint);
    expect(check.ok && check.fingerprint).not.toBe(key.fingerprint);
  });

  it('refuses an altered signature byte and garbage', () => {
    const text = statementText(statement());
    const sig = sshSign(key, text);
    const lines = sig.split('\n');
    // flip one base64 character inside the signature blob (the last body line holds the signature's tail)
    const body = lines[lines.length - 2];
    const i = body.length - 6;
    lines[lines.length - 2] = body.slice(0, i) + (body[i] === 'A' ? 'B' : 'A') + body.slice(i + 1);
    const check = verifySshSignature(lines.join('\n'), text);
    expect(check.ok).toBe(false);
    expect(verifySshSignature('hello', text)).toEqual({ ok: false, error: expect.stringMatching(/^not an SSH signature: expected the armored output of ssh-keygen -Y sign/) });
    expect(verifySshSignature('-----BEGIN SSH SIGNATURE-----\nAAAA\n-----END SSH SIGNATURE-----', text)).toEqual({ ok: false, error: expect.stringMatching(/^malformed SSH signature: /) });
  });
});

describe('keys', () => {
  it('refuses RSA keys by name (ed25519 or ecdsa only), and a bad key line says what a line looks like', () => {
    const rsa = makeKey(dir, 'bob', 'rsa');
    const text = statementText(statement());
    expect(verifySshSignature(sshSign(rsa, text), text)).toEqual({ ok: false, error: 'key type ssh-rsa is not supported for decisions: use an ed25519 or ecdsa key (ssh-keygen -t ed25519)' });
    expect(() => parsePublicKeyLine('ssh-ed25519')).toThrow('a public key line like "ssh-ed25519 AAAA… comment"');
    expect(() => parsePublicKeyLine('ssh-ed25519 AAAA!!')).toThrow("the key's base64 part is not base64");
    const ec = makeKey(dir, 'carol', 'ecdsa-p256');
    expect(() => parsePublicKeyLine(`ssh-ed25519 ${ec.publicKey.split(' ')[1]}`)).toThrow('the line says ssh-ed25519 but the key inside is ecdsa-sha2-nistp256');
  });
});

describeTemporal('inside the workflow sandbox', () => {
  it('the bundled verifier accepts a good signature and refuses a tampered one on the dev server', async () => {
    const key = makeKey(dir, 'dave', 'ecdsa-p256');
    const text = statementText(statement());
    const sig = sshSign(key, text);
    const t = await connectTemporal();
    const quiet = { trace() {}, debug() {}, info() {}, warn() {}, error() {} };
    const workflowBundle = await bundleWorkflowCode({ workflowsPath: require.resolve('./stubs/signature-workflow'), logger: quiet as never });
    const taskQueue = `sig-${newNonce()}`;
    const worker = await Worker.create({ connection: t.native, taskQueue, workflowBundle });
    try {
      await worker.runUntil(async () => {
        const run = (args: [string, string]) => t.client.workflow.execute('verifyInSandbox', { taskQueue, workflowId: `sig-${newNonce()}`, args });
        await expect(run([sig, text])).resolves.toEqual({ ok: true, keyType: 'ecdsa-sha2-nistp256', publicKey: key.publicKey.split(' ').slice(0, 2).join(' '), fingerprint: key.fingerprint });
        await expect(run([sig, text.replace('approve', 'reject')])).resolves.toMatchObject({ ok: false, error: expect.stringContaining('does not match the statement') });
      });
    } finally {
      await t.close();
    }
  });
});
