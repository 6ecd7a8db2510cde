/** PREFLIGHT: the run's policy fixed, config and devices checked, the gap's state at start read. */
import { existsSync } from 'node:fs';
import type { ActivityDeps } from './deps';
import { vaultAccess } from './deps';
import { gapIsOpen } from './link';
import { ConfigError } from '../config/load';
import { approvalSchema, closeAfterValues, operatorsForVault, type ApprovalInput, type ApprovalPolicy } from '../config/schema';
import type { CyclePolicy } from '../workflows/cycle-messages';

const policyKeys: (keyof CyclePolicy)[] = ['retentionSeconds', 'maxOpenSeconds', 'pollIntervalSeconds', 'stallSeconds', 'linkUpTimeoutSeconds', 'algorithm', 'approval', 'closeAfter'];

export type PolicyOverride = Partial<Omit<CyclePolicy, 'approval'>> & { approval?: ApprovalInput };

/** Checks a policy override from a workflow input; the error names the field and the fix. */
export function checkPolicyOverride(input: unknown): PolicyOverride {
  if (input === undefined || input === null) return {};
  if (typeof input !== 'object' || Array.isArray(input)) throw new ConfigError(`policy must be an object with any of ${policyKeys.join(', ')}`);
  const out: PolicyOverride = {};
  for (const [key, value] of Object.entries(input)) {
    if (key === 'operators') throw new ConfigError('policy.operators: operators and their keys come from the configuration only (operators:), never from a run');
    if (!policyKeys.includes(key as keyof CyclePolicy)) throw new ConfigError(`policy.${key} is not a policy field; use ${policyKeys.join(', ')}`);
    if (key === 'approval') {
      // The config file's schema: the fields given override the vault's, the rest stay as configured.
      const checked = approvalSchema.safeParse(value);
      if (!checked.success) {
        const issue = checked.error.issues[0];
        throw new ConfigError(`policy.approval${issue.path.map((p) => `.${String(p)}`).join('')}: ${issue.message}`);
      }
      out.approval = value as ApprovalInput;
    } else if (key === 'algorithm') {
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
      const { approval: approvalOverride, ...override } = checkPolicyOverride(policyIn);
      const policy: CyclePolicy = {
        retentionSeconds: p.retention,
        maxOpenSeconds: p.maxOpen,
        pollIntervalSeconds: p.pollInterval,
        stallSeconds: p.stall,
        linkUpTimeoutSeconds: p.linkUpTimeout,
        algorithm: p.algorithm,
        closeAfter: p.closeAfter,
        ...override,
        approval: mergeApproval(p.approval, approvalOverride),
      };
      // Public keys and roles, not secrets: the workflow verifies decision signatures against them.
      const operators = operatorsForVault(deps.config.operators, vaultId);
      if (operators) policy.operators = operators;
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
      // The production DD answers before the gap opens (a cycle that could not take its snapshot would open the
      // gap for nothing); its clock, read here on a session the pool keeps, dates the sync point in OPEN.
      await access.withSourceDd((dd) => dd.now());
      const gap = await gapIsOpen(deps, vaultId);
      return { policy, gapOpenAtStart: gap.open, gapDetail: gap.detail };
    },
  };
}

/**
 * The vault's approval rule with a run's override on top. Whoever starts a cycle may make the rule stricter, never
 * looser: approvers are the vault's, and `when`, `quorum`, `beforeOpen` and `onTimeout` can only move towards
 * asking more people, more often, with silence meaning "no".
 */
function mergeApproval(configured: ApprovalPolicy, override: ApprovalInput | undefined): ApprovalPolicy {
  if (!override) return configured;
  const refuse = (field: string, why: string): never => {
    throw new ConfigError(`policy.approval.${field}: ${why}; a run may make the vault's approval rule stricter, not looser (change the vault configuration instead)`);
  };
  if (override.approvers !== undefined) refuse('approvers', 'approvers come from the vault configuration only');
  const merged = approvalSchema.safeParse({ ...configured, ...override });
  if (!merged.success) throw new ConfigError(`policy.approval: ${merged.error.issues.map((i) => i.message).join('; ')}`);
  const m = merged.data;
  const rank = { never: 0, suspect: 1, always: 2 } as const;
  if (rank[m.when] < rank[configured.when]) refuse('when', `"${m.when}" asks less often than the vault's "${configured.when}"`);
  if (m.quorum < configured.quorum) refuse('quorum', `${m.quorum} is below the vault's ${configured.quorum}`);
  if (configured.beforeOpen && !m.beforeOpen) refuse('beforeOpen', 'the vault asks before the gap opens');
  if (configured.onTimeout === 'reject' && m.onTimeout === 'approve') refuse('onTimeout', 'the vault rejects when nobody decides');
  if (m.onTimeout === 'approve' && m.timeout < configured.timeout) refuse('timeout', 'a shorter timeout would approve sooner by default');
  if (m.unsignedAbort && !configured.unsignedAbort) refuse('unsignedAbort', 'the vault wants aborts signed');
  if (m.signatureMaxAge > configured.signatureMaxAge) refuse('signatureMaxAge', `${m.signatureMaxAge}s is longer than the vault's ${configured.signatureMaxAge}s`);
  return m;
}
