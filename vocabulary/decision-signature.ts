/**
 * Signed operator decisions: the statement an operator's SSH key signs (`ssh-keygen -Y sign -n isolated-recovery`)
 * and a verifier for OpenSSH's SSHSIG format. Pure and deterministic (no Node built-ins, no randomness): the
 * workflow verifies inside its sandbox, and irctl and the evidence check use the very same code.
 * Key types: ssh-ed25519, ecdsa-sha2-nistp256/384/521 (RSA and security-key types are refused by name).
 * Format: https://github.com/openssh/openssh-portable/blob/master/PROTOCOL.sshsig
 */
import { ed25519 } from '@noble/curves/ed25519';
import { p256, p384, p521 } from '@noble/curves/nist';
import { sha256, sha384, sha512 } from '@noble/hashes/sha2';

export const SIGNATURE_NAMESPACE = 'isolated-recovery';

export const SIGNED_DECISIONS = ['approve', 'reject', 'abort'] as const;
export type SignedDecision = (typeof SIGNED_DECISIONS)[number];

/** What the operator's key signs. The workflow rebuilds it from its own identity and the payload. */
export interface DecisionStatement {
  namespace: string; // Temporal namespace of the cycle
  workflowId: string;
  copyId: string; // CycleStatus.copyId
  decision: SignedDecision;
  reason: string;
  ticket: string; // '' when none
  issuedAt: string; // ISO-8601 UTC
  nonce: string; // >= 16 random hex/base64url chars, unique per statement
}

/** A nonce: 16 to 128 hex or base64url characters. */
export const NONCE_PATTERN = /^[A-Za-z0-9_-]{16,128}$/;

/** The exact bytes signed: JSON of the fields in the order above, no spaces (UTF-8 when signed). */
export function statementText(s: DecisionStatement): string {
  return JSON.stringify({
    namespace: s.namespace,
    workflowId: s.workflowId,
    copyId: s.copyId,
    decision: s.decision,
    reason: s.reason,
    ticket: s.ticket,
    issuedAt: s.issuedAt,
    nonce: s.nonce,
  });
}

export type SignatureCheck =
  | { ok: true; keyType: string; publicKey: string; fingerprint: string }
  | { ok: false; error: string };

const ARMOR = /^-----BEGIN SSH SIGNATURE-----\s*([A-Za-z0-9+/=\s]+?)\s*-----END SSH SIGNATURE-----$/;

/**
 * Checks an armored SSHSIG: its namespace, and that it signs `text` (UTF-8) with the key it carries. Who that key
 * belongs to is the caller's question (`publicKey`, `fingerprint` say which key it was).
 */
export function verifySshSignature(armored: string, text: string, namespace: string = SIGNATURE_NAMESPACE): SignatureCheck {
  const m = typeof armored === 'string' ? ARMOR.exec(armored.trim()) : null;
  if (!m) return { ok: false, error: 'not an SSH signature: expected the armored output of ssh-keygen -Y sign (-----BEGIN SSH SIGNATURE----- … -----END SSH SIGNATURE-----)' };
  let sig: SshSig;
  try {
    sig = parseSshSig(base64Decode(m[1].replace(/\s+/g, '')));
  } catch (e) {
    return { ok: false, error: `malformed SSH signature: ${(e as Error).message}` };
  }
  if (sig.namespace !== namespace) {
    return { ok: false, error: `the signature is for namespace "${sig.namespace}", not "${namespace}": sign with ssh-keygen -Y sign -n ${namespace}` };
  }
  const hash = { sha256, sha512 }[sig.hashAlgorithm as 'sha256' | 'sha512'];
  if (!hash) return { ok: false, error: `malformed SSH signature: unsupported hash algorithm "${sig.hashAlgorithm}" (sha256 or sha512)` };
  const signed = concat(
    MAGIC,
    sshString(utf8(sig.namespace)),
    sshString(sig.reserved),
    sshString(utf8(sig.hashAlgorithm)),
    sshString(hash(utf8(text))),
  );
  let key: PublicKey;
  try {
    key = parsePublicKeyBlob(sig.publicKey);
  } catch (e) {
    return { ok: false, error: (e as Error).message };
  }
  let valid = false;
  try {
    valid = key.verify(sig.signature, signed);
  } catch {
    valid = false;
  }
  const fingerprint = blobFingerprint(sig.publicKey);
  if (!valid) return { ok: false, error: `the signature does not match the statement (key ${fingerprint}): the signed text differs from this request, or the signature was altered` };
  return { ok: true, keyType: key.type, publicKey: `${key.type} ${base64Encode(sig.publicKey)}`, fingerprint };
}

