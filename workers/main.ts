/**
 * Worker entry point. Environment: TEMPORAL_ADDRESS (default 127.0.0.1:7233), TEMPORAL_NAMESPACE,
 * IR_CONFIG (default config/lab.yaml), IR_TASK_QUEUE, IR_WORKFLOW_BUNDLE (a workflow bundle made ahead with
 * bundleWorkflowCode, so the worker starts without bundling; the tests' worker processes use the run's).
 * Secrets are read by activities at run time.
 */
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { ensureSearchAttributes } from '../clients/search-attributes';
import { loadConfig } from '../config/load';
import { ensureSentinels } from './sentinels';
import { createWorker } from './worker';

async function run() {
  const config = loadConfig();
  const address = process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233';
  // Cycles upsert IrVault/IrPhase/IrGapState/IrVerdict/IrDecision: make sure the server knows them (a plain
  // `temporal server start-dev` does not), or every cycle's first workflow task would fail.
  const admin = await Connection.connect({ address });
  await ensureSearchAttributes(admin, process.env.TEMPORAL_NAMESPACE ?? 'default');
  const connection = await NativeConnection.connect({ address });
  const worker = await createWorker({
    connection,
    config,
    namespace: process.env.TEMPORAL_NAMESPACE,
    taskQueue: process.env.IR_TASK_QUEUE,
    ...(process.env.IR_WORKFLOW_BUNDLE ? { workflowBundle: { codePath: process.env.IR_WORKFLOW_BUNDLE } } : {}),
  });
  console.log(`worker on ${address}, task queue ${worker.options.taskQueue}, vaults: ${config.vaults.map((v) => v.id).join(', ')}`);
  // Someone watches the watcher: one gap sentinel per vault, started if it is not running (fixed ids).
  const sentinels = await ensureSentinels(new Client({ connection: admin, namespace: process.env.TEMPORAL_NAMESPACE }), config, worker.options.taskQueue);
  await admin.close();
  console.log(`sentinels: ${sentinels.join(', ')}`);
  await worker.run(); // stops on SIGINT/SIGTERM
  await connection.close();
}

run().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
