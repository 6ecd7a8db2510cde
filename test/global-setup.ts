/**
 * One Temporal dev server for the whole jest run (in memory, headless, a free port), and the workflows bundled
 * once for the run, while the server starts. Test files reach the server through TEMPORAL_TEST_ADDRESS and the
 * bundle through IR_WORKFLOW_BUNDLE (worker processes the tests spawn inherit it: workers/main.ts loads it).
 * IR_NO_TEMPORAL=1 skips the server for unit-only runs.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureTemporalCli } from '../clients/temporal-cli';
import { startDevServer } from '../clients/devserver';
import { BUNDLE_ENV, writeWorkflowBundle } from './helpers/bundle';

export default async function globalSetup(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'ir-jest-'));
  (globalThis as any).__IR_RUN_DIR__ = dir;
  if (process.env.IR_NO_TEMPORAL === '1') return; // unit-only: a file that needs a bundle makes its own
  const bundled = writeWorkflowBundle(dir).then((path) => {
    process.env[BUNDLE_ENV] = path;
  });
  if (process.env.TEMPORAL_TEST_ADDRESS) return bundled; // an existing server was given
  const [server] = await Promise.all([ensureTemporalCli().then((cliPath) => startDevServer({ cliPath, uiPort: false, logFile: '.data/test-server.log' })), bundled]);
  process.env.TEMPORAL_TEST_ADDRESS = server.address;
  (globalThis as any).__IR_DEV_SERVER__ = server;
}
