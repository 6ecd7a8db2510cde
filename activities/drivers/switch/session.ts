/**
 * The CLI session engine: one interactive shell (pty) on an ssh2 client, driven by platform data.
 * It reads until a prompt of the platform matches the last output line, answers pager and confirmation
 * prompts, escalates privilege (`enable`), and turns failure strings into DeviceCommandError carrying the
 * device's own words. Commands are serialised: one in flight at a time.
 */
import type { Client, ClientChannel } from 'ssh2';
import { AuthenticationError, DeviceCommandError, DeviceError, DeviceTimeoutError, DeviceUnreachableError } from '../errors';
import { promptLevel, type ConfigOverrides, type ExpectPrompt, type Platform, type PrivilegeLevel } from './platforms';
import { cleanTerminalText, commandOutput, echoEnd, failureLines, lastLine, promptBase } from './terminal';

export interface CliSessionOptions {
  /** Device name used in errors (until the first prompt, when `hostnameAsDevice` is set). */
  label: string;
  /** Name the device by its prompt's hostname once known (when the caller gave no label of its own). */
  hostnameAsDevice?: boolean;
  platform: Platform;
  enableSecret?: string;
  /** Default per-command time limit (ms). */
  timeoutMs?: number;
  /** Time limit for the first prompt and privilege escalation (ms). */
  openTimeoutMs?: number;
}

export interface CommandOptions {
  timeoutMs?: number;
  /** Mid-command prompts to answer (each at most once), e.g. `Destination filename [startup-config]?`. */
  expect?: ExpectPrompt[];
  /** Extra failure strings for this command. */
  failedWhenContains?: string[];
  /** false: return the output without checking it for failure strings. */
  check?: boolean;
}

interface ReadResult {
  text: string; // cleaned text since the command was sent
  from: number; // where the command's output starts (after the echo)
  prompt: string;
  level?: PrivilegeLevel;
  /** Set when a `stopAt` pattern matched instead of a device prompt. */
  stoppedAt?: RegExp;
}

interface ReadSpec {
  command: string;
  /** Text the device must echo before a prompt counts (undefined: no echo expected). */
  echo?: string;
  timeoutMs: number;
  expect?: ExpectPrompt[];
  /** Patterns on the last line that end the read without a device prompt (e.g. a password prompt). */
  stopAt?: RegExp[];
  /** Send a bare newline once if nothing matched after this long (for devices that wait for RETURN). */
  nudgeAfterMs?: number;
}

const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_OPEN_TIMEOUT_MS = 20_000;

