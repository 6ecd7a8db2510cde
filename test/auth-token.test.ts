/**
 * Tokens for the stack's JWT authorizer (clients/auth-token.ts): checked with node:crypto's own verify against
 * the JWKS the server reads, the way the server's jwt library does (ES256, raw r||s signature, kid lookup).
 */
import { createPublicKey, generateKeyPairSync, verify } from 'node:crypto';
import { mintToken, permissionsFor, publicJwk, tokenClaims } from '../clients/auth-token';

const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const parts = (t: string) => t.split('.').map((p, i) => (i < 2 ? JSON.parse(Buffer.from(p, 'base64url').toString()) : Buffer.from(p, 'base64url')));

describe('mintToken', () => {
  test('an ES256 JWT whose kid names the JWKS key that verifies it, with sub, exp and the permissions', () => {
    const token = mintToken(privateKey, { role: 'writer', namespace: 'default', subject: 'alice', ttlSeconds: 3600, now: 1_800_000_000 });
    const [header, payload, signature] = parts(token);
    const jwk = publicJwk(privateKey);
    expect(header).toEqual({ alg: 'ES256', typ: 'JWT', kid: jwk.kid });
    expect(payload).toMatchObject({ sub: 'alice', iat: 1_800_000_000, exp: 1_800_003_600, permissions: ['default:write'] });
    const key = createPublicKey({ key: jwk, format: 'jwk' });
    const signed = Buffer.from(token.split('.').slice(0, 2).join('.'));
    expect(verify('sha256', signed, { key, dsaEncoding: 'ieee-p1363' }, signature as Buffer)).toBe(true);
    expect(verify('sha256', Buffer.from(`${signed}x`), { key, dsaEncoding: 'ieee-p1363' }, signature as Buffer)).toBe(false);
    expect(tokenClaims(token).permissions).toEqual(['default:write']);
  });

  test('roles map to Temporal permissions; admin is system-wide', () => {
    expect(permissionsFor('reader', 'vaults')).toEqual(['vaults:read']);
    expect(permissionsFor('writer', 'vaults')).toEqual(['vaults:write']);
    expect(permissionsFor('admin', 'vaults')).toEqual(['temporal-system:admin']);
  });

  test('the kid is the key\'s RFC 7638 thumbprint: stable for a key, different for another', () => {
    expect(publicJwk(privateKey).kid).toBe(publicJwk(privateKey).kid);
    expect(publicJwk(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey).kid).not.toBe(publicJwk(privateKey).kid);
  });

  test('refuses a key that is not P-256 and a ttl that is not positive', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    expect(() => mintToken(rsa, { role: 'reader', namespace: 'default', subject: 'x', ttlSeconds: 60 })).toThrow(/EC P-256 key \(ES256\), not RSA/);
    expect(() => mintToken(privateKey, { role: 'reader', namespace: 'default', subject: 'x', ttlSeconds: 0 })).toThrow(/ttl must be positive/);
  });
});
