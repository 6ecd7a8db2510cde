/**
 * recoveryDrill: restore a locked good copy into a sandbox, verify every restored file against the copy's
 * manifest, run each application's checks, measure RTO and RPO against the business impact analysis, clean the
 * sandbox whatever happens (non-cancellable), record JUnit + JSON + Markdown. It calls no activity that
 * touches the switch or replication: the gap stays closed for the whole drill.
 */
import { ApplicationFailure, CancellationScope, isCancellation, log, proxyActivities, setHandler, setWorkflowOptions, workflowInfo } from '@temporalio/workflow';
import type { createActivities } from '../activities';
import { abortDrillSignal, DRILL_BY_SCHEDULE, drillStatusQuery, type AppDrillResult, type DrillOutcome, type DrillPlan, type DrillRequest, type DrillResult, type DrillStatus, type DrillStep } from './drill-messages';
import { parseAbortRequest } from './operator-messages';
import { rootMessage } from './failure';

type Activities = ReturnType<typeof createActivities>;

// Whether a failure is retried is the error's own classification (activities/boundary.ts): no class-name lists.
const { planDrill, recordDrill } = proxyActivities<Activities>({
  startToCloseTimeout: '2 minutes',
  retry: { maximumAttempts: 5, initialInterval: '1s' },
});

// Restores, hashing and checks heartbeat: an abort reaches them within a second or two.
const { restoreApp, verifyApp, runAppCheck } = proxyActivities<Activities>({
  startToCloseTimeout: '6 hours',
  heartbeatTimeout: '30 seconds',
  retry: { maximumAttempts: 3, initialInterval: '2s' },
});

// Cleaning the sandbox is retried until it succeeds: a drill never leaves restored data behind.
const { cleanSandbox } = proxyActivities<Activities>({
  startToCloseTimeout: '30 minutes',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1 minute' },
});


const errorType = (err: unknown): string | undefined => {
  let e: any = err;
  while (e) {
    if (e.type) return e.type;
    e = e.cause;
  }
  return undefined;
};

// A drill finishes on the worker version that started it (workers/deployment.ts).
setWorkflowOptions({ versioningBehavior: 'PINNED' }, recoveryDrill);

