/**
 * AES-256-GCM PayloadCodec, wire-compatible with samples-typescript `encryption/`: the whole serialized payload is
 * encrypted, data = 12-byte IV ‖ ciphertext ‖ 16-byte tag, metadata `encoding: binary/encrypted` and
 * `encryption-key-id: <id>`. Payloads without that encoding pass through on decode (signals sent as plain JSON by
 * the CLI or the UI without a codec). No additional data is bound: the codec server only learns the namespace,
 * so a workflow id could not be checked there.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { METADATA_ENCODING_KEY, type Payload, type PayloadCodec } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import type { KeyRing } from './keys';

export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const METADATA_KEY_ID = 'encryption-key-id';
const IV_BYTES = 12;
const TAG_BYTES = 16;

export class DecryptError extends Error {
  override name = 'DecryptError';
  readonly retryable = false; // the same bytes and keys give the same answer
}

const utf8 = (b: Uint8Array | null | undefined) => (b ? Buffer.from(b).toString('utf8') : undefined);

export class EncryptionCodec implements PayloadCodec {
  constructor(private readonly ring: KeyRing) {}

  /** The key id new payloads are encrypted with. */
  get encryptId(): string {
    return this.ring.encryptId;
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    const key = this.ring.keys.get(this.ring.encryptId)!;
    return payloads.map((payload) => {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
      const plain = temporal.api.common.v1.Payload.encode(payload).finish();
      return {
        metadata: {
          [METADATA_ENCODING_KEY]: Buffer.from(ENCRYPTED_ENCODING),
          [METADATA_KEY_ID]: Buffer.from(this.ring.encryptId),
        },
        data: Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]),
      };
    });
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      if (utf8(payload.metadata?.[METADATA_ENCODING_KEY]) !== ENCRYPTED_ENCODING) return payload;
      const keyId = utf8(payload.metadata?.[METADATA_KEY_ID]);
      if (!keyId) throw new DecryptError(`an encrypted payload carries no ${METADATA_KEY_ID}: it cannot be decrypted`);
      const key = this.ring.keys.get(keyId);
      if (!key) {
        throw new DecryptError(`a payload is encrypted with key id "${keyId}", which is not in temporal.encryption.keys (known: ${[...this.ring.keys.keys()].join(', ')}); add that key's file to the list to read it`);
      }
      const data = Buffer.from(payload.data ?? []);
      if (data.length < IV_BYTES + TAG_BYTES) throw new DecryptError(`an encrypted payload (key id "${keyId}") is too short to be AES-GCM output (${data.length} bytes)`);
      const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, IV_BYTES), { authTagLength: TAG_BYTES });
      decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
      let plain: Buffer;
      try {
        plain = Buffer.concat([decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)), decipher.final()]);
      } catch {
        throw new DecryptError(`a payload encrypted with key id "${keyId}" failed authentication: it was altered, or the file behind "${keyId}" holds another key`);
      }
      return temporal.api.common.v1.Payload.decode(plain);
    });
  }
}
