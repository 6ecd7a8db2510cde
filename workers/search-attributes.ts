/**
 * The cycle's search attributes, registered on any server that lacks them (idempotent): by the worker at start,
 * and by the clients above it (the demo, the dev server, `irctl schedule apply`).
 */
import type { Connection } from '@temporalio/client';
import { searchAttributeNames } from '../workflows/cycle-messages';

// temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD
const KEYWORD = 2;

/** Registers the project's search attributes if missing (idempotent, any server). */
export async function ensureSearchAttributes(connection: Connection, namespace = 'default'): Promise<void> {
  const existing = await connection.operatorService.listSearchAttributes({ namespace });
  const have = new Set([...Object.keys(existing.customAttributes ?? {}), ...Object.keys(existing.systemAttributes ?? {})]);
  const missing = searchAttributeNames.filter((n) => !have.has(n));
  if (missing.length === 0) return;
  await connection.operatorService.addSearchAttributes({
    namespace,
    searchAttributes: Object.fromEntries(missing.map((n) => [n, KEYWORD])),
  });
  // Registration is asynchronous on some servers: wait until they are visible.
  for (let i = 0; i < 50; i++) {
    const now = await connection.operatorService.listSearchAttributes({ namespace });
    if (missing.every((n) => n in (now.customAttributes ?? {}))) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`search attributes ${missing.join(', ')} did not appear on the server`);
}
