/** The storage refused or did not confirm a retention lock (LOCK over the mount or over REST). */
export class LockError extends Error {
  override name = 'LockError';
  readonly retryable = false; // the storage refused or did not confirm the lock: retrying will not change its mind
}
