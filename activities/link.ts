/** The air gap at the switch: openLink brings the vault's replication ports up, closeLink cuts them. */
import { Context } from '@temporalio/activity';
import type { ActivityDeps } from './deps';
import { vaultAccess } from './deps';
import { disableReplication } from './replication';
import type { PortState } from './drivers/switch';

export class LinkError extends Error {
  override name = 'LinkError';
}

const allDown = (states: PortState[]) => states.every((s) => s.admin === 'down' && s.oper === 'down');
const allUp = (states: PortState[]) => states.every((s) => s.admin === 'up' && s.oper === 'up');
const describe = (states: PortState[]) => states.map((s) => `${s.port} ${s.line}`).join('; ');

export function linkActivities(deps: ActivityDeps) {
  return {
    /** `no shutdown` on every vault port, then wait until each is oper-up (heartbeating). */
    async openLink(vaultId: string, linkUpTimeoutSeconds: number): Promise<{ upAt: string; ports: PortState[] }> {
      const ctx = Context.current();
      const access = vaultAccess(deps, vaultId);
      const ports = access.vault.switch.ports;
      return access.withSwitch(async (sw) => {
        await sw.setPorts(ports, 'up');
        const deadline = Date.now() + linkUpTimeoutSeconds * 1000;
        for (;;) {
          const states = await sw.portStates(ports);
          ctx.heartbeat({ ports: states.map((s) => `${s.port}:${s.admin}/${s.oper}`) });
          if (allUp(states)) return { upAt: new Date().toISOString(), ports: states };
          if (Date.now() > deadline) {
            throw new LinkError(`vault ports not oper-up after ${linkUpTimeoutSeconds} s: ${describe(states)}`);
          }
          await ctx.sleep(50); // ours: poll fine, the device's link-up delay is what we wait for
        }
      });
    },

    /**
     * Closes the gap: replication disabled, then every port shut and verified down. The ports are shut even
     * when the storage refused, because the physical cut is the stronger guarantee; the activity then fails so
     * that its retry (unlimited) disables replication too. Alerts are raised from the third attempt on.
     */
    async closeLink(vaultId: string): Promise<{ verifiedAt: string; ports: PortState[]; replicationDisabled: boolean }> {
      const ctx = Context.current();
      const { attempt } = ctx.info;
      const access = vaultAccess(deps, vaultId);
      const ports = access.vault.switch.ports;
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
      const ports$ = access.withSwitch(async (sw) => {
        await sw.setPorts(ports, 'down');
        const deadline = Date.now() + 15000;
        for (;;) {
          const now = await sw.portStates(ports);
          if (allDown(now)) {
            if (access.vault.switch.saveConfig) await sw.saveConfig();
            return now;
          }
          if (Date.now() > deadline) throw new LinkError(`vault ports still not down after shutdown: ${describe(now)}`);
          // A port administratively up again (someone else's session, a late command) is shut again.
          const reopened = now.filter((s) => s.admin === 'up').map((s) => s.port);
          if (reopened.length) await sw.setPorts(reopened, 'down');
          ctx.heartbeat({ step: 'verifying', ports: now.map((s) => `${s.port}:${s.admin}/${s.oper}`) });
          await new Promise((r) => setTimeout(r, 50));
        }
      });
      const [states] = await Promise.all([ports$, replication]);
      if (replicationError) throw replicationError;
      return { verifiedAt: new Date().toISOString(), ports: states, replicationDisabled: true };
    },
  };
}

/** Reads whether any part of the gap is open now (ports up or replication enabled). */
export async function gapIsOpen(deps: ActivityDeps, vaultId: string): Promise<{ open: boolean; detail: string }> {
  const access = vaultAccess(deps, vaultId);
  const states = await access.withSwitch((sw) => sw.portStates(access.vault.switch.ports));
  const rows = await access.withVaultDd((dd) => dd.replicationStatus());
  const contexts = new Set(access.vault.replication.contexts);
  const enabled = rows.filter((r) => contexts.has(r.destination) && r.enabled).map((r) => r.destination);
  const up = states.filter((s) => s.admin === 'up' || s.oper === 'up');
  const open = up.length > 0 || enabled.length > 0;
  const detail = [
    up.length ? `ports up: ${describe(up)}` : 'all ports down',
    enabled.length ? `replication enabled: ${enabled.join(', ')}` : 'replication disabled',
  ].join('; ');
  return { open, detail };
}
