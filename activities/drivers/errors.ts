/**
 * Errors raised by the device drivers. Every error names the device (the label the caller gave it) and,
 * where the device said something, carries the device's own words in `output`. `retryable` is a hint for
 * activity retry policies: a device that could not be reached may answer later; a refused host key, a
 * rejected password or a rejected command will not change by retrying.
 */
export interface DeviceErrorDetails {
  device: string;
  command?: string;
  output?: string;
  retryable: boolean;
  cause?: unknown;
}

export class DeviceError extends Error {
  readonly device: string;
  readonly command?: string;
  readonly output?: string;
  readonly retryable: boolean;

  constructor(message: string, details: DeviceErrorDetails) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = new.target.name;
    this.device = details.device;
    this.command = details.command;
    this.output = details.output;
    this.retryable = details.retryable;
  }
}

/** TCP connect refused or timed out, DNS failure, handshake timeout, connection dropped. */
export class DeviceUnreachableError extends DeviceError {
  constructor(device: string, message: string, cause?: unknown) {
    super(message, { device, retryable: true, cause });
  }
}

/** The device presented a host key that is not pinned for it. Refused before authentication. */
export class UnknownHostKeyError extends DeviceError {
  constructor(
    device: string,
    readonly address: string,
    readonly presented: string,
    detail: string,
  ) {
    super(
      `${device} (${address}) presented host key ${presented}, which is not pinned: ${detail}. ` +
        `Refusing to log in. Check the key out of band (e.g. \`ssh-keygen -lf\` on the device's host key, ` +
        `or the device console) and pin it in the vault configuration (hostKey.fingerprint or known_hosts).`,
      { device, retryable: false },
    );
  }
}

/** The device presented a host key different from the one pinned for it. Refused before authentication. */
export class HostKeyMismatchError extends DeviceError {
  constructor(
    device: string,
    readonly address: string,
    readonly presented: string,
    readonly expected: string[],
  ) {
    super(
      `${device} (${address}) presented host key ${presented}, but ${expected.join(' or ')} is pinned. ` +
        `Refusing to log in: this may be a different device or a man-in-the-middle. If the device's key was ` +
        `legitimately replaced, verify the new key out of band (e.g. \`ssh-keygen -lf\` on the device) and ` +
        `update the pin in the vault configuration.`,
      { device, retryable: false },
    );
  }
}

/** The device rejected the credentials (login password/key, or the enable secret). */
export class AuthenticationError extends DeviceError {
  constructor(device: string, message: string, output?: string) {
    super(message, { device, output, retryable: false });
  }
}

/** The device answered a command with an error (its own words are in `output`). */
export class DeviceCommandError extends DeviceError {
  constructor(device: string, command: string, output: string, message?: string, retryable = false) {
    super(message ?? `${device} rejected \`${command}\`: ${firstErrorText(output)}`, {
      device,
      command,
      output,
      retryable,
    });
  }
}

/** No prompt (or no exit) within the command's time limit; `output` holds what the device had said so far. */
export class DeviceTimeoutError extends DeviceError {
  constructor(device: string, command: string, timeoutMs: number, output: string) {
    super(
      `${device}: no prompt after \`${command}\` within ${timeoutMs} ms; output so far: ${JSON.stringify(tail(output, 400))}`,
      { device, command, output, retryable: true },
    );
  }
}

function firstErrorText(output: string): string {
  const text = output.trim();
  return text.length === 0 ? '(no output)' : tail(text, 500);
}

function tail(s: string, n: number): string {
  return s.length <= n ? s : `…${s.slice(s.length - n)}`;
}
