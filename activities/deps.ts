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
  /** `keepMs`: how long the session stays parked for the next activity (default a few seconds). */
  withSwitch<T>(fn: (sw: SwitchSession) => Promise<T>, opts?: { keepMs?: number }): Promise<T>;
  withVaultDd<T>(fn: (dd: DataDomainCli) => Promise<T>, opts?: { keepMs?: number }): Promise<T>;
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
  const pool = poolOf(deps);
  // Sessions from the pool (issue 6); errors carry the config hint (the field to fix) either way.
  const using = <S extends Closable, T>(key: string, open: () => Promise<S>, fn: (s: S) => Promise<T>, fields: EndpointFields, keepMs?: number) =>
    pool.using(
      `${vaultId}/${key}`,
      () => open().catch((err: unknown) => Promise.reject(withConfigHint(err, fields))),
      (session: S) => fn(session).catch((err: unknown) => Promise.reject(withConfigHint(err, fields))),
      keepMs,
    );
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
    withSwitch: (fn, opts) => using('switch', () => deps.openSwitch(switchTarget()), fn, switchFields, opts?.keepMs),
    withVaultDd: (fn, opts) => using('vault-dd', () => deps.openDataDomain(ddTarget('vault')), fn, ddFields('vault'), opts?.keepMs),
    withSourceDd: (fn) => using('source-dd', () => deps.openDataDomain(ddTarget('source')), fn, ddFields('source')),
  };
}

/**
 * Device sessions kept for a few seconds between activities of one worker: one cycle's PREFLIGHT, OPEN,
 * REPLICATE, CONVERGE and CLOSE then log in to each device about once instead of once per activity, which
 * was most of the orchestration overhead inside the exposure window (an SSH login is 0.1–0.5 s). A session is
 * used by one caller at a time, closed after an error (its state is unknown) and after IDLE_MS (3 s) unused, so a
 * device's idle timeout or a rotated password costs at most one failed attempt, which the activity retries.
 * openLink parks the link's session for the gap instead (`keepMs`, at most a minute): with many vaults at once a
 * fresh login at CLOSE cost 0.2–0.5 s of the window.
 */
// Short: enough to bridge one activity to the next, not to leave sessions behind a finished cycle.
const IDLE_MS = 3_000;

interface Closable {
  close(): Promise<void> | void;
}

class SessionPool {
  private idle = new Map<string, Array<{ session: Closable; timer: NodeJS.Timeout }>>();

  async using<S extends Closable, T>(key: string, open: () => Promise<S>, fn: (s: S) => Promise<T>, idleMs = IDLE_MS): Promise<T> {
    const parked = this.idle.get(key)?.pop();
    if (parked) clearTimeout(parked.timer);
    const session = (parked?.session as S | undefined) ?? (await open());
    let result: T;
    try {
      result = await fn(session);
    } catch (err) {
      await Promise.resolve(session.close()).catch(() => undefined);
      throw err;
    }
    const list = this.idle.get(key) ?? [];
    const entry = {
      session,
      timer: setTimeout(() => {
        const l = this.idle.get(key) ?? [];
        const i = l.indexOf(entry);
        if (i >= 0) l.splice(i, 1);
        void Promise.resolve(session.close()).catch(() => undefined);
      }, idleMs),
    };
    entry.timer.unref();
    list.push(entry);
    this.idle.set(key, list);
    return result;
  }
}

const pools = new WeakMap<ActivityDeps, SessionPool>();
function poolOf(deps: ActivityDeps): SessionPool {
  let p = pools.get(deps);
  if (!p) pools.set(deps, (p = new SessionPool()));
  return p;
}
