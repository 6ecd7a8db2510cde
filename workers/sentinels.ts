/** Starts the gap sentinel of every configured vault, idempotently (fixed workflow id; an existing one is kept). */
import type { Client } from '@temporalio/client';
import type { Config } from '../config/schema';
import { gapSentinel } from '../workflows';
import { sentinelWorkflowId } from '../workflows/sentinel-messages';

export async function ensureSentinels(client: Client, config: Config, taskQueue: string): Promise<string[]> {
  const ids: string[] = [];
  for (const vault of config.vaults) {
    const workflowId = sentinelWorkflowId(vault.id, taskQueue);
    await client.workflow.start(gapSentinel, { workflowId, taskQueue, args: [{ vaultId: vault.id, periodSeconds: vault.sentinel.period }], workflowIdConflictPolicy: 'USE_EXISTING' });
    ids.push(workflowId);
  }
  return ids;
}
