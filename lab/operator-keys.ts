/**
 * The lab's operators' SSH keys (alice and bob), for signed decisions in the demo (config/lab.yaml lists their public
 * keys). LAB ONLY: each private key is derived from a fixed seed, so its public key can be written into the committed
 * lab config, and anyone who reads this file can sign as a lab operator. Written under <lab dir>/operators/ (0600),
 * usable by `ssh-keygen -Y sign -f` and `irctl decision sign --key`.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export const LAB_OPERATORS = ['alice', 'bob'] as const;

const str = (b: Buffer | string) => {
  const buf = Buffer.isBuffer(b) ? b : Buffer.from(b);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(buf.length);
  return Buffer.concat([len, buf]);
};

/** The lab operator's key pair: OpenSSH private key file text and the public line "ssh-ed25519 AAAA… name@lab". */
export function labOperatorKey(name: string): { private: string; public: string } {
  const seed = crypto.createHash('sha256').update(`isolated-recovery lab operator ${name}`).digest();
  const priv = crypto.createPrivateKey({ key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]), format: 'der', type: 'pkcs8' });
  const pub = Buffer.from(crypto.createPublicKey(priv).export({ format: 'jwk' }).x!, 'base64url');
  const comment = `${name}@lab`;
  const blob = Buffer.concat([str('ssh-ed25519'), str(pub)]);
  // openssh-key-v1, unencrypted: check ints, the key, the comment, then padding 1, 2, 3… to a multiple of 8.
  const check = crypto.createHash('sha256').update(seed).digest().subarray(0, 4);
  let section = Buffer.concat([check, check, str('ssh-ed25519'), str(pub), str(Buffer.concat([seed, pub])), str(comment)]);
  const pad = (8 - (section.length % 8)) % 8;
  section = Buffer.concat([section, Buffer.from(Array.from({ length: pad }, (_, i) => i + 1))]);
  const body = Buffer.concat([Buffer.from('openssh-key-v1\0'), str('none'), str('none'), str(''), Buffer.from([0, 0, 0, 1]), str(blob), str(section)]);
  const b64 = body.toString('base64').replace(/(.{70})/g, '$1\n').trim();
  return { private: `-----BEGIN OPENSSH PRIVATE KEY-----\n${b64}\n-----END OPENSSH PRIVATE KEY-----\n`, public: `ssh-ed25519 ${blob.toString('base64')} ${comment}` };
}

/** Writes <dir>/operators/<name> (0600) and <name>.pub for each lab operator; returns the private key files. */
export function ensureOperatorKeys(dir: string): Record<(typeof LAB_OPERATORS)[number], string> {
  const out = {} as Record<(typeof LAB_OPERATORS)[number], string>;
  for (const name of LAB_OPERATORS) {
    const file = path.join(dir, 'operators', name);
    const key = labOperatorKey(name);
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    fs.writeFileSync(file, key.private, { mode: 0o600 });
    fs.chmodSync(file, 0o600);
    fs.writeFileSync(`${file}.pub`, key.public + '\n');
    out[name] = file;
  }
  return out;
}
