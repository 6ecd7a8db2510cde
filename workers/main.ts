/**
 * Worker entry point. Environment: TEMPORAL_ADDRESS (default 127.0.0.1:7233), TEMPORAL_NAMESPACE,
 * IR_CONFIG (default config/lab.yaml), IR_TASK_QUEUE, IR_METRICS_BIND (host:port of the Prometheus endpoint,
 * over the config's metrics.prometheus). Secrets are read by activities at run time.
 */
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Runtime } from '@temporalio/worker';
import { dataConverterFor } from '../codec/data-converter';
import { HISTOGRAM_BUCKETS, startCycleMetrics } from '../activities/metrics';
import { ensureSearchAttributes } from '../clients/search-attributes';
import { loadConfig } from '../config/load';
import { ensureSentinels } from './sentinels';
import { createWorker } from './worker';

async function run() {
  const config = loadConfig();
  // Before any connection or worker: the Runtime is installed once, with the SDK's Prometheus endpoint.
  const metricsBind = process.env.IR_METRICS_BIND || config.metrics?.prometheus;
  if (metricsBind) {
    Runtime.install({ telemetryOptions: { metrics: { prometheus: { bindAddress: metricsBind, histogramBucketOverrides: HISTOGRAM_BUCKETS } } } });
    startCycleMetrics(Runtime.instance().metricMeter, config);
  }
  const dataConverter = dataConverterFor(config); // payload encryption when temporal.encryption is set
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
    dataConverter,
  });
  console.log(`worker on ${address}, task queue ${worker.options.taskQueue}, vaults: ${config.vaults.map((v) => v.id).join(', ')}${metricsBind ? `, metrics on http://${metricsBind}/metrics` : ''}`);
  // Someone watches the watcher: one gap sentinel per vault, started if it is not running (fixed ids).
  const sentinels = await ensureSentinels(new Client({ connection: admin, namespace: process.env.TEMPORAL_NAMESPACE, dataConverter }), config, worker.options.taskQueue);
  await admin.close();
  console.log(`sentinels: ${sentinels.join(', ')}`);
  await worker.run(); // stops on SIGINT/SIGTERM
  await connection.close();
}

run().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
