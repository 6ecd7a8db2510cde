/**
 * Restore faults for drills: after the vault DD's `filesys fastcopy` into the drill sandbox MTree succeeds,
 * flip bytes in some of the files it wrote, as a faulty restore path would. The drill's verification must
 * then name those files. Wraps the vault DD's handler; nothing changes while no fault is set.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { DeviceHandler } from './ssh-server';

export class RestoreFaults {
  private pending: { count: number } | null = null;
  readonly corrupted: string[] = [];

  constructor(
    private readonly sandboxMtree: string,
    private readonly sandboxDir: string,
    private readonly log: (line: string) => void = () => undefined,
  ) {}

  /** The next fastcopy into the sandbox corrupts `count` of its files (the largest first, deterministic). */
  corruptNext(count: number): void {
    this.pending = { count };
  }

  clear(): void {
    this.pending = null;
  }

  wrap(inner: DeviceHandler): DeviceHandler {
    return {
      shell: (term) => inner.shell(term),
      exec: async (command, term) => {
        const code = await inner.exec(command, term);
        const m = /^filesys fastcopy source \S+ destination (\S+)$/.exec(command.trim());
        if (code === 0 && m && this.pending && m[1].startsWith(this.sandboxMtree + '/')) {
          const dst = path.join(this.sandboxDir, m[1].slice(this.sandboxMtree.length + 1));
          this.corrupt(dst, this.pending.count);
          this.pending = null;
        }
        return code;
      },
    };
  }

  private corrupt(root: string, count: number): void {
    const files: Array<{ file: string; size: number }> = [];
    const walk = (d: string) => {
      for (const e of fs.readdirSync(d, { withFileTypes: true })) {
        const p = path.join(d, e.name);
        if (e.isDirectory()) walk(p);
        else if (e.isFile()) files.push({ file: p, size: fs.statSync(p).size });
      }
    };
    if (fs.statSync(root).isDirectory()) walk(root);
    else files.push({ file: root, size: fs.statSync(root).size });
    const victims = files.filter((f) => f.size > 0).sort((a, b) => b.size - a.size || a.file.localeCompare(b.file)).slice(0, count);
    for (const v of victims) {
      const fd = fs.openSync(v.file, 'r+');
      const at = Math.floor(v.size / 2);
      const b = Buffer.alloc(1);
      fs.readSync(fd, b, 0, 1, at);
      b[0] ^= 0xff;
      fs.writeSync(fd, b, 0, 1, at);
      fs.closeSync(fd);
      this.corrupted.push(v.file);
      this.log(`vault-dd: restore fault: flipped a byte of ${v.file}`);
    }
  }
}
