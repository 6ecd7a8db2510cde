/**
 * Signing an operator's decision with their SSH key, the way the workflow verifies it: the statement of
 * vocabulary/decision-signature.ts, signed by the real `ssh-keygen -Y sign -n isolated-recovery`, either with a key
 * file or through ssh-agent (a `.pub` path, or any key the agent holds). ssh-keygen never prompts here: a
 * passphrase-protected key that is not in the agent is a clear error. Only the signature (which carries the public
 * key) leaves this module; key contents and passphrases never do.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { SIGNATURE_NAMESPACE, statementText, verifySshSignature, type DecisionStatement, type SignedDecision } from '../vocabulary/decision-signature';

/** The payload of a signed approve/reject/abort (update or signal), as the workflow takes it. */
export interface SignedPayload {
  by?: string;
  reason: string;
  ticket?: string;
  issuedAt: string;
  nonce: string;
  signature: string;
}

export interface SignedDecisionResult {
  payload: SignedPayload;
  statement: DecisionStatement;
  /** The key that signed, read back from the signature itself. */
  signer: { keyType: string; publicKey: string; fingerprint: string };
}

/** A key or signing problem on the operator's side: nothing was sent. */
export class SigningError extends Error {}

const SIGN_TIMEOUT_MS = 30_000;

/** The key to sign with: --key, else $IR_OPERATOR_KEY, else ~/.ssh/id_ed25519 (a private key, or its .pub with the key in ssh-agent). */
export function operatorKeyPath(option: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  const chosen = option || env.IR_OPERATOR_KEY || join(env.HOME || homedir(), '.ssh', 'id_ed25519');
  const path = resolve(chosen.replace(/^~(?=$|\/)/, env.HOME || homedir()));
  if (!existsSync(path)) {
    const from = option ? '--key' : env.IR_OPERATOR_KEY ? 'IR_OPERATOR_KEY' : 'the default key';
    throw new SigningError(
      `${from}: no key at ${path}. Pass --key PATH (your private key, or its .pub when the key is in ssh-agent) or set IR_OPERATOR_KEY; ` +
        `to make one: ssh-keygen -t ed25519 -f ~/.ssh/id_ed25519, and give its .pub line to whoever keeps the config's operators list`,
    );
  }
  return path;
}

export const newNonce = (): string => randomBytes(16).toString('hex');

/** Runs `ssh-keygen -Y sign` on `text`; resolves to the armored signature. */
export async function sshSign(text: string, keyPath: string, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  // The message goes in a private temp file, so stdin can be /dev/null: a passphrase read then gets EOF at once
  // instead of eating the message or waiting. detached (setsid) drops the controlling terminal, so /dev/tty cannot
  // be opened either, and SSH_ASKPASS_REQUIRE=never keeps a desktop askpass dialog away.
  const dir = await mkdtemp(join(tmpdir(), 'irctl-sign-'));
  const file = join(dir, 'statement');
  try {
    await writeFile(file, text, { mode: 0o600 });
    const childEnv: NodeJS.ProcessEnv = { ...env, SSH_ASKPASS_REQUIRE: 'never' };
    delete childEnv.DISPLAY;
    delete childEnv.SSH_ASKPASS;
    await new Promise<void>((done, fail) => {
      const child = spawn('ssh-keygen', ['-Y', 'sign', '-n', SIGNATURE_NAMESPACE, '-f', keyPath, file], { env: childEnv, detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
      const timer = setTimeout(() => child.kill('SIGKILL'), SIGN_TIMEOUT_MS);
      child.on('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        fail(err.code === 'ENOENT' ? new SigningError('ssh-keygen not found: install OpenSSH (apt-get install openssh-client)') : err);
      });
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        if (code === 0) return done();
        if (signal === 'SIGKILL') return fail(new SigningError(`ssh-keygen did not finish within ${SIGN_TIMEOUT_MS / 1000} s (a key added with ssh-add -c waits for a confirmation in the agent)`));
        fail(new SigningError(explain(stderr, keyPath, env)));
      });
    });
    return (await readFile(`${file}.sig`, 'utf8')).trim();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** ssh-keygen's complaint in an operator's words, with the fix. */
function explain(stderr: string, keyPath: string, env: NodeJS.ProcessEnv): string {
  const said = stderr
    .split('\n')
    .map((l) => l.replace(/^Enter passphrase:\s*/, '').trim())
    .filter((l) => l && !/^Signing file /.test(l))
    .join('; ');
  const priv = keyPath.replace(/\.pub$/, '');
  if (/incorrect passphrase|passphrase/i.test(stderr)) {
    const agent = env.SSH_AUTH_SOCK ? 'the ssh-agent at SSH_AUTH_SOCK does not hold it' : 'no ssh-agent is reachable (SSH_AUTH_SOCK is not set)';
    return `the key ${priv} is passphrase-protected and ${agent}; irctl never asks for a passphrase: run eval "$(ssh-agent)" (if none runs) and ssh-add ${priv}, then try again (--key ${priv}.pub works too)`;
  }
  if (/UNPROTECTED PRIVATE KEY FILE|bad permissions/i.test(stderr)) return `the private key ${priv} is readable by others: chmod 600 ${priv} (ssh-keygen refuses it)`;
  if (/Couldn't load public key|No such file/i.test(stderr)) return `ssh-keygen cannot read ${keyPath}: ${said}`;
  if (/No private key found/i.test(stderr)) {
    const agent = env.SSH_AUTH_SOCK ? 'the ssh-agent at SSH_AUTH_SOCK does not hold it' : 'no ssh-agent is reachable (SSH_AUTH_SOCK is not set)';
    return `${keyPath}: ${agent} and no private key lies beside it: ssh-add the private key (ssh-add -l lists what the agent holds), or pass --key with the private key's path`;
  }
  return `ssh-keygen -Y sign failed with ${keyPath}: ${said || 'no message'}`;
}

export interface DecisionToSign {
  namespace: string;
  workflowId: string;
  copyId: string;
  decision: SignedDecision;
  reason: string;
  ticket?: string;
  by?: string;
  keyPath: string;
}

/** Builds the statement (fresh nonce, issued now), signs it and checks the signature with the workflow's own verifier. */
export async function signDecision(d: DecisionToSign, env: NodeJS.ProcessEnv = process.env, now = new Date()): Promise<SignedDecisionResult> {
  const statement: DecisionStatement = {
    namespace: d.namespace,
    workflowId: d.workflowId,
    copyId: d.copyId,
    decision: d.decision,
    reason: d.reason,
    ticket: d.ticket ?? '',
    issuedAt: now.toISOString(),
    nonce: newNonce(),
  };
  const text = statementText(statement);
  const signature = await sshSign(text, d.keyPath, env);
  const check = verifySshSignature(signature, text, SIGNATURE_NAMESPACE);
  // e.g. an RSA key: ssh-keygen signs with it, the workflow does not accept it; say so before anything is sent.
  if (!check.ok) throw new SigningError(`the signature made with ${d.keyPath} would be refused: ${check.error}`);
  const payload: SignedPayload = {
    ...(d.by ? { by: d.by } : {}),
    reason: statement.reason,
    ...(statement.ticket ? { ticket: statement.ticket } : {}),
    issuedAt: statement.issuedAt,
    nonce: statement.nonce,
    signature,
  };
  return { payload, statement, signer: { keyType: check.keyType, publicKey: check.publicKey, fingerprint: check.fingerprint } };
}
