/**
 * Connecting irctl to Temporal the way the `temporal` CLI does: --address/TEMPORAL_ADDRESS,
 * --namespace/TEMPORAL_NAMESPACE, --api-key/TEMPORAL_API_KEY, --tls/TEMPORAL_TLS, --tls-cert-path/
 * TEMPORAL_TLS_CERT, --tls-key-path/TEMPORAL_TLS_KEY, --tls-ca-path/TEMPORAL_TLS_CA,
 * --tls-server-name/TEMPORAL_TLS_SERVER_NAME. The client library is loaded here, on first use only.
 */
import { readFileSync } from 'node:fs';
import type { Client } from '@temporalio/client';
import { CliError, ExitCode, type ConnectionOptions } from './cli';

const truthy = (v: string | undefined) => v !== undefined && ['1', 'true', 'yes', 'on'].includes(v.toLowerCase());

export function connectionFromEnv(env: NodeJS.ProcessEnv = process.env): ConnectionOptions {
  const tlsCertPath = env.TEMPORAL_TLS_CERT || undefined;
  const apiKey = env.TEMPORAL_API_KEY || undefined;
  return {
    address: env.TEMPORAL_ADDRESS || '127.0.0.1:7233',
    namespace: env.TEMPORAL_NAMESPACE || 'default',
    apiKey,
    // As in the temporal CLI: a client certificate or an API key implies TLS unless TEMPORAL_TLS=false.
    tls: env.TEMPORAL_TLS !== undefined ? truthy(env.TEMPORAL_TLS) : Boolean(tlsCertPath || apiKey || env.TEMPORAL_TLS_CA),
    tlsCertPath,
    tlsKeyPath: env.TEMPORAL_TLS_KEY || undefined,
    tlsCaPath: env.TEMPORAL_TLS_CA || undefined,
    tlsServerName: env.TEMPORAL_TLS_SERVER_NAME || undefined,
  };
}

/** The global connection flags irctl accepts anywhere on its command line (the temporal CLI's names). */
export const CONNECTION_FLAGS: Record<string, keyof ConnectionOptions> = {
  '--address': 'address',
  '--namespace': 'namespace',
  '-n': 'namespace',
  '--api-key': 'apiKey',
  '--tls-cert-path': 'tlsCertPath',
  '--tls-key-path': 'tlsKeyPath',
  '--tls-ca-path': 'tlsCaPath',
  '--tls-server-name': 'tlsServerName',
};

function readPem(path: string, flag: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new CliError(`${flag} ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}; give the path of a PEM file`, ExitCode.USAGE);
  }
}

function tlsConfig(o: ConnectionOptions) {
  if (!o.tls) return undefined;
  if (Boolean(o.tlsCertPath) !== Boolean(o.tlsKeyPath)) {
    throw new CliError('a client certificate needs both --tls-cert-path and --tls-key-path (TEMPORAL_TLS_CERT, TEMPORAL_TLS_KEY)', ExitCode.USAGE);
  }
  return {
    serverNameOverride: o.tlsServerName,
    serverRootCACertificate: o.tlsCaPath ? readPem(o.tlsCaPath, '--tls-ca-path') : undefined,
    clientCertPair: o.tlsCertPath && o.tlsKeyPath ? { crt: readPem(o.tlsCertPath, '--tls-cert-path'), key: readPem(o.tlsKeyPath, '--tls-key-path') } : undefined,
  };
}

/** Runs `fn` with a connected client and closes the connection afterwards. */
export async function withClient<T>(o: ConnectionOptions, fn: (client: Client) => Promise<T>): Promise<T> {
  const { Client, Connection } = await import('@temporalio/client');
  const tls = tlsConfig(o);
  const connection = await Connection.connect({ address: o.address, tls: tls ?? false, apiKey: o.apiKey, connectTimeout: 5000 }).catch((err: Error) => {
    throw new CliError(
      `cannot reach Temporal at ${o.address} (${err.message}); set --address or TEMPORAL_ADDRESS (and the TLS/API key options if the server needs them)`,
      ExitCode.UNAVAILABLE,
    );
  });
  try {
    return await fn(new Client({ connection, namespace: o.namespace }));
  } finally {
    await connection.close();
  }
}
