/**
 * How a REST answer becomes a driver error: 5xx, 429 and 408 are retryable (the appliance may answer later),
 * 401/403 at login are a refused credential (permanent, naming the config field and the secret reference),
 * other 4xx are the device saying no (permanent). The device's own words (its JSON `details`/`detail`/
 * `message`) are kept.
 */
import { AuthenticationError, DeviceCommandError, DeviceError } from './errors';
import type { HttpsResponse } from './https';
import type { SecretRef } from '../../config/schema';

export function deviceWords(res: HttpsResponse): string {
  const b = res.body as Record<string, unknown> | string | undefined;
  if (b && typeof b === 'object') {
    for (const k of ['details', 'detail', 'message', 'error', 'msg']) {
      const v = b[k];
      if (typeof v === 'string' && v) return v;
      if (Array.isArray(v) && v.length) return JSON.stringify(v);
    }
    return JSON.stringify(b).slice(0, 500);
  }
  return (res.text || `HTTP ${res.status}`).slice(0, 500);
}

export function describeSecret(ref: SecretRef): string {
  return 'env' in ref ? `environment variable ${ref.env}` : `file ${ref.file}`;
}

export interface CredentialHint {
  /** e.g. `vaults[0].vault.dd.rest.password` */
  field: string;
  ref: SecretRef;
  username: string;
  usernameField: string;
}

export function refusedLogin(device: string, what: string, res: HttpsResponse, hint: CredentialHint): AuthenticationError {
  return new AuthenticationError(
    device,
    `${device} refused the login of ${hint.username} (${what} → HTTP ${res.status}: ${deviceWords(res)}). ` +
      `Fix ${hint.usernameField} or the secret ${hint.field} (${describeSecret(hint.ref)}).`,
    res.text,
  );
}

/**
 * The appliance answered but could not serve the request now (5xx, 429, 408): retryable. A class of its own,
 * because activity retry policies tell permanent from retryable by the error's type name.
 */
export class DeviceUnavailableError extends DeviceError {
  constructor(device: string, command: string, output: string, message: string) {
    super(message, { device, command, output, retryable: true });
  }
}

export function httpError(device: string, what: string, res: HttpsResponse): DeviceCommandError | DeviceUnavailableError {
  const retryable = res.status >= 500 || res.status === 429 || res.status === 408;
  const message = `${device} answered ${what} with HTTP ${res.status}${retryable ? ' (retryable)' : ''}: ${deviceWords(res)}`;
  return retryable ? new DeviceUnavailableError(device, what, res.text, message) : new DeviceCommandError(device, what, res.text, message);
}
