/**
 * ssh2 Server plumbing shared by every simulated device: password + publickey auth, `shell` (with or without a
 * pty) and `exec`. Devices only see a Terminal (line input, text output) and never deal with SSH details.
 */
import crypto from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { Server, utils, type Connection, type ServerChannel } from 'ssh2';

/** Line-oriented view of one SSH channel. Interactive terminals echo like a router's line editor does. */
export class Terminal {
  private raw = '';
  private line = '';
  private skipLf = false;
  private eof = false;
  private waiter: { resolve: (l: string | null) => void; echo: boolean; key?: boolean } | null = null;
  /** Set by the server: cuts this terminal's whole SSH connection. */
  onDrop: () => void = () => undefined;

  /** Cuts the whole SSH connection at once, as a device reboot or a cable pull would; what was written goes first. */
  dropConnection(): void {
    this.flush();
    this.onDrop();
  }
  /** Characters that end a line at once and stay in it (a router's `?` help), set by the device. */
  helpKeys = '';

  constructor(
    private readonly stream: ServerChannel,
    /** interactive: a shell (echo typed characters, CRLF output); otherwise an exec channel. */
    readonly interactive: boolean,
    private readonly crlf: boolean,
  ) {
    stream.on('data', (d: Buffer) => {
      this.raw += d.toString('utf8');
      this.pump();
    });
    const onEof = () => {
      this.eof = true;
      this.pump();
    };
    stream.on('end', onEof);
    stream.on('close', onEof);
  }

  get closed(): boolean {
    return this.eof;
  }

  // What one turn of the loop writes goes out as one SSH packet: echoing a typed command character by character
  // would cost a packet (padding, MAC, a syscall) per character, which adds up with many sessions at once.
  private out = '';

  write(text: string): void {
    if (!this.stream.writable) return;
    if (this.out === '') queueMicrotask(() => this.flush());
    this.out += this.crlf ? text.replace(/\r?\n/g, '\r\n') : text;
  }

  private flush(): void {
    const text = this.out;
    this.out = '';
    if (text !== '' && this.stream.writable) this.stream.write(text);
  }

  /** Next input line without its terminator; null at end of input. Type-ahead is kept until asked for. */
  readLine(opts: { echo?: boolean } = {}): Promise<string | null> {
    return new Promise((resolve) => {
      this.waiter = { resolve, echo: this.interactive && opts.echo !== false };
      this.pump();
    });
  }

  /** Next single key (a pager's answer), without echo; null at end of input. */
  readKey(): Promise<string | null> {
    return new Promise((resolve) => {
      this.waiter = { resolve, echo: false, key: true };
      this.pump();
    });
  }

  /** Puts text back on the line being typed (after `?` help the router re-types the line for the user). */
  prefill(text: string): void {
    this.line = text;
    this.write(text);
  }

  exit(code: number): void {
    this.flush();
    if (!this.stream.writable) return;
    this.stream.exit(code);
    this.stream.end();
  }

  private finish(value: string | null): void {
    const w = this.waiter;
    this.waiter = null;
    this.line = '';
    if (w?.key) return w.resolve(value);
    if (w && this.interactive && value !== null) this.write('\r\n');
    w?.resolve(value);
  }

