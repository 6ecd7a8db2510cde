/**
 * Errors that say what to fix: a device error raised while using one config section gets the config field
 * and the secret reference to look at appended (a refused login names `vaults[i].switch.password` and its
 * file, not only the device). The device's own words stay as they were; no secret value is ever added.
 */
import type { SecretRef } from '../../config/schema';
import { AuthenticationError, DeviceError, DeviceTimeoutError, DeviceUnreachableError, HostKeyMismatchError, UnknownHostKeyError } from './errors';

export interface EndpointFields {
  /** Config path of the endpoint, e.g. `vaults[0].switch`. */
  path: string;
  password?: SecretRef;
  enableSecret?: SecretRef;
}

const ref = (r: SecretRef | undefined) => (r === undefined ? 'not set' : 'env' in r ? `environment variable ${r.env}` : `file ${r.file}`);

/** The config field a device error points at, with its secret reference; undefined when nothing in the config would help. */
export function configHint(err: unknown, f: EndpointFields): string | undefined {
  if (!(err instanceof DeviceError)) return undefined;
  if (err instanceof AuthenticationError) {
    if (/privileged mode|enable secret/i.test(err.message)) return `check ${f.path}.enableSecret (${ref(f.enableSecret)})`;
    return `check ${f.path}.username and ${f.path}.password (${ref(f.password)})`;
  }
  if (err instanceof HostKeyMismatchError || err instanceof UnknownHostKeyError) return `check ${f.path}.hostKey`;
  if (err instanceof DeviceUnreachableError || err instanceof DeviceTimeoutError) return `check ${f.path}.host and ${f.path}.port, and that the device answers`;
  return undefined;
}

/** Appends the hint to the error's message once (the error keeps its class, retryable flag and output). */
export function withConfigHint<E>(err: E, f: EndpointFields): E {
  const hint = configHint(err, f);
  if (hint && err instanceof Error && !err.message.includes(hint)) {
    err.message = `${err.message} — ${hint}`;
    (err as Error & { configField?: string }).configField = f.path;
  }
  return err;
}
