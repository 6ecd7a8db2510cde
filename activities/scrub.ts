/**
 * Scrubbing (workflows/scrub.ts): re-read locked copies in full and check them against the Merkle roots their
 * cycles put into Temporal history — not against manifest files that could have been replaced — and check with
 * the storage that every file is still locked at least as long as recorded. A full re-read, rate-limited.
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { Context } from '@temporalio/activity';
import { cycleMetrics } from './metrics';
import type { ActivityDeps } from './deps';
import { vaultAccess } from './deps';
import { markCopy, readCatalog } from './catalog';
import { listRecords, readChain, recordEvidence, recordIncident, vaultDir } from './evidence';
import { buildManifest, compareManifests, readManifestInfo, type HashAlgorithm } from './hashing';
import { readGnuManifestEntries } from './hashing/manifest';
import { vaultHistory } from './history';
import type { CopyScrub, ScrubOptions, ScrubResult, ScrubTarget } from '../workflows/scrub-messages';

export interface ScrubPlan {
  targets: ScrubTarget[];
  copiesKnown: number;
  periodSeconds: number;
  intervalSeconds: number;
  maxBytesPerSecond: number;
}

interface ScrubRecord {
  scrubbed: Array<{ copyId: string; at: string; ok: boolean }>;
}

/** Paces reads: after `n` bytes the caller waits until `n / rate` seconds have passed since the start. */
export function pacer(bytesPerSecond: number, signal?: AbortSignal): (bytes: number) => Promise<void> {
  const start = Date.now();
  let total = 0;
  return async (bytes) => {
    total += bytes;
    const wait = start + (total / bytesPerSecond) * 1000 - Date.now();
    if (wait > 0) {
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', done);
          resolve();
        };
        const timer = setTimeout(done, wait);
        signal?.addEventListener('abort', done, { once: true });
      });
    }
    signal?.throwIfAborted();
  };
}

/**
 * Which copies this run re-hashes: every copy whose last scrub is older than `period - interval` (it would
 * otherwise miss its period), at least a `interval / period` share of them, oldest scrub first.
 */
export function chooseCopies(
  targets: ScrubTarget[],
  lastScrubbed: Map<string, number>,
  now: number,
  periodSeconds: number,
  intervalSeconds: number,
): ScrubTarget[] {
  const age = (t: ScrubTarget) => now - (lastScrubbed.get(t.copyId) ?? -Infinity);
  const ordered = [...targets].sort((a, b) => age(b) - age(a) || a.copyId.localeCompare(b.copyId));
  const due = ordered.filter((t) => age(t) >= (periodSeconds - intervalSeconds) * 1000);
  const share = Math.ceil((targets.length * intervalSeconds) / periodSeconds);
  return ordered.slice(0, Math.max(due.length, share));
}

