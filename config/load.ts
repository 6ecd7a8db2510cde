/** Loads and checks the vault configuration; every wrong field is named by its path with the fix. */
import { readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { absoluteDrillPaths, checkDrillConfig } from './drill';
import { configSchema, type Config, type SecretRef, type VaultConfig } from './schema';

export class ConfigError extends Error {
  override name = 'ConfigError';
  readonly retryable = false; // a wrong config stays wrong until someone fixes it
}

export const DEFAULT_CONFIG = 'config/lab.yaml';

function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((acc, key) => (typeof key === 'number' ? `${acc}[${key}]` : acc ? `${acc}.${String(key)}` : String(key)), '');
}

/**
 * A certificate pin may live in a file, the way an SSH host key lives in known_hosts: `tls.fingerprint: { file }`
 * holds one line `SHA256:AB:…` (openssl x509 -noout -fingerprint -sha256). Read here, before the schema checks the
 * value, so everything past this point sees the pinned fingerprint itself.
 */
function pinsFromFiles(raw: unknown, source: string, baseDir: string): unknown {
  const vaults = (raw as { vaults?: unknown } | null)?.vaults;
  if (!Array.isArray(vaults)) return raw;
  const copy = structuredClone(raw) as { vaults: Array<Record<string, any>> };
  copy.vaults.forEach((v, i) => {
    const places: Array<[string, Record<string, any> | undefined]> = [
      [`vaults[${i}].source.dd.rest`, v?.source?.dd?.rest],
      [`vaults[${i}].vault.dd.rest`, v?.vault?.dd?.rest],
      [`vaults[${i}].backup`, v?.backup],
    ];
    for (const [field, h] of places) {
      const pin = h?.tls?.fingerprint;
      if (!pin || typeof pin !== 'object' || typeof pin.file !== 'string') continue;
      const file = isAbsolute(pin.file) ? pin.file : resolve(baseDir, pin.file);
      try {
        h!.tls.fingerprint = readFileSync(file, 'utf8').trim().split('\n')[0].replace(/^sha256 Fingerprint=/i, 'SHA256:');
      } catch (err) {
        throw new ConfigError(`${source} is not a valid vault configuration:\n  ${field}.tls.fingerprint.file: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); write the appliance certificate's fingerprint there (openssl x509 -noout -fingerprint -sha256 -in cert.pem) or give it inline`);
      }
    }
  });
  return copy;
}

/** Parses a config object; relative paths are taken relative to `baseDir` (the config file's folder). */
export function parseConfig(raw: unknown, source: string, baseDir: string): Config {
  const result = configSchema.safeParse(pinsFromFiles(raw, source, baseDir));
  if (!result.success) {
    const lines = result.error.issues.map((i) => `  ${formatPath(i.path) || '(top level)'}: ${i.message}`);
    throw new ConfigError(`${source} is not a valid vault configuration:\n${lines.join('\n')}`);
  }
  const config = result.data;
  const seen = new Set<string>();
  for (const [i, v] of config.vaults.entries()) {
    if (seen.has(v.id)) throw new ConfigError(`${source} is not a valid vault configuration:\n  vaults[${i}].id: "${v.id}" is used twice; vault ids must be unique`);
    seen.add(v.id);
    const drillProblems = checkDrillConfig(v, `vaults[${i}]`);
    if (drillProblems.length) throw new ConfigError(`${source} is not a valid vault configuration:\n${drillProblems.map((p) => `  ${p}`).join('\n')}`);
  }
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(baseDir, p));
  config.evidenceDir = abs(config.evidenceDir);
  for (const v of config.vaults) {
    v.source.mountPath = abs(v.source.mountPath);
    v.vault.replicaMountPath = abs(v.vault.replicaMountPath);
    v.vault.copiesMountPath = abs(v.vault.copiesMountPath);
    for (const ep of [v.switch, v.source.dd, v.vault.dd]) {
      if (!ep) continue;
      if ('knownHostsFile' in ep.hostKey) ep.hostKey.knownHostsFile = abs(ep.hostKey.knownHostsFile);
      if ('file' in ep.password) ep.password.file = abs(ep.password.file);
    }
    if (v.switch?.enableSecret && 'file' in v.switch.enableSecret) v.switch.enableSecret.file = abs(v.switch.enableSecret.file);
    absoluteDrillPaths(v, abs);
    for (const h of [v.source.dd.rest, v.vault.dd.rest, v.backup]) {
      if (!h) continue;
      h.tls.caFile = abs(h.tls.caFile);
      if (h.password && 'file' in h.password) h.password.file = abs(h.password.file);
    }
  }
  const tls = config.temporal?.tls;
  if (tls) for (const k of ['caFile', 'certFile', 'keyFile'] as const) if (tls[k]) tls[k] = abs(tls[k]);
  for (const k of config.temporal?.encryption?.keys ?? []) k.file = abs(k.file);
  if (config.temporal?.apiKeyFile) config.temporal.apiKeyFile = abs(config.temporal.apiKeyFile);
  const worker = config.temporal?.worker;
  if (worker) for (const k of ['certFile', 'keyFile'] as const) worker[k] = abs(worker[k]);
  for (const [i, v] of config.vaults.entries()) {
    if (v.lock.method === 'rest' && !v.vault.dd.rest) {
      throw new ConfigError(`${source} is not a valid vault configuration:\n  vaults[${i}].lock.method: "rest" needs vaults[${i}].vault.dd.rest (url, tls) to reach the vault DD's REST API; add it or use method "atime"`);
    }
  }
  return config;
}

export function loadConfig(path = process.env.IR_CONFIG ?? DEFAULT_CONFIG): Config {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read the vault configuration ${path}: ${(err as Error).message}. Set IR_CONFIG to the config file.`);
  }
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    throw new ConfigError(`${path} is not valid YAML: ${(err as Error).message}`);
  }
  return parseConfig(raw, path, dirname(resolve(path)));
}

export function findVault(config: Config, vaultId: string): VaultConfig {
  const vault = config.vaults.find((v) => v.id === vaultId);
  if (!vault) {
    throw new ConfigError(`unknown vault "${vaultId}": configured vaults are ${config.vaults.map((v) => `"${v.id}"`).join(', ')}`);
  }
  return vault;
}

/**
 * Reads a secret or private-key file, refusing one that group or others may read: whoever can read it holds the
 * credential. The error names the file and the fix, never the content.
 */
export function readPrivateFile(file: string, what: string): string {
  let loose: number | undefined;
  try {
    loose = looseMode(file);
  } catch (err) {
    throw new ConfigError(`${what}: cannot read secret file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  if (loose !== undefined) {
    throw new ConfigError(`${what}: secret file ${file} is open to group or others (mode ${loose.toString(8)}); run \`chmod 600 ${file}\``);
  }
  return readFileSync(file, 'utf8');
}

/** A file's permission bits when group or others may open it, else undefined (the owner-only rule of every secret and key). */
export function looseMode(file: string): number | undefined {
  const mode = statSync(file).mode & 0o777;
  return mode & 0o077 ? mode : undefined;
}

/** Resolves a secret at run time (activities only); the error names the reference, never a value. */
export function resolveSecret(ref: SecretRef, what: string): string {
  if ('env' in ref) {
    const value = process.env[ref.env];
    if (!value) throw new ConfigError(`${what}: environment variable ${ref.env} is not set; export it on the worker`);
    return value;
  }
  try {
    return readPrivateFile(ref.file, what).replace(/\r?\n$/, '');
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(`${what}: cannot read secret file ${ref.file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}
