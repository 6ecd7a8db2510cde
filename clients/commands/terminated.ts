/**
 * What `status` says about a cycle that ended without running its close path (terminated, timed out): the gap may
 * have been left open. It then says what the devices say now (read directly when this host has the vault's
 * configuration and secrets) and what the vault's sentinel last saw and did.
 */
import type { Client } from '@temporalio/client';
import type { Config } from '../../config/schema';
import { gapIsOpen } from '../../activities/link';
import { openSwitch } from '../../activities/drivers/switch';
import { openDataDomain } from '../../activities/drivers/datadomain/cli';
import { sentinelStatusQuery, sentinelWorkflowId } from '../../workflows/sentinel-messages';

export async function endedWithoutStatus(client: Client, config: Config, vaultId: string, workflowId: string, execution: string, taskQueue: string): Promise<string[]> {
  const lines = [`the last cycle on vault ${vaultId} (${workflowId}) ended ${execution} without running its close path: the gap may have been left open`];
  try {
    // Read only: no alert sink needed (nothing here raises one).
    const gap = await gapIsOpen({ config, openSwitch, openDataDomain, alert: async () => undefined }, vaultId);
    lines.push(`devices now: gap ${gap.open ? 'OPEN' : 'closed'} (${gap.detail})`);
  } catch (err) {
    lines.push(`devices now: could not ask them from here (${(err as Error).message})`);
  }
  try {
    const s = await client.workflow.getHandle(sentinelWorkflowId(vaultId, taskQueue)).query(sentinelStatusQuery);
    if (s.lastCheck) lines.push(`sentinel: last check ${s.lastCheck.at}: ${s.lastCheck.detail}`);
    if (s.holder) lines.push(`sentinel: vault held by ${s.holder.workflowId} since ${s.holder.since}`);
    if (s.lastIncident) lines.push(`sentinel: last incident ${s.lastIncident.kind} closed ${s.lastIncident.closedAt} (${s.lastIncident.found})`);
    const b = s.lastIncident?.backupHold;
    if (b?.state === 'released') lines.push(`sentinel: released the backup hold left behind at ${b.at}: ${b.software} ${b.released?.join(', ')} switched back on`);
    if (s.backupReleasePending) {
      lines.push(`sentinel: a backup hold left behind is NOT released yet (since ${s.backupReleasePending.since}; ${s.backupReleasePending.lastError}); it tries again every period`);
    }
  } catch (err) {
    lines.push(`sentinel: no answer (${(err as Error).message}); is a worker running?`);
  }
  return lines;
}
