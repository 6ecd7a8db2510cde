/**
 * Golden histories (test/histories/*.json, recorded from the cycle tests with IR_RECORD_HISTORIES=1) replay
 * on the current workflow code. A change that would break cycles already running fails here: guard it with
 * `patched()` and keep the old history. No server needed: replay runs offline.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { bundleWorkflows } from './helpers/temporal';

const dir = join(__dirname, 'histories');
const files = readdirSync(dir).filter((f) => f.endsWith('.json'));

describe('recorded workflow histories replay on the current workflow code', () => {
  let bundle: WorkflowBundleWithSourceMap;
  beforeAll(async () => {
    bundle = await bundleWorkflows();
  });

  test('there are golden histories for the main paths', () => {
    expect(files).toEqual(expect.arrayContaining(['cycle-validated.json', 'cycle-suspect.json', 'cycle-aborted-converge.json', 'cycle-failed-lock.json', 'cycle-cancelled.json']));
    // The vault hold and the sentinel (test/sentinel.test.ts records these).
    expect(files).toEqual(expect.arrayContaining(['cycle-waited-for-hold.json', 'sentinel-terminated-holder.json', 'sentinel-hand-opened.json']));
    // closeAfter=converge with snapshots (issue 6): the same paths on the new order.
    expect(files).toEqual(expect.arrayContaining(['cycle-converge-validated.json', 'cycle-converge-suspect.json', 'cycle-converge-aborted-converge.json', 'cycle-converge-failed-lock.json', 'cycle-converge-cancelled.json']));
    // The snapshot taken while the link comes up (ir-6-snapshot-with-open): the same paths again.
    expect(files).toEqual(expect.arrayContaining(['cycle-snapshot-with-open-validated.json', 'cycle-snapshot-with-open-suspect.json', 'cycle-snapshot-with-open-aborted-converge.json', 'cycle-snapshot-with-open-failed-lock.json', 'cycle-snapshot-with-open-cancelled.json']));
  });

  test('and for the DECIDE paths', () => {
    expect(files).toEqual(
      expect.arrayContaining([
        'cycle-decide-approved.json',
        'cycle-decide-two-person.json',
        'cycle-decide-rejected.json',
        'cycle-decide-timeout.json',
        'cycle-decide-aborted.json',
        'cycle-approve-before-open-timeout.json',
        'cycle-approve-before-open-approved.json',
      ]),
    );
  });

  test('and for the recovery drill, the scrub, and the sentinel releasing a backup hold', () => {
    expect(files).toEqual(
      expect.arrayContaining([
        'drill-passed.json',
        'drill-restore-fault.json',
        'drill-check-failed.json',
        'drill-objectives-missed.json',
        'drill-aborted.json',
        'drill-refused.json',
        'scrub-tampered-copy.json',
        'scrub-clean.json',
        'scrub-probe-failed.json',
        'sentinel-terminated-holder-backup-release.json',
      ]),
    );
  });

  test.each(files)('%s', async (file) => {
    const history = JSON.parse(readFileSync(join(dir, file), 'utf8'));
    await expect(Worker.runReplayHistory({ workflowBundle: bundle }, history, file)).resolves.toBeUndefined();
  });
});
