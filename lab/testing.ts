/**
 * Small ssh2 client helpers for the lab's own tests and for poking at a running lab: connect with host key
 * pinning, run one exec command, drive an interactive shell by prompt. Not a driver: the real drivers live in
 * activities/drivers and must not depend on this.
 */
import fs from 'node:fs';
import { Client, type ClientChannel } from 'ssh2';
import { fingerprint } from './keys';

export interface ConnectOptions {
  host: string;
  port: number;
  username: string;
  password?: string;
  privateKeyFile?: string;
  /** Expected host key fingerprint (SHA256:…); the connection fails on any other key. */
  fingerprint?: string;
}

export function connect(o: ConnectOptions): Promise<Client> {
  return new Promise((resolve, reject) => {
    const c = new Client();
    c.once('ready', () => resolve(c));
    c.once('error', reject);
    c.connect({
      host: o.host,
      port: o.port,
      username: o.username,
      password: o.password,
      privateKey: o.privateKeyFile ? fs.readFileSync(o.privateKeyFile) : undefined,
      readyTimeout: 10000,
      hostVerifier: o.fingerprint ? (key: Buffer) => fingerprint(key) === o.fingerprint : undefined,
    });
  });
}

export interface ExecResult {
  stdout: string;
  stderr: string;
  code: number | null;
}

/** Runs one command; `stdin` is sent and the input closed (answers for confirmation prompts). */
export function exec(c: Client, command: string, stdin = ''): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    c.exec(command, (err, stream) => {
      if (err) return reject(err);
      let stdout = '';
      let stderr = '';
      let code: number | null = null;
      stream.on('data', (d: Buffer) => (stdout += d.toString()));
      stream.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      stream.on('exit', (c2: number | null) => (code = c2));
      stream.on('close', () => resolve({ stdout, stderr, code }));
      stream.end(stdin);
    });
  });
}

/** One-shot: connect, exec, disconnect. */
export async function run(o: ConnectOptions, command: string, stdin = ''): Promise<ExecResult> {
  const c = await connect(o);
  try {
    return await exec(c, command, stdin);
  } finally {
    c.end();
  }
}

/** An interactive shell read by prompt, the way scrapli/netmiko do it. */
export class Shell {
  private buf = '';
  private waiters: Array<() => void> = [];
  closed = false;

  private constructor(readonly stream: ClientChannel) {
    stream.on('data', (d: Buffer) => {
      this.buf += d.toString();
      for (const w of this.waiters.splice(0)) w();
    });
    stream.on('close', () => {
      this.closed = true;
      for (const w of this.waiters.splice(0)) w();
    });
  }

  static open(c: Client, pty = true): Promise<Shell> {
    return new Promise((resolve, reject) => {
      const cb = (err: Error | undefined, stream: ClientChannel) => (err ? reject(err) : resolve(new Shell(stream)));
      if (pty) c.shell({ term: 'vt100', cols: 200, rows: 50 }, cb);
      else c.shell(false, cb);
    });
  }

  send(text: string): void {
    this.stream.write(text);
  }

  /** Waits until the unread output matches re; returns (and consumes) everything up to the end of the match. */
  async expect(re: RegExp, timeoutMs = 5000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = re.exec(this.buf);
      if (m) {
        const end = m.index + m[0].length;
        const out = this.buf.slice(0, end);
        this.buf = this.buf.slice(end);
        return out;
      }
      if (this.closed) throw new Error(`shell closed while waiting for ${re}; got ${JSON.stringify(this.buf)}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timeout waiting for ${re}; got ${JSON.stringify(this.buf)}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Sends a command line and returns its output (without the echo line and the next prompt). */
  async command(line: string, prompt: RegExp = /[\w.\-@/:]+(\([\w\-]+\))?[>#] ?$/): Promise<string> {
    this.send(line + '\n');
    const out = await this.expect(new RegExp(`\\r?\\n?[^\\n]*${prompt.source}`));
    const lines = out.split(/\r?\n/);
    const echoAt = lines.findIndex((l) => l.endsWith(line));
    return lines.slice(echoAt + 1, -1).join('\n');
  }

  unread(): string {
    return this.buf;
  }

  close(): void {
    this.stream.end();
  }
}
