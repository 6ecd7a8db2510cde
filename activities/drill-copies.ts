/**
 * Which copies a drill may restore: read from the catalog defensively (entries written by older and newer
 * cycles). A copy is good when it validated clean, or when a person approved it after DECIDE; it must also be
 * retention-locked and unexpired, and have a copy manifest to verify a restore against.
 */
import type { CatalogEntry } from './catalog';

type Entry = CatalogEntry & Record<string, unknown>;

const APPROVE = new Set(['approve', 'approved']);
const REJECT = new Set(['reject', 'rejected']);

/** The decision recorded for a copy, whatever shape the DECIDE step wrote it in. */
export function decisionOf(e: Entry): 'approved' | 'rejected' | undefined {
  for (const key of ['decision', 'approval']) {
    const d = e[key] as unknown;
    const words: unknown[] = typeof d === 'string' ? [d] : d && typeof d === 'object' ? ['decision', 'action', 'kind', 'verdict', 'outcome', 'type'].map((k) => (d as Record<string, unknown>)[k]) : [];
    if (d && typeof d === 'object' && (d as Record<string, unknown>).approved === true) return 'approved';
    for (const w of words) {
      if (typeof w !== 'string') continue;
      if (APPROVE.has(w.toLowerCase())) return 'approved';
      if (REJECT.has(w.toLowerCase())) return 'rejected';
    }
  }
  if (typeof e.outcome === 'string' && REJECT.has(e.outcome)) return 'rejected';
  if (typeof e.outcome === 'string' && APPROVE.has(e.outcome)) return 'approved';
  return undefined;
}

/** Why this copy may not be drilled, or null when it may. */
export function refusalOf(e: Entry, now: Date): string | null {
  const decision = decisionOf(e);
  if (decision === 'rejected') return `copy ${e.copyId} was rejected after validation`;
  if (e.outcome !== 'validated' && decision !== 'approved') {
    return e.outcome === 'suspect' || e.verdict === 'suspect'
      ? `copy ${e.copyId} is suspect (${e.validation?.reasons?.join('; ') || 'validation findings'}) and was not approved`
      : `copy ${e.copyId} did not validate (cycle ${e.outcome})`;
  }
  if (!e.copy?.lockedUntil) return `copy ${e.copyId} is not retention-locked`;
  if (Date.parse(e.copy.lockedUntil) <= now.getTime()) return `copy ${e.copyId}'s retention lock expired at ${e.copy.lockedUntil}`;
  if (!e.validation?.copy?.path) return `copy ${e.copyId} has no copy manifest to verify a restore against`;
  return null;
}

export const isGoodCopy = (e: CatalogEntry, now: Date): boolean => refusalOf(e as Entry, now) === null;

/** The newest good copy, or the given one; the reason when there is none or the given one is refused. */
export function pickCopy(entries: CatalogEntry[], copyId: string | undefined, now: Date): { entry: CatalogEntry } | { refused: string } {
  if (copyId) {
    const e = entries.find((x) => x.copyId === copyId);
    if (!e) return { refused: `copy ${copyId} is not in the vault's catalog` };
    const why = refusalOf(e as Entry, now);
    return why ? { refused: why } : { entry: e };
  }
  const good = entries.filter((e) => isGoodCopy(e, now));
  if (good.length) return { entry: good[good.length - 1] };
  const newest = entries[entries.length - 1];
  return { refused: newest ? `no good copy to drill: the newest, ${refusalOf(newest as Entry, now)}` : 'no copy in the catalog yet: run a cycle first' };
}
