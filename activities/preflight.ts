/** PREFLIGHT: the run's policy fixed, config and devices checked, the gap's state at start read. */
import { existsSync } from 'node:fs';
import type { ActivityDeps } from './deps';
import { vaultAccess } from './deps';
import { gapIsOpen } from './link';
import { ConfigError } from '../config/load';
import { closeAfterValues, type CyclePolicy } from '../workflows/messages';

const policyKeys: (keyof CyclePolicy)[] = ['retentionSeconds', 'maxOpenSeconds', 'pollIntervalSeconds', 'stallSeconds', 'linkUpTimeoutSeconds', 'algorithm', 'closeAfter'];

/** Checks a policy override from a workflow input; the error names the field and the fix. */
export function checkPolicyOverride(input: unknown): Partial<CyclePolicy> {
  if (input === undefined || input === null) return {};
  if (typeof input !== 'object' || Array.isArray(input)) throw new ConfigError(`policy must be an object with any of ${policyKeys.join(', ')}`);
  const out: Partial<CyclePolicy> = {};
  for (const [key, value] of Object.entries(input)) {
    if (!policyKeys.includes(key as keyof CyclePolicy)) throw new ConfigError(`policy.${key} is not a policy field; use ${policyKeys.join(', ')}`);
    if (key === 'algorithm') {
      if (value !== 'sha256' && value !== 'blake3') throw new ConfigError(`policy.algorithm must be "sha256" or "blake3"`);
      out.algorithm = value;
    } else if (key === 'closeAfter') {
      if (!closeAfterValues.includes(value)) throw new ConfigError(`policy.closeAfter must be one of ${closeAfterValues.map((v) => `"${v}"`).join(', ')}, got ${JSON.stringify(value)}`);
      out.closeAfter = value;
    } else {
      if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) throw new ConfigError(`policy.${key} must be a positive number of seconds`);
      (out as Record<string, number>)[key] = value;
    }
  }
  return out;
}

export function preflightActivities(deps: ActivityDeps) {
  return {
    async preflight(vaultId: string, policyIn: unknown): Promise<{ policy: CyclePolicy; gapOpenAtStart: boolean; gapDetail: string }> {
      const access = vaultAccess(deps, vaultId);
      const p = access.vault.policy;
      const policy: CyclePolicy = {
        retentionSeconds: p.retention,
        maxOpenSeconds: p.maxOpen,
        pollIntervalSeconds: p.pollInterval,
        stallSeconds: p.stall,
        linkUpTimeoutSeconds: p.linkUpTimeout,
        algorithm: p.algorithm,
        closeAfter: p.closeAfter,
        ...checkPolicyOverride(policyIn),
      };
      for (const [field, path] of [
        ['source.mountPath', access.vault.source.mountPath],
        ['vault.copiesMountPath', access.vault.vault.copiesMountPath],
      ] as const) {
        if (!existsSync(path)) throw new ConfigError(`vault ${vaultId}: ${field} ${path} does not exist; mount the MTree there or fix the path`);
      }
      const rl = await access.withVaultDd((dd) => dd.retentionLockStatus(access.vault.vault.copiesMtree));
      if (!rl.enabled) {
        throw new ConfigError(`vault ${vaultId}: retention lock is not enabled on ${access.vault.vault.copiesMtree}; enable it (mtree retention-lock enable) before running cycles`);
      }
      const gap = await gapIsOpen(deps, vaultId);
      return { policy, gapOpenAtStart: gap.open, gapDetail: gap.detail };
    },
  };
}