export async function recoveryDrill(vaultId: string, request: DrillRequest = {}): Promise<DrillResult> {
  const info = workflowInfo();
  const stamp = info.startTime.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  const drillId = `drill-${stamp}-${info.runId.replace(/-/g, '').slice(-8)}`;
  const status: DrillStatus = { drillId, vaultId, startedAt: new Date().toISOString(), phase: 'PLAN', apps: [] };
  const main = new CancellationScope();

  setHandler(drillStatusQuery, () => status);
  setHandler(abortDrillSignal, (payload) => {
    const parsed = parseAbortRequest(payload);
    if (!parsed.ok || status.abort || !['PLAN', 'RESTORE'].includes(status.phase)) return;
    status.abort = { ...parsed.value, at: new Date().toISOString() };
    log.warn('drill abort requested', { by: parsed.value.by, reason: parsed.value.reason });
    main.cancel();
  });

  let plan: DrillPlan | undefined;
  let failure: unknown;
  let sandboxTouched = false;
  try {
    await main.run(async () => {
      plan = await planDrill(vaultId, request);
      status.copyId = plan.copyId;
      status.sandbox = { path: `${plan.sandbox}/${drillId}` };
      status.phase = 'RESTORE';
      const drillStart = Date.parse(status.startedAt);
      for (const a of plan.apps) {
        const rpoSeconds = (drillStart - Date.parse(plan.syncPoint)) / 1000;
        const result: AppDrillResult = {
          name: a.name,
          tier: a.tier,
          rtoObjectiveSeconds: a.rtoSeconds,
          rpoObjectiveSeconds: a.rpoSeconds,
          rpoSeconds,
          rpoWorstCaseSeconds: plan.cycleEverySeconds !== undefined ? plan.cycleEverySeconds + Math.max(0, rpoSeconds) : undefined,
          rpoMet: rpoSeconds <= a.rpoSeconds,
          recovered: false,
          steps: [],
        };
        status.apps.push(result);
        const step = (s: DrillStep) => result.steps.push(s);
        const skip = (name: string, kind: DrillStep['kind'], why: string) => step({ name, kind, status: 'skipped', seconds: 0, message: why });
        const appStart = Date.now();

        status.current = `${a.name}: restore`;
        sandboxTouched = true;
        let restored = false;
        try {
          const r = await restoreApp(vaultId, drillId, plan, a.name);
          result.restoreSeconds = r.seconds;
          step({ name: 'restore', kind: 'step', status: 'passed', seconds: r.seconds, message: `${plan.method} of ${a.paths.join(', ')}${r.files !== null ? `: ${r.files} files` : ''}` });
          restored = true;
        } catch (err) {
          if (isCancellation(err)) throw err;
          step({ name: 'restore', kind: 'step', status: 'failed', seconds: (Date.now() - appStart) / 1000, message: rootMessage(err), output: rootMessage(err) });
        }

        let verified = false;
        if (restored) {
          status.current = `${a.name}: verify`;
          try {
            const v = await verifyApp(vaultId, drillId, plan, a.name);
            result.files = v.files;
            result.bytes = v.bytes;
            verified = v.ok;
            step({
              name: 'verify against the copy manifest',
              kind: 'step',
              status: v.ok ? 'passed' : 'failed',
              seconds: v.seconds,
              message: v.ok ? `${v.files} files, every one equal to the copy's manifest` : `${v.problems.length} restored files differ from the copy's manifest`,
              output: v.ok ? undefined : v.problems.join('\n'),
            });
          } catch (err) {
            if (isCancellation(err)) throw err;
            step({ name: 'verify against the copy manifest', kind: 'step', status: 'failed', seconds: 0, message: rootMessage(err), output: rootMessage(err) });
          }
        } else skip('verify against the copy manifest', 'step', 'restore failed');

        let checksOk = true;
        for (const [i, c] of a.checks.entries()) {
          if (!verified) {
            skip(c.name, 'check', 'the restored data did not verify');
            continue;
          }
          status.current = `${a.name}: ${c.name}`;
          const r = await runAppCheck(vaultId, drillId, a.name, i);
          checksOk &&= r.ok;
          step({ name: c.name, kind: 'check', status: r.ok ? 'passed' : 'failed', seconds: r.seconds, message: r.message, output: r.output });
        }
        result.recovered = restored && verified && checksOk;
        if (result.recovered) {
          result.rtoSeconds = (Date.now() - appStart) / 1000;
          result.rtoMet = result.rtoSeconds <= a.rtoSeconds;
        }
      }
    });
  } catch (err) {
    failure = err;
    status.error = status.abort && isCancellation(err) ? `aborted by ${status.abort.by}: ${status.abort.reason}` : rootMessage(err);
  } finally {
    if (sandboxTouched || plan) {
      status.phase = 'CLEAN';
      status.current = 'cleaning the sandbox';
      const cleaned = await CancellationScope.nonCancellable(() => cleanSandbox(vaultId, drillId));
      status.sandbox = { path: cleaned.path, cleanedAt: cleaned.cleanedAt };
    }
  }

  const cancelled = CancellationScope.current().consideredCancelled;
  const outcome: DrillOutcome = failure
    ? status.abort && isCancellation(failure)
      ? 'aborted'
      : cancelled
        ? 'cancelled'
        : errorType(failure) === 'DrillRefused'
          ? 'refused'
          : 'recovery-failed'
    : status.apps.some((a) => !a.recovered)
      ? 'recovery-failed'
      : status.apps.some((a) => a.rtoMet === false || !a.rpoMet)
        ? 'objectives-missed'
        : 'passed';
  status.phase = 'RECORD';
  status.current = undefined;
  status.outcome = outcome;
  status.endedAt = new Date().toISOString();
  const result: DrillResult = { ...status, outcome };
  result.report = await CancellationScope.nonCancellable(() => recordDrill(result));
  status.phase = 'DONE';
  result.phase = 'DONE';
  if (outcome === 'cancelled') throw failure;
  // A person who asked for a drill hears the refusal as a failure (irctl exits non-zero). The schedule's drill
  // ends with its refusal recorded and alerted (IrDrillFailed) but does not fail: a failed run pauses a schedule
  // with pauseOnFailure, and a vault whose drill schedule fires before its first copy (found by bench:fleet on
  // new vaults) would then never drill again until someone unpaused it.
  if (outcome === 'refused' && failure && request.by !== DRILL_BY_SCHEDULE) {
    throw ApplicationFailure.create({ type: 'DrillRefused', message: status.error ?? 'drill refused', nonRetryable: true, details: [result] });
  }
  return result;
}
