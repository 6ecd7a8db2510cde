/**
 * Replication between the production and vault Data Domains: enable, request a sync point, converge.
 *
 * The sync point is an MTree snapshot on the production DD (`snapshot create … mtree …`). MTree replication is
 * snapshot based: the destination is always a point-in-time image of a source snapshot, and a snapshot's changes
 * are exposed on the destination only once all of them arrived; user-created snapshots of the source are
 * replicated and listed on the destination MTree (Dell KB 000010873 "Data Domain - How MTree Replication Works",
 * KB 000010902 "Snapshots and behavior with MTree Replication | FAQ"). So "the snapshot is listed on the replica"
 * means the replica holds exactly the production state at that instant, whatever production writes meanwhile.
 * Assumed, not confirmed by those pages: `snapshot expire` is accepted on a replication destination MTree for a
 * replicated snapshot (the lab accepts it; where a DD refuses, the snapshot ends at its retention).
 */
import { Context } from '@temporalio/activity';
import type { ActivityDeps } from './deps';
import { vaultAccess } from './deps';
import type { DataDomainCli } from './drivers/datadomain/cli';

type VaultAccessOpen = <T>(fn: (dd: DataDomainCli) => Promise<T>) => Promise<T>;

export class SyncStalledError extends Error {
  override name = 'SyncStalledError';
  readonly retryable = false; // already waited stallSeconds without progress: take the close path
}

export async function disableReplication(dd: DataDomainCli, contexts: string[]): Promise<void> {
  for (const ctx of contexts) await dd.replicationDisable(ctx);
  const rows = await dd.replicationStatus();
  const still = rows.filter((r) => contexts.includes(r.destination) && r.enabled);
  if (still.length) throw new Error(`replication still enabled after disable: ${still.map((r) => r.destination).join(', ')}`);
}

/**
 * Takes the snapshot unless a retry finds it already there: this run's name is unique, so it is ours. A first
 * attempt does not look (one command less in the window): the name cannot exist yet.
 */
async function takeSnapshotOn(dd: DataDomainCli, mtree: string, snapshot: string, retentionSeconds: number, attempt: number) {
  const now = await dd.now(); // the session's clock (read in PREFLIGHT): no command inside the window for it
  const existing = attempt > 1 ? (await dd.snapshotList(mtree)).find((s) => s.name === snapshot && !s.expired) : undefined;
  if (!existing) await dd.snapshotCreate(snapshot, mtree, retentionSeconds);
  return { syncPoint: (existing?.createdAt ?? now).toISOString(), snapshot, sourceMtree: mtree };
}

/** DD times have minute resolution: compare on whole minutes. */
const minute = (d: Date) => Math.floor(d.getTime() / 60000);

/** The snapshot a cycle makes: derived from its copy id, so cleanup can only ever name this cycle's own. */
export const snapshotNameFor = (copyId: string): string => `ir-${copyId}`;