export function scrubActivities(deps: ActivityDeps) {
  return {
    async planScrub(vaultId: string, opts: ScrubOptions = {}): Promise<ScrubPlan> {
      const access = vaultAccess(deps, vaultId);
      const cfg = access.vault.scrub;
      const periodSeconds = opts.periodSeconds ?? cfg.period;
      const intervalSeconds = Math.min(opts.intervalSeconds ?? cfg.interval, periodSeconds);
      const maxBytesPerSecond = opts.maxBytesPerSecond ?? cfg.maxBytesPerSecond;
      const catalog = await readCatalog(access.evidenceDir, vaultId);
      const history = await vaultHistory(
        Context.current().client,
        vaultId,
        catalog.flatMap((e) => (e.workflow ? [e.workflow] : [])),
      );
      const now = Date.now();
      // Only what history says was locked, and is still locked, is ours to re-read.
      const targets: ScrubTarget[] = history.flatMap((h) =>
        h.copyManifest && h.lockedUntil && h.mtreePath && Date.parse(h.lockedUntil) > now
          ? [{ copyId: h.copyId, workflowId: h.workflowId, runId: h.runId, mtreePath: h.mtreePath, lockedUntil: h.lockedUntil, manifest: h.copyManifest }]
          : [],
      );
      const last = new Map<string, number>();
      for (const rec of await listRecords<ScrubRecord>(access.evidenceDir, vaultId, 'scrub')) {
        for (const s of rec.scrubbed ?? []) last.set(s.copyId, Math.max(last.get(s.copyId) ?? 0, Date.parse(s.at)));
      }
      const chosen = opts.all ? targets : chooseCopies(targets, last, now, periodSeconds, intervalSeconds);
      return { targets: chosen, copiesKnown: targets.length, periodSeconds, intervalSeconds, maxBytesPerSecond };
    },

    /** Re-hashes one copy in full at the given rate, checks root, files and locks; a problem is a critical incident. */
    async scrubCopy(vaultId: string, scrubId: string, target: ScrubTarget, maxBytesPerSecond: number): Promise<CopyScrub> {
      const ctx = Context.current();
      const access = vaultAccess(deps, vaultId);
      const { copiesMountPath, copiesMtree } = access.vault.vault;
      const tree = join(copiesMountPath, target.copyId);
      const out = join(vaultDir(access.evidenceDir, vaultId), 'scrubs', scrubId, `${target.copyId}.${target.manifest.algorithm}sums`);
      const problems: CopyScrub['problems'] = [];
      const started = Date.now();
      const beat = setInterval(() => ctx.heartbeat({ copyId: target.copyId }), 5000);
      let fresh: Awaited<ReturnType<typeof buildManifest>> | null = null;
      try {
        fresh = await buildManifest(tree, out, {
          algorithm: target.manifest.algorithm as HashAlgorithm,
          concurrency: 1,
          throttle: pacer(maxBytesPerSecond, ctx.cancellationSignal),
          signal: ctx.cancellationSignal,
        });
      } catch (err) {
        if (ctx.cancellationSignal.aborted) throw err;
        problems.push({ class: 'unreadable', path: tree, detail: (err as Error).message });
      } finally {
        clearInterval(beat);
      }
      const seconds = (Date.now() - started) / 1000;

      if (fresh && fresh.root !== target.manifest.root) {
        problems.push({ class: 'root-mismatch', path: target.mtreePath, detail: `copy hashes to ${fresh.root}, history recorded ${target.manifest.root}` });
        // Name the paths from the evidence manifest, if it still is the one history recorded.
        const evidence = await readManifestInfo(target.manifest.path).catch(() => null);
        if (evidence?.root === target.manifest.root) {
          const diff = await compareManifests(target.manifest.path, out);
          for (const f of diff.findings) problems.push({ class: f.class, path: f.path, detail: f.detail });
        } else {
          problems.push({ class: 'evidence-rewritten', path: target.manifest.path, detail: `its root is ${evidence?.root ?? 'unreadable'}, not the one history recorded: changed paths are named by the storage's lock report only` });
        }
      }

      // The storage's word on the locks: every file still locked at least until the recorded expiry.
      const rows = await access.withVaultDd((dd) => dd.retentionReport(copiesMtree));
      const prefix = `${target.mtreePath}/`;
      const locks = new Map(rows.filter((r) => r.path.startsWith(prefix)).map((r) => [r.path.slice(prefix.length), r.expires.getTime()]));
      const onDisk = fresh ? new Set((await readGnuManifestEntries(out)).map((e) => e.path)) : new Set<string>();
      const recorded = Date.parse(target.lockedUntil);
      for (const f of onDisk) {
        const until = locks.get(f);
        if (until === undefined) problems.push({ class: 'lock-missing', path: `${prefix}${f}`, detail: `not retention-locked according to the storage (recorded until ${target.lockedUntil})` });
        else if (until < recorded - 1000) problems.push({ class: 'lock-shortened', path: `${prefix}${f}`, detail: `locked until ${new Date(until).toISOString()}, recorded ${target.lockedUntil}` });
      }
      for (const f of locks.keys()) {
        if (fresh && !onDisk.has(f) && !problems.some((p) => p.path === f)) problems.push({ class: 'missing', path: f, detail: 'on the storage\'s lock report but gone from the copy' });
      }

      const result: CopyScrub = {
        copyId: target.copyId,
        ok: problems.length === 0,
        root: fresh?.root ?? '',
        expectedRoot: target.manifest.root,
        files: fresh?.files ?? 0,
        bytes: fresh?.bytes ?? 0,
        seconds,
        problems: problems.slice(0, 200),
      };
      if (!result.ok) {
        const id = `scrub-${scrubId}-${target.copyId}`;
        const classes = [...new Set(problems.map((p) => p.class))];
        const summary = `scrub ${scrubId}: copy ${target.copyId} of vault ${vaultId} is not what history recorded (${classes.join(', ')}; ${problems.length} problems)`;
        const entry = await recordIncident(access.evidenceDir, vaultId, {
          id,
          severity: 'critical',
          kind: classes.includes('root-mismatch') || classes.includes('missing') ? 'scrub-mismatch' : classes.join('+'),
          summary,
          copyId: target.copyId,
          paths: problems.map((p) => `${p.class} ${p.path}${p.detail ? `: ${p.detail}` : ''}`).slice(0, 200),
          source: `scrub ${scrubId}`,
        });
        await markCopy(access.evidenceDir, vaultId, target.copyId, id);
        await deps.alert({ severity: 'critical', vaultId, summary, detail: entry.path });
        result.incidentId = id;
      }
      await fsp.rm(out + '.partial', { force: true });
      cycleMetrics().scrubbed(vaultId, { ok: result.ok, problems });
      return result;
    },

    /** The scrub's own evidence record (chained); the next scrub plans from these. */
    async recordScrub(vaultId: string, result: ScrubResult): Promise<string> {
      const access = vaultAccess(deps, vaultId);
      const rec = await recordEvidence(access.evidenceDir, vaultId, 'scrub', result.scrubId, {
        ...result,
        scrubbed: result.scrubbed.map((s) => ({ ...s, at: new Date().toISOString() })),
        chainRecords: (await readChain(access.evidenceDir, vaultId)).entries.length,
      });
      return rec.absPath;
    },
  };
}
