/** The vault configuration as irctl sees it: loaded once per command, bad input turned into usage errors. */
import { ConfigError, findVault, loadConfig } from '../config/load';
import type { Config, VaultConfig } from '../config/schema';
import { UsageError, type CommandContext } from './cli';

export function configOf(ctx: Pick<CommandContext, 'configPath'>): Config {
  try {
    return loadConfig(ctx.configPath);
  } catch (err) {
    if (err instanceof ConfigError) throw new UsageError(err.message);
    throw err;
  }
}

/** The one VAULT positional a command takes, checked against the configuration before anything is sent. */
export function vaultArg(positionals: string[], ctx: Pick<CommandContext, 'configPath'>, config = configOf(ctx)): VaultConfig {
  if (positionals.length === 0) throw new UsageError(`missing VAULT; configured vaults: ${config.vaults.map((v) => v.id).join(', ')}`);
  if (positionals.length > 1) throw new UsageError(`unexpected argument '${positionals[1]}'`);
  try {
    return findVault(config, positionals[0]);
  } catch (err) {
    throw new UsageError(`${(err as Error).message} (see ${ctx.configPath ?? 'config/lab.yaml'}, or pass --config FILE)`);
  }
}

/** 90 → "1m30s", 43200 → "12h": the way durations are written in the config. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return String(seconds);
  if (seconds < 1 && seconds > 0) return `${Math.round(seconds * 1000)}ms`;
  let rest = Math.round(seconds);
  if (rest === 0) return '0s';
  const parts: string[] = [];
  for (const [unit, size] of [['d', 86400], ['h', 3600], ['m', 60], ['s', 1]] as const) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  return parts.join('');
}