/**
 * The key an armored SSHSIG says it was made with, without checking the signature: who claims to have signed
 * (so a refusal can say "unknown key" before "does not verify"). Never a proof by itself.
 */
export function signatureKey(armored: string): { ok: true; keyType: string; publicKey: string; fingerprint: string } | { ok: false; error: string } {
  const m = typeof armored === 'string' ? ARMOR.exec(armored.trim()) : null;
  if (!m) return { ok: false, error: 'not an SSH signature: expected the armored output of ssh-keygen -Y sign (-----BEGIN SSH SIGNATURE----- … -----END SSH SIGNATURE-----)' };
  try {
    const sig = parseSshSig(base64Decode(m[1].replace(/\s+/g, '')));
    const key = parsePublicKeyBlob(sig.publicKey);
    return { ok: true, keyType: key.type, publicKey: `${key.type} ${base64Encode(sig.publicKey)}`, fingerprint: blobFingerprint(sig.publicKey) };
  } catch (e) {
    const msg = (e as Error).message;
    return { ok: false, error: msg.startsWith('key type ') ? msg : `malformed SSH signature: ${msg}` };
  }
}

/** "SHA256:…" of an authorized_keys-style line ("ssh-ed25519 AAAA… comment"), as `ssh-keygen -l` prints it. */
export function keyFingerprint(publicKeyLine: string): string {
  return blobFingerprint(parsePublicKeyLine(publicKeyLine).blob);
}

/**
 * Parses an authorized_keys-style public key line: type, base64 blob, optional comment. Throws with what is wrong.
 * `canonical` is "type base64" (no comment), the form verifySshSignature returns.
 */
export function parsePublicKeyLine(line: string): { type: string; blob: Uint8Array; canonical: string; comment: string } {
  const parts = String(line).trim().split(/\s+/);
  if (parts.length < 2 || !parts[0] || !parts[1]) throw new Error('a public key line like "ssh-ed25519 AAAA… comment" (the .pub file\'s content)');
  let blob: Uint8Array;
  try {
    blob = base64Decode(parts[1]);
  } catch {
    throw new Error(`the key's base64 part is not base64: "${parts[1].slice(0, 20)}…"`);
  }
  const key = parsePublicKeyBlob(blob);
  if (key.type !== parts[0]) throw new Error(`the line says ${parts[0]} but the key inside is ${key.type}`);
  return { type: key.type, blob, canonical: `${key.type} ${base64Encode(blob)}`, comment: parts.slice(2).join(' ') };
}

// ---- SSHSIG and SSH wire format ----

const MAGIC = utf8('SSHSIG');

interface SshSig {
  publicKey: Uint8Array;
  namespace: string;
  reserved: Uint8Array;
  hashAlgorithm: string;
  signature: Uint8Array;
}

function parseSshSig(bytes: Uint8Array): SshSig {
  const r = new Reader(bytes);
  const magic = r.take(6);
  if (!equal(magic, MAGIC)) throw new Error('no SSHSIG preamble');
  const version = r.uint32();
  if (version !== 1) throw new Error(`version ${version}, expected 1`);
  const sig: SshSig = {
    publicKey: r.string(),
    namespace: text(r.string()),
    reserved: r.string(),
    hashAlgorithm: text(r.string()),
    signature: r.string(),
  };
  r.end();
  return sig;
}

interface PublicKey {
  type: string;
  verify(signature: Uint8Array, message: Uint8Array): boolean;
}

const ECDSA = {
  'ecdsa-sha2-nistp256': { curve: 'nistp256', ec: p256, hash: sha256 },
  'ecdsa-sha2-nistp384': { curve: 'nistp384', ec: p384, hash: sha384 },
  'ecdsa-sha2-nistp521': { curve: 'nistp521', ec: p521, hash: sha512 },
} as const;

