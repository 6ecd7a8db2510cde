/**
 * One HTTPS client for the REST drivers (Data Domain, Bareos, NetWorker), built on got behind a small
 * interface so activities get it injected and tests speak real HTTPS to the lab.
 *
 * Appliances present self-signed certificates. Node only consults `checkServerIdentity` once the chain has
 * verified, so the appliance's own certificate is the only trust anchor (`caFile`), verification stays on
 * (never `rejectUnauthorized: false`), and the SHA-256 fingerprint pinned in the config must match the
 * certificate presented: a swapped file or a different device is refused before any credential is sent.
 * Each session has its own agent, destroyed on close, so no connection outlives the activity.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import type { PeerCertificate } from 'node:tls';
import { DeviceError, DeviceUnreachableError } from './errors';

export interface TlsPin {
  /** SHA-256 fingerprint of the appliance certificate: `AB:CD:…` (openssl x509 -fingerprint -sha256), colons optional. */
  fingerprint: string;
  /** The appliance's certificate (PEM), its own trust anchor. */
  caFile: string;
}

export interface HttpsTarget {
  baseUrl: string;
  tls: TlsPin;
  /** Device label for errors, e.g. `vault-dd`. */
  device: string;
  /** Per request: connect + TLS + response. */
  timeoutMs: number;
  /** Config path of the pin, named in errors (e.g. `vaults[0].vault.dd.rest.tls`). */
  tlsField: string;
}

export interface HttpsRequest {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  path: string;
  headers?: Record<string, string>;
  json?: unknown;
  /** application/x-www-form-urlencoded body (OAuth2 password login). */
  form?: Record<string, string>;
  searchParams?: Record<string, string | number>;
}

export interface HttpsResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: unknown; // parsed JSON, or the text when it is not JSON, or undefined when empty
  text: string;
}

export interface HttpsSession {
  request(req: HttpsRequest): Promise<HttpsResponse>;
  /** Open sockets of this session (for tests and leak checks). */
  openSockets(): number;
  close(): void;
}

export type OpenHttps = (target: HttpsTarget) => HttpsSession;

/** The certificate pin failed: not retryable, names the config field to fix. */
export class CertificatePinError extends DeviceError {
  constructor(device: string, message: string) {
    super(message, { device, retryable: false });
  }
}

export function normalizeFingerprint(fp: string): string {
  const hex = fp.replace(/^sha256[:/ ]?\s*(fingerprint=)?/i, '').replace(/[^0-9a-f]/gi, '').toUpperCase();
  if (hex.length !== 64) throw new Error(`not a SHA-256 fingerprint: ${fp}`);
  return hex.match(/../g)!.join(':');
}

export function certificateFingerprint(pem: string | Buffer): string {
  return normalizeFingerprint(new X509Certificate(pem).fingerprint256);
}

type Got = typeof import('got').default;
let gotFn: Got | undefined;
function loadGot(): Got {
  // got 14 is ESM-only; Node ≥ 20.19 requires it synchronously (require(esm)).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  gotFn ??= (require('got') as { default: Got }).default;
  return gotFn;
}

export const openHttps: OpenHttps = (target) => {
  const want = normalizeFingerprint(target.tls.fingerprint);
  let ca: Buffer;
  try {
    ca = readFileSync(target.tls.caFile);
  } catch (err) {
    throw new CertificatePinError(target.device, `${target.device}: cannot read ${target.tlsField}.caFile ${target.tls.caFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const checkServerIdentity = (_host: string, cert: PeerCertificate): Error | undefined => {
    const got = cert.fingerprint256 ? normalizeFingerprint(cert.fingerprint256) : '(none)';
    if (got === want) return undefined;
    return new CertificatePinError(
      target.device,
      `${target.device} (${target.baseUrl}) presented certificate ${got}, but ${want} is pinned in ${target.tlsField}.fingerprint. ` +
        'Refusing to send credentials. If the appliance certificate was legitimately replaced, check the new one out of band ' +
        '(openssl x509 -noout -fingerprint -sha256) and update the pin and caFile.',
    );
  };
  const agent = new https.Agent({ keepAlive: true, maxSockets: 4, ca, checkServerIdentity });
  const sockets = new Set<import('node:net').Socket>();
  const origCreate = agent.createConnection.bind(agent);
  agent.createConnection = ((opts: unknown, cb: unknown) => {
    const s = (origCreate as (o: unknown, c: unknown) => import('node:net').Socket)(opts, cb);
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
    return s;
  }) as typeof agent.createConnection;
  const client = loadGot().extend({
    prefixUrl: target.baseUrl.replace(/\/+$/, ''),
    agent: { https: agent },
    https: { certificateAuthority: ca, checkServerIdentity, rejectUnauthorized: true },
    timeout: { request: target.timeoutMs },
    retry: { limit: 0 }, // retries belong to the activity's policy
    throwHttpErrors: false,
    followRedirect: false,
  });
  let closed = false;
  return {
    async request(req) {
      if (closed) throw new Error(`${target.device}: HTTPS session used after close`);
      try {
        const res = await client(req.path.replace(/^\/+/, ''), {
          method: req.method,
          headers: req.headers,
          json: req.json,
          form: req.form,
          searchParams: req.searchParams,
        });
        const text = res.body;
        let body: unknown = undefined;
        if (text.length) {
          try {
            body = JSON.parse(text);
          } catch {
            body = text;
          }
        }
        return { status: res.statusCode, headers: res.headers, body, text };
      } catch (err) {
        throw classifyTransport(target, req, err);
      }
    },
    openSockets: () => sockets.size,
    close() {
      closed = true;
      agent.destroy();
    },
  };
};

function classifyTransport(target: HttpsTarget, req: HttpsRequest, err: unknown): Error {
  let e: unknown = err;
  for (let i = 0; i < 5 && e; i++) {
    if (e instanceof CertificatePinError) return e;
    e = (e as { cause?: unknown }).cause;
  }
  const code = (err as { code?: string }).code ?? '';
  const what = `${req.method} ${target.baseUrl}/${req.path.replace(/^\/+/, '')}`;
  if (code === 'ETIMEDOUT' || (err as Error).name === 'TimeoutError') {
    return new DeviceUnreachableError(target.device, `${target.device}: no answer to ${what} within ${target.timeoutMs} ms`, err);
  }
  if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/.test(code)) {
    return new CertificatePinError(
      target.device,
      `${target.device}: TLS verification of ${target.baseUrl} failed (${code}: ${(err as Error).message}); ` +
        `the certificate in ${target.tlsField}.caFile is not the one the appliance presents: fetch it out of band and check its fingerprint`,
    );
  }
  return new DeviceUnreachableError(target.device, `${target.device}: ${what} failed: ${code ? `${code} ` : ''}${(err as Error).message}`, err);
}

/** A fingerprint as the config and endpoints.json write it: `SHA256:AB:CD:…`. */
export function pinText(fingerprintHex: string): string {
  return `SHA256:${normalizeFingerprint(fingerprintHex)}`;
}
