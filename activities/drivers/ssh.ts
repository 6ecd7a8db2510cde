/**
 * SSH transport for all drivers: ssh2 `Client` with host-key pinning. The host key is checked inside the
 * key exchange (ssh2 `hostVerifier`), so an unknown or changed key is refused before any credential is sent.
 */
import { readFile } from 'node:fs/promises';
import { Client, type ConnectConfig } from 'ssh2';
import {
  AuthenticationError,
  DeviceError,
  DeviceTimeoutError,
  DeviceUnreachableError,
  HostKeyMismatchError,
  UnknownHostKeyError,
} from './errors';
import {
  checkFingerprint,
  checkKnownHosts,
  hostFieldMatches,
  hostKeyAlgorithmsFor,
  keyBlobType,
  normaliseFingerprint,
  parseKnownHosts,
  sha256Fingerprint,
  type HostKeyVerdict,
  type KnownHostEntry,
} from './hostkey';

export * from './errors';

export type HostKeyPin = { fingerprint: string } | { knownHostsFile: string };

export interface SshTarget {
  host: string;
  port: number;
  username: string;
  password?: string;
  privateKey?: string;
  hostKey: HostKeyPin;
  readyTimeoutMs?: number;
}

const DEFAULT_READY_TIMEOUT_MS = 20_000;

export async function connectSsh(target: SshTarget, label: string): Promise<Client> {
  const address = `${target.host}:${target.port}`;
  if (!target.password && !target.privateKey) {
    throw new DeviceError(`${label}: no password or private key configured for ${target.username}@${address}`, {
      device: label,
      retryable: false,
    });
  }

  let verify: (key: Buffer) => HostKeyVerdict;
  let hostKeyAlgorithms: string[] | undefined;
  if ('fingerprint' in target.hostKey) {
    const pin = normaliseFingerprint(target.hostKey.fingerprint);
    verify = (key) => checkFingerprint(pin, key);
  } else {
    const file = target.hostKey.knownHostsFile;
    let entries: KnownHostEntry[];
    try {
      entries = parseKnownHosts(await readFile(file, 'utf8'));
    } catch (err) {
      throw new DeviceError(`${label}: cannot read known_hosts file ${file}: ${(err as Error).message}`, {
        device: label,
        retryable: false,
        cause: err,
      });
    }
    verify = (key) => checkKnownHosts(entries, target.host, target.port, key);
    // Like OpenSSH, prefer the key types we hold for this host, so the server offers one we can check.
    const types = entries
      .filter((e) => e.marker === undefined && hostFieldMatches(e.hosts, target.host, target.port))
      .flatMap((e) => hostKeyAlgorithmsFor(e.keyType));
    if (types.length > 0) hostKeyAlgorithms = [...new Set(types)];
  }

  let refusal: DeviceError | undefined;
  const hostVerifier = (key: Buffer): boolean => {
    const verdict = verify(key);
    if (verdict.ok) return true;
    const presented = `${keyBlobType(key) ?? 'unknown-type'} ${sha256Fingerprint(key)}`;
    refusal =
      verdict.reason === 'mismatch'
        ? new HostKeyMismatchError(label, address, presented, verdict.expected)
        : new UnknownHostKeyError(label, address, presented, verdict.detail);
    return false;
  };

  const config: ConnectConfig = {
    host: target.host,
    port: target.port,
    username: target.username,
    password: target.password,
    privateKey: target.privateKey,
    tryKeyboard: target.password !== undefined,
    readyTimeout: target.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS,
    hostVerifier,
    keepaliveInterval: 15_000,
    keepaliveCountMax: 4,
  };
  if (hostKeyAlgorithms) config.algorithms = { serverHostKey: hostKeyAlgorithms as never };

  const client = new Client();
  return new Promise<Client>((resolve, reject) => {
    let settled = false;
    const fail = (err: DeviceError): void => {
      if (settled) return;
      settled = true;
      client.end();
      reject(err);
    };
    if (target.password !== undefined) {
      const password = target.password;
      client.on('keyboard-interactive', (_name, _instr, _lang, prompts, finish) => {
        finish(prompts.map(() => password));
      });
    }
    // Command/answer traffic (and the handshake): without TCP_NODELAY, Nagle and delayed ACKs add ~40 ms to
    // each exchange. OpenSSH sets it for interactive sessions too.
    client.once('connect', () => client.setNoDelay(true));
    client.once('ready', () => {
      if (settled) return;
      settled = true;
      // Errors after login belong to the session using the client; never let them crash the process.
      client.on('error', () => undefined);
      resolve(client);
    });
    client.on('error', (err: Error & { level?: string; code?: string }) => {
      if (refusal) return fail(refusal);
      if (err.level === 'client-authentication') {
        const methods = [target.privateKey ? 'publickey' : '', target.password !== undefined ? 'password' : '']
          .filter(Boolean)
          .join(', ');
        return fail(
          new AuthenticationError(
            label,
            `${label} (${address}) rejected the login of user ${JSON.stringify(target.username)} (tried ${methods}): ${err.message}`,
          ),
        );
      }
      const why = err.code ? `${err.code} ${err.message}` : err.message;
      return fail(new DeviceUnreachableError(label, `${label} (${address}) unreachable: ${why}`, err));
    });
    client.once('close', () => {
      if (refusal) return fail(refusal);
      fail(new DeviceUnreachableError(label, `${label} (${address}) closed the connection before login completed`));
    });
    try {
      client.connect(config);
    } catch (err) {
      fail(new DeviceError(`${label}: invalid SSH configuration: ${(err as Error).message}`, { device: label, retryable: false, cause: err }));
    }
  });
}

