/**
 * Which copies a drill may restore. A copy is good when the catalog says so (validated clean, or suspect and
 * approved by people after DECIDE: catalog.isGoodCopy); it must also be retention-locked and unexpired, and have
 * a copy manifest to verify a restore against.
 */
import { isGoodCopy, type CatalogEntry } from './catalog';

/** The decision people took on a copy, when they were asked. */
export function decisionOf(e: CatalogEntry): 'approved' | 'rejected' | undefined {
  if (e.outcome === 'approved' || e.outcome === 'rejected') return e.outcome;
  const state = e.decision?.state;
  return state === 'approved' || state === 'rejected' ? state : undefined;
}

/** Why this copy may not be drilled, or null when it may. */
export function refusalOf(e: CatalogEntry, now: Date): string | null {
  const decision = decisionOf(e);
  if (decision === 'rejected') return `copy ${e.copyId} was rejected after validation`;
  if (!isGoodCopy(e)) {
    return e.outcome === 'suspect' || e.verdict === 'suspect'
      ? `copy ${e.copyId} is suspect (${e.validation?.reasons?.join('; ') || 'validation findings'}) and was not approved`
      : `copy ${e.copyId} did not validate (cycle ${e.outcome})`;
  }
  if (!e.copy?.lockedUntil) return `copy ${e.copyId} is not retention-locked`;
  if (Date.parse(e.copy.lockedUntil) <= now.getTime()) return `copy ${e.copyId}'s retention lock expired at ${e.copy.lockedUntil}`;
  if (!e.validation?.copy?.path) return `copy ${e.copyId} has no copy manifest to verify a restore against`;
  return null;
}

/** A good copy that can still be restored and verified now. */
export const isDrillable = (e: CatalogEntry, now: Date): boolean => refusalOf(e, now) === null;

/** The newest good copy, or the given one; the reason when there is none or the given one is refused. */
export function pickCopy(entries: CatalogEntry[], copyId: string | undefined, now: Date): { entry: CatalogEntry } | { refused: string } {
  if (copyId) {
    const e = entries.find((x) => x.copyId === copyId);
    if (!e) return { refused: `copy ${copyId} is not in the vault's catalog` };
    const why = refusalOf(e, now);
    return why ? { refused: why } : { entry: e };
  }
  const good = entries.filter((e) => isDrillable(e, now));
  if (good.length) return { entry: good[good.length - 1] };
  const newest = entries[entries.length - 1];
  return { refused: newest ? `no good copy to drill: the newest, ${refusalOf(newest, now)}` : 'no copy in the catalog yet: run a cycle first' };
}
