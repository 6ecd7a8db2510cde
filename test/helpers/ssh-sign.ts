/**
 * Operators' SSH keys for the signed-decision tests, made and used by the real OpenSSH (`ssh-keygen`): a key pair in
 * a directory, a signature over a text with `ssh-keygen -Y sign -n isolated-recovery`, a fresh nonce.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SIGNATURE_NAMESPACE, statementText, type DecisionStatement } from '../../vocabulary/decision-signature';

export interface TestKey {
  name: string;
  privateKeyFile: string;
  publicKey: string; // the .pub line, with its comment
  fingerprint: string; // ssh-keygen -lf's
}

export type KeyKind = 'ed25519' | 'ecdsa-p256' | 'ecdsa-p384' | 'rsa';

export function makeKey(dir: string, name: string, kind: KeyKind = 'ed25519'): TestKey {
  const file = join(dir, `${name}_${kind}`);
  const args = kind === 'ed25519' ? ['-t', 'ed25519'] : kind === 'rsa' ? ['-t', 'rsa', '-b', '2048'] : ['-t', 'ecdsa', '-b', kind === 'ecdsa-p256' ? '256' : '384'];
  execFileSync('ssh-keygen', ['-q', ...args, '-N', '', '-C', `${name}@test`, '-f', file]);
  const fingerprint = execFileSync('ssh-keygen', ['-lf', `${file}.pub`], { encoding: 'utf8' }).split(' ')[1];
  return { name, privateKeyFile: file, publicKey: readFileSync(`${file}.pub`, 'utf8').trim(), fingerprint };
}

/** The armored signature `ssh-keygen -Y sign` makes over `text` (UTF-8), in `namespace`. */
export function sshSign(key: TestKey, text: string, namespace = SIGNATURE_NAMESPACE): string {
  return execFileSync('ssh-keygen', ['-q', '-Y', 'sign', '-n', namespace, '-f', key.privateKeyFile, '-'], { input: text, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] }).trim();
}

export const newNonce = () => randomBytes(16).toString('hex');

/** A decision payload signed by `key` over the statement (the workflow rebuilds it from its own identity). */
export function signedPayload(key: TestKey, st: DecisionStatement, extra: { by?: string } = {}) {
  return {
    ...extra,
    reason: st.reason,
    ...(st.ticket ? { ticket: st.ticket } : {}),
    issuedAt: st.issuedAt,
    nonce: st.nonce,
    signature: sshSign(key, statementText(st)),
  };
}
