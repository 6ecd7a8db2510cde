/**
 * LOCK: land a point-in-time copy of the replica in the retention-lock MTree (`filesys fastcopy`), then
 * lock every file by setting its atime into the future over the mount path, then have the storage confirm.
 * Locks only grow: the requested retention is moved into the MTree's min/max, and no atime is ever lowered.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Context } from '@temporalio/activity';
import type { ActivityDeps } from './deps';
import { vaultAccess } from './deps';
import { lockFiles } from './drivers/datadomain/retention-mount';
import { lockOverRest } from './lock-rest';
import type { CopyInfo } from '../workflows/messages';

export class LockError extends Error {
  override name = 'LockError';
  readonly retryable = false; // the storage refused or did not confirm the lock: retrying will not change its mind
}

// The lock is computed from the storage's clock; this margin keeps a lock requested at exactly the
// MTree minimum from landing a second short of it by the time the atime is written.
const MARGIN_SECONDS = 60;

export function retentionActivities(deps: ActivityDeps) {
  return {
    /** With `snapshot`, the copy is landed from the replica's `.snapshot/<name>`: exactly the sync point's state. */
    async lockCopy(vaultId: string, copyId: string, retentionSeconds: number, snapshot?: string): Promise<CopyInfo> {
      const ctx = Context.current();
      const access = vaultAccess(deps, vaultId);
      const { copiesMtree, copiesMountPath, replicaMtree } = access.vault.vault;
      const mtreePath = `${copiesMtree}/${copyId}`;
      const mountDir = join(copiesMountPath, copyId);
      return access.withVaultDd(async (dd) => {
        const rl = await dd.retentionLockStatus(copiesMtree);
        if (!rl.enabled) throw new LockError(`retention lock is not enabled on ${copiesMtree} of ${access.vault.vault.dd.label ?? 'the vault DD'}`);
        let seconds = retentionSeconds;
        let retentionAdjusted: string | undefined;
        if (seconds < rl.minSeconds + MARGIN_SECONDS) {
          seconds = rl.minSeconds + MARGIN_SECONDS;
          retentionAdjusted = `requested ${retentionSeconds} s is below the MTree minimum ${rl.minSeconds} s: raised to ${seconds} s`;
        } else if (seconds > rl.maxSeconds - MARGIN_SECONDS) {
          seconds = rl.maxSeconds - MARGIN_SECONDS;
          retentionAdjusted = `requested ${retentionSeconds} s is above the MTree maximum ${rl.maxSeconds} s: lowered to ${seconds} s`;
        }
        // A retry after a successful fastcopy finds the copy already there: this run's copy id is unique.
        if (!existsSync(mountDir)) await dd.fastcopy(snapshot ? `${replicaMtree}/.snapshot/${snapshot}` : replicaMtree, mtreePath);
        ctx.heartbeat({ step: 'fastcopy done' });

        const { now } = await dd.systemDate();
        const until = new Date(now.getTime() + seconds * 1000);
        if (access.vault.lock.method === 'rest') {
          const r = await lockOverRest(access, copyId, mountDir, until, (d) => ctx.heartbeat(d));
          return { copyId, mtreePath, files: r.files.length, bytes: r.bytes, lockedUntil: r.lockedUntil.toISOString(), lockMode: r.mode, lockMethod: 'rest', retentionAdjusted };
        }
        const applied = await lockFiles(mountDir, until, (p) => ctx.heartbeat({ step: 'locking', ...p }));

        // The storage has the last word: every file of the copy must be on its retention report.
        const report = await dd.retentionReport(copiesMtree);
        const prefix = `${mtreePath}/`;
        const locked = new Map(report.filter((r) => r.path.startsWith(prefix)).map((r) => [r.path.slice(prefix.length), r]));
        const unlocked = applied.files.filter((f) => !locked.has(f));
        if (unlocked.length) {
          throw new LockError(
            `${unlocked.length} of ${applied.files.length} files of ${mtreePath} are not retention-locked according to the storage, e.g. ${unlocked.slice(0, 5).join(', ')}`,
          );
        }
        const earliest = Math.min(...[...locked.values()].map((r) => r.expires.getTime()));
        return {
          copyId,
          mtreePath,
          files: applied.files.length,
          bytes: applied.bytes,
          lockedUntil: new Date(Number.isFinite(earliest) ? earliest : until.getTime()).toISOString(),
          lockMode: rl.mode,
          retentionAdjusted,
        };
      });
    },
  };
}
