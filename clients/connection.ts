/**
 * Connecting irctl to Temporal the way the `temporal` CLI does: --address/TEMPORAL_ADDRESS,
 * --namespace/TEMPORAL_NAMESPACE, --api-key/TEMPORAL_API_KEY, --tls/TEMPORAL_TLS, --tls-cert-path/
 * TEMPORAL_TLS_CERT, --tls-key-path/TEMPORAL_TLS_KEY, --tls-ca-path/TEMPORAL_TLS_CA,
 * --tls-server-name/TEMPORAL_TLS_SERVER_NAME. What none of those sets comes from the vault config file's
 * `temporal` section (address, namespace, tls: config/temporal.ts), so `--config config/stack.yaml` is enough
 * for the stack. The client library is loaded here, on first use only.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { Client } from '@temporalio/client';
import { DEFAULT_CONFIG, readPrivateFile } from '../config/load';
import { configSchema } from '../config/schema';
import { explainConnectError, type TlsField } from '../config/temporal';
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

/** The connection settings given by flags or TEMPORAL_* variables (they win over the config file). */
export function explicitFromEnv(env: NodeJS.ProcessEnv): Set<keyof ConnectionOptions> {
  const byEnv: Array<[string, keyof ConnectionOptions]> = [
    ['TEMPORAL_ADDRESS', 'address'], ['TEMPORAL_NAMESPACE', 'namespace'], ['TEMPORAL_TLS', 'tls'], ['TEMPORAL_TLS_CERT', 'tlsCertPath'],
    ['TEMPORAL_TLS_KEY', 'tlsKeyPath'], ['TEMPORAL_TLS_CA', 'tlsCaPath'], ['TEMPORAL_TLS_SERVER_NAME', 'tlsServerName'],
  ];
  return new Set(byEnv.filter(([v]) => env[v]).map(([, k]) => k));
}

const CONFIG_TLS: Array<[TlsField, 'tlsCaPath' | 'tlsCertPath' | 'tlsKeyPath' | 'tlsServerName']> = [
  ['caFile', 'tlsCaPath'], ['certFile', 'tlsCertPath'], ['keyFile', 'tlsKeyPath'], ['serverName', 'tlsServerName'],
];

/**
 * Fills what flags and environment left unset from the config file's `temporal` section (paths relative to
 * the file). Only that section is read here; the default config without one changes nothing.
 */
export function withConfigFile(o: ConnectionOptions, explicit: Set<keyof ConnectionOptions>, configPath: string | undefined): ConnectionOptions {
  const path = configPath ?? DEFAULT_CONFIG;
  if (!configPath && !existsSync(path)) return o;
  let raw: { temporal?: unknown } | null;
  try {
    raw = parseYaml(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new CliError(`--config ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, ExitCode.USAGE);
  }
  if (!raw?.temporal) return o;
  // The file's whole temporal section, as the schema has it (connection and whatever else it holds).
  const parsed = configSchema.shape.temporal.safeParse(raw.temporal);
  if (!parsed.success) {
    throw new CliError(`${path} is not a valid vault configuration:\n${parsed.error.issues.map((i) => `  temporal.${i.path.join('.')}: ${i.message}`).join('\n')}`, ExitCode.USAGE);
  }
  const t = parsed.data!;
  const out: ConnectionOptions = { ...o, origins: { ...o.origins } };
  if (t.address && !explicit.has('address')) out.address = t.address;
  if (t.namespace && !explicit.has('namespace')) out.namespace = t.namespace;
  // The config's token, unless --api-key or TEMPORAL_API_KEY gave one; read when a command connects.
  if (t.apiKeyFile && !o.apiKey) out.apiKeyFile = isAbsolute(t.apiKeyFile) ? t.apiKeyFile : resolve(dirname(path), t.apiKeyFile);
  if (t.encryption) out.encryption = { keys: t.encryption.keys.map((k) => ({ ...k, file: isAbsolute(k.file) ? k.file : resolve(dirname(path), k.file) })) };
  if (t.tls) {
    out.tlsConfigFile = path;
    if (!explicit.has('tls')) out.tls = true;
    for (const [field, key] of CONFIG_TLS) {
      const value = t.tls[field];
      if (!value || explicit.has(key)) continue;
      out[key] = field === 'serverName' || isAbsolute(value) ? value : resolve(dirname(path), value);
      out.origins![key] = `temporal.tls.${field} (${path})`;
    }
  }
  return out;
}

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
    serverRootCACertificate: o.tlsCaPath ? readPem(o.tlsCaPath, o.origins?.tlsCaPath ?? '--tls-ca-path') : undefined,
    clientCertPair: o.tlsCertPath && o.tlsKeyPath
      ? { crt: readPem(o.tlsCertPath, o.origins?.tlsCertPath ?? '--tls-cert-path'), key: readPem(o.tlsKeyPath, o.origins?.tlsKeyPath ?? '--tls-key-path') }
      : undefined,
  };
}

/**
 * What an error should tell the operator to check: the config field when the setting came from the file (or is
 * missing from a file that configures TLS), else the flag.
 */
function settingNames(o: ConnectionOptions): Record<TlsField, string> {
  const flags = { tlsCaPath: '--tls-ca-path', tlsCertPath: '--tls-cert-path', tlsKeyPath: '--tls-key-path', tlsServerName: '--tls-server-name' } as const;
  const name = (field: TlsField, key: keyof typeof flags) =>
    o.origins?.[key] ?? (!o[key] && o.tlsConfigFile ? `temporal.tls.${field} (${o.tlsConfigFile})` : flags[key]);
  return Object.fromEntries(CONFIG_TLS.map(([field, key]) => [field, name(field, key)])) as Record<TlsField, string>;
}

/** The token to send: --api-key / TEMPORAL_API_KEY, else the config's temporal.apiKeyFile (an owner-only file). */
function apiKeyOf(o: ConnectionOptions): string | undefined {
  if (o.apiKey || !o.apiKeyFile) return o.apiKey;
  try {
    return readPrivateFile(o.apiKeyFile, `temporal.apiKeyFile (${o.tlsConfigFile ?? 'the config file'})`).trim();
  } catch (err) {
    throw new CliError(`${(err as Error).message}; \`npm run stack\` writes the stack's token, or pass --api-key`, ExitCode.USAGE);
  }
}

/** Runs `fn` with a connected client and closes the connection afterwards. */
export async function withClient<T>(o: ConnectionOptions, fn: (client: Client) => Promise<T>): Promise<T> {
  const { Client, Connection } = await import('@temporalio/client');
  const tls = tlsConfig(o);
  const connection = await Connection.connect({ address: o.address, tls: tls ?? false, apiKey: apiKeyOf(o), connectTimeout: 5000 }).catch(async (err: Error) => {
    if (tls) throw new CliError((await explainConnectError(err, { address: o.address, tls }, settingNames(o))).message, ExitCode.UNAVAILABLE);
    throw new CliError(
      `cannot reach Temporal at ${o.address} (${err.message}); set --address or TEMPORAL_ADDRESS (and the TLS/API key options if the server needs them)`,
      ExitCode.UNAVAILABLE,
    );
  });
  try {
    const { dataConverterFor } = await import('../codec/data-converter');
    return await fn(new Client({ connection, namespace: o.namespace, dataConverter: dataConverterFor({ temporal: { encryption: o.encryption } }) }));
  } finally {
    await connection.close();
  }
}
