/**
 * One Temporal dev server for the whole jest run (in memory, headless, a free port). Test files reach it
 * through TEMPORAL_TEST_ADDRESS. IR_NO_TEMPORAL=1 skips it for unit-only runs.
 */
import { ensureTemporalCli } from '../clients/temporal-cli';
import { startDevServer } from '../clients/devserver';
import { Client, Connection } from '@temporalio/client';
import { deploymentVersion, promote } from '../workers/deployment';

export default async function globalSetup(): Promise<void> {
  if (process.env.IR_NO_TEMPORAL === '1') return;
  if (!process.env.TEMPORAL_TEST_ADDRESS) {
    // startDevServer also makes this build's deployment version current (workers/deployment.ts).
    const cliPath = await ensureTemporalCli();
    const server = await startDevServer({ cliPath, uiPort: false, logFile: '.data/test-server.log' });
    process.env.TEMPORAL_TEST_ADDRESS = server.address;
    (globalThis as any).__IR_DEV_SERVER__ = server;
    return;
  }
  // An existing server: test workers register this build's deployment version; make it current before any polls,
  // or their workflows would wait for an unversioned worker.
  const connection = await Connection.connect({ address: process.env.TEMPORAL_TEST_ADDRESS });
  try {
    await promote(new Client({ connection }), deploymentVersion(), 'always', { allowNoPollers: true });
  } finally {
    await connection.close();
  }
}