function parsePublicKeyBlob(blob: Uint8Array): PublicKey {
  const r = new Reader(blob);
  let type: string;
  try {
    type = text(r.string());
  } catch {
    throw new Error('malformed public key');
  }
  if (type === 'ssh-ed25519') {
    const key = r.string();
    r.end();
    if (key.length !== 32) throw new Error('malformed ssh-ed25519 key: not 32 bytes');
    return {
      type,
      verify(signature, message) {
        const s = new Reader(signature);
        const sigType = text(s.string());
        const raw = s.string();
        s.end();
        return sigType === type && raw.length === 64 && ed25519.verify(raw, message, key, { zip215: false });
      },
    };
  }
  if (type in ECDSA) {
    const { curve, ec, hash } = ECDSA[type as keyof typeof ECDSA];
    const name = text(r.string());
    const q = r.string();
    r.end();
    if (name !== curve) throw new Error(`malformed ${type} key: curve ${name}`);
    ec.Point.fromBytes(q); // throws when the point is not on the curve
    return {
      type,
      verify(signature, message) {
        const s = new Reader(signature);
        const sigType = text(s.string());
        const inner = new Reader(s.string());
        s.end();
        const rr = inner.mpint();
        const ss = inner.mpint();
        inner.end();
        if (sigType !== type) return false;
        const sig = new ec.Signature(rr, ss).toBytes('compact'); // throws when r or s is out of range
        return ec.verify(sig, hash(message), q, { prehash: false, lowS: false, format: 'compact' });
      },
    };
  }
  throw new Error(`key type ${type} is not supported for decisions: use an ed25519 or ecdsa key (ssh-keygen -t ed25519)`);
}

function blobFingerprint(blob: Uint8Array): string {
  return `SHA256:${base64Encode(sha256(blob)).replace(/=+$/, '')}`;
}

class Reader {
  private at = 0;
  constructor(private readonly bytes: Uint8Array) {}
  take(n: number): Uint8Array {
    if (n < 0 || this.at + n > this.bytes.length) throw new Error('truncated');
    const out = this.bytes.subarray(this.at, this.at + n);
    this.at += n;
    return out;
  }
  uint32(): number {
    const b = this.take(4);
    return ((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) >>> 0;
  }
  string(): Uint8Array {
    return this.take(this.uint32());
  }
  mpint(): bigint {
    const b = this.string();
    if (b.length && b[0] & 0x80) throw new Error('negative mpint');
    let n = 0n;
    for (const x of b) n = (n << 8n) | BigInt(x);
    return n;
  }
  end(): void {
    if (this.at !== this.bytes.length) throw new Error('trailing bytes');
  }
}

function sshString(b: Uint8Array): Uint8Array {
  const n = b.length;
  return concat(new Uint8Array([(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]), b);
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

// ---- UTF-8 and base64 without Buffer/TextEncoder (the workflow sandbox has neither for sure) ----

function utf8(s: string): Uint8Array {
  const out: number[] = [];
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (c < 0x80) out.push(c);
    else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 63));
    else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
    else out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
  }
  return new Uint8Array(out);
}

/** Names, types and namespaces inside SSHSIG are ASCII; anything else is shown escaped. */
function text(b: Uint8Array): string {
  let s = '';
  for (const x of b) s += x >= 0x20 && x < 0x7f ? String.fromCharCode(x) : `\\x${x.toString(16).padStart(2, '0')}`;
  return s;
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

function base64Encode(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i += 3) {
    const n = (b[i] << 16) | ((b[i + 1] ?? 0) << 8) | (b[i + 2] ?? 0);
    s += B64[(n >> 18) & 63] + B64[(n >> 12) & 63] + (i + 1 < b.length ? B64[(n >> 6) & 63] : '=') + (i + 2 < b.length ? B64[n & 63] : '=');
  }
  return s;
}

function base64Decode(s: string): Uint8Array {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s) || s.length % 4 !== 0) throw new Error('not base64');
  const body = s.replace(/=+$/, '');
  const out = new Uint8Array(Math.floor((body.length * 3) / 4));
  let bits = 0;
  let acc = 0;
  let at = 0;
  for (const ch of body) {
    acc = (acc << 6) | B64.indexOf(ch);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[at++] = (acc >> bits) & 255;
    }
  }
  return out;
}
