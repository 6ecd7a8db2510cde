/**
 * Worker Deployment versioning. Every worker registers a version of the `isolated-recovery` deployment whose build
 * id is the package version plus a digest of the workflow code it runs, so two workers run the same workflow code
 * exactly when they share a version. Cycles, drills and scrubs are PINNED: they finish on the version that started
 * them, and a changed workflow can never replay an older cycle's history (no patches). The sentinel is
 * AUTO_UPGRADE: it moves to each new current version (workflows/sentinel.ts).
 *
 * Upgrade (README "Upgrading"): start the new version's worker beside the old one; it becomes the deployment's
 * current version (IR_PROMOTE, default `always`), so new starts go to it while cycles already running finish on the
 * old worker; stop the old worker once `irctl`/`temporal workflow list` shows none of its runs left.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { toCanonicalString, type WorkerDeploymentVersion } from '@temporalio/common';

export const DEPLOYMENT_NAME = 'isolated-recovery';

/** When a starting worker makes its version the deployment's current one. */
export type PromotePolicy = 'always' | 'if-none' | 'never';
export const PROMOTE_POLICIES: readonly PromotePolicy[] = ['always', 'if-none', 'never'];

const root = join(__dirname, '..');

/** Digest of what decides a workflow's commands: the workflow sources and the workflow SDK's version. */
export function workflowCodeDigest(dir = join(root, 'workflows')): string {
  const hash = createHash('sha256');
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.ts')).sort()) {
    hash.update(file).update('\0').update(readFileSync(join(dir, file))).update('\0');
  }
  hash.update(JSON.parse(readFileSync(require.resolve('@temporalio/workflow/package.json'), 'utf8')).version);
  return hash.digest('hex').slice(0, 12);
}

export function packageVersion(): string {
  return JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version;
}

/** This worker's version: IR_BUILD_ID overrides the derived build id (a release pipeline may set its own). */
export function deploymentVersion(env: NodeJS.ProcessEnv = process.env): WorkerDeploymentVersion {
  const buildId = env.IR_BUILD_ID?.trim() || `${packageVersion()}-${workflowCodeDigest()}`;
  if (!/^[A-Za-z0-9][A-Za-z0-9._+-]{0,254}$/.test(buildId)) {
    throw new Error(`IR_BUILD_ID "${buildId}" is not a build id: use letters, digits and . _ + - (e.g. 0.2.0-hotfix1)`);
  }
  return { deploymentName: env.IR_DEPLOYMENT_NAME?.trim() || DEPLOYMENT_NAME, buildId };
}

export function promotePolicy(env: NodeJS.ProcessEnv = process.env): PromotePolicy {
  const p = (env.IR_PROMOTE ?? 'always').trim() as PromotePolicy;
  if (!PROMOTE_POLICIES.includes(p)) throw new Error(`IR_PROMOTE=${env.IR_PROMOTE} is not one of ${PROMOTE_POLICIES.join(', ')}`);
  return p;
}

/** The deployment's current version, or undefined (none yet, or the deployment does not exist). */
export async function currentVersion(client: Client, deploymentName = DEPLOYMENT_NAME): Promise<WorkerDeploymentVersion | undefined> {
  try {
    const r = await client.workflowService.describeWorkerDeployment({ namespace: client.options.namespace, deploymentName });
    const cur = r.workerDeploymentInfo?.routingConfig?.currentDeploymentVersion;
    return cur?.buildId ? { deploymentName: cur.deploymentName ?? deploymentName, buildId: cur.buildId } : undefined;
  } catch (err) {
    if ((err as { code?: number }).code === 5) return undefined; // NOT_FOUND: no worker of it has polled yet
    throw err;
  }
}

/**
 * Makes `version` current once its pollers are known to the server (they are, seconds after the worker starts
 * polling). Returns what it did, for the worker's log.
 */
export async function promote(
  client: Client,
  version: WorkerDeploymentVersion,
  policy: PromotePolicy,
  opts: { timeoutMs?: number; allowNoPollers?: boolean } = {},
): Promise<string> {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const name = toCanonicalString(version);
  if (policy === 'never') return `${name} registered; not promoted (IR_PROMOTE=never): promote it with \`temporal worker deployment set-current-version\``;
  const current = await currentVersion(client, version.deploymentName);
  if (current?.buildId === version.buildId) return `${name} is the current version`;
  if (current && policy === 'if-none') return `${name} registered; ${toCanonicalString(current)} stays current (IR_PROMOTE=if-none)`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await client.workflowService.setWorkerDeploymentCurrentVersion({
        namespace: client.options.namespace,
        deploymentName: version.deploymentName,
        buildId: version.buildId,
        identity: `isolated-recovery worker ${name}`,
        // Only for a server's first setup (tests): promote before any worker of the version polls.
        allowNoPollers: opts.allowNoPollers ?? false,
      });
      return `${name} is now the current version${current ? ` (was ${toCanonicalString(current)}: its running cycles finish there)` : ''}`;
    } catch (err) {
      // Until the server has seen this version's pollers it refuses: retry briefly.
      if (Date.now() > deadline) throw new Error(`could not make ${name} the current version of deployment ${version.deploymentName}: ${(err as Error).message}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}
