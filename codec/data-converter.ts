/**
 * The DataConverter of every Client and Worker of the project: with `temporal.encryption` configured, payloads are
 * encrypted (codec/encryption-codec.ts) and so are failure messages and stack traces (codec/failure-converter.ts);
 * without it, undefined (the SDK's default converter).
 */
import type { DataConverter } from '@temporalio/common';
import { EncryptionCodec } from './encryption-codec';
import { loadKeyRing, type KeyRef } from './keys';

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
