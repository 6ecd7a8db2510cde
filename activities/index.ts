/**
 * createActivities(deps): every activity of the cycle, built around injected drivers (samples-typescript's
 * dependency-injection pattern). Workflows import this module as a type only.
 */
import type { ActivityDeps } from './deps';
import { linkActivities } from './link';
import { preflightActivities } from './preflight';
import { probeActivities } from './probe';
import { replicationActivities } from './replication';
import { reportActivities } from './report';
import { retentionActivities } from './retention';
import { scrubActivities } from './scrub';
import { validationActivities } from './validation';

export type { ActivityDeps } from './deps';

export function createActivities(deps: ActivityDeps) {
  return {
    ...preflightActivities(deps),
    ...linkActivities(deps),
    ...replicationActivities(deps),
    ...retentionActivities(deps),
    ...validationActivities(deps),
    ...reportActivities(deps),
    ...probeActivities(deps),
    ...scrubActivities(deps),
  };
}
