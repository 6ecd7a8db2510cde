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
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
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

  /** Puts the attribute on before returning (lab start; a lock the lab was asked about directly). */
  setNow(absPaths: string[]): void {
    if (!this.available || absPaths.length === 0) return;
    chattr('+i', absPaths.filter((p) => fs.existsSync(p)));
    // A lift still queued (an expiry) must not undo this one: put it on again after the queue.
    if (this.busy > 0) void this.set(absPaths).catch(() => undefined);
  }

  // Changes run one after another in a child process of their own, so a lab serving many vaults is not blocked
  // while chattr runs (a synchronous spawn from a large process takes tens of milliseconds); `settled()` waits for
  // them, and whoever reports a lock as in force (the retention report) awaits it first.
  private queue: Promise<void> = Promise.resolve();
  private busy = 0;
  private failure: Error | null = null;

  set(absPaths: string[]): Promise<void> {
    return this.enqueue('+i', absPaths);
  }

  clear(absPaths: string[]): Promise<void> {
    return this.enqueue('-i', absPaths);
  }

  /** Resolves when every change asked for so far is done; rejects with the first one that failed since. */
  async settled(): Promise<void> {
    await this.queue;
    const f = this.failure;
    this.failure = null;
    if (f) throw f;
  }

  private enqueue(flag: '+i' | '-i', absPaths: string[]): Promise<void> {
    if (!this.available || absPaths.length === 0) return this.queue;
    this.busy += 1;
    const run = this.queue.then(() => chattrAsync(flag, absPaths.filter((p) => fs.existsSync(p)))).finally(() => (this.busy -= 1));
    this.queue = run.catch((err: Error) => {
      this.failure ??= err;
    });
    return run;
  }
}

/**
 * One long-lived shell per lab process runs the queued chattr calls: spawning from a large Node process (many
 * labs in one, the benchmark's fleet) costs a fork of all its memory each time, on the event loop. Requests are
 * NUL-separated (flag, count, paths); the shell answers one line each, in order.
 */
const HELPER_SCRIPT = [
  "while IFS= read -r -d '' flag && IFS= read -r -d '' n; do",
  '  files=(); for ((i = 0; i < n; i++)); do IFS= read -r -d \'\' f; files+=("$f"); done',
  '  out=$(chattr -f "$flag" -- "${files[@]}" 2>&1); rc=$?',
  '  if [ $rc -eq 0 ]; then echo ok; else echo "err (exit $rc) ${out//$\'\\n\'/ }"; fi',
  'done',
].join('\n');

class ChattrHelper {
  private readonly child: ChildProcess;
  private readonly waiting: Array<{ resolve: () => void; reject: (e: Error) => void; flag: string }> = [];
  private buffered = '';
  private dead: Error | null = null;

  constructor() {
    this.child = spawn('bash', ['-c', HELPER_SCRIPT], { stdio: ['pipe', 'pipe', 'ignore'] });
    this.child.on('error', (err) => this.fail(err));
    this.child.on('exit', (code) => this.fail(new Error(`the chattr helper exited (${code})`)));
    this.child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      this.buffered += d;
      let nl: number;
      while ((nl = this.buffered.indexOf('\n')) >= 0) {
        const line = this.buffered.slice(0, nl);
        this.buffered = this.buffered.slice(nl + 1);
        const w = this.waiting.shift();
        if (this.waiting.length === 0) this.idle(true);
        if (!w) continue;
        if (line === 'ok') w.resolve();
        else w.reject(new Error(`chattr ${w.flag} failed: ${line.replace(/^err /, '')}`));
      }
    });
    (this.child.stdin as unknown as { unref(): void }).unref();
    this.idle(true);
  }

  /** Idle, it keeps no process alive (the shell sees end of input when the lab's process ends, and exits). */
  private idle(yes: boolean): void {
    const out = this.child.stdout as unknown as { ref(): void; unref(): void };
    if (yes) {
      this.child.unref();
      out.unref();
    } else {
      this.child.ref();
      out.ref();
    }
  }

  run(flag: '+i' | '-i', files: string[]): Promise<void> {
    if (this.dead) return Promise.reject(this.dead);
    return new Promise((resolve, reject) => {
      if (this.waiting.length === 0) this.idle(false);
      this.waiting.push({ resolve, reject, flag });
      this.child.stdin!.write([flag, String(files.length), ...files].map((x) => `${x}\0`).join(''));
    });
  }

  private fail(err: Error): void {
    this.dead ??= err;
    for (const w of this.waiting.splice(0)) w.reject(err);
    if (helper === this) helper = null; // the next call starts a new one
  }
}

let helper: ChattrHelper | null = null;

async function chattrAsync(flag: '+i' | '-i', files: string[]): Promise<void> {
  for (let i = 0; i < files.length; i += CHUNK) {
    helper ??= new ChattrHelper();
    await helper.run(flag, files.slice(i, i + CHUNK));
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
