/**
 * Host keys, secrets and the client key, generated once under <dir> and reused so that known_hosts entries
 * and fingerprints stay valid across restarts (a changed host key is exactly what drivers must refuse).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { utils } from 'ssh2';

export type DeviceId = 'switch' | 'prod-dd' | 'vault-dd';
export const DEVICES: DeviceId[] = ['switch', 'prod-dd', 'vault-dd'];

export interface LabKeys {
  hostKeys: Record<DeviceId, Buffer>; // OpenSSH private keys
  fingerprints: Record<DeviceId, string>;
  hostPublic: Record<DeviceId, string>; // "ssh-ed25519 AAAA…"
  clientKeyFile: string;
  clientPublic: Buffer; // public key blob accepted by every device
  files: { switchPassword: string; switchEnable: string; ddPassword: string };
  secrets: { switchPassword: string; switchEnable: string; ddPassword: string };
}

/**
 * An ed25519 key pair in OpenSSH format. ssh2's generator occasionally (about 1 in 300) drops a leading zero
 * byte of the public key and writes a key its own parser then rejects ("Malformed OpenSSH private key"), so
 * generate until it parses.
 */
export function generateEd25519(comment?: string): { private: string; public: string } {
  for (;;) {
    const pair = utils.generateKeyPairSync('ed25519', comment ? { comment } : undefined);
    if (!(utils.parseKey(pair.private) instanceof Error)) return pair;
  }
}

function ensureKey(file: string, comment: string): string {
  if (!fs.existsSync(file)) {
    const pair = generateEd25519(comment);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, pair.private, { mode: 0o600 });
    fs.writeFileSync(`${file}.pub`, pair.public + '\n');
  }
  return fs.readFileSync(file, 'utf8');
}

function ensureSecret(file: string): string {
  if (!fs.existsSync(file)) {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    // No trailing newline: a driver that forgets to trim still gets the right password.
    fs.writeFileSync(file, crypto.randomBytes(18).toString('base64url'), { mode: 0o600 });
  }
  return fs.readFileSync(file, 'utf8').trim();
}

function parse(priv: string) {
  const key = utils.parseKey(priv);
  if (key instanceof Error) throw key;
  return key;
}

/** OpenSSH's `ssh-keygen -lf` form: SHA256: + unpadded base64 of the SHA-256 of the public key blob. */
export function fingerprint(blob: Buffer): string {
  return 'SHA256:' + crypto.createHash('sha256').update(blob).digest('base64').replace(/=+$/, '');
}

export function ensureKeys(dir: string): LabKeys {
  const hostKeys = {} as Record<DeviceId, Buffer>;
  const fingerprints = {} as Record<DeviceId, string>;
  const hostPublic = {} as Record<DeviceId, string>;
  for (const d of DEVICES) {
    const priv = ensureKey(path.join(dir, 'hostkeys', `${d}.key`), `lab-${d}`);
    const key = parse(priv);
    hostKeys[d] = Buffer.from(priv);
    fingerprints[d] = fingerprint(key.getPublicSSH());
    hostPublic[d] = `${key.type} ${key.getPublicSSH().toString('base64')}`;
  }
  const clientKeyFile = path.join(dir, 'client_ed25519');
  const clientPublic = parse(ensureKey(clientKeyFile, 'lab-client')).getPublicSSH();
  const files = {
    switchPassword: path.join(dir, 'secrets', 'switch-password'),
    switchEnable: path.join(dir, 'secrets', 'switch-enable'),
    ddPassword: path.join(dir, 'secrets', 'dd-password'),
  };
  const secrets = {
    switchPassword: ensureSecret(files.switchPassword),
    switchEnable: ensureSecret(files.switchEnable),
    ddPassword: ensureSecret(files.ddPassword),
  };
  return { hostKeys, fingerprints, hostPublic, clientKeyFile, clientPublic, files, secrets };
}

/** known_hosts is rewritten at every start because ports may change (tests use port 0). */
export function writeKnownHosts(file: string, host: string, entries: Array<{ port: number; publicKey: string }>): void {
  const lines = entries.map(({ port, publicKey }) => `${port === 22 ? host : `[${host}]:${port}`} ${publicKey}`);
  fs.writeFileSync(file, lines.join('\n') + '\n');
}
