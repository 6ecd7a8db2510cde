/**
 * createActivities(deps): every activity of the cycle, built around injected drivers (samples-typescript's
 * dependency-injection pattern). Workflows import this module as a type only.
 */
import { withErrorBoundary } from './boundary';
import type { ActivityDeps } from './deps';
import { drillActivities } from './drill';
import { backupActivities } from './backup';
import { withLiveness } from './liveness';
import { holdActivities } from './hold';
import { linkActivities } from './link';
import { preflightActivities } from './preflight';
import { probeActivities } from './probe';
import { replicationActivities } from './replication';
import { reportActivities } from './report';
import { retentionActivities } from './retention';
import { sentinelActivities } from './sentinel';
import { scrubActivities } from './scrub';
import { validationActivities } from './validation';

export type { ActivityDeps } from './deps';

export function createActivities(deps: ActivityDeps) {
  // Errors cross into Temporal in one place: type = the error's name, nonRetryable = the driver's classification.
  // Every activity heartbeats while it runs, so a lost worker costs seconds (activities/liveness.ts).
  return withErrorBoundary(withLiveness({
    ...preflightActivities(deps),
    ...linkActivities(deps),
    ...replicationActivities(deps),
    ...retentionActivities(deps),
    ...validationActivities(deps),
    ...reportActivities(deps),
    ...drillActivities(deps),
    ...backupActivities(deps),
    ...holdActivities(deps),
    ...sentinelActivities(deps),
    ...probeActivities(deps),
    ...scrubActivities(deps),
  }));
}
