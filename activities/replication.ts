/** Replication between the production and vault Data Domains: enable, request a sync point, converge. */
import { Context } from '@temporalio/activity';
import type { ActivityDeps } from './deps';
import { vaultAccess } from './deps';
import type { DataDomainCli } from './drivers/datadomain/cli';

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

/** DD times have minute resolution: compare on whole minutes. */
const minute = (d: Date) => Math.floor(d.getTime() / 60000);

export function replicationActivities(deps: ActivityDeps) {
  return {
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
     * `stallSeconds`.
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
