/**
 * VALIDATE: manifests of the source tree and of the locked copy, compared exactly, then analysed against
 * the previous validated copy. Manifests stay in the evidence store; history carries paths and digests.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Context } from '@temporalio/activity';
import type { ActivityDeps } from './deps';
import { vaultAccess } from './deps';
import { analyzeCopy, buildManifest, compareManifests, type Finding } from './hashing';
import type { ManifestRef, ValidationSummary } from '../workflows/cycle-messages';
import { baselineChangeRates, latestValidatedCopy, readCatalog } from './catalog';
import { copyDir } from './evidence';
import { pacer } from './scrub';

const severityRank = { critical: 0, high: 1, medium: 2, low: 3, info: 4 } as const;
const worstFirst = (a: Finding, b: Finding) => severityRank[a.severity] - severityRank[b.severity] || a.path.localeCompare(b.path);

export { copyDir } from './evidence';

export function validationActivities(deps: ActivityDeps) {
  return {
    /** Hashes one side; progress and a resume checkpoint go into heartbeats, so a new worker resumes. */
    async hashTree(vaultId: string, side: 'source' | 'copy', copyId: string, algorithm: 'sha256' | 'blake3', snapshot?: string): Promise<ManifestRef> {
      const ctx = Context.current();
      const access = vaultAccess(deps, vaultId);
      // With a snapshot the source side is the production state at the sync point (`.snapshot/<name>` under the
      // mount, read-only), so it compares like with like against the copy landed from the same snapshot.
      const sourceRoot = snapshot ? join(access.vault.source.mountPath, '.snapshot', snapshot) : access.vault.source.mountPath;
      const root = side === 'source' ? sourceRoot : join(access.vault.vault.copiesMountPath, copyId);
      const dir = copyDir(access.evidenceDir, vaultId, copyId);
      await mkdir(dir, { recursive: true });
      const out = join(dir, `${side}.${algorithm}sums`);
      const resumed = (ctx.info.heartbeatDetails as { checkpoint?: unknown } | undefined)?.checkpoint;
      let checkpoint = resumed;
      let resumedFrom: { files: number; bytes: number } | undefined;
      const started = Date.now();
      const info = await buildManifest(root, out, {
        algorithm,
        checkpoint: resumed,
        onResume: (d) => (resumedFrom = d),
        onCheckpoint: (c) => {
          checkpoint = c;
        },
        onProgress: (p) => ctx.heartbeat({ progress: p, checkpoint }),
        // The source side is hashed while the gap is open (CONVERGE, or VALIDATE in the seeds' order): it goes first.
        priority: side === 'source' ? 'gap' : 'background',
        throttle: access.vault.hashing.maxBytesPerSecond ? pacer(access.vault.hashing.maxBytesPerSecond, ctx.cancellationSignal) : undefined,
        signal: ctx.cancellationSignal,
      });
      return {
        side,
        path: info.manifestPath,
        digest: info.manifestDigest,
        root: info.root,
        algorithm: info.algorithm,
        files: info.files,
        bytes: info.bytes,
        seconds: (Date.now() - started) / 1000,
        // Evidence that a retry continued: files taken from the checkpoint vs hashed by this attempt.
        ...(resumedFrom ? { resumed: { attempt: ctx.info.attempt, files: resumedFrom.files, bytes: resumedFrom.bytes, hashedFiles: info.files - resumedFrom.files } } : {}),
      };
    },

    /** Source vs copy (exact classes), copy vs the previous validated copy, analytics, verdict. */
    async validateCopy(
      vaultId: string,
      copyId: string,
      source: ManifestRef,
      copy: ManifestRef,
    ): Promise<ValidationSummary & { findings: Finding[] }> {
      const access = vaultAccess(deps, vaultId);
      const compare = await compareManifests(source.path, copy.path);
      const catalog = await readCatalog(access.evidenceDir, vaultId);
      const previous = latestValidatedCopy(catalog, copyId);
      const analysis = await analyzeCopy({
        tree: join(access.vault.vault.copiesMountPath, copyId),
        current: copy.path,
        previous: previous?.validation?.copy.path,
        baseline: { changeRates: baselineChangeRates(catalog, copyId) },
        thresholds: access.vault.analytics,
      });
      const findings = [...compare.findings, ...analysis.findings].sort(worstFirst);
      const reasons = [...(compare.equal ? [] : [`copy differs from source: ${describeCounts(compare.counts)}`]), ...analysis.reasons];
      const verdict = compare.equal && analysis.verdict === 'clean' ? 'clean' : 'suspect';
      const detailPath = join(copyDir(access.evidenceDir, vaultId, copyId), 'validation.json');
      await writeFile(detailPath, JSON.stringify({ verdict, reasons, compare, analysis, previousCopyId: previous?.copyId }, null, 2));
      return {
        verdict,
        equal: compare.equal,
        counts: compare.counts,
        reasons,
        scores: analysis.scores,
        source,
        copy,
        previousCopyId: previous?.copyId,
        detailPath,
        findings: findings.slice(0, 50), // the full list is in detailPath; history stays small
      };
    },
  };
}

function describeCounts(counts: Record<string, number>): string {
  return Object.entries(counts)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${n} ${k}`)
    .join(', ');
}
