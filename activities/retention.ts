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
import { latestLockOnFiles, lockFiles, type LockCheckpoint } from './drivers/datadomain/retention-mount';
import { isDestinationTaken } from './drivers/datadomain/parse';
import { DeviceCommandError } from './drivers/errors';
import { LockError } from './lock-error';
import { lockOverRest } from './lock-rest';
import type { CopyInfo } from '../workflows/cycle-messages';

/**
 * LOCK's resume checkpoint, heartbeated: a retry on another worker (the first one died) reads it from
 * `heartbeatDetails` and continues. `until` is the lock time the first attempt chose: the retry locks to the same
 * instant, so what is already locked is recognised (and not redone); a lock is never set shorter than it is.
 */
export interface LockCopyCheckpoint {
  v: 1;
  copyId: string;
  step: 'fastcopy done' | 'locking';
  fastcopied: true;
  until: string;
  files?: LockCheckpoint;
  progress?: { done: number; total: number };
}

function priorCheckpoint(details: unknown, copyId: string): LockCopyCheckpoint | null {
  const d = details as Partial<LockCopyCheckpoint> | undefined;
  if (!d || d.v !== 1 || d.copyId !== copyId || d.fastcopied !== true || typeof d.until !== 'string' || Number.isNaN(Date.parse(d.until))) return null;
  return d as LockCopyCheckpoint;
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
        const prior = priorCheckpoint(ctx.info.heartbeatDetails, copyId);
        // The fastcopy is not repeated when the copy is there (the copy id is unique to this run, so a folder with
        // its name is this cycle's fastcopy, finished on the device even when the worker that asked for it died;
        // VALIDATE compares every file with the source, so a short copy would show). Asked of the mount, not the
        // checkpoint: a worker that does not see the copy gets the DD's own refusal, not a lock of nothing.
        let fastcopySkipped = existsSync(mountDir);
        if (!fastcopySkipped) {
          try {
            await dd.fastcopy(snapshot ? `${replicaMtree}/.snapshot/${snapshot}` : replicaMtree, mtreePath);
          } catch (err) {
            // A lost attempt's fastcopy was still running on the device when this one asked, and landed first: the
            // device refuses the second ("already exists"). The folder carries this run's copy id and a fastcopy
            // appears whole, so it is that attempt's copy (found by the soak: a worker SIGKILLed mid-LOCK, busy labs).
            if (!(err instanceof DeviceCommandError && isDestinationTaken(err.output) && existsSync(mountDir))) throw err;
            fastcopySkipped = true;
          }
        }

        // Locks only grow: a retry keeps the first attempt's lock time while it is still a valid request by the
        // MTree's minimum (the storage judges a lock at the instant it is set), so it finds the files already
        // locked; past that, a new (later) time is taken, which only extends what was set.
        const { now } = await dd.systemDate();
        const fresh = new Date(now.getTime() + seconds * 1000);
        // Without a checkpoint (a lost worker's heartbeat never reached the server) the copy's own files say what an
        // earlier attempt locked them to: the fastcopy is this run's, so any future atime on it is this cycle's lock.
        const onFiles = !prior && fastcopySkipped ? await latestLockOnFiles(mountDir, now) : undefined;
        const priorUntil = prior ? Date.parse(prior.until) : onFiles ? onFiles.getTime() : NaN;
        const stillValid = priorUntil >= now.getTime() + (rl.minSeconds + MARGIN_SECONDS / 2) * 1000 && priorUntil <= now.getTime() + rl.maxSeconds * 1000;
        const kept = stillValid ? new Date(priorUntil) : undefined;
        const until = kept ?? fresh;
        const base: LockCopyCheckpoint = { v: 1, copyId, step: 'fastcopy done', fastcopied: true, until: until.toISOString() };
        ctx.heartbeat(base);
        const resumedFrom = (fromCheckpoint: number, alreadyLocked: number) =>
          prior || fastcopySkipped ? { attempt: ctx.info.attempt, fastcopySkipped, untilKept: !!kept, fromCheckpoint, alreadyLocked } : undefined;

        if (access.vault.lock.method === 'rest') {
          // The DD's own rlfiles listing is the checkpoint here: files already locked until `until` are not sent.
          const r = await lockOverRest(access, copyId, mountDir, until, (d) => ctx.heartbeat({ ...base, step: 'locking', progress: d }));
          return {
            copyId, mtreePath, files: r.files.length, bytes: r.bytes, lockedUntil: r.lockedUntil.toISOString(), lockMode: r.mode, lockMethod: 'rest', retentionAdjusted,
            resumed: resumedFrom(0, r.files.length - r.sent),
          };
        }
        const applied = await lockFiles(mountDir, until, {
          resume: kept ? prior?.files : undefined,
          onProgress: (p) => ctx.heartbeat({ ...base, step: 'locking', files: p.checkpoint, progress: { done: p.done, total: p.total } }),
        });

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
          resumed: resumedFrom(applied.resumed, applied.alreadyLonger),
        };
      });
    },
  };
}
