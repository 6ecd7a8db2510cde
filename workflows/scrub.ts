/**
 * scrubCopies: re-read the vault's locked copies and check them against the roots their cycles left in
 * Temporal history (activities/scrub.ts), a rolling share per run so every copy is covered within the
 * configured period, rate-limited so cycles keep their speed; then probe that the storage is still WORM.
 * Never opens the gap and never writes to a copy. Findings become incidents; the next cycle's report lists them.
 */
import { proxyActivities, setWorkflowOptions, workflowInfo } from '@temporalio/workflow';
import type { createActivities } from '../activities';
import type { ProbeResult } from './cycle-messages';
import type { CopyScrub, ScrubOptions, ScrubResult } from './scrub-messages';
import { rootMessage } from './failure';

type Activities = ReturnType<typeof createActivities>;

const { planScrub, recordScrub, probeImmutability } = proxyActivities<Activities>({
  startToCloseTimeout: '5 minutes',
  retry: { maximumAttempts: 5, initialInterval: '2s' },
});

// A full re-read of a copy can take hours at the scrub's rate; heartbeats every few seconds.
const { scrubCopy } = proxyActivities<Activities>({
  startToCloseTimeout: '24 hours',
  heartbeatTimeout: '1 minute',
  retry: { maximumAttempts: 3, initialInterval: '10s' },
});


// A scrub finishes on the worker version that started it (workers/deployment.ts).
setWorkflowOptions({ versioningBehavior: 'PINNED' }, scrubCopies);

export async function scrubCopies(vaultId: string, opts: ScrubOptions = {}): Promise<ScrubResult> {
  const info = workflowInfo();
  const startedAt = new Date().toISOString();
  const scrubId = `${startedAt.replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}-${info.runId.replace(/-/g, '').slice(-8)}`;
  const plan = await planScrub(vaultId, opts);
  const scrubbed: CopyScrub[] = [];
  // One copy at a time: the rate limit holds for the scrub as a whole.
  for (const target of plan.targets) scrubbed.push(await scrubCopy(vaultId, scrubId, target, plan.maxBytesPerSecond));
  const probe: ProbeResult = await probeImmutability(vaultId, `scrub-${scrubId}`, `scrub ${scrubId}`).catch((err: unknown) => ({
    canary: '',
    attempts: [],
    worm: false,
    error: rootMessage(err), // the storage's words, not the wrapper's "Activity task failed"
  }));
  const bytes = scrubbed.reduce((n, s) => n + s.bytes, 0);
  const seconds = scrubbed.reduce((n, s) => n + s.seconds, 0);
  const result: ScrubResult = {
    vaultId,
    scrubId,
    startedAt,
    copiesKnown: plan.copiesKnown,
    scrubbed,
    bytes,
    seconds,
    bytesPerSecond: seconds > 0 ? bytes / seconds : 0,
    maxBytesPerSecond: plan.maxBytesPerSecond,
    probe,
  };
  result.recordPath = await recordScrub(vaultId, result);
  return result;
}
