/**
 * The air gap: openLink brings the link up, closeLink cuts it, gapIsOpen reads it — through the vault's link
 * controller (switch ports or the vault DD's replication interface, activities/link-controllers.ts).
 */
import { Context } from '@temporalio/activity';
import type { ActivityDeps } from './deps';
import { vaultAccess } from './deps';
import { linkController } from './link-controllers';
import { disableReplication } from './replication';
import { cycleMetrics } from './metrics';
import type { PortState } from './drivers/switch';

export class LinkError extends Error {
  override name = 'LinkError';
}

/** The open came too late to fit in maxOpen: no attempt can do better. */
export class WindowOverError extends LinkError {
  override name = 'WindowOverError';
  readonly retryable = false;
}

const allDown = (states: PortState[]) => states.every((s) => s.admin === 'down' && s.oper === 'down');
const allUp = (states: PortState[]) => states.every((s) => s.admin === 'up' && s.oper === 'up');
const describe = (states: PortState[]) => states.map((s) => `${s.port} ${s.line}`).join('; ');

export function linkActivities(deps: ActivityDeps) {
  return {
    /**
     * Brings the link up, then waits until each part is oper-up (heartbeating). The device's own revert timer
     * is armed in the same step, set to what is left of maxOpen (counted from when the cycle asked for the
     * open), so the device closes the gap by itself even if this service cannot (Temporal down included).
     * `maxOpenSeconds` absent (older callers): the vault's configured maxOpen.
     */
    async openLink(
      vaultId: string,
      linkUpTimeoutSeconds: number,
      maxOpenSeconds?: number,
    ): Promise<{ upAt: string; ports: PortState[]; revert?: { name: string; seconds: number } }> {
      const ctx = Context.current();
      const access = vaultAccess(deps, vaultId);
      const link = linkController(access);
      const bound = maxOpenSeconds ?? access.vault.policy.maxOpen;
      const left = Math.floor(bound - (Date.now() - ctx.info.scheduledTimestampMs) / 1000);
      if (left < 1) {
        // A retry that comes after maxOpen (an attempt whose completion was lost in a server outage) would open
        // the gap again past its bound: the window is over, whatever the first attempt did is the close path's.
        throw new WindowOverError(`maxOpen (${bound} s) has passed since the cycle asked for the open (attempt ${ctx.info.attempt}): not opening the link again`);
      }
      return link.use(async (s) => {
        cycleMetrics().gap(vaultId, true); // from the command on: a half-applied open is open
        const { revert } = await s.open({ revertAfterSeconds: left });
        const deadline = Date.now() + linkUpTimeoutSeconds * 1000;
        for (;;) {
          const states = await s.state();
          ctx.heartbeat({ ports: states.map((x) => `${x.port}:${x.admin}/${x.oper}`) });
          if (allUp(states)) return { upAt: new Date().toISOString(), ports: states, ...(revert ? { revert } : {}) };
          if (Date.now() > deadline) {
            throw new LinkError(`link (${link.kind}) not oper-up after ${linkUpTimeoutSeconds} s: ${describe(states)}`);
          }
          await ctx.sleep(50); // ours: poll fine, the device's link-up delay is what we wait for
        }
      }, { keepMs: Math.min(left, 60) * 1000 }); // parked for closeLink: no login inside the window at CLOSE
    },

    /**
     * Closes the gap: replication disabled, then every part of the link cut and verified down. The link is cut
     * even when the storage refused, because the physical cut is the stronger guarantee; the activity then
     * fails so that its retry (unlimited) disables replication too. Alerts are raised from the third attempt on.
     */
    async closeLink(vaultId: string): Promise<{ verifiedAt: string; ports: PortState[]; replicationDisabled: boolean }> {
      const ctx = Context.current();
      const { attempt } = ctx.info;
      const access = vaultAccess(deps, vaultId);
      const link = linkController(access);
      if (attempt > 1) cycleMetrics().closeRetry(vaultId);
      if (attempt >= 3) {
        await deps.alert({
          severity: 'critical',
          vaultId,
          summary: `closing the air gap of vault ${vaultId} is failing (attempt ${attempt}); retrying until it succeeds`,
        });
      }
      ctx.heartbeat({ step: 'replication and ports' });
      // Storage and switch at once (issue 6: the close is inside the exposure window); neither waits for the other.
      let replicationError: unknown;
      const replication = access.withVaultDd((dd) => disableReplication(dd, access.vault.replication.contexts)).catch((err: unknown) => {
        replicationError = err;
      });
      const link$ = link.use(async (s) => {
        await s.close();
        const deadline = Date.now() + 15000;
        for (;;) {
          const now = await s.state();
          if (allDown(now)) {
            await s.persist();
            return now;
          }
          if (Date.now() > deadline) throw new LinkError(`link (${link.kind}) still not down after the cut: ${describe(now)}`);
          // A part administratively up again (someone else's session, a late command) is cut again.
          const reopened = now.filter((x) => x.admin === 'up').map((x) => x.port);
          if (reopened.length) await s.close(reopened);
          ctx.heartbeat({ step: 'verifying', ports: now.map((x) => `${x.port}:${x.admin}/${x.oper}`) });
          await new Promise((r) => setTimeout(r, 50));
        }
      });
      const [states] = await Promise.all([link$, replication]);
      if (replicationError) throw replicationError;
      cycleMetrics().gap(vaultId, false);
      return { verifiedAt: new Date().toISOString(), ports: states, replicationDisabled: true };
    },
  };
}

/** Reads whether any part of the gap is open now (link up or replication enabled). */
export async function gapIsOpen(deps: ActivityDeps, vaultId: string): Promise<{ open: boolean; detail: string }> {
  const access = vaultAccess(deps, vaultId);
  const link = linkController(access);
  const states = await link.use((s) => s.state());
  const rows = await access.withVaultDd((dd) => dd.replicationStatus());
  const contexts = new Set(access.vault.replication.contexts);
  const enabled = rows.filter((r) => contexts.has(r.destination) && r.enabled).map((r) => r.destination);
  const up = states.filter((s) => s.admin === 'up' || s.oper === 'up');
  const open = up.length > 0 || enabled.length > 0;
  cycleMetrics().gap(vaultId, open);
  const detail = [
    up.length ? `${link.kind === 'switch' ? 'ports' : 'interface'} up: ${describe(up)}` : `all ${link.kind === 'switch' ? 'ports' : 'interfaces'} down`,
    enabled.length ? `replication enabled: ${enabled.join(', ')}` : 'replication disabled',
  ].join('; ');
  return { open, detail };
}
