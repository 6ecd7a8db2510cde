/**
 * The drill's activities: plan (pick a good copy, read the business impact analysis), restore an application
 * into the sandbox (through the storage, `filesys fastcopy`, or a file copy), verify every restored file
 * against the copy's manifest, run its checks, clean the sandbox, record the evidence. None of them touches
 * the switch or replication: a drill never opens the gap.
 */
import { existsSync } from 'node:fs';
import { cp, mkdir, readFile, rm } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import { Context } from '@temporalio/activity';
import type { ApplicationConfig, DrillConfig } from '../config/drill';
import { ConfigError } from '../config/load';
import type { VaultConfig } from '../config/schema';
import type { DrillPlan, DrillRequest, DrillResult } from '../workflows/drill-messages';
import { readCatalog } from './catalog';
import type { ActivityDeps } from './deps';
import { vaultAccess } from './deps';
import { pickCopy } from './drill-copies';
import { runCheck } from './drill-checks';
import { drillDir, writeDrillEvidence } from './drill-report';
import { cycleMetrics } from './metrics';
import { buildManifest } from './hashing';
import { readGnuManifestEntries } from './hashing/manifest';

/** A copy that may not be drilled (suspect, rejected, unlocked, expired) or no copy at all: not retried. */
// Temporal takes the failure type from the class name: the workflow matches 'DrillRefused'.
export class DrillRefused extends Error {
  override name = 'DrillRefused';
  readonly retryable = false;
}

const DRILL_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,80}$/;

function drillSetup(deps: ActivityDeps, vaultId: string): { vault: VaultConfig; drill: DrillConfig; evidenceDir: string } {
  const { vault, evidenceDir } = vaultAccess(deps, vaultId);
  if (!vault.drill) throw new ConfigError(`vault ${vaultId} has no drill: section; add drill.sandbox (config/drill.ts)`);
  return { vault, drill: vault.drill, evidenceDir };
}

function app(vault: VaultConfig, name: string): ApplicationConfig {
  const a = vault.applications.find((x) => x.name === name);
  if (!a) throw new ConfigError(`vault ${vault.id} has no application "${name}"; configured: ${vault.applications.map((x) => x.name).join(', ') || 'none'}`);
  return a;
}

/** The sandbox folder of one drill, as the worker sees it; never one of the vault's data areas. */
function sandboxDir(vault: VaultConfig, drill: DrillConfig, drillId: string): string {
  if (!DRILL_ID.test(drillId)) throw new ConfigError(`drill id ${JSON.stringify(drillId)} is not a safe folder name`);
  const root = resolve(drill.sandbox.method === 'fastcopy' ? drill.sandbox.mountPath : drill.sandbox.dir);
  for (const guarded of [vault.vault.copiesMountPath, vault.vault.replicaMountPath, vault.source.mountPath].map((p) => resolve(p))) {
    if (root === guarded || root.startsWith(guarded + sep) || guarded.startsWith(root + sep)) {
      throw new ConfigError(`vault ${vault.id}: drill sandbox ${root} overlaps ${guarded}; the sandbox must be a folder of its own`);
    }
  }
  return join(root, drillId);
}

async function syncPointOf(reportPath: string | undefined, fallback: string): Promise<{ at: string; source: string }> {
  try {
    const report = JSON.parse(await readFile(reportPath ?? '', 'utf8')) as { replication?: { syncPoint?: string; syncedAsOf?: string } };
    const at = report.replication?.syncPoint ?? report.replication?.syncedAsOf;
    if (at && !Number.isNaN(Date.parse(at))) return { at, source: report.replication?.syncPoint ? 'replication sync point' : 'synced-as-of time' };
  } catch {
    // an older or missing report: fall back below
  }
  return { at: fallback, source: 'copy recorded (no sync point in the report)' };
}

