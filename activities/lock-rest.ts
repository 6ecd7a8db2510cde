/**
 * LOCK over the DD REST API (`lock.method: rest`): every file of the copy gets an absolute retention time
 * through `rlfiles` PUT, then the storage's own `rlfiles` listing must show each one locked until at least
 * that time. The driver never sends a time shorter than a lock already in place.
 */
import { readdir, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import type { VaultAccess } from './deps';
import { LockError } from './lock-error';

async function walk(root: string): Promise<{ files: string[]; bytes: number }> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  const files: string[] = [];
  let bytes = 0;
  for (const e of entries) {
    if (!e.isFile()) continue;
    const abs = join(e.parentPath, e.name);
    files.push(relative(root, abs).split(sep).join('/'));
    bytes += (await stat(abs)).size;
  }
  return { files: files.sort(), bytes };
}

export async function lockOverRest(
  access: VaultAccess,
  copyId: string,
  mountDir: string,
  until: Date,
  heartbeat: (details: unknown) => void,
): Promise<{ files: string[]; bytes: number; lockedUntil: Date; mode: string; sent: number }> {
  const { copiesMtree } = access.vault.vault;
  const { files, bytes } = await walk(mountDir);
  return access.withVaultDdRest(async (rest) => {
    const rl = await rest.mtreeRetention(copiesMtree);
    if (!rl.enabled) throw new LockError(`retention lock is not enabled on ${copiesMtree} according to ${rest.label} (rl_status ${rl.status})`);
    const paths = files.map((f) => `${copyId}/${f}`);
    const { sent } = await rest.lockFiles(copiesMtree, paths, until, (done) => heartbeat({ step: 'locking over REST', done, total: paths.length }));
    // The storage has the last word: every file must be listed locked until at least the requested time.
    const listed = new Map((await rest.fileLocks(copiesMtree)).filter((f) => f.path.startsWith(`${copyId}/`)).map((f) => [f.path, f]));
    const want = Math.floor(until.getTime() / 1000) * 1000;
    const short = paths.filter((p) => {
      const f = listed.get(p);
      return !(f && f.state === 'locked' && f.expires && f.expires.getTime() >= want);
    });
    if (short.length) {
      throw new LockError(`${short.length} of ${paths.length} files of ${copiesMtree}/${copyId} are not locked until ${until.toISOString()} according to ${rest.label}, e.g. ${short.slice(0, 5).join(', ')}`);
    }
    const earliest = Math.min(...paths.map((p) => listed.get(p)!.expires!.getTime()));
    return { files, bytes, lockedUntil: new Date(Number.isFinite(earliest) ? earliest : until.getTime()), mode: rl.mode, sent };
  });
}
