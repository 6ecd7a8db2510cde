/**
 * The DataConverter of every Client and Worker of the project: with `temporal.encryption` configured, payloads are
 * encrypted (codec/encryption-codec.ts) and so are failure messages and stack traces (codec/failure-converter.ts);
 * without it, undefined (the SDK's default converter).
 */
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { DataConverter } from '@temporalio/common';
import { encryptionSchema } from '../config/schema';
import { EncryptionCodec } from './encryption-codec';
import { KeyError, loadKeyRing, type KeyRef } from './keys';

/** What dataConverterFor reads: the config's `temporal.encryption` (file paths already absolute). */
export interface EncryptionSettings {
  temporal?: { encryption?: { keys: KeyRef[] } };
}

export const failureConverterPath = require.resolve('./failure-converter');

export function encryptingDataConverter(keys: readonly KeyRef[]): DataConverter {
  return { payloadCodecs: [new EncryptionCodec(loadKeyRing(keys))], failureConverterPath };
}

export function dataConverterFor(config: EncryptionSettings): DataConverter | undefined {
  const keys = config.temporal?.encryption?.keys;
  return keys ? encryptingDataConverter(keys) : undefined;
}

/**
 * The `temporal.encryption.keys` of a config file, key paths relative to the file, read without checking the
 * vaults (irctl with --config, the codec server): undefined when the file has none.
 */
export function encryptionKeysFromFile(path: string): KeyRef[] | undefined {
  let raw: { temporal?: { encryption?: unknown } } | null;
  try {
    raw = parseYaml(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new KeyError(`cannot read the config file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  if (raw?.temporal?.encryption === undefined) return undefined;
  const parsed = encryptionSchema.safeParse(raw.temporal.encryption);
  if (!parsed.success) {
    throw new KeyError(`${path} is not a valid vault configuration:\n${parsed.error.issues.map((i) => `  temporal.encryption.${i.path.join('.')}: ${i.message}`).join('\n')}`);
  }
  const base = dirname(resolve(path));
  return parsed.data.keys.map((k) => ({ id: k.id, file: isAbsolute(k.file) ? k.file : resolve(base, k.file) }));
}

/** dataConverterFor for a client that has only the config file's path. */
export function dataConverterForFile(path: string): DataConverter | undefined {
  const keys = encryptionKeysFromFile(path);
  return keys ? encryptingDataConverter(keys) : undefined;
}
