/** Alerts: to the worker's log and, as JSON lines, to the evidence store where monitoring can pick them up. */
import { appendFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Alert } from './deps';

export function fileAlerter(evidenceDir: string, log: (line: string) => void = (l) => console.error(l)) {
  return async (alert: Alert): Promise<void> => {
    const line = JSON.stringify({ at: new Date().toISOString(), ...alert });
    log(`ALERT ${alert.severity.toUpperCase()} ${alert.vaultId}: ${alert.summary}`);
    await mkdir(evidenceDir, { recursive: true });
    await appendFile(join(evidenceDir, 'alerts.jsonl'), line + '\n');
  };
}
