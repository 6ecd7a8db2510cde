/**
 * The stack's JWT key and tokens (Temporal's JWT authorizer on the frontend), made at start in .stack/jwt:
 *   signing.key   EC P-256 private key (0600): signs the tokens (`irctl auth token`, this module)
 *   jwks.json     its public half as a JWKS: the server reads it (global.authorization.jwtKeyProvider, file://)
 *   clients.token a writer token for the project's clients (config/stack.yaml temporal.apiKeyFile: irctl, the
 *                 demo, stack:test, bench), minted again at every start (0600)
 * The worker needs no token: the server knows it by its client certificate (stack/server, TEMPORAL_CERT_PERMISSIONS).
 */
import { createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { mintToken, publicJwk, type Role } from '../clients/auth-token';
import { readPrivateFile } from '../config/load';
import { dirs } from './layout';

export const jwtFiles = (dir = dirs.jwt) => ({ key: join(dir, 'signing.key'), jwks: join(dir, 'jwks.json'), clientToken: join(dir, 'clients.token') });

/** How long the clients' token lives; every `npm run stack` mints a fresh one. */
export const CLIENT_TOKEN_TTL_SECONDS = 7 * 86400;

function writePrivate(file: string, text: string): void {
  writeFileSync(`${file}.tmp`, text, { mode: 0o600 });
  renameSync(`${file}.tmp`, file);
}

export function signingKey(dir = dirs.jwt): KeyObject {
  return createPrivateKey(readPrivateFile(jwtFiles(dir).key, 'the stack JWT signing key'));
}

/** Makes the key and JWKS once, and a fresh clients' token; returns what it made. */
export function ensureJwt(dir = dirs.jwt): string[] {
  const f = jwtFiles(dir);
  const made: string[] = [];
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (!existsSync(f.key)) {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    writePrivate(f.key, privateKey.export({ format: 'pem', type: 'pkcs8' }).toString());
    made.push('signing key');
  }
  const key = signingKey(dir);
  const jwks = JSON.stringify({ keys: [publicJwk(key)] }, null, 2) + '\n';
  if (!existsSync(f.jwks) || readFileSync(f.jwks, 'utf8') !== jwks) {
    writeFileSync(f.jwks, jwks, { mode: 0o644 });
    made.push('jwks.json');
  }
  writePrivate(f.clientToken, mintToken(key, { role: 'writer', namespace: 'default', subject: 'stack-clients', ttlSeconds: CLIENT_TOKEN_TTL_SECONDS }) + '\n');
  return made;
}

/** A short-lived token of the stack's own (registering the namespace and search attributes needs admin). */
export function stackToken(role: Role, ttlSeconds = 600, namespace = 'default'): string {
  return mintToken(signingKey(), { role, namespace, subject: `stack-${role}`, ttlSeconds });
}

// `node --import tsx stack/jwt.ts DIR`: the same key, JWKS and clients' token for docker-compose's pki job.
if (require.main === module) {
  const dir = process.argv[2] ?? dirs.jwt;
  const made = ensureJwt(dir);
  console.log(`${made.length ? `made ${made.join(', ')}` : 'key already there'}; clients' token minted in ${dir}`);
}
