/** Incidents in the evidence store: one JSON line each in <evidenceDir>/<vault>/incidents.jsonl, append only. */
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Incident } from '../workflows/messages';

export const incidentsPath = (evidenceDir: string, vaultId: string) => join(evidenceDir, vaultId, 'incidents.jsonl');

export async function recordIncidentFile(evidenceDir: string, incident: Incident): Promise<string> {
  const path = incidentsPath(evidenceDir, incident.vaultId);
  await mkdir(join(evidenceDir, incident.vaultId), { recursive: true });
  await appendFile(path, JSON.stringify(incident) + '\n');
  return path;
}

export async function readIncidents(evidenceDir: string, vaultId: string): Promise<Incident[]> {
  try {
    const text = await readFile(incidentsPath(evidenceDir, vaultId), 'utf8');
    return text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Incident);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}