export class CliSession {
  readonly platform: Platform;
  private _device: string;
  private _hostname = '';
  private base = '';
  private _level: PrivilegeLevel | undefined;
  private raw = '';
  private closed = false;
  private closeReason = '';
  private poll: (() => void) | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly channel: ClientChannel,
    private readonly opts: CliSessionOptions,
  ) {
    this.platform = opts.platform;
    this._device = opts.label;
    channel.on('data', (d: Buffer) => {
      this.raw += d.toString('utf8');
      this.poll?.();
    });
    channel.stderr.on('data', (d: Buffer) => {
      this.raw += d.toString('utf8');
      this.poll?.();
    });
    channel.on('close', () => {
      this.closed = true;
      this.closeReason ||= 'the device closed the session';
      this.poll?.();
    });
    channel.on('error', (err: Error) => {
      this.closeReason = `channel error: ${err.message}`;
      this.closed = true;
      this.poll?.();
    });
  }

  /** Open a shell on `client`, wait for the first prompt, escalate to the working level, run on-open commands. */
  static async open(client: Client, opts: CliSessionOptions): Promise<CliSession> {
    const channel = await new Promise<ClientChannel>((resolve, reject) => {
      client.shell({ term: 'vt100', cols: 511, rows: 24, width: 0, height: 0 }, (err, ch) => {
        if (err) reject(new DeviceUnreachableError(opts.label, `${opts.label}: cannot open a shell: ${err.message}`, err));
        else resolve(ch);
      });
    });
    const s = new CliSession(channel, opts);
    try {
      await s.start();
    } catch (err) {
      s.close();
      throw err;
    }
    return s;
  }

  /** The name errors use for this device. */
  get device(): string {
    return this._device;
  }

  /** The hostname as the device's prompt shows it ('' before the first prompt). */
  get hostname(): string {
    return this._hostname;
  }

  get level(): PrivilegeLevel | undefined {
    return this._level;
  }

  /** Send one command at the current level; returns its output (echo and prompt removed). */
  sendCommand(command: string, opts: CommandOptions = {}): Promise<string> {
    return this.serial(() => this.command(command, opts));
  }

  /**
   * Enter configuration mode, send `lines`, commit if the platform commits, and leave configuration mode.
   * Stops at the first rejected line; configuration mode is left (after the platform's discard commands)
   * before the error is rethrown. Returns each line's output.
   */
  sendConfig(lines: string[], opts: CommandOptions & ConfigOverrides = {}): Promise<string[]> {
    return this.serial(() => this.config(lines, opts));
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.closeReason = 'the session was closed';
    this.channel.end();
    this.channel.close();
  }

  // ---------------------------------------------------------------------------------------------

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async start(): Promise<void> {
    const openMs = this.opts.openTimeoutMs ?? DEFAULT_OPEN_TIMEOUT_MS;
    const first = await this.read({ command: '(login)', timeoutMs: openMs, nudgeAfterMs: 1500 });
    this.learnPrompt(first.prompt);
    if (this._level === 'configuration') await this.command(this.platform.config.exit, { check: false });
    if (this._level === 'exec' && this.platform.workingLevel === 'privileged' && this.platform.enable) {
      await this.escalate(openMs);
    }
    for (const cmd of this.platform.onOpen) await this.command(cmd, { check: false, timeoutMs: openMs });
  }

  private learnPrompt(prompt: string): void {
    const base = promptBase(prompt);
    this._hostname = base;
    if (this.opts.hostnameAsDevice && base) this._device = base;
    // IOS abbreviates long hostnames in config-mode prompts; match on a prefix like netmiko does.
    this.base = base.slice(0, 16);
  }

  private async escalate(timeoutMs: number): Promise<void> {
    const enable = this.platform.enable!;
    this.send(enable.command);
    const r = await this.read({ command: enable.command, echo: enable.command, timeoutMs, stopAt: [enable.passwordPrompt] });
    let words = commandOutput(r.text, r.from);
    if (r.stoppedAt) {
      const secret = this.opts.enableSecret;
      if (secret === undefined) {
        await this.abandonPasswordPrompt(timeoutMs);
        throw new AuthenticationError(this.device, `${this.device} asks for an enable secret, but none is configured`);
      }
      this.send(secret);
      const after = await this.read({ command: '(enable secret)', timeoutMs, stopAt: [enable.passwordPrompt] });
      words = redact(after.text, secret).trim();
      if (after.stoppedAt) {
        // Asked again: the secret was wrong. Leave the prompt without guessing.
        words = `${words}\n${await this.abandonPasswordPrompt(timeoutMs)}`.trim();
      }
    }
    const denied = failureLines(words, enable.deniedWhenContains);
    if (this._level !== 'privileged' || denied.length > 0) {
      const said = denied.length > 0 ? denied.join(' ') : lastLine(words) || '(no message)';
      throw new AuthenticationError(
        this.device,
        `${this.device} refused privileged mode (\`${enable.command}\`) for the configured enable secret: ${said}`,
        words,
      );
    }
  }

  /** Answer a password prompt with empty lines until the device gives a prompt back; returns what it said. */
  private async abandonPasswordPrompt(timeoutMs: number): Promise<string> {
    const said: string[] = [];
    for (let i = 0; i < 3; i++) {
      this.send('');
      const r = await this.read({ command: '(leave password prompt)', timeoutMs, stopAt: [this.platform.enable!.passwordPrompt] });
      said.push(r.text.trim());
      if (!r.stoppedAt) break;
    }
    return said.filter(Boolean).join('\n');
  }

  private async command(command: string, opts: CommandOptions): Promise<string> {
    if (/[\r\n]/.test(command)) {
      throw new DeviceError(`${this.device}: refusing to send a command containing a line break: ${JSON.stringify(command)}`, {
        device: this.device,
        command,
        retryable: false,
      });
    }
    this.send(command);
    const r = await this.read({
      command,
      echo: command,
      timeoutMs: opts.timeoutMs ?? this.opts.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      expect: opts.expect,
    });
    const output = commandOutput(r.text, r.from);
    if (opts.check !== false) {
      const failed = failureLines(output, [...this.platform.failedWhenContains, ...(opts.failedWhenContains ?? [])]);
      if (failed.length > 0) {
        throw new DeviceCommandError(this.device, command, output, `${this.device} rejected \`${command}\`: ${failed.join(' ')}`);
      }
    }
    return output;
  }

  private async config(lines: string[], opts: CommandOptions & ConfigOverrides): Promise<string[]> {
    const cfg = {
      ...this.platform.config,
      ...(opts.enter ? { enter: opts.enter } : {}),
      ...(opts.commit ? { commit: opts.commit } : {}),
      ...(opts.discard ? { discard: opts.discard } : {}),
    };
    const enterOut = await this.command(cfg.enter, opts);
    if (this._level !== 'configuration') {
      throw new DeviceCommandError(this.device, cfg.enter, enterOut, `${this.device} did not enter configuration mode after \`${cfg.enter}\``);
    }
    const outputs: string[] = [];
    let failure: unknown;
    try {
      for (const line of lines) outputs.push(await this.command(line, opts));
      if (cfg.commit) {
        const out = await this.command(cfg.commit.command, { ...opts, timeoutMs: cfg.commit.timeoutMs });
        if (cfg.commit.successContains !== undefined && !out.includes(cfg.commit.successContains)) {
          throw new DeviceCommandError(
            this.device,
            cfg.commit.command,
            out,
            `${this.device}: \`${cfg.commit.command}\` did not complete: ${out.trim() || '(no output)'}`,
          );
        }
      }
    } catch (err) {
      failure = err;
    }
    if (failure !== undefined && this.closed) throw failure;
    // Some commits leave configuration mode by themselves (an EOS session's `commit`).
    if (failure === undefined && this._level !== 'configuration') return outputs;
    try {
      if (failure !== undefined) for (const d of cfg.discard ?? []) await this.command(d, { check: false });
      await this.command(cfg.exit, {
        check: false,
        expect: [{ pattern: /Exit with uncommitted changes\? \[yes,no\].*$/i, answer: 'yes' }],
      });
    } catch (exitErr) {
      throw failure ?? exitErr;
    }
    if (failure !== undefined) throw failure;
    if (this._level === 'configuration') {
      throw new DeviceCommandError(this.device, cfg.exit, '', `${this.device} is still in configuration mode after \`${cfg.exit}\``);
    }
    return outputs;
  }

  private send(line: string): void {
    this.raw = '';
    if (!this.closed) this.channel.write(`${line}\n`);
  }

  private read(spec: ReadSpec): Promise<ReadResult> {
    return new Promise<ReadResult>((resolve, reject) => {
      const answered = new Set<ExpectPrompt>();
      let nudged = false;
      const done = (fn: () => void): void => {
        clearTimeout(timer);
        if (nudge) clearTimeout(nudge);
        this.poll = undefined;
        fn();
      };
      const timer = setTimeout(() => {
        const text = cleanTerminalText(this.raw);
        done(() => reject(new DeviceTimeoutError(this.device, spec.command, spec.timeoutMs, text)));
      }, spec.timeoutMs);
      const nudge =
        spec.nudgeAfterMs === undefined
          ? undefined
          : setTimeout(() => {
              if (!nudged && !this.closed) {
                nudged = true;
                this.channel.write('\n');
              }
            }, spec.nudgeAfterMs);

      this.poll = () => {
        let text = cleanTerminalText(this.raw);
        let last = lastLine(text);
        if (this.platform.pager.test(last)) {
          this.raw = text.replace(this.platform.pager, '');
          this.channel.write(' ');
          text = this.raw;
          last = lastLine(text);
        }
        const from = spec.echo === undefined ? 0 : echoEnd(text, spec.echo);
        if (from >= 0) {
          const pending = (spec.expect ?? []).find((e) => !answered.has(e) && e.pattern.test(last));
          if (pending) {
            answered.add(pending);
            this.raw += '\n';
            this.channel.write(`${pending.answer}\n`);
            return;
          }
          const stop = (spec.stopAt ?? []).find((re) => re.test(last));
          if (stop) return done(() => resolve({ text, from, prompt: last, stoppedAt: stop }));
          const level = text.length > from || spec.echo === undefined ? this.promptLevelOf(last) : undefined;
          if (level) {
            this._level = level;
            return done(() => resolve({ text, from, prompt: last, level }));
          }
        }
        if (this.closed) {
          done(() =>
            reject(
              new DeviceUnreachableError(
                this.device,
                `${this.device}: session ended during \`${spec.command}\` (${this.closeReason}); output so far: ${JSON.stringify(text.slice(-400))}`,
              ),
            ),
          );
        }
      };
      this.poll();
    });
  }

  private promptLevelOf(line: string): PrivilegeLevel | undefined {
    if (this.base && !line.startsWith(this.base)) return undefined;
    return promptLevel(this.platform, line);
  }
}

function redact(text: string, secret: string): string {
  return secret.length > 0 ? text.split(secret).join('********') : text;
}
