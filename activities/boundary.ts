/**
 * The one place where errors cross from activities into Temporal. Every error an activity throws becomes an
 * ApplicationFailure whose `type` is the error's name and whose `nonRetryable` comes from the error's own
 * classification (`retryable`, set by the driver or the module that raised it); the message keeps the
 * device's words, and the device, command and output travel as details. Workflows therefore need no list
 * of class names: they retry what the drivers say may succeed later and stop at once on the rest.
 */
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';

/** Anything thrown may say whether retrying can help; an error that does not say is retried (Temporal's default). */
export interface Classified {
  retryable?: boolean;
}

const MAX_OUTPUT = 2000; // device output kept in details; history stays small

export function toApplicationFailure(err: unknown): ApplicationFailure | CancelledFailure {
  // Cancellation must stay a cancellation, and a failure built on purpose is already what we want.
  if (err instanceof ApplicationFailure || err instanceof CancelledFailure) return err;
  if (!(err instanceof Error)) return ApplicationFailure.create({ type: 'Error', message: String(err) });
  const e = err as Error & Classified & { device?: string; command?: string; output?: string };
  const detail: Record<string, string> = {};
  if (typeof e.device === 'string') detail.device = e.device;
  if (typeof e.command === 'string') detail.command = e.command;
  if (typeof e.output === 'string') detail.output = e.output.length > MAX_OUTPUT ? `…${e.output.slice(-MAX_OUTPUT)}` : e.output;
  return ApplicationFailure.create({
    type: e.name || 'Error',
    message: e.message,
    nonRetryable: e.retryable === false,
    details: Object.keys(detail).length ? [detail] : undefined,
  });
}

type AsyncFns = Record<string, (...args: any[]) => Promise<any>>;

/**
 * The close path never gives up (invariant 1): whatever a device says while the gap is being closed or the vault
 * given back, the attempt is retried (with backoff and alerts), never failed for good.
 */
const NEVER_GIVE_UP = new Set(['closeLink', 'releaseVaultHold', 'backupRelease']);

/** Wraps every activity so that what it throws crosses the boundary as described above. */
export function withErrorBoundary<T extends AsyncFns>(activities: T): T {
  const wrapped: Record<string, (...args: any[]) => Promise<any>> = {};
  for (const [name, fn] of Object.entries(activities)) {
    wrapped[name] = async (...args: any[]) => {
      try {
        return await fn(...args);
      } catch (err) {
        const failure = toApplicationFailure(err);
        if (NEVER_GIVE_UP.has(name) && failure instanceof ApplicationFailure && failure.nonRetryable) {
          throw ApplicationFailure.create({ type: failure.type ?? 'Error', message: failure.message, nonRetryable: false, details: failure.details as unknown[] });
        }
        throw failure;
      }
    };
    Object.defineProperty(wrapped[name], 'name', { value: name });
  }
  return wrapped as T;
}
