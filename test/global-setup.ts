/**
 * One Temporal dev server per jest worker for the whole run (in memory, headless, free ports), and the workflows
 * bundled once for the run while the servers start. Each worker's test files reach their own server through
 * TEMPORAL_TEST_ADDRESS (test/setup-worker.ts picks it from TEMPORAL_TEST_ADDRESSES), so files running side by side
 * never share workflow ids, schedules or visibility; the bundle through IR_WORKFLOW_BUNDLE (worker processes the
 * tests spawn inherit it: workers/main.ts loads it). IR_NO_TEMPORAL=1 skips both for unit-only runs;
 * TEMPORAL_TEST_ADDRESS given: every worker uses that server.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Config } from '@jest/types';
import { ensureTemporalCli } from '../clients/temporal-cli';
import { startDevServer } from '../clients/devserver';
import { Client, Connection } from '@temporalio/client';
import { deploymentVersion, promote } from '../workers/deployment';
import { BUNDLE_ENV, writeWorkflowBundle } from './helpers/bundle';

export default async function globalSetup(globalConfig: Config.GlobalConfig): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'ir-jest-'));
  (globalThis as any).__IR_RUN_DIR__ = dir;
  if (process.env.IR_NO_TEMPORAL === '1') return; // unit-only: a file that needs a bundle makes its own
  const bundled = writeWorkflowBundle(dir).then((path) => {
    process.env[BUNDLE_ENV] = path;
  });
  if (process.env.TEMPORAL_TEST_ADDRESS) {
    // An existing server: test workers register this build's deployment version (workers/deployment.ts); make it
    // current before any polls, or their workflows would wait for an unversioned worker. (startDevServer does this.)
    const connection = await Connection.connect({ address: process.env.TEMPORAL_TEST_ADDRESS });
    await promote(new Client({ connection }), deploymentVersion(), 'always', { allowNoPollers: true }).finally(() => connection.close());
    return bundled;
  }
  const cliPath = await ensureTemporalCli();
  const count = Math.max(1, globalConfig.maxWorkers);
  const [servers] = await Promise.all([
    Promise.all(Array.from({ length: count }, (_, i) => startDevServer({ cliPath, uiPort: false, logFile: `.data/test-server-${i + 1}.log` }))),
    bundled,
  ]);
  process.env.TEMPORAL_TEST_ADDRESSES = servers.map((s) => s.address).join(',');
  process.env.TEMPORAL_TEST_ADDRESS = servers[0].address;
  (globalThis as any).__IR_DEV_SERVERS__ = servers;
}
