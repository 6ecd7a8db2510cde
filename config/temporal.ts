/**
 * How workers, irctl and the demo reach Temporal: the config file's `temporal.address/namespace/tls`
 * (TEMPORAL_ADDRESS / TEMPORAL_NAMESPACE override), turned into options for `Connection.connect` and
 * `NativeConnection.connect`. A missing or unreadable file, and a refused TLS handshake, are reported naming
 * the config field to fix. Neutral ground: workers/ and clients/ both import it; it imports no SDK.
 */
import { readFileSync } from 'node:fs';
import type { Config } from './schema';
import { ConfigError, readPrivateFile } from './load';

export interface TemporalTls {
  serverNameOverride?: string;
  serverRootCACertificate?: Buffer;
  clientCertPair?: { crt: Buffer; key: Buffer };
}

export interface TemporalConnectionOptions {
  address: string;
  namespace: string;
  tls?: TemporalTls;
  /** The token (temporal.apiKeyFile) the SDK sends as `Authorization: Bearer`. */
  apiKey?: string;
}

export const DEFAULT_ADDRESS = '127.0.0.1:7233';

function readPem(file: string, field: string): Buffer {
  let pem: Buffer;
  try {
    pem = readFileSync(file);
  } catch (err) {
    throw new ConfigError(`${field}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); give the path of a PEM file, relative to the config file (\`npm run stack\` makes them in .stack/pki)`);
  }
  if (!pem.toString('latin1').includes('-----BEGIN ')) throw new ConfigError(`${field}: ${file} is not a PEM file (no -----BEGIN line)`);
  return pem;
}

/** The token in temporal.apiKeyFile: an owner-only file (like every secret), one line. */
function readApiKey(file: string): string {
  let text: string;
  try {
    text = readPrivateFile(file, 'temporal.apiKeyFile');
  } catch (err) {
    if (err instanceof ConfigError) throw new ConfigError(`${err.message} (\`npm run stack\` writes the stack's; \`irctl auth token\` mints one)`);
    throw err;
  }
  const token = text.trim();
  if (!token || /\s/.test(token)) throw new ConfigError(`temporal.apiKeyFile: ${file} must hold one token on one line`);
  return token;
}

/**
 * Connection options from the config (file paths already absolute: config/load.ts resolves them). `as: 'worker'`
 * takes temporal.worker's certificate instead of tls's and no token: the server knows the worker by its certificate.
 */
export function temporalConnectionOptions(config: Pick<Config, 'temporal'>, env: NodeJS.ProcessEnv = process.env, as: 'client' | 'worker' = 'client'): TemporalConnectionOptions {
  const t = config.temporal;
  const address = env.TEMPORAL_ADDRESS || t?.address || DEFAULT_ADDRESS;
  const namespace = env.TEMPORAL_NAMESPACE || t?.namespace || 'default';
  const worker = as === 'worker' ? t?.worker : undefined;
  const apiKey = t?.apiKeyFile && !worker ? readApiKey(t.apiKeyFile) : undefined;
  if (!t?.tls) return { address, namespace, ...(apiKey ? { apiKey } : {}) };
  const { caFile, serverName } = t.tls;
  const { certFile, keyFile } = worker ?? t.tls;
  return {
    address,
    namespace,
    ...(apiKey ? { apiKey } : {}),
    tls: {
      serverNameOverride: serverName,
      serverRootCACertificate: caFile ? readPem(caFile, 'temporal.tls.caFile') : undefined,
      clientCertPair: certFile && keyFile ? { crt: readPem(certFile, `temporal.${worker ? 'worker' : 'tls'}.certFile`), key: readPem(keyFile, `temporal.${worker ? 'worker' : 'tls'}.keyFile`) } : undefined,
    },
  };
}

export type TlsField = 'caFile' | 'certFile' | 'keyFile' | 'serverName';
/** What to tell the operator to check, per TLS setting: the config fields by default, irctl's flags otherwise. */
export const CONFIG_TLS_NAMES: Record<TlsField, string> = {
  caFile: 'temporal.tls.caFile',
  certFile: 'temporal.tls.certFile',
  keyFile: 'temporal.tls.keyFile',
  serverName: 'temporal.tls.serverName',
};

