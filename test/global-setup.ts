/**
 * One Temporal dev server for the whole jest run (in memory, headless, a free port). Test files reach it
 * through TEMPORAL_TEST_ADDRESS. IR_NO_TEMPORAL=1 skips it for unit-only runs.
 */
import { ensureTemporalCli } from '../clients/temporal-cli';
import { startDevServer } from '../clients/devserver';

export default async function globalSetup(): Promise<void> {
  if (process.env.IR_NO_TEMPORAL === '1') return;
  if (process.env.TEMPORAL_TEST_ADDRESS) return; // an existing server was given
  const cliPath = await ensureTemporalCli();
  const server = await startDevServer({ cliPath, uiPort: false, logFile: '.data/test-server.log' });
  process.env.TEMPORAL_TEST_ADDRESS = server.address;
  (globalThis as any).__IR_DEV_SERVER__ = server;
}
