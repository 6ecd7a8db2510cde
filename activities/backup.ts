/**
 * Backup-software coordination (PREFLIGHT and cleanup of the cycle). Before the gap opens: wait, bounded and
 * heartbeating, until no job that writes the protected data is running, then hold new runs (Bareos: disable
 * jobs/schedules; NetWorker: workflow autoStartEnabled=false) and check again, since a job may have started in
 * between. While the cycle runs, the hold is re-asserted (a Bareos Director reload silently re-enables what was
 * disabled). After the cycle, also after failure or abort, the hold is released: only what this service
 * switched off is switched on again, never what an operator had disabled.
 *
 * The hold is recorded in the evidence store (`<evidence>/<vault>/backup-hold.json`) before the first item
 * is switched off, so a hold left behind by a crashed or terminated cycle can be released by
 * `releaseBackupHold(deps, vaultId)` (the sentinel's job) without any workflow state.
 */
import { mkdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Context } from '@temporalio/activity';
import { ConfigError, resolveSecret } from '../config/load';
import type { VaultConfig } from '../config/schema';
import type { ActivityDeps } from './deps';
import { vaultAccess } from './deps';
import { runStatus } from './history';
import { openBareos } from './drivers/backup/bareos';
import { openNetWorker } from './drivers/backup/networker';
import type { BackupDriver, HoldItem } from './drivers/backup/types';
import { openHttps } from './drivers/https';
import type { BackupRecord } from '../workflows/cycle-messages';

/** The protected jobs kept running past backup.drainTimeout: the cycle ends in PREFLIGHT, gap untouched. */
export class BackupDrainTimeoutError extends Error {
  override name = 'BackupDrainTimeoutError';
  readonly retryable = false; // already waited drainTimeout: a retry would only keep the cycle waiting longer
}

/** Sleeps in one-second steps with a heartbeat each, so a cancellation reaches the activity within a second. */
async function sleepBeating(ctx: Context, ms: number, details?: unknown): Promise<void> {
  for (let left = ms; left > 0; left -= 1000) {
    ctx.heartbeat(details);
    await ctx.sleep(Math.min(1000, left));
  }
  ctx.heartbeat(details);
}

/**
 * False once the cycle this activity works for has ended (terminated, timed out): a terminated cycle's activity
 * lives on until a heartbeat tells it, and must not re-assert a hold the sentinel is releasing. True when it
 * cannot tell (no client in a unit test, Temporal unreachable): keeping the hold is the safe side.
 */
async function cycleStillRunning(ctx: Context): Promise<boolean> {
  let client: Context['client'];
  try {
    client = ctx.client;
  } catch {
    return true;
  }
  const run = ctx.info.workflowExecution;
  if (!run) return true;
  try {
    return (await runStatus(client, run.workflowId, run.runId)) === 'RUNNING'; // NOT_FOUND: ended and gone
  } catch {
    return true; // Temporal unreachable: cannot tell
  }
}

function holdFile(deps: ActivityDeps, vaultId: string): string {
  return join(deps.config.evidenceDir, vaultId, 'backup-hold.json');
}

async function readHold(file: string): Promise<BackupRecord | null> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as BackupRecord;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

async function writeHold(file: string, rec: BackupRecord): Promise<void> {
  await mkdir(join(file, '..'), { recursive: true });
  await writeFile(`${file}.tmp`, JSON.stringify(rec, null, 2) + '\n');
  await rename(`${file}.tmp`, file);
}

function holdItems(b: NonNullable<VaultConfig['backup']>): HoldItem[] {
  return [
    ...b.hold.jobs.map((name) => ({ kind: 'job' as const, name })),
    ...b.hold.schedules.map((name) => ({ kind: 'schedule' as const, name })),
    ...b.hold.workflows.map((w) => ({ kind: 'workflow' as const, name: `${w.policy}/${w.workflow}` })),
  ];
}

/** Opens the vault's backup-software driver; the password is read here, at run time. */
export function openBackup(deps: ActivityDeps, vaultId: string): { driver: BackupDriver; config: NonNullable<VaultConfig['backup']> } | null {
  const access = vaultAccess(deps, vaultId);
  const b = access.vault.backup;
  if (!b) return null;
  const field = `${access.field}.backup`;
  const target = {
    baseUrl: b.url,
    tls: b.tls,
    tlsField: `${field}.tls`,
    device: `${b.software} ${new URL(b.url).host}`,
    timeoutMs: b.timeout * 1000,
    username: b.username,
    password: resolveSecret(b.password, `vault ${vaultId} backup software password (${field}.password)`),
    credential: { field: `${field}.password`, ref: b.password, username: b.username, usernameField: `${field}.username` },
  };
  const open = deps.openHttps ?? openHttps;
  return { driver: b.software === 'bareos' ? openBareos(open, target) : openNetWorker(open, target), config: b };
}

async function withBackup<T>(deps: ActivityDeps, vaultId: string, fn: (d: BackupDriver, b: NonNullable<VaultConfig['backup']>) => Promise<T>): Promise<T | null> {
  const opened = openBackup(deps, vaultId);
  if (!opened) return null;
  try {
    return await fn(opened.driver, opened.config);
  } finally {
    await opened.driver.close();
  }
}