export interface ExecResult {
  stdout: string;
  stderr: string;
  code: number | null;
  signal?: string;
}

/**
 * Run one command on its own exec channel and collect its output and exit status. `answer(stdoutSoFar)` is
 * consulted after every stdout chunk and may return text to write to stdin (to answer a prompt).
 */
export function execCommand(
  client: Client,
  label: string,
  command: string,
  opts: { timeoutMs: number; answer?: (stdoutSoFar: string) => string | undefined },
): Promise<ExecResult> {
  return new Promise<ExecResult>((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    let done = false;
    const finish = (fn: () => void): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      fn();
    };
    const timer = setTimeout(() => {
      finish(() => reject(new DeviceTimeoutError(label, command, opts.timeoutMs, stdout + stderr)));
    }, opts.timeoutMs);
    client.exec(command, (err, stream) => {
      if (err) {
        return finish(() =>
          reject(new DeviceUnreachableError(label, `${label}: cannot open a channel for \`${command}\`: ${err.message}`, err)),
        );
      }
      let code: number | null = null;
      let signal: string | undefined;
      stream.on('exit', (c: number | null, sig?: string) => {
        code = c;
        signal = sig;
      });
      stream.on('data', (d: Buffer) => {
        stdout += d.toString('utf8');
        const reply = opts.answer?.(stdout);
        if (reply !== undefined) stream.write(reply);
      });
      stream.stderr.on('data', (d: Buffer) => {
        stderr += d.toString('utf8');
      });
      stream.on('close', () => finish(() => resolve({ stdout, stderr, code, signal })));
      stream.on('error', (e: Error) =>
        finish(() => reject(new DeviceUnreachableError(label, `${label}: channel error during \`${command}\`: ${e.message}`, e))),
      );
    });
  });
}

/** Close the client and wait (briefly) for the socket to go. */
export function endSsh(client: Client): Promise<void> {
  return new Promise<void>((resolve) => {
    const t = setTimeout(resolve, 2000);
    client.once('close', () => {
      clearTimeout(t);
      resolve();
    });
    client.end();
  });
}
