/**
 * The sentinel's incidents (a gap found open with no holder, a holder that ended without releasing) are evidence
 * records like every other incident: written once and chained by activities/evidence.ts, listed in later cycle
 * reports among the vault's open incidents. This module only maps the sentinel's shape onto that record.
 */
import { join } from 'node:path';
import { incidentsDir, openIncidents, recordIncident } from './evidence';
import type { Incident as GapIncident } from '../workflows/sentinel-messages';

const GAP_KINDS = new Set<string>(['gap-open-without-holder', 'holder-ended-without-release']);

/** Records one gap incident; returns the record's path. Idempotent per close (the id carries the close time). */
export async function recordGapIncident(evidenceDir: string, incident: GapIncident): Promise<string> {
  const id = `gap-${incident.closedAt.replace(/[^0-9A-Za-z]/g, '')}`;
  await recordIncident(evidenceDir, incident.vaultId, {
    id,
    severity: 'critical',
    kind: incident.kind,
    summary: gapIncidentSummary(incident),
    source: `sentinel ${incident.closedBy}`,
    at: incident.closedAt,
    detail: { ...incident },
  });
  return join(incidentsDir(evidenceDir, incident.vaultId), `${id}.json`);
}

/** One sentence for the record and the alert: what was found, what the sentinel did (gap, then backup hold). */
export function gapIncidentSummary(incident: GapIncident): string {
  if (incident.kind !== 'holder-ended-without-release') {
    return `the gap was open with no operation holding the vault (${incident.found}); the sentinel closed it`;
  }
  const b = incident.backupHold;
  const backup = !b
    ? ''
    : b.state === 'released'
      ? `, then switched back on the ${b.software} ${b.released!.length ? b.released!.join(', ') : 'items'} it had held`
      : b.state === 'failed'
        ? `; the backup hold it left could NOT be released (${b.error}): the sentinel tries again every period`
        : '; it had left no backup hold';
  return `${incident.holder?.workflowId} ended ${incident.holder?.status} holding the vault; the sentinel closed the gap (${incident.found})${backup}`;
}

/** The vault's open gap incidents, in the sentinel's shape, oldest first. */
export async function readGapIncidents(evidenceDir: string, vaultId: string): Promise<GapIncident[]> {
  return (await openIncidents(evidenceDir, vaultId)).filter((i) => GAP_KINDS.has(i.kind) && i.detail).map((i) => i.detail as unknown as GapIncident);
}