/**
 * Our own TLS handshake with the settings that just failed: the SDK's clients say little (grpc-js only "Failed
 * to connect before the deadline"), node:tls says which side refused and why. With TLS 1.3 a refused client
 * certificate arrives as an alert after the handshake, so the probe waits briefly for it.
 */
export async function probeTls(address: string, tls: TemporalTls, timeoutMs = 3000): Promise<string> {
  const { connect } = await import('node:tls');
  const i = address.lastIndexOf(':');
  return new Promise((resolve) => {
    const socket = connect({
      host: address.slice(0, i),
      port: Number(address.slice(i + 1)),
      servername: tls.serverNameOverride,
      ca: tls.serverRootCACertificate,
      cert: tls.clientCertPair?.crt,
      key: tls.clientCertPair?.key,
      ALPNProtocols: ['h2'],
    });
    const done = (result: string) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => done('timeout'), timeoutMs);
    socket.once('secureConnect', () => {
      // HTTP/2 preface: a server that kept the connection after it read our certificate answers with SETTINGS.
      socket.write('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00');
      socket.once('data', () => done('accepted'));
    });
    socket.once('error', (err: NodeJS.ErrnoException) => done(`${err.code ?? ''} ${err.message}`.trim()));
    socket.once('end', () => done('closed by the server'));
  });
}

/**
 * A connect error in words an operator can act on: which side refused and which setting to check (`names`: the
 * config fields by default, irctl's flags when they gave the setting). Probes the handshake itself for details.
 */
export async function explainConnectError(err: unknown, o: { address: string; tls?: TemporalTls }, names: Record<TlsField, string> = CONFIG_TLS_NAMES): Promise<Error> {
  const text = err instanceof Error ? err.message : String(err);
  const probe = o.tls ? await probeTls(o.address, o.tls).catch((e: Error) => e.message) : '';
  const seen = `${text} ${probe}`.toLowerCase();
  let hint: string;
  if (/econnrefused|enotfound|ehostunreach/.test(seen)) {
    hint = 'nothing answers there: is the server running? (temporal.address / TEMPORAL_ADDRESS)';
  } else if (!o.tls) {
    hint = `the server may require TLS: set ${names.caFile}, ${names.certFile} and ${names.keyFile}`;
  } else if (/altname|notvalidforname|not valid for name|hostname/.test(seen)) {
    hint = `the server's certificate is not valid for the name we asked for (${o.tls.serverNameOverride ?? o.address}): check ${names.serverName}`;
  } else if (/unknownissuer|unable_to_verify|unable to verify|self_signed|self-signed|unable_to_get_issuer|cert_untrusted/.test(seen)) {
    hint = `the server's certificate is not signed by the CA we trust: check ${names.caFile}`;
  } else if (/certificate required/.test(seen) || (!o.tls.clientCertPair && /alert|closed|broken pipe|reset/.test(seen))) {
    hint = `TLS handshake refused by ${o.address}: the server requires a client certificate; set ${names.certFile} / ${names.keyFile}`;
  } else if (/alert|bad certificate|unknown ca|broken pipe|closed|reset/.test(seen)) {
    hint = `TLS handshake refused by ${o.address}: the server does not accept our client certificate; check ${names.certFile} / ${names.keyFile} (it must come from the server's client CA)`;
  } else {
    hint = `check ${names.certFile}, ${names.caFile} and ${names.serverName}`;
  }
  // The probe's error code (ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED, UNABLE_TO_VERIFY_LEAF_SIGNATURE ...) says it best.
  const detail = probe && probe !== 'accepted' ? `TLS: ${/^[A-Z0-9_]+ /.test(probe) ? probe.split(' ')[0] : probe.slice(0, 120)}` : text.split('\n')[0].slice(0, 200);
  return new Error(`cannot connect to Temporal at ${o.address}: ${hint} (${detail})`);
}
