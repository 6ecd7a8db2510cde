/**
 * Immutability probe: lock a canary file of our own (never real data) in the copies MTree through the storage's
 * own interfaces (the mount path, the DD's retention report), then try to overwrite, append to, rename, shorten
 * the lock of, and delete it. Every attempt must be refused; one that is not is a critical incident: the vault
 * is not WORM. Canaries live in `<copies MTree>/.ir-canary/` and are locked for the MTree's minimum.
 */
import { existsSync, promises as fsp } from 'node:fs';
import { join } from 'node:path';
import type { ActivityDeps } from './deps';
import { vaultAccess } from './deps';
import { lockFiles } from './drivers/datadomain/retention-mount';
import { recordEvidence, recordIncident } from './evidence';
import type { ProbeAttempt, ProbeResult } from '../workflows/cycle-messages';

export const CANARY_DIR = '.ir-canary';
const MARGIN_SECONDS = 60;
const SAFE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,100}$/;

export function probeActivities(deps: ActivityDeps) {
  return {
    async probeImmutability(vaultId: string, probeId: string, source: string): Promise<ProbeResult> {
      if (!SAFE_ID.test(probeId)) throw new Error(`probe id ${JSON.stringify(probeId)} must be letters, digits, dot, dash or underscore`);
      const access = vaultAccess(deps, vaultId);
      const { copiesMtree, copiesMountPath } = access.vault.vault;
      const dir = join(copiesMountPath, CANARY_DIR);
      const name = `${probeId}.canary`;
      const file = join(dir, name);
      const ddPath = `${copiesMtree}/${CANARY_DIR}/${name}`;
      const content = `isolated-recovery immutability canary ${probeId}: not backup data\n`;
      const result = await access.withVaultDd(async (dd) => {
        const reportedUntil = async () => (await dd.retentionReport(copiesMtree)).find((r) => r.path === ddPath)?.expires;
        await fsp.mkdir(dir, { recursive: true });
        // A retried probe finds its canary already there (and maybe locked): never rewrite it.
        if (!existsSync(file)) await fsp.writeFile(file, content, { flag: 'wx' });
        const rl = await dd.retentionLockStatus(copiesMtree);
        const { now } = await dd.systemDate();
        await lockFiles(dir, [name], new Date(now.getTime() + (rl.minSeconds + MARGIN_SECONDS) * 1000)).catch((err: Error) => {
          // Already locked (and immutable) from an earlier attempt: the report below decides.
          if (!/EPERM|EACCES|EROFS/.test(err.message)) throw err;
        });
        const until = await reportedUntil();
        const out: ProbeResult = { canary: ddPath, lockedUntil: until?.toISOString(), attempts: [], worm: false };
        if (!until) {
          out.error = 'the storage did not list the canary as retention-locked after locking it';
          return out;
        }
        out.attempts = await attempts(file, content, until, reportedUntil);
        out.worm = out.attempts.every((a) => a.refused);
        return out;
      });
      if (!result.worm) {
        const accepted = result.attempts.filter((a) => !a.refused).map((a) => a.action);
        const summary = result.error
          ? `immutability probe ${probeId} could not lock its canary: ${result.error}`
          : `immutability probe ${probeId}: the storage accepted ${accepted.join(', ')} on a locked canary: the vault is not WORM`;
        const incident = await recordIncident(access.evidenceDir, vaultId, { id: `not-worm-${probeId}`, severity: 'critical', kind: 'not-worm', summary, paths: [result.canary], source });
        result.incidentId = `not-worm-${probeId}`;
        await deps.alert({ severity: 'critical', vaultId, summary, detail: incident.path });
      }
      await recordEvidence(access.evidenceDir, vaultId, 'probe', probeId, { vaultId, source, at: new Date().toISOString(), ...result });
      return result;
    },
  };
}

const refusedBy = (err: unknown) => `refused: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`;

async function attempts(file: string, content: string, until: Date, reportedUntil: () => Promise<Date | undefined>): Promise<ProbeAttempt[]> {
  const out: ProbeAttempt[] = [];
  const attempt = async (action: ProbeAttempt['action'], fn: () => Promise<string>) => {
    try {
      out.push({ action, refused: false, detail: await fn() });
    } catch (err) {
      out.push({ action, refused: true, detail: refusedBy(err) });
    }
  };
  await attempt('write', async () => {
    await fsp.writeFile(file, 'overwritten by the immutability probe\n');
    return 'the file was overwritten';
  });
  await attempt('append', async () => {
    await fsp.appendFile(file, 'appended by the immutability probe\n');
    return 'the file was appended to';
  });
  await attempt('rename', async () => {
    await fsp.rename(file, `${file}.moved`);
    await fsp.rename(`${file}.moved`, file).catch(() => undefined);
    return 'the file was renamed';
  });
  await attempt('shorten-lock', async () => {
    const st = await fsp.stat(file);
    await fsp.utimes(file, new Date(Date.now() + 1000), st.mtime);
    const after = await reportedUntil();
    if (after && after.getTime() >= until.getTime()) throw Object.assign(new Error('storage kept the lock'), { code: `storage kept the lock until ${after.toISOString()}` });
    return `the lock was lowered to ${after?.toISOString() ?? 'none'}`;
  });
  await attempt('delete', async () => {
    await fsp.unlink(file);
    return 'the file was deleted';
  });
  // Whatever the calls said, the canary must still be there with its content.
  const now = await fsp.readFile(file, 'utf8').catch(() => null);
  if (now !== content && out.every((a) => a.refused)) out.push({ action: 'write', refused: false, detail: 'every call failed, yet the canary changed' });
  return out;
}
