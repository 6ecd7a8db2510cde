/**
 * The cycle's activities, one proxy per timeout/retry profile. Whether an error is worth retrying is the error's
 * own classification, applied where it crosses into Temporal (activities/boundary.ts): no class-name lists here.
 * Activities touching the gap heartbeat every second while they run (activities/liveness.ts), so a short
 * heartbeat timeout hands a lost worker's attempt to another worker within seconds.
 */
import { ActivityCancellationType, proxyActivities } from '@temporalio/workflow';
import type { createActivities } from '../activities';

type Activities = ReturnType<typeof createActivities>;

// These hold the vault (and the backup software's hold) while they run: a lost worker's attempt is retried after
// a missed heartbeat (every activity heartbeats each second), not after the whole start-to-close timeout.
export const { preflight, recordReport, expireSnapshots } = proxyActivities<Activities>({
  startToCloseTimeout: '2 minutes',
  heartbeatTimeout: '10 seconds',
  retry: { maximumAttempts: 5, initialInterval: '1s' },
});

// Activities that open part of the gap: on abort the workflow waits until they have really stopped, so a
// late `no shutdown` or `replication enable` can never land after the close path verified the gap shut.
export const { openLink, snapshotAndSync } = proxyActivities<Activities>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '5 seconds',
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  retry: { maximumAttempts: 3, initialInterval: '2s' },
});

// The immutability probe (activities/probe.ts): its own errors never fail the cycle, they go into the report.
export const { probeImmutability } = proxyActivities<Activities>({
  startToCloseTimeout: '5 minutes',
  heartbeatTimeout: '10 seconds', // as below: a lost worker costs seconds, not the whole 5 minutes
  retry: { maximumAttempts: 3, initialInterval: '2s' },
});

export const { lockCopy } = proxyActivities<Activities>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '5 seconds',
  retry: { maximumAttempts: 3, initialInterval: '2s' },
});

// Long polls and hashing heartbeat; a lost worker is noticed within the heartbeat timeout and the
// retry resumes from the last heartbeat's checkpoint.
export const { awaitSnapshot, hashTree, validateCopy } = proxyActivities<Activities>({
  startToCloseTimeout: '24 hours',
  heartbeatTimeout: '5 seconds',
  retry: { maximumAttempts: 5, initialInterval: '1s' },
});

// The close path never gives up: unlimited attempts (maximumAttempts unset), backoff capped at a minute,
// every error retried.
export const { closeLink } = proxyActivities<Activities>({
  startToCloseTimeout: '5 minutes',
  heartbeatTimeout: '5 seconds',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1 minute' }, // no maximumAttempts: unlimited
});

// Backup-software coordination (activities/backup.ts). Both wait for a cancelled activity to stop, so a hold
// being taken or re-asserted can never land after the release.
export const { backupHold, backupKeepHold } = proxyActivities<Activities>({
  startToCloseTimeout: '24 hours', // bounded by backup.drainTimeout inside
  heartbeatTimeout: '30 seconds',
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  retry: { maximumAttempts: 3, initialInterval: '2s' },
});

// Releasing a hold retries like the close path: a backup schedule left disabled is an outage of its own.
export const { backupRelease } = proxyActivities<Activities>({
  startToCloseTimeout: '2 minutes',
  heartbeatTimeout: '10 seconds', // a lost worker must not keep the backups held for the whole 2 minutes
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1 minute' },
});