  private pump(): void {
    while (this.waiter && this.raw.length > 0) {
      const ch = this.raw[0];
      this.raw = this.raw.slice(1);
      if (this.waiter.key) {
        const w = this.waiter;
        this.waiter = null;
        w.resolve(ch);
        continue;
      }
      const echo = this.waiter.echo;
      if (ch === '\n' && this.skipLf) {
        this.skipLf = false;
        continue;
      }
      this.skipLf = ch === '\r';
      if (ch === '\r' || ch === '\n') {
        this.finish(this.line);
      } else if (ch === '\x7f' || ch === '\b') {
        if (this.line.length > 0) {
          this.line = this.line.slice(0, -1);
          if (echo) this.write('\b \b');
        }
      } else if (ch === '\x03') {
        // Ctrl-C drops the line being typed, as on IOS.
        if (echo) this.write('^C');
        this.finish('');
      } else if (ch === '\x04' && this.line === '' && this.interactive) {
        this.finish(null);
      } else if (ch === '\x1b') {
        // Drop cursor-key escape sequences (ESC [ A …): no history or line editing here.
        const m = /^\[[0-9;]*[A-Za-z~]/.exec(this.raw);
        if (m) this.raw = this.raw.slice(m[0].length);
      } else if (this.interactive && this.helpKeys.includes(ch) && echo) {
        if (echo) this.write(ch);
        this.finish(this.line + ch);
      } else if (ch >= ' ' || ch === '\t') {
        this.line += ch;
        if (echo) this.write(ch);
      }
    }
    if (this.waiter && this.eof && this.raw.length === 0) this.finish(this.line !== '' ? this.line : null);
  }
}

export interface DeviceHandler {
  /** Runs an interactive session until the user leaves or the channel closes. */
  shell(term: Terminal): Promise<void>;
  /** Runs one command; resolves to its exit status. */
  exec(command: string, term: Terminal): Promise<number>;
}

export interface SshDeviceOptions {
  name: string;
  hostKey: Buffer;
  host: string;
  port: number;
  username: string;
  password: string;
  clientPublic: Buffer;
  crlf: boolean;
  handler: DeviceHandler;
  log?: (line: string) => void;
  /** Asked at each login attempt: true rejects it whatever the credentials (an injected auth fault). */
  refuseLogin?: () => boolean;
}

export interface SshDevice {
  port: number;
  /** SSH connections open right now (tests check that drivers leak none). */
  connections(): number;
  close(): Promise<void>;
}

function sameSecret(a: string, b: string): boolean {
  const ha = crypto.createHash('sha256').update(a).digest();
  const hb = crypto.createHash('sha256').update(b).digest();
  return crypto.timingSafeEqual(ha, hb);
}

export async function startSshDevice(o: SshDeviceOptions): Promise<SshDevice> {
  const allowed = utils.parseKey(o.clientPublic);
  if (allowed instanceof Error) throw allowed;
  const log = o.log ?? (() => undefined);
  const conns = new Set<Connection>();
  const drop = (c: Connection) => {
    c.end();
    (c as unknown as { _sock?: { destroy(): void } })._sock?.destroy();
  };

  const server = new Server({ hostKeys: [o.hostKey], ident: `${o.name}` }, (client) => {
    conns.add(client);
    // As sshd does for interactive sessions: no Nagle delay on each prompt (ssh2 has it; its types lack it).
    (client as unknown as { setNoDelay(on: boolean): void }).setNoDelay(true);
    client.on('close', () => conns.delete(client));
    client.on('error', (err) => log(`${o.name}: connection error: ${err.message}`));
    client.on('authentication', (ctx) => {
      if (ctx.method !== 'none' && o.refuseLogin?.()) return ctx.reject(['publickey', 'password']);
      const userOk = ctx.username === o.username;
      if (ctx.method === 'password' && userOk && sameSecret(ctx.password, o.password)) return ctx.accept();
      if (ctx.method === 'publickey' && userOk && ctx.key.algo === allowed.type && ctx.key.data.equals(allowed.getPublicSSH())) {
        // Without a signature the client is only asking whether this key would do.
        if (!ctx.signature) return ctx.accept();
        if (ctx.blob && allowed.verify(ctx.blob, ctx.signature, ctx.hashAlgo) === true) return ctx.accept();
      }
      ctx.reject(['publickey', 'password']);
    });
    client.on('ready', () => {
      log(`${o.name}: login`);
      client.on('session', (acceptSession) => {
        const session = acceptSession();
        let pty = false;
        session.on('pty', (accept) => {
          pty = true;
          accept?.();
        });
        session.on('window-change', (accept) => accept?.());
        session.on('env', (accept) => accept?.());
        session.on('shell', (accept) => {
          const stream = accept();
          const term = new Terminal(stream, true, o.crlf || pty);
          term.onDrop = () => drop(client);
          o.handler.shell(term).then(
            () => term.exit(0),
            (err: Error) => {
              log(`${o.name}: shell failed: ${err.stack ?? err.message}`);
              term.exit(1);
            },
          );
        });
        session.on('exec', (accept, _reject, info) => {
          const stream = accept();
          const term = new Terminal(stream, false, o.crlf);
          term.onDrop = () => drop(client);
          log(`${o.name}: exec ${info.command}`);
          o.handler.exec(info.command, term).then(
            (code) => term.exit(code),
            (err: Error) => {
              log(`${o.name}: exec failed: ${err.stack ?? err.message}`);
              term.write(`${err.message}\n`);
              term.exit(1);
            },
          );
        });
      });
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;

  return {
    port,
    connections: () => conns.size,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Lab shutdown is abrupt on purpose: a dropped session is what a device reboot looks like.
        for (const c of conns) {
          c.end();
          (c as unknown as { _sock?: { destroy(): void } })._sock?.destroy();
        }
      }),
  };
}
