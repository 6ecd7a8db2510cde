/**
 * Tokens for Temporal's JWT authorizer (the stack's frontend: stack/server): ES256 JWTs in the shape the server's
 * default claim mapper reads (a `kid` header naming a key of the JWKS it loads, a `sub` claim, and a `permissions`
 * claim of "<namespace>:<read|write|admin>", `temporal-system:<role>` being cluster-wide). Pure: the key comes in,
 * the token goes out; `irctl auth token` and `npm run stack` hold the files.
 */
import { createHash, createPublicKey, sign, type KeyObject } from 'node:crypto';

/** The operator's words for what a token may do, and the Temporal permissions each one means. */
export const ROLES = ['reader', 'writer', 'admin'] as const;
export type Role = (typeof ROLES)[number];
export const SYSTEM_NAMESPACE = 'temporal-system';

export function permissionsFor(role: Role, namespace: string): string[] {
  if (role === 'admin') return [`${SYSTEM_NAMESPACE}:admin`];
  return [`${namespace}:${role === 'reader' ? 'read' : 'write'}`];
}

const b64url = (data: Buffer | string) => Buffer.from(data).toString('base64url');

/** The public key as a JWK with its RFC 7638 thumbprint as `kid`: the same key always has the same id. */
export function publicJwk(key: KeyObject): { kty: 'EC'; crv: 'P-256'; x: string; y: string; kid: string; alg: 'ES256'; use: 'sig' } {
  const jwk = createPublicKey(key).export({ format: 'jwk' }) as { kty: string; crv?: string; x?: string; y?: string };
  if (jwk.kty !== 'EC' || jwk.crv !== 'P-256') throw new Error(`the JWT key must be an EC P-256 key (ES256), not ${jwk.kty}${jwk.crv ? ` ${jwk.crv}` : ''}`);
  const kid = b64url(createHash('sha256').update(JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y })).digest());
  return { kty: 'EC', crv: 'P-256', x: jwk.x!, y: jwk.y!, kid, alg: 'ES256', use: 'sig' };
}

export interface TokenRequest {
  role: Role;
  namespace: string;
  /** Who the token is for (`sub`), shown in the server's log on a refusal. */
  subject: string;
  ttlSeconds: number;
  /** Seconds since the epoch; now by default. */
  now?: number;
}

/** An ES256 JWT signed with `privateKey` (an EC P-256 private key). */
export function mintToken(privateKey: KeyObject, req: TokenRequest): string {
  if (!(req.ttlSeconds > 0)) throw new Error(`ttl must be positive, got ${req.ttlSeconds} s`);
  const iat = Math.floor(req.now ?? Date.now() / 1000);
  const header = { alg: 'ES256', typ: 'JWT', kid: publicJwk(privateKey).kid };
  const payload = { sub: req.subject, iss: 'isolated-recovery', iat, nbf: iat, exp: iat + Math.ceil(req.ttlSeconds), permissions: permissionsFor(req.role, req.namespace) };
  const signingInput = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}`;
  // JWS wants the raw r||s signature (IEEE P1363), not DER.
  const signature = sign('sha256', Buffer.from(signingInput), { key: privateKey, dsaEncoding: 'ieee-p1363' });
  return `${signingInput}.${b64url(signature)}`;
}

/** The claims of a token, unverified (for showing what a token file holds, e.g. when it expires). */
export function tokenClaims(token: string): { sub?: string; exp?: number; permissions?: string[] } {
  const part = token.trim().split('.')[1];
  if (!part) throw new Error('not a JWT (want header.payload.signature)');
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as { sub?: string; exp?: number; permissions?: string[] };
}
