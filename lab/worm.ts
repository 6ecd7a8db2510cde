/**
 * The lab's WORM guard on the copies mount: a file the retention lock accepted gets the Linux immutable
 * attribute (`chattr +i`), so writes, appends, deletes, renames and atime changes through the mount path are
 * refused by the kernel (EPERM), as a DD refuses them over NFS. The attribute is lifted when the lock expires,
 * while the tamper switch is on (tests), and when the lab closes (so its folder can be removed); it is put back
 * on every still-locked file at start.
 *
 * Setting the attribute needs root (CAP_LINUX_IMMUTABLE) and a filesystem that supports it (ext4, xfs, btrfs,
 * tmpfs since Linux 6.0; not NFS or most FUSE mounts). Where it cannot, `available` is false with the reason: the lab says so at start and
 * the cycle's immutability probe reports the vault as not WORM.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const CHUNK = 200; // files per chattr invocation

export class ImmutableAttr {
  readonly available: boolean;
  readonly reason?: string;

  constructor(readonly root: string) {
    const probe = path.join(root, `.worm-probe-${process.pid}`);
    try {
      if (process.getuid?.() !== 0) throw new Error('the lab does not run as root (CAP_LINUX_IMMUTABLE is needed)');
      fs.writeFileSync(probe, '');
      chattr('+i', [probe]);
      let refused = false;
      try {
        fs.appendFileSync(probe, 'x');
      } catch {
        refused = true;
      }
      chattr('-i', [probe]);
      if (!refused) throw new Error('chattr +i took no effect on this filesystem');
      this.available = true;
    } catch (err) {
      this.available = false;
      this.reason = (err as Error).message.split('\n')[0];
    } finally {
      fs.rmSync(probe, { force: true });
    }
  }

  set(absPaths: string[]): void {
    if (this.available) chattr('+i', absPaths.filter((p) => fs.existsSync(p)));
  }

  clear(absPaths: string[]): void {
    if (this.available) chattr('-i', absPaths.filter((p) => fs.existsSync(p)));
  }
}

function chattr(flag: '+i' | '-i', files: string[]): void {
  for (let i = 0; i < files.length; i += CHUNK) {
    try {
      execFileSync('chattr', ['-f', flag, '--', ...files.slice(i, i + CHUNK)], { stdio: ['ignore', 'ignore', 'pipe'] });
    } catch (err) {
      const stderr = (err as { stderr?: Buffer }).stderr?.toString().trim();
      throw new Error(`chattr ${flag} failed: ${stderr || (err as Error).message}`);
    }
  }
}
