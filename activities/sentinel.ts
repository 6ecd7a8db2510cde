/**
 * What the gap sentinel asks of the world: is any part of the gap open (the devices' own answer, through the
 * same gapIsOpen the cycle's PREFLIGHT uses), is the vault's holder still running (Temporal's answer), and the
 * incident record when it had to close the gap itself.
 */
import { Context } from '@temporalio/activity';
import type { ActivityDeps } from './deps';
import { vaultAccess } from './deps';
import { gapIsOpen } from './link';
import { runStatus } from './history';
import { gapIncidentSummary, recordGapIncident } from './incidents';
import { cycleMetrics } from './metrics';
import type { Holder, Incident } from '../workflows/sentinel-messages';

export function sentinelActivities(deps: ActivityDeps) {
  return {
    /** The devices' answer, and the sentinel period from the vault configuration (read each time). */
    async checkGap(vaultId: string): Promise<{ open: boolean; detail: string; at: string; periodSeconds: number }> {
      const periodSeconds = vaultAccess(deps, vaultId).vault.sentinel.period;
      const gap = await gapIsOpen(deps, vaultId);
      return { ...gap, at: new Date().toISOString(), periodSeconds };
    },

    /** RUNNING, or how the holder's run ended (TERMINATED, COMPLETED, FAILED, ...), or NOT_FOUND. */
    holderStatus(holder: Holder): Promise<string> {
      return runStatus(Context.current().client, holder.workflowId, holder.runId);
    },

    /** Writes the incident to the evidence store and raises a critical alert naming the vault. */
    async recordIncident(incident: Incident): Promise<{ path: string }> {
      const path = await recordGapIncident(deps.config.evidenceDir, incident);
      cycleMetrics().incident(incident.vaultId, incident.kind);
      await deps.alert({
        severity: 'critical',
        vaultId: incident.vaultId,
        summary: `vault ${incident.vaultId}: ${gapIncidentSummary(incident)}`,
        detail: path,
      });
      return { path };
    },
  };
}
