/**
 * What activities are built around: the configuration, the device drivers and the alert sink. The worker
 * passes the real drivers; tests pass the same drivers pointed at the lab (no mocks of devices).
 */
import type { Config, VaultConfig } from '../config/schema';
import { ConfigError, findVault, resolveSecret } from '../config/load';
import type { SshTarget } from './drivers/ssh';
import type { SwitchSession, SwitchTarget } from './drivers/switch';
import type { DataDomainCli } from './drivers/datadomain/cli';
import { openDataDomainRest, type DataDomainRest } from './drivers/datadomain/rest';
import { openHttps, type OpenHttps } from './drivers/https';
import { withConfigHint, type EndpointFields } from './drivers/config-hints';

export interface Alert {
  severity: 'critical' | 'warning' | 'info';
  vaultId: string;
  summary: string;
  detail?: string;
}

export interface ActivityDeps {
  config: Config;
  openSwitch(target: SwitchTarget): Promise<SwitchSession>;
  openDataDomain(target: SshTarget & { label?: string }): Promise<DataDomainCli>;
  alert(alert: Alert): Promise<void>;
  /** HTTPS sessions for the REST drivers (DD REST, backup software); the pinned got client by default. */
  openHttps?: OpenHttps;
}

export interface VaultAccess {
  vault: VaultConfig;
  evidenceDir: string;
  withSwitch<T>(fn: (sw: SwitchSession) => Promise<T>): Promise<T>;
  withVaultDd<T>(fn: (dd: DataDomainCli) => Promise<T>): Promise<T>;
  withSourceDd<T>(fn: (dd: DataDomainCli) => Promise<T>): Promise<T>;
  /** The vault DD's REST API (vault.dd.rest); logs out and closes its connections afterwards. */
  withVaultDdRest<T>(fn: (dd: DataDomainRest) => Promise<T>): Promise<T>;
  /** `vaults[i]`, for errors that name the config field to fix. */
  field: string;
}

/** Resolves a vault and its device sessions; secrets are read here, at run time, and never returned. */
export function vaultAccess(deps: ActivityDeps, vaultId: string): VaultAccess {
  const vault = findVault(deps.config, vaultId);
  const index = deps.config.vaults.indexOf(vault);
  const sw = vault.switch;
  const switchFields: EndpointFields = { path: `vaults[${index}].switch`, password: sw?.password, enableSecret: sw?.enableSecret };
  const switchTarget = (): SwitchTarget => {
    if (!sw) throw new ConfigError(`vault ${vaultId} has no switch section (vaults[${index}].switch) but something asked for its switch`);
    return {
    host: sw.host,
    port: sw.port,
    username: sw.username,
    password: resolveSecret(sw.password, `vault ${vaultId} switch password`),
    enableSecret: sw.enableSecret ? resolveSecret(sw.enableSecret, `vault ${vaultId} switch enable secret`) : undefined,
    hostKey: sw.hostKey,
    platform: sw.platform,
    };
  };
  const ddTarget = (side: 'source' | 'vault') => {
    const dd = side === 'source' ? vault.source.dd : vault.vault.dd;
    return {
      host: dd.host,
      port: dd.port,
      username: dd.username,
      password: resolveSecret(dd.password, `vault ${vaultId} ${side} Data Domain password`),
      hostKey: dd.hostKey,
      label: dd.label ?? `${side}-dd`,
    };
  };
  const ddFields = (side: 'source' | 'vault'): EndpointFields => {
    const dd = side === 'source' ? vault.source.dd : vault.vault.dd;
    return { path: `vaults[${index}].${side}.dd`, password: dd.password };
  };
  const using = async <S extends { close(): Promise<void> | void }, T>(open: () => Promise<S>, fn: (s: S) => Promise<T>, fields: EndpointFields) => {
    let session: S;
    try {
      session = await open();
    } catch (err) {
      throw withConfigHint(err, fields);
    }
    try {
      return await fn(session);
    } catch (err) {
      throw withConfigHint(err, fields);
    } finally {
      await Promise.resolve(session.close()).catch(() => undefined);
    }
  };
  const field = `vaults[${deps.config.vaults.indexOf(vault)}]`;
  const ddRest = () => {
    const dd = vault.vault.dd;
    const rest = dd.rest;
    if (!rest) throw new ConfigError(`vault ${vaultId}: ${field}.vault.dd.rest is not configured (url, tls); the REST lock method needs it`);
    const passwordRef = rest.password ?? dd.password;
    const passwordField = rest.password ? `${field}.vault.dd.rest.password` : `${field}.vault.dd.password`;
    const device = `${dd.label ?? 'vault-dd'} REST`;
    return openDataDomainRest(deps.openHttps ?? openHttps, {
      baseUrl: rest.url,
      tls: rest.tls,
      tlsField: `${field}.vault.dd.rest.tls`,
      device,
      timeoutMs: rest.timeout * 1000,
      username: rest.username ?? dd.username,
      password: resolveSecret(passwordRef, `vault ${vaultId} vault Data Domain REST password (${passwordField})`),
      credential: { field: passwordField, ref: passwordRef, username: rest.username ?? dd.username, usernameField: rest.username ? `${field}.vault.dd.rest.username` : `${field}.vault.dd.username` },
    });
  };
  return {
    vault,
    field,
    // REST errors already name their own fields (url, tls, password): no SSH-style hint appended.
    withVaultDdRest: async (fn) => {
      const rest = ddRest();
      try {
        return await fn(rest);
      } finally {
        await rest.close().catch(() => undefined);
      }
    },
    evidenceDir: deps.config.evidenceDir,
    withSwitch: (fn) => using(() => deps.openSwitch(switchTarget()), fn, switchFields),
    withVaultDd: (fn) => using(() => deps.openDataDomain(ddTarget('vault')), fn, ddFields('vault')),
    withSourceDd: (fn) => using(() => deps.openDataDomain(ddTarget('source')), fn, ddFields('source')),
  };
}
