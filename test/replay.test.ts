/**
 * Golden histories replay on the workflow code that may meet them (no server needed: replay runs offline).
 *
 * - `test/histories/*.json` are this release's (package.json version), recorded from the tests with
 *   IR_RECORD_HISTORIES=1: all of them replay on the current code. A change that breaks one is a change of
 *   behaviour: release it as a new version (move these files to `test/histories/<this version>/`, bump the
 *   version, record again).
 * - `test/histories/<version>/` keep earlier releases. Cycles, drills and scrubs are PINNED to the worker
 *   deployment version that started them (workers/deployment.ts), so their histories never reach newer code and
 *   need no patches: they are kept as the record of that release. The sentinel is AUTO_UPGRADE: its runs move to
 *   each new version, so every release's sentinel histories must replay on the current code (patches there).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { bundleWorkflows } from './helpers/temporal';
import { packageVersion } from '../workers/deployment';

const dir = join(__dirname, 'histories');
const jsonIn = (d: string) => readdirSync(d).filter((f) => f.endsWith('.json'));
const current = jsonIn(dir);
const releases = readdirSync(dir).filter((d) => statSync(join(dir, d)).isDirectory());
/** Workflows that auto-upgrade: their histories from every release replay on this code. */
const AUTO_UPGRADE = /^sentinel-/;
const upgrading = releases.flatMap((r) => jsonIn(join(dir, r)).filter((f) => AUTO_UPGRADE.test(f)).map((f) => join(r, f)));

/** The deployment versions that completed a history's workflow tasks. */
function buildIds(history: any): string[] {
  const ids = (history.events ?? [])
    .map((e: any) => e.workflowTaskCompletedEventAttributes)
    .filter(Boolean)
    .map((a: any) => a.deploymentVersion?.buildId ?? 'unversioned');
  return [...new Set<string>(ids)];
}

describe('recorded workflow histories replay on the workflow code that may meet them', () => {
  let bundle: WorkflowBundleWithSourceMap;
  beforeAll(async () => {
    bundle = await bundleWorkflows();
  });

  test(`this release (${packageVersion()}) has golden histories for the main paths, recorded on it`, () => {
    expect(current).toEqual(
      expect.arrayContaining([
        'cycle-converge-validated.json',
        'cycle-converge-suspect.json',
        'cycle-converge-aborted-converge.json',
        'cycle-converge-failed-lock.json',
        'cycle-converge-cancelled.json',
        'cycle-waited-for-hold.json',
        'cycle-decide-approved.json',
        'cycle-decide-two-person.json',
        'cycle-decide-signed-two-person.json',
        'cycle-decide-rejected.json',
        'cycle-decide-timeout.json',
        'cycle-decide-aborted.json',
        'cycle-approve-before-open-timeout.json',
        'cycle-approve-before-open-approved.json',
        'cycle-rest-lock-bareos.json',
        'cycle-networker-aborted.json',
        'drill-passed.json',
        'drill-restore-fault.json',
        'drill-check-failed.json',
        'drill-objectives-missed.json',
        'drill-aborted.json',
        'drill-refused.json',
        'scrub-tampered-copy.json',
        'scrub-clean.json',
        'scrub-probe-failed.json',
        'sentinel-hand-opened.json',
        'sentinel-terminated-holder.json',
        'sentinel-terminated-holder-backup-release.json',
      ]),
    );
    // Recorded by versioned workers of this release (build ids start with the package version).
    for (const f of current) {
      for (const id of buildIds(JSON.parse(readFileSync(join(dir, f), 'utf8')))) expect(`${f}: ${id}`).toMatch(new RegExp(`^${f}: ${packageVersion().replace(/\./g, '\\.')}-`));
    }
  });

  test('earlier releases are kept, with the sentinel histories that must still replay', () => {
    expect(releases).toContain('0.1.0');
    expect(existsSync(join(dir, '0.1.0', 'cycle-converge-validated.json'))).toBe(true);
    expect(upgrading).toEqual(expect.arrayContaining([join('0.1.0', 'sentinel-terminated-holder.json'), join('0.1.0', 'sentinel-hand-opened.json')]));
  });

  test.each([...current, ...upgrading])('%s', async (file) => {
    const history = JSON.parse(readFileSync(join(dir, file), 'utf8'));
    // Under its own workflow id: signed decisions are verified against the statement naming it (workflows/decide.ts).
    const workflowId = history.events?.[0]?.workflowExecutionStartedEventAttributes?.workflowId ?? file;
    await expect(Worker.runReplayHistory({ workflowBundle: bundle }, history, workflowId)).resolves.toBeUndefined();
  });
});
