/**
 * How workers, irctl and the demo reach Temporal: the config file's `temporal.address/namespace/tls`
 * (TEMPORAL_ADDRESS / TEMPORAL_NAMESPACE override), turned into options for `Connection.connect` and
 * `NativeConnection.connect`. A missing or unreadable file, and a refused TLS handshake, are reported naming
 * the config field to fix. Neutral ground: workers/ and clients/ both import it; it imports no SDK.
 */
import { readFileSync } from 'node:fs';
import type { Config } from './schema';
import { ConfigError } from './load';

export interface TemporalTls {
  serverNameOverride?: string;
  serverRootCACertificate?: Buffer;
  clientCertPair?: { crt: Buffer; key: Buffer };
}

export interface TemporalConnectionOptions {
  address: string;
  namespace: string;
  tls?: TemporalTls;
}

export const DEFAULT_ADDRESS = '127.0.0.1:7233';

function readPem(file: string, field: string): Buffer {
  let pem: Buffer;
  try {
    pem = readFileSync(file);
  } catch (err) {
    throw new ConfigError(`temporal.tls.${field}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); give the path of a PEM file, relative to the config file (\`npm run stack\` makes them in .stack/pki)`);
  }
  if (!pem.toString('latin1').includes('-----BEGIN ')) throw new ConfigError(`temporal.tls.${field}: ${file} is not a PEM file (no -----BEGIN line)`);
  return pem;
}

/** Connection options from the config (file paths already absolute: config/load.ts resolves them). */
export function temporalConnectionOptions(config: Pick<Config, 'temporal'>, env: NodeJS.ProcessEnv = process.env): TemporalConnectionOptions {
  const t = config.temporal;
  const address = env.TEMPORAL_ADDRESS || t?.address || DEFAULT_ADDRESS;
  const namespace = env.TEMPORAL_NAMESPACE || t?.namespace || 'default';
  if (!t?.tls) return { address, namespace };
  const { caFile, certFile, keyFile, serverName } = t.tls;
  return {
    address,
    namespace,
    tls: {
      serverNameOverride: serverName,
      serverRootCACertificate: caFile ? readPem(caFile, 'caFile') : undefined,
      clientCertPair: certFile && keyFile ? { crt: readPem(certFile, 'certFile'), key: readPem(keyFile, 'keyFile') } : undefined,
    },
  };
}

/**
 * A connect error in words an operator can act on: which side refused and which config field to check.
 * `source` names where the settings came from (a config file's `temporal.tls.*`, or irctl's flags).
 */
export function explainConnectError(err: unknown, o: { address: string; tls?: TemporalTls | boolean }, source = 'temporal.tls'): Error {
  const text = err instanceof Error ? `${err.message} ${String((err as { cause?: unknown }).cause ?? '')}` : String(err);
  const lower = text.toLowerCase();
  const field = (name: string) => (source === 'temporal.tls' ? `temporal.tls.${name}` : name);
  let hint: string;
  if (!o.tls) {
    hint = /handshake|eof|reset|closed|protocol|http2|frame|unavailable/.test(lower)
      ? `the server may require TLS: set ${field('caFile')}, ${field('certFile')} and ${field('keyFile')}`
      : 'is the server running at that address? (TEMPORAL_ADDRESS / temporal.address)';
  } else if (/certificate ?required|bad ?certificate|unknown ?ca|alert|handshake failure|peer.*cert|certificaterequired|badcertificate|unknownca/.test(lower) && !/invalid ?peer ?certificate|unknownissuer|self[- ]signed|notvalidforname|hostname|subject ?alt|san/.test(lower)) {
    hint = `TLS handshake refused by ${o.address}: the server did not accept our client certificate; check ${field('certFile')} / ${field('keyFile')} (a certificate from the server's client CA)`;
  } else if (/notvalidforname|hostname|subject ?alt|not valid for|does not match|san|ip address mismatch|altname/.test(lower)) {
    hint = `the server's certificate is not valid for the name we asked for: check ${field('serverName')} (the stack's frontend is temporal-frontend)`;
  } else if (/unknownissuer|unknown issuer|self[- ]signed|unable to (get|verify)|invalid ?peer ?certificate|untrusted|certificate verify/.test(lower)) {
    hint = `the server's certificate is not signed by our CA: check ${field('caFile')}`;
  } else if (/handshake|tls|ssl|reset|eof|closed/.test(lower)) {
    hint = `TLS handshake refused by ${o.address}: check ${field('certFile')} / ${field('keyFile')} (our client certificate), ${field('caFile')} and ${field('serverName')}`;
  } else {
    hint = 'is the server running at that address? (TEMPORAL_ADDRESS / temporal.address)';
  }
  return new Error(`cannot connect to Temporal at ${o.address}: ${hint} (${text.trim().split('\n')[0]})`);
}