export function replicationActivities(deps: ActivityDeps) {
  return {
    /**
     * Enables every context (vault side) and, at the same time on the source, takes the sync-point snapshot;
     * then asks the source for a sync. Both sessions open in parallel: one login's latency, not two. Since
     * `ir-6-snapshot-with-open` the cycle runs it beside openLink: none of it needs the link.
     */
    async snapshotAndSync(
      vaultId: string,
      snapshot: string,
      retentionSeconds: number,
    ): Promise<{ syncPoint: string; snapshot: string; sourceMtree: string }> {
      const access = vaultAccess(deps, vaultId);
      const contexts = access.vault.replication.contexts;
      let enabled!: () => void;
      let enableFailed!: (err: unknown) => void;
      const enabledP = new Promise<void>((res, rej) => ((enabled = res), (enableFailed = rej)));
      enabledP.catch(() => undefined);
      const vaultSide = access
        .withVaultDd(async (dd) => {
          for (const ctx of contexts) await dd.replicationEnable(ctx);
        })
        .then(enabled, (err) => {
          enableFailed(err);
          throw err;
        });
      const sourceSide = access.withSourceDd(async (dd) => {
        const point = await takeSnapshotOn(dd, access.vault.source.mtree, snapshot, retentionSeconds, Context.current().info.attempt);
        await enabledP;
        for (const ctx of contexts) await dd.replicationSync(ctx);
        return point;
      });
      const [, out] = await Promise.all([vaultSide, sourceSide]);
      return out;
    },

    /**
     * CONVERGE on a snapshot: polls the replica's snapshot list (one session, heartbeating) until the snapshot is
     * there. Polls wake fast when little is left (the estimate from the DD's own throughput) and back off from
     * 50 ms while there is no estimate, at most every `pollIntervalSeconds`. Fails with the DD's words when nothing
     * moves for `stallSeconds`.
     *
     * Resumable with no checkpoint of its own: CONVERGE's progress is the replication, which runs on the DDs, not in
     * this worker. A retry after a lost worker asks the replica again (the snapshot is there or not, bytes remaining
     * are the DD's figures) and loses nothing but its stall clock, which restarts (so a retry can wait at most
     * `stallSeconds` longer before calling a dead link stalled). Only when it began travels in the heartbeat, so the
     * reported replication time stays the whole wait.
     */
    async awaitSnapshot(
      vaultId: string,
      snapshot: string,
      pollIntervalSeconds: number,
      stallSeconds: number,
    ): Promise<{ replicatedAt: string; seconds: number }> {
      const ctx = Context.current();
      const access = vaultAccess(deps, vaultId);
      const contexts = access.vault.replication.contexts;
      const replica = access.vault.vault.replicaMtree;
      const since = (ctx.info.heartbeatDetails as { since?: unknown } | undefined)?.since;
      const started = typeof since === 'number' && since <= Date.now() ? since : Date.now();
      let best = Number.POSITIVE_INFINITY;
      let lastProgress = Date.now();
      let backoffMs = 50;
      return access.withVaultDd(async (dd) => {
        for (;;) {
          const present = (await dd.snapshotList(replica)).some((s) => s.name === snapshot && !s.expired);
          if (present) return { replicatedAt: new Date().toISOString(), seconds: (Date.now() - started) / 1000 };
          const stats = await Promise.all(contexts.map((c) => dd.replicationDetailedStats(c)));
          const bytes = stats.reduce((n, s) => n + s.bytesRemaining, 0);
          const remaining = bytes + stats.reduce((n, s) => n + s.filesRemaining, 0); // progress: bytes or files
          const throughput = stats.reduce((n, s) => n + s.throughputKBps * 1024, 0);
          // `remaining` in bytes, as awaitSync heartbeats it (irctl's progress reads it).
          ctx.heartbeat({ snapshot, remaining: bytes, states: stats.map((s) => `${s.state}/${s.connection}`), since: started });
          if (remaining < best) {
            best = remaining;
            lastProgress = Date.now();
          } else if (Date.now() - lastProgress > stallSeconds * 1000) {
            const words = stats.map((s) => `${s.destination}: state ${s.state}, connection ${s.connection}, ${s.bytesRemaining} bytes and ${s.filesRemaining} files remaining`);
            throw new SyncStalledError(`snapshot ${snapshot} did not reach ${replica} and replication made no progress for ${stallSeconds} s: ${words.join('; ')}`);
          }
          const etaMs = throughput > 0 ? (bytes / throughput) * 1000 : Number.POSITIVE_INFINITY;
          // Without an estimate (nothing moving yet, or a small change) wake soon and back off: a poll is one
          // command, a poll slept too long is exposure.
          await ctx.sleep(Math.min(pollIntervalSeconds * 1000, Math.max(50, Math.min(etaMs / 2, backoffMs))));
          backoffMs *= 2;
        }
      });
    },

    /**
     * Expires this cycle's snapshot on the source and on the replica, if present. Each side on its own: one that
     * cannot be reached is reported, not fatal (the snapshot's retention ends it anyway).
     */
    async expireSnapshots(vaultId: string, snapshot: string): Promise<{ source: string; replica: string }> {
      const access = vaultAccess(deps, vaultId);
      const side = async (open: VaultAccessOpen, mtree: string): Promise<string> => {
        try {
          return await open(async (dd) => {
            const row = (await dd.snapshotList(mtree)).find((s) => s.name === snapshot);
            if (!row) return 'absent';
            if (row.expired) return 'expired';
            await dd.snapshotExpire(snapshot, mtree);
            return 'expired';
          });
        } catch (err) {
          return `not expired: ${(err as Error).message}`;
        }
      };
      const [source, replica] = await Promise.all([
        side(access.withSourceDd, access.vault.source.mtree),
        side(access.withVaultDd, access.vault.vault.replicaMtree),
      ]);
      return { source, replica };
    },

    /** Enables every context on the vault side and asks the source for a sync point (its own clock). */
    async enableReplication(vaultId: string): Promise<{ syncPoint: string }> {
      const access = vaultAccess(deps, vaultId);
      const contexts = access.vault.replication.contexts;
      await access.withVaultDd(async (dd) => {
        for (const ctx of contexts) await dd.replicationEnable(ctx);
      });
      // `replication sync` runs on the source; the sync point is the source's clock when it was asked.
      return access.withSourceDd(async (dd) => {
        const { now } = await dd.systemDate();
        for (const ctx of contexts) await dd.replicationSync(ctx);
        return { syncPoint: now.toISOString() };
      });
    },

    /**
     * Polls (inside this activity, heartbeating, so a long sync adds nothing to history) until every context
     * is connected with nothing remaining and synced as of the sync point. Fails when nothing moves for
     * `stallSeconds`. Like awaitSnapshot, a retry needs no checkpoint: the DDs hold the progress.
     */
    async awaitSync(
      vaultId: string,
      syncPoint: string,
      pollIntervalSeconds: number,
      stallSeconds: number,
    ): Promise<{ syncedAsOf: string; seconds: number }> {
      const ctx = Context.current();
      const access = vaultAccess(deps, vaultId);
      const contexts = access.vault.replication.contexts;
      const point = new Date(syncPoint);
      const started = Date.now();
      let best = Number.POSITIVE_INFINITY;
      let lastProgress = Date.now();
      return access.withVaultDd(async (dd) => {
        for (;;) {
          const stats = await Promise.all(contexts.map((c) => dd.replicationDetailedStats(c)));
          const remaining = stats.reduce((n, s) => n + s.bytesRemaining, 0);
          ctx.heartbeat({ remaining, states: stats.map((s) => `${s.state}/${s.connection}`) });
          const done = stats.every(
            (s) => s.bytesRemaining === 0 && s.filesRemaining === 0 && s.syncedAsOf !== null && minute(s.syncedAsOf) >= minute(point),
          );
          if (done) {
            const asOf = stats.map((s) => s.syncedAsOf!.getTime()).reduce((a, b) => Math.min(a, b));
            return { syncedAsOf: new Date(asOf).toISOString(), seconds: (Date.now() - started) / 1000 };
          }
          if (remaining < best) {
            best = remaining;
            lastProgress = Date.now();
          } else if (Date.now() - lastProgress > stallSeconds * 1000) {
            const words = stats.map((s) => `${s.destination}: state ${s.state}, connection ${s.connection}, ${s.bytesRemaining} bytes remaining`);
            throw new SyncStalledError(`replication made no progress for ${stallSeconds} s: ${words.join('; ')}`);
          }
          await ctx.sleep(pollIntervalSeconds * 1000);
        }
      });
    },
  };
}
