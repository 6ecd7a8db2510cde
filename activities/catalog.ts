/**
 * The copy catalog: one JSON file per vault in the evidence store listing every cycle's copy, its verdict
 * and where its evidence is. Written atomically (temp file + rename); entries are only ever appended.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import type { CycleResult } from '../workflows/cycle-messages';
import { catalogPath, vaultDir } from './evidence';

export interface CatalogEntry {
  copyId: string;
  recordedAt: string;
  outcome: CycleResult['outcome'];
  verdict: CycleResult['verdict'];
  copy?: CycleResult['copy'];
  validation?: CycleResult['validation'];
  exposureSeconds?: number;
  report: string;
  // Set when people were asked: who decided, when, why. A rejected copy stays locked; it is only marked here.
  decision?: { state: string; by?: string; at?: string; reason?: string; ticket?: string; timedOut?: boolean };
  /** The cycle's workflow execution: where its result (roots, chain head) sits in Temporal history. */
  workflow?: { workflowId: string; runId: string };
  /** Incidents found on this copy since (scrub, probes): the copy is marked, never edited. */
  incidents?: string[];
}

/** A copy one may recover from: validated clean, or suspect and approved by people (never a rejected one). */
export function isGoodCopy(e: CatalogEntry): boolean {
  return e.outcome === 'validated' || e.outcome === 'approved';
}

export async function readCatalog(evidenceDir: string, vaultId: string): Promise<CatalogEntry[]> {
  try {
    return JSON.parse(await readFile(catalogPath(evidenceDir, vaultId), 'utf8')) as CatalogEntry[];
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

/** Adds or replaces (a retried RECORD) the entry of one copy. */
export async function recordInCatalog(evidenceDir: string, vaultId: string, entry: CatalogEntry): Promise<void> {
  const entries = (await readCatalog(evidenceDir, vaultId)).filter((e) => e.copyId !== entry.copyId);
  entries.push(entry);
  await writeCatalog(evidenceDir, vaultId, entries);
}

async function writeCatalog(evidenceDir: string, vaultId: string, entries: CatalogEntry[]): Promise<void> {
  const path = catalogPath(evidenceDir, vaultId);
  await mkdir(vaultDir(evidenceDir, vaultId), { recursive: true });
  await writeFile(`${path}.tmp`, JSON.stringify(entries, null, 2));
  await rename(`${path}.tmp`, path);
}

/** Marks a copy with an incident (a scrub mismatch, a missing file, a shortened lock). */
export async function markCopy(evidenceDir: string, vaultId: string, copyId: string, incidentId: string): Promise<boolean> {
  const entries = await readCatalog(evidenceDir, vaultId);
  const entry = entries.find((e) => e.copyId === copyId);
  if (!entry) return false;
  entry.incidents = [...new Set([...(entry.incidents ?? []), incidentId])];
  await writeCatalog(evidenceDir, vaultId, entries);
  return true;
}

/** The newest good copy (clean, or approved) before this one: the baseline new copies are compared with. */
export function latestValidatedCopy(entries: CatalogEntry[], exceptCopyId: string): CatalogEntry | undefined {
  return entries.filter((e) => e.copyId !== exceptCopyId && isGoodCopy(e) && e.validation).pop();
}

/** Change rates of earlier good copies, for the vault's own baseline. */
export function baselineChangeRates(entries: CatalogEntry[], exceptCopyId: string): number[] {
  return entries
    .filter((e) => e.copyId !== exceptCopyId && isGoodCopy(e))
    .map((e) => e.validation?.scores?.changeRate)
    .filter((r): r is number => typeof r === 'number');
}