export function drillActivities(deps: ActivityDeps) {
  return {
    async planDrill(vaultId: string, request: DrillRequest): Promise<DrillPlan> {
      const { vault, drill, evidenceDir } = drillSetup(deps, vaultId);
      const wanted = request.applications?.length ? request.applications : vault.applications.map((a) => a.name);
      if (!wanted.length) throw new ConfigError(`vault ${vaultId} declares no applications: add applications: with paths and checks`);
      const apps = wanted.map((n) => app(vault, n));
      const picked = pickCopy(await readCatalog(evidenceDir, vaultId), request.copyId, new Date());
      if ('refused' in picked) throw new DrillRefused(`drill refused on vault ${vaultId}: ${picked.refused}`);
      const e = picked.entry;
      const copyDir = join(vault.vault.copiesMountPath, e.copyId);
      if (!existsSync(copyDir)) throw new DrillRefused(`drill refused on vault ${vaultId}: copy ${e.copyId} is not at ${copyDir}`);
      const sync = await syncPointOf(e.report, e.recordedAt);
      return {
        copyId: e.copyId,
        copyMtreePath: e.copy?.mtreePath ?? `${vault.vault.copiesMtree}/${e.copyId}`,
        syncPoint: sync.at,
        syncPointSource: sync.source,
        manifest: { path: e.validation!.copy.path, algorithm: e.validation!.copy.algorithm, files: e.validation!.copy.files },
        sandbox: resolve(sandboxDir(vault, drill, 'plan'), '..'),
        method: drill.sandbox.method,
        cycleEverySeconds: drill.cycleEvery,
        apps: apps.map((a) => ({ name: a.name, tier: a.tier, rtoSeconds: a.rto, rpoSeconds: a.rpo, paths: a.paths, checks: a.checks.map((c) => ({ name: c.name, kind: c.kind })) })),
      };
    },

    /** Restores one application's paths of the copy into the drill's sandbox folder. */
    async restoreApp(vaultId: string, drillId: string, plan: DrillPlan, appName: string): Promise<{ seconds: number; files: number | null }> {
      const { vault, drill } = drillSetup(deps, vaultId);
      const a = app(vault, appName);
      const target = sandboxDir(vault, drill, drillId);
      const started = Date.now();
      let files: number | null = 0;
      if (drill.sandbox.method === 'fastcopy') {
        const sandboxMtree = drill.sandbox.mtree;
        await vaultAccess(deps, vaultId).withVaultDd(async (dd) => {
          for (const p of a.paths) {
            if (existsSync(join(target, p))) continue; // a retry after the storage finished this path
            const r = await dd.fastcopy(`${plan.copyMtreePath}/${p}`, `${sandboxMtree}/${drillId}/${p}`);
            files = files === null || r.files === null ? null : files + r.files;
            Context.current().heartbeat({ restored: p });
          }
        });
      } else {
        for (const p of a.paths) {
          await mkdir(join(target, p, '..'), { recursive: true });
          await cp(join(vault.vault.copiesMountPath, plan.copyId, p), join(target, p), { recursive: true, force: true, preserveTimestamps: true });
          Context.current().heartbeat({ restored: p });
        }
        files = null;
      }
      return { seconds: (Date.now() - started) / 1000, files };
    },

    /** Hashes every restored file and compares it with the copy's manifest (the application's paths, exactly). */
    async verifyApp(vaultId: string, drillId: string, plan: DrillPlan, appName: string): Promise<{ ok: boolean; seconds: number; files: number; bytes: number; problems: string[] }> {
      const ctx = Context.current();
      const { vault, drill } = drillSetup(deps, vaultId);
      const a = app(vault, appName);
      const target = sandboxDir(vault, drill, drillId);
      const started = Date.now();
      const under = (p: string) => a.paths.some((root) => p === root || p.startsWith(root + '/'));
      const expected = new Map((await readGnuManifestEntries(plan.manifest.path)).filter((e) => under(e.path)).map((e) => [e.path, e.digest]));
      // The restored tree's manifest is evidence of the drill, kept beside its report.
      const evidence = drillDir(deps.config.evidenceDir, vaultId, drillId);
      await mkdir(evidence, { recursive: true });
      const out = join(evidence, `restored-${appName}.${plan.manifest.algorithm}sums`);
      const info = await buildManifest(target, out, {
        algorithm: plan.manifest.algorithm as 'sha256' | 'blake3',
        exclude: (rel) => !under(rel) && !a.paths.some((root) => root.startsWith(rel + '/')),
        onProgress: (p) => ctx.heartbeat({ progress: p }),
        signal: ctx.cancellationSignal,
      });
      const actual = new Map((await readGnuManifestEntries(info.manifestPath)).map((e) => [e.path, e.digest]));
      const problems: string[] = [];
      for (const [p, digest] of expected) {
        const got = actual.get(p);
        if (got === undefined) problems.push(`missing: ${p}`);
        else if (got !== digest) problems.push(`content differs: ${p} (${digest.slice(0, 16)}… → ${got.slice(0, 16)}…)`);
      }
      for (const p of actual.keys()) if (!expected.has(p)) problems.push(`not in the copy: ${p}`);
      if (!expected.size) problems.push(`the copy's manifest lists no file under ${a.paths.join(', ')}`);
      return { ok: problems.length === 0, seconds: (Date.now() - started) / 1000, files: actual.size, bytes: info.bytes, problems: problems.slice(0, 200) };
    },

    async runAppCheck(vaultId: string, drillId: string, appName: string, index: number): Promise<{ ok: boolean; seconds: number; message: string; output: string }> {
      const ctx = Context.current();
      const { vault, drill } = drillSetup(deps, vaultId);
      const a = app(vault, appName);
      const check = a.checks[index];
      if (!check) throw new ConfigError(`application ${appName} has no check #${index}`);
      const sandbox = sandboxDir(vault, drill, drillId);
      const started = Date.now();
      const beat = setInterval(() => ctx.heartbeat({ check: check.name }), 1000);
      try {
        const r = await runCheck(check, { sandbox, appDir: join(sandbox, a.paths[0]), recoveryHost: drill.recoveryHost, signal: ctx.cancellationSignal, heartbeat: (d) => ctx.heartbeat(d) });
        return { ok: r.ok, seconds: (Date.now() - started) / 1000, message: r.message, output: r.transcript };
      } catch (err) {
        if (ctx.cancellationSignal.aborted) throw err;
        return { ok: false, seconds: (Date.now() - started) / 1000, message: (err as Error).message, output: (err as Error).message };
      } finally {
        clearInterval(beat);
      }
    },

    /** Removes the drill's sandbox folder (and only it), then checks it is gone. */
    async cleanSandbox(vaultId: string, drillId: string): Promise<{ path: string; cleanedAt: string }> {
      const { vault, drill } = drillSetup(deps, vaultId);
      const dir = sandboxDir(vault, drill, drillId);
      const root = resolve(dir, '..');
      if (relative(root, dir) !== drillId) throw new ConfigError(`refusing to remove ${dir}: not a drill folder of ${root}`);
      await rm(dir, { recursive: true, force: true });
      if (existsSync(dir)) throw new Error(`sandbox ${dir} still exists after removal`);
      return { path: dir, cleanedAt: new Date().toISOString() };
    },

    async recordDrill(result: DrillResult): Promise<{ json: string; markdown: string; junit: string }> {
      const paths = await writeDrillEvidence(deps.config.evidenceDir, result);
      cycleMetrics().drillRecorded(result);
      if (result.outcome !== 'passed') {
        await deps.alert({ severity: result.outcome === 'objectives-missed' ? 'warning' : 'critical', vaultId: result.vaultId, summary: `drill ${result.drillId} of vault ${result.vaultId}: ${result.outcome}${result.error ? `: ${result.error}` : ''}`, detail: paths.json });
      }
      return paths;
    },
  };
}
