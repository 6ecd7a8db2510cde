/**
 * What activities are built around: the configuration, the device drivers and the alert sink. The worker
 * passes the real drivers; tests pass the same drivers pointed at the lab (no mocks of devices).
 */
import type { Config, VaultConfig } from '../config/schema';
import { findVault, resolveSecret } from '../config/load';
import type { SshTarget } from './drivers/ssh';
import type { SwitchSession, SwitchTarget } from './drivers/switch';
import type { DataDomainCli } from './drivers/datadomain/cli';
import { withConfigHint, type EndpointFields } from './drivers/config-hints';
import { ConfigError } from '../config/load';

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
}

export interface VaultAccess {
  vault: VaultConfig;
  evidenceDir: string;
  withSwitch<T>(fn: (sw: SwitchSession) => Promise<T>): Promise<T>;
  withVaultDd<T>(fn: (dd: DataDomainCli) => Promise<T>): Promise<T>;
  withSourceDd<T>(fn: (dd: DataDomainCli) => Promise<T>): Promise<T>;
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
  return {
    vault,
    evidenceDir: deps.config.evidenceDir,
    withSwitch: (fn) => using(() => deps.openSwitch(switchTarget()), fn, switchFields),
    withVaultDd: (fn) => using(() => deps.openDataDomain(ddTarget('vault')), fn, ddFields('vault')),
    withSourceDd: (fn) => using(() => deps.openDataDomain(ddTarget('source')), fn, ddFields('source')),
  };
}
