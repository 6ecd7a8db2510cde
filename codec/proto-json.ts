/**
 * Payloads in the proto-JSON form the Temporal UI and CLI send to a codec server:
 * `{ "payloads": [ { "metadata": { "encoding": "<base64>" }, "data": "<base64>" } ] }`.
 */
import type { Payload } from '@temporalio/common';

export interface JsonPayload {
  metadata?: Record<string, string> | null;
  data?: string | null;
}

export class BodyError extends Error {
  override name = 'BodyError';
}

const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;

function bytes(value: unknown, where: string): Buffer {
  if (typeof value !== 'string' || !BASE64.test(value)) throw new BodyError(`${where} must be a base64 string`);
  return Buffer.from(value, 'base64');
}

/** Parses a request body; errors name the field. */
export function payloadsFromJson(body: unknown): Payload[] {
  const list = (body as { payloads?: unknown } | null)?.payloads;
  if (!Array.isArray(list)) throw new BodyError('the body must be {"payloads": [...]} (proto JSON, base64 metadata values and data)');
  return list.map((p: unknown, i) => {
    if (!p || typeof p !== 'object') throw new BodyError(`payloads[${i}] must be an object with metadata and data`);
    const { metadata, data } = p as JsonPayload;
    if (metadata != null && typeof metadata !== 'object') throw new BodyError(`payloads[${i}].metadata must be an object of base64 strings`);
    return {
      metadata: Object.fromEntries(Object.entries(metadata ?? {}).map(([k, v]) => [k, bytes(v, `payloads[${i}].metadata.${k}`)])),
      data: data == null ? undefined : bytes(data, `payloads[${i}].data`),
    };
  });
}

export function payloadsToJson(payloads: Payload[]): { payloads: JsonPayload[] } {
  return {
    payloads: payloads.map((p) => ({
      metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
      data: Buffer.from(p.data ?? []).toString('base64'),
    })),
  };
}
