/**
 * Host-key pinning, pure functions: OpenSSH fingerprints and known_hosts matching.
 *
 * - Fingerprint: `SHA256:` + unpadded base64 of SHA-256 over the raw key blob (what `ssh-keygen -lf` prints).
 * - known_hosts: `[marker] hostpatterns keytype base64blob [comment]`; host patterns are `host`, `[host]:port`
 *   (non-22 ports), wildcards `*` / `?`, negation `!pattern`, and hashed entries `|1|base64(salt)|base64(hmac)`
 *   where hmac = HMAC-SHA1(salt, name). `@revoked` lines reject a key; `@cert-authority` lines are ignored
 *   (certificates are not supported).
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export function sha256Fingerprint(keyBlob: Buffer): string {
  return `SHA256:${createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '')}`;
}

/** Canonical form of a pinned fingerprint: `SHA256:` prefix, no base64 padding. Throws on other formats. */
export function normaliseFingerprint(pin: string): string {
  const s = pin.trim();
  const m = /^(?:SHA256:)?([A-Za-z0-9+/]{43})=?$/.exec(s);
  if (!m) {
    throw new Error(
      `host key pin ${JSON.stringify(pin)} is not an OpenSSH SHA256 fingerprint (expected "SHA256:" + 43 base64 characters, as printed by \`ssh-keygen -lf\`)`,
    );
  }
  return `SHA256:${m[1]}`;
}

/** The key type named inside an SSH public key blob (its first length-prefixed string). */
export function keyBlobType(keyBlob: Buffer): string | undefined {
  if (keyBlob.length < 4) return undefined;
  const n = keyBlob.readUInt32BE(0);
  if (n <= 0 || n > 64 || 4 + n > keyBlob.length) return undefined;
  return keyBlob.subarray(4, 4 + n).toString('latin1');
}

export interface KnownHostEntry {
  marker?: '@revoked' | '@cert-authority';
  hosts: string; // raw host field
  keyType: string;
  key: Buffer;
  line: number;
}

export function parseKnownHosts(text: string): KnownHostEntry[] {
  const out: KnownHostEntry[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const fields = line.split(/\s+/);
    let marker: KnownHostEntry['marker'];
    if (fields[0] === '@revoked' || fields[0] === '@cert-authority') {
      marker = fields.shift() as KnownHostEntry['marker'];
    } else if (fields[0].startsWith('@')) {
      return; // unknown marker: skip, like OpenSSH
    }
    if (fields.length < 3) return;
    const [hosts, keyType, b64] = fields;
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) return;
    out.push({ marker, hosts, keyType, key: Buffer.from(b64, 'base64'), line: i + 1 });
  });
  return out;
}

/** The name OpenSSH looks up in known_hosts: `host` on port 22, `[host]:port` otherwise. */
export function knownHostsName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

function globMatch(pattern: string, name: string): boolean {
  const re = new RegExp(
    `^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`,
    'i',
  );
  return re.test(name);
}

function hashedMatch(entry: string, name: string): boolean {
  const m = /^\|1\|([A-Za-z0-9+/=]+)\|([A-Za-z0-9+/=]+)$/.exec(entry);
  if (!m) return false;
  const salt = Buffer.from(m[1], 'base64');
  const want = Buffer.from(m[2], 'base64');
  const got = createHmac('sha1', salt).update(name).digest();
  return want.length === got.length && timingSafeEqual(want, got);
}

/** Does a known_hosts host field name `host:port`? Implements OpenSSH's pattern-list semantics. */
export function hostFieldMatches(hostsField: string, host: string, port: number): boolean {
  const name = knownHostsName(host, port);
  if (hostsField.startsWith('|')) return hashedMatch(hostsField, name);
  let matched = false;
  for (const pat of hostsField.split(',')) {
    const negated = pat.startsWith('!');
    const p = negated ? pat.slice(1) : pat;
    if (globMatch(p, name)) {
      if (negated) return false;
      matched = true;
    }
  }
  return matched;
}

export type HostKeyVerdict =
  | { ok: true }
  | { ok: false; reason: 'unknown'; detail: string }
  | { ok: false; reason: 'mismatch'; expected: string[] }
  | { ok: false; reason: 'revoked'; detail: string };

export function checkKnownHosts(entries: KnownHostEntry[], host: string, port: number, keyBlob: Buffer): HostKeyVerdict {
  const forHost = entries.filter((e) => e.marker !== '@cert-authority' && hostFieldMatches(e.hosts, host, port));
  if (forHost.some((e) => e.marker === '@revoked' && e.key.equals(keyBlob))) {
    return { ok: false, reason: 'revoked', detail: 'the key is marked @revoked in known_hosts' };
  }
  const pinned = forHost.filter((e) => e.marker === undefined);
  if (pinned.some((e) => e.key.equals(keyBlob))) return { ok: true };
  if (pinned.length === 0) {
    return { ok: false, reason: 'unknown', detail: `no known_hosts entry for ${knownHostsName(host, port)}` };
  }
  return { ok: false, reason: 'mismatch', expected: pinned.map((e) => `${e.keyType} ${sha256Fingerprint(e.key)}`) };
}

export function checkFingerprint(pin: string, keyBlob: Buffer): HostKeyVerdict {
  const want = normaliseFingerprint(pin);
  const got = sha256Fingerprint(keyBlob);
  return want === got ? { ok: true } : { ok: false, reason: 'mismatch', expected: [want] };
}

/** ssh2 host-key algorithm names for a known_hosts key type, so negotiation picks a key we can verify. */
export function hostKeyAlgorithmsFor(keyType: string): string[] {
  if (keyType === 'ssh-rsa') return ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'];
  return [keyType];
}
