/**
 * Encryption keys in files: 32 random bytes, raw or base64 (one line), readable by the owner only. A key ring
 * is the configured list in order: the first key encrypts, every key decrypts (rotation keeps old keys listed
 * while histories encrypted with them are retained).
 */
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import { looseMode } from '../config/load';

export const KEY_BYTES = 32; // AES-256
const KEYS_FIELD = 'temporal.encryption.keys';

export class KeyError extends Error {
  override name = 'KeyError';
}

export interface KeyRef {
  id: string;
  file: string;
}

export interface KeyRing {
  /** The id new payloads are encrypted with (the first listed key). */
  encryptId: string;
  keys: ReadonlyMap<string, Buffer>;
}

/** Reads one key file; refuses one that others can read, and one that is not 32 bytes (raw or base64). */
export function readKeyFile(file: string, id: string): Buffer {
  let loose: number | undefined;
  try {
    loose = looseMode(file);
  } catch (err) {
    throw new KeyError(`encryption key ${id}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); create it with \`tsx codec/main.ts keygen --out ${file}\` or fix ${KEYS_FIELD}`);
  }
  if (loose !== undefined) {
    throw new KeyError(`encryption key ${id}: ${file} is readable by group or others (mode ${loose.toString(8)}); run \`chmod 600 ${file}\``);
  }
  const bytes = readFileSync(file);
  if (bytes.length === KEY_BYTES) return bytes;
  const text = bytes.toString('utf8').trim();
  if (/^[A-Za-z0-9+/]+={0,2}$/.test(text)) {
    const decoded = Buffer.from(text, 'base64');
    if (decoded.length === KEY_BYTES) return decoded;
  }
  throw new KeyError(`encryption key ${id}: ${file} holds neither ${KEY_BYTES} raw bytes nor ${KEY_BYTES} base64-encoded bytes; write a new one with \`tsx codec/main.ts keygen --out FILE\``);
}

export function loadKeyRing(refs: readonly KeyRef[]): KeyRing {
  if (!refs.length) throw new KeyError(`${KEYS_FIELD} is empty: list at least one key (the first one encrypts)`);
  const keys = new Map<string, Buffer>();
  for (const ref of refs) {
    if (keys.has(ref.id)) throw new KeyError(`${KEYS_FIELD}: key id ${ref.id} is listed twice`);
    keys.set(ref.id, readKeyFile(ref.file, ref.id));
  }
  return { encryptId: refs[0].id, keys };
}

/** Writes a new random key (base64, one line) with mode 0600; refuses to overwrite an existing file. */
export function generateKeyFile(file: string): void {
  let fd: number;
  try {
    fd = openSync(file, 'wx', 0o600);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new KeyError(code === 'EEXIST' ? `${file} exists already; a key file is never overwritten (choose a new name for a new key)` : `cannot create ${file}: ${code ?? (err as Error).message}`);
  }
  try {
    writeSync(fd, `${randomBytes(KEY_BYTES).toString('base64')}\n`);
  } finally {
    closeSync(fd);
  }
}
