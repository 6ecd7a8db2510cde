/**
 * The AES-256-GCM payload codec and its key files (pure logic and the file system, no Temporal): round trip,
 * rotation, an unknown key id, tampering, plain payloads passing through, key file checks, keygen.
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { EncryptionCodec, ENCRYPTED_ENCODING, METADATA_KEY_ID } from '../codec/encryption-codec';
import { generateKeyFile, loadKeyRing, readKeyFile } from '../codec/keys';
import { dataConverterFor, dataConverterForFile } from '../codec/data-converter';
import { payloadsFromJson, payloadsToJson } from '../codec/proto-json';
import { parseConfig } from '../config/load';
import { parse as parseYaml } from 'yaml';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ir-codec-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function keyFile(name: string): string {
  const file = join(dir, `${name}.key`);
  generateKeyFile(file);
  return file;
}
const codecOf = (...ids: string[]) => new EncryptionCodec(loadKeyRing(ids.map((id) => ({ id, file: join(dir, `${id}.key`) }))));
const plain = (value: unknown): Payload => defaultPayloadConverter.toPayload(value);
const text = (p: Payload) => Buffer.from(p.data ?? []).toString('utf8');
const meta = (p: Payload, k: string) => Buffer.from(p.metadata?.[k] ?? []).toString('utf8');

describe('codec', () => {
  beforeAll(() => {
    keyFile('old');
    keyFile('new');
    keyFile('other');
  });

  test('round trip: the payload comes back whole; the wire form carries the key id and no plaintext', async () => {
    const codec = codecOf('old');
    const value = { vaultId: 'finance-vault', path: '/data/col1/ir-copies/c-1', root: 'ab'.repeat(32) };
    const [wire] = await codec.encode([plain(value)]);
    expect(meta(wire, 'encoding')).toBe(ENCRYPTED_ENCODING);
    expect(meta(wire, METADATA_KEY_ID)).toBe('old');
    expect(Object.keys(wire.metadata ?? {}).sort()).toEqual(['encoding', METADATA_KEY_ID]); // json/plain is inside
    expect(Buffer.from(wire.data!).includes('finance-vault')).toBe(false);
    const [back] = await codec.decode([wire]);
    expect(defaultPayloadConverter.fromPayload(back)).toEqual(value);
    // A fresh IV each time: the same value never encrypts to the same bytes.
    const [again] = await codec.encode([plain(value)]);
    expect(Buffer.from(again.data!).equals(Buffer.from(wire.data!))).toBe(false);
  });

  test('rotation: the first listed key encrypts, the old key still decrypts', async () => {
    const [before] = await codecOf('old').encode([plain('written before the rotation')]);
    const rotated = codecOf('new', 'old');
    const [after] = await rotated.encode([plain('written after')]);
    expect(meta(after, METADATA_KEY_ID)).toBe('new');
    const decoded = await rotated.decode([before, after]);
    expect(decoded.map((p) => defaultPayloadConverter.fromPayload(p))).toEqual(['written before the rotation', 'written after']);
  });

  test('an unknown key id is named with the config field to fix', async () => {
    const [wire] = await codecOf('other').encode([plain('x')]);
    await expect(codecOf('new', 'old').decode([wire])).rejects.toThrow(
      'a payload is encrypted with key id "other", which is not in temporal.encryption.keys (known: new, old); add that key\'s file to the list to read it',
    );
  });

  test('tampered ciphertext, or the wrong key behind an id, is refused', async () => {
    const codec = codecOf('old');
    const [wire] = await codec.encode([plain({ amount: 100 })]);
    const data = Buffer.from(wire.data!);
    data[20] ^= 0x01;
    await expect(codec.decode([{ ...wire, data }])).rejects.toThrow('a payload encrypted with key id "old" failed authentication: it was altered');
    // Same id, other bytes: a key file swapped by mistake is caught the same way.
    const swapped = new EncryptionCodec(loadKeyRing([{ id: 'old', file: join(dir, 'other.key') }]));
    await expect(swapped.decode([wire])).rejects.toThrow('failed authentication');
  });

  test('payloads without the encrypted encoding pass through (a CLI signal sent as plain JSON)', async () => {
    const signal = plain({ by: 'alice', reason: 'change freeze' });
    const [out] = await codecOf('old').decode([signal]);
    expect(out).toBe(signal);
    expect(text(out)).toContain('change freeze');
  });

  test('proto JSON as the UI and CLI send it survives encode and decode', async () => {
    const codec = codecOf('old');
    const json = payloadsToJson([plain({ n: 1 })]);
    const encoded = payloadsToJson(await codec.encode(payloadsFromJson(json)));
    expect(Buffer.from(encoded.payloads[0].metadata!.encoding, 'base64').toString()).toBe(ENCRYPTED_ENCODING);
    const decoded = payloadsToJson(await codec.decode(payloadsFromJson(encoded)));
    expect(decoded).toEqual(json);
    expect(() => payloadsFromJson({ payloads: [{ data: 'not base64!' }] })).toThrow('payloads[0].data must be a base64 string');
    expect(() => payloadsFromJson({})).toThrow('the body must be {"payloads": [...]}');
  });
});

describe('key files', () => {
  test('keygen writes 32 random bytes in base64 with mode 0600 and never overwrites', () => {
    const file = join(dir, 'fresh.key');
    generateKeyFile(file);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(Buffer.from(readFileSync(file, 'utf8').trim(), 'base64')).toHaveLength(32);
    expect(() => generateKeyFile(file)).toThrow(`${file} exists already; a key file is never overwritten`);
  });

  test('raw 32-byte key files are read as they are', () => {
    const file = join(dir, 'raw.key');
    const bytes = randomBytes(32);
    writeFileSync(file, bytes, { mode: 0o600 });
    expect(readKeyFile(file, 'raw').equals(bytes)).toBe(true);
  });

  test('a key file readable by group or others is refused, naming the file and chmod 600', () => {
    const file = keyFile('loose');
    chmodSync(file, 0o640);
    expect(() => readKeyFile(file, 'loose')).toThrow(`encryption key loose: ${file} is readable by group or others (mode 640); run \`chmod 600 ${file}\``);
  });

  test('a key of the wrong size and a missing file are named', () => {
    const short = join(dir, 'short.key');
    writeFileSync(short, randomBytes(16).toString('base64'), { mode: 0o600 });
    expect(() => readKeyFile(short, 'short')).toThrow(`encryption key short: ${short} holds neither 32 raw bytes nor 32 base64-encoded bytes`);
    expect(() => readKeyFile(join(dir, 'absent.key'), 'absent')).toThrow(`encryption key absent: cannot read ${join(dir, 'absent.key')} (ENOENT); create it with \`tsx codec/main.ts keygen --out`);
  });
});

describe('dataConverterFor', () => {
  const base = parseYaml(readFileSync(join(__dirname, '..', 'config', 'lab.yaml'), 'utf8')) as Record<string, unknown>;

  test('no temporal.encryption: the SDK default (undefined)', () => {
    expect(dataConverterFor(parseConfig(base, 'lab.yaml', join(__dirname, '..', 'config')))).toBeUndefined();
  });

  test('keys relative to the config file; the codec and the encoding failure converter', async () => {
    keyFile('cfg');
    const config = parseConfig({ ...base, temporal: { encryption: { keys: [{ id: 'cfg', file: 'cfg.key' }] } } }, 'x.yaml', dir);
    expect(config.temporal?.encryption?.keys[0].file).toBe(join(dir, 'cfg.key'));
    const dc = dataConverterFor(config)!;
    expect(dc.payloadCodecs).toHaveLength(1);
    const [wire] = await dc.payloadCodecs![0].encode([plain('x')]);
    expect(meta(wire, METADATA_KEY_ID)).toBe('cfg');
    const { failureConverter } = await import(dc.failureConverterPath!);
    expect(failureConverter.options.encodeCommonAttributes).toBe(true);
  });

  test('from a config file (irctl --config): keys relative to the file; none without temporal.encryption', async () => {
    keyFile('irctl');
    const file = join(dir, 'stack.yaml');
    writeFileSync(file, 'temporal:\n  address: 127.0.0.1:17233\n  encryption:\n    keys:\n      - { id: irctl, file: irctl.key }\nvaults: []\n');
    const [wire] = await dataConverterForFile(file)!.payloadCodecs![0].encode([plain('x')]);
    expect(meta(wire, METADATA_KEY_ID)).toBe('irctl');
    writeFileSync(file, 'temporal:\n  address: 127.0.0.1:17233\n');
    expect(dataConverterForFile(file)).toBeUndefined();
    writeFileSync(file, 'temporal:\n  encryption:\n    keys: []\n');
    expect(() => dataConverterForFile(file)).toThrow(`${file} is not a valid vault configuration:\n  temporal.encryption.keys: list at least one key`);
  });

  test('bad encryption config is named by field', () => {
    expect(() => parseConfig({ ...base, temporal: { encryption: { keys: [] } } }, 'x.yaml', dir)).toThrow('temporal.encryption.keys: list at least one key');
    expect(() => parseConfig({ ...base, temporal: { encryption: { keys: [{ id: 'a', file: 'a' }, { id: 'a', file: 'b' }] } } }, 'x.yaml', dir)).toThrow(
      'temporal.encryption.keys: key ids must be unique',
    );
    expect(() => parseConfig({ ...base, metrics: { prometheus: '9464' } }, 'x.yaml', dir)).toThrow('metrics.prometheus: host:port to serve /metrics on');
  });
});