/** Releases whatever hold of this vault is recorded (idempotent). For the cycle's cleanup and the sentinel. */
export async function releaseBackupHold(deps: ActivityDeps, vaultId: string): Promise<BackupRecord | null> {
  const file = holdFile(deps, vaultId);
  const rec = await readHold(file);
  if (!rec) return null;
  const run = async (d: BackupDriver) => {
    for (const item of rec.items) if (item.held) await d.setEnabled(item, true);
  };
  const opened = openBackup(deps, vaultId);
  if (!opened) throw new Error(`vault ${vaultId}: a backup hold is recorded in ${file} but the vault has no backup configuration any more; release ${rec.items.filter((i) => i.held).map((i) => `${i.kind} ${i.name}`).join(', ')} by hand, then delete the file`);
  try {
    await run(opened.driver);
  } finally {
    await opened.driver.close();
  }
  const released: BackupRecord = { ...rec, releasedAt: new Date().toISOString() };
  await writeHold(`${file.replace(/\.json$/, '')}.released-${released.releasedAt!.replace(/[:.]/g, '')}.json`, released);
  await unlink(file);
  return released;
}

export function backupActivities(deps: ActivityDeps) {
  return {
    /** PREFLIGHT: wait until no protected job writes, then hold new runs. Null when no backup software is configured. */
    async backupHold(vaultId: string): Promise<BackupRecord | null> {
      const ctx = Context.current();
      const file = holdFile(deps, vaultId);
      const access = vaultAccess(deps, vaultId);
      return withBackup(deps, vaultId, async (d, b) => {
        const resumed = ctx.info.heartbeatDetails as { since?: string } | undefined;
        const since = resumed?.since ? Date.parse(resumed.since) : Date.now();
        const deadline = since + b.drainTimeout * 1000;
        const waitedFor = new Map<string, { id: string; name: string; status: string }>();
        let rec: BackupRecord | null = await readHold(file); // a retry finds its own earlier hold
        const key = (items: HoldItem[]) => JSON.stringify(items.map((i) => `${i.kind} ${i.name}`).sort());
        if (rec && (rec.software !== b.software || key(rec.items) !== key(holdItems(b)))) {
          throw new ConfigError(
            `vault ${vaultId}: ${file} records a ${rec.software} hold of ${rec.items.map((i) => `${i.kind} ${i.name}`).join(', ')} that does not match ${access.field}.backup ` +
              `(${b.software}): release it (the sentinel, or by hand on the backup server, then delete the file) before the next cycle`,
          );
        }
        const waitIdle = async () => {
          for (;;) {
            ctx.heartbeat({ since: new Date(since).toISOString() });
            const active = await d.activeJobs(b.protects);
            for (const j of active) waitedFor.set(j.id, { id: j.id, name: j.name, status: j.status });
            if (!active.length) return;
            if (Date.now() >= deadline) {
              throw new BackupDrainTimeoutError(
                `vault ${vaultId}: ${d.label} still runs ${active.map((j) => `${j.name} #${j.id} (${j.status})`).join(', ')} after backup.drainTimeout ` +
                  `(${b.drainTimeout} s); the gap was not opened. Let the job finish or cancel it, or raise backup.drainTimeout.`,
              );
            }
            await sleepBeating(ctx, b.pollInterval * 1000, { since: new Date(since).toISOString(), waitingFor: active.map((j) => `${j.name} #${j.id}`) });
          }
        };
        await waitIdle();
        if (!rec && !(await cycleStillRunning(ctx))) {
          // Terminated while waiting for the jobs to drain: a hold taken now would have nobody to release it.
          throw new Error(`vault ${vaultId}: the cycle ${ctx.info.workflowExecution?.workflowId} has ended; no backup hold taken`);
        }
        if (!rec) {
          rec = { software: b.software, items: [], waitedFor: [], waitedSeconds: 0, reasserted: [] };
          for (const item of holdItems(b)) rec.items.push({ ...item, held: await d.isEnabled(item) });
          await writeHold(file, rec); // intent first: a crash from here on leaves a hold the sentinel can release
          for (const item of rec.items) if (item.held) await d.setEnabled(item, false);
          rec.heldAt = new Date().toISOString();
          await writeHold(file, rec);
        }
        await waitIdle(); // a job may have started between the check and the hold
        rec.waitedFor = [...waitedFor.values()];
        rec.waitedSeconds = Math.round((Date.now() - since) / 100) / 10;
        await writeHold(file, rec);
        return rec;
      });
    },

    /** While the gap may be open: re-assert the hold every backup.reassertInterval until cancelled. */
    async backupKeepHold(vaultId: string): Promise<void> {
      const ctx = Context.current();
      const file = holdFile(deps, vaultId);
      await withBackup(deps, vaultId, async (d, b) => {
        for (;;) {
          await sleepBeating(ctx, b.reassertInterval * 1000); // rejects when the cycle cancels this activity
          const rec = await readHold(file);
          if (!rec || !(await cycleStillRunning(ctx))) return;
          for (const item of rec.items) {
            if (!item.held || !(await d.isEnabled(item))) continue;
            await d.setEnabled(item, false);
            const note = { at: new Date().toISOString(), item: `${item.kind} ${item.name}` };
            rec.reasserted = [...(rec.reasserted ?? []), note];
            await writeHold(file, rec);
            await deps.alert({ severity: 'warning', vaultId, summary: `${d.label} re-enabled ${note.item} during the cycle (Director reload?): hold re-asserted` });
          }
          const active = await d.activeJobs(b.protects);
          if (active.length) {
            await deps.alert({ severity: 'warning', vaultId, summary: `${d.label} runs ${active.map((j) => j.name).join(', ')} during the cycle despite the hold (started by hand?)` });
          }
        }
      });
    },

    /** Cleanup: release the hold recorded for this vault (non-cancellable in the cycle; idempotent). */
    async backupRelease(vaultId: string): Promise<BackupRecord | null> {
      return releaseBackupHold(deps, vaultId);
    },
  };
}
