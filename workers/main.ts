/**
 * Worker entry point. Environment: IR_CONFIG (default config/lab.yaml; its temporal.address/namespace/tls say
 * how to reach Temporal), TEMPORAL_ADDRESS / TEMPORAL_NAMESPACE (override the config), IR_TASK_QUEUE,
 * IR_METRICS_BIND (host:port of the Prometheus endpoint, over the config's metrics.prometheus), IR_WORKFLOW_BUNDLE (a
 * workflow bundle made ahead with bundleWorkflowCode, so the worker starts without bundling; the tests' worker
 * processes use the run's). Secrets are read by activities at run time.
 */
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Runtime } from '@temporalio/worker';
import { dataConverterFor } from '../codec/data-converter';
import { HISTOGRAM_BUCKETS, startCycleMetrics } from '../activities/metrics';
import { ensureSearchAttributes } from './search-attributes';
import { loadConfig } from '../config/load';
import { explainConnectError, temporalConnectionOptions } from '../config/temporal';
import { promote, promotePolicy } from './deployment';
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
  const promotion = promotePolicy(); // a bad IR_PROMOTE fails before anything starts
  // As the worker: temporal.worker's certificate when the config has one (the server knows the worker by it).
  const { address, namespace, tls, apiKey } = temporalConnectionOptions(config, process.env, 'worker');
  // Cycles upsert IrVault/IrPhase/IrGapState/IrVerdict/IrDecision: make sure the server knows them (a plain
  // `temporal server start-dev` does not), or every cycle's first workflow task would fail.
  const admin = await Connection.connect({ address, tls, apiKey }).catch(async (err) => {
    throw await explainConnectError(err, { address, tls });
  });
  await ensureSearchAttributes(admin, namespace);
  const connection = await NativeConnection.connect({ address, tls, apiKey }).catch(async (err) => {
    throw await explainConnectError(err, { address, tls });
  });
  const worker = await createWorker({
    connection,
    config,
    namespace,
    taskQueue: process.env.IR_TASK_QUEUE,
    dataConverter,
    ...(process.env.IR_WORKFLOW_BUNDLE ? { workflowBundle: { codePath: process.env.IR_WORKFLOW_BUNDLE } } : {}),
  });
  console.log(`worker on ${address}, task queue ${worker.options.taskQueue}, vaults: ${config.vaults.map((v) => v.id).join(', ')}${metricsBind ? `, metrics on http://${metricsBind}/metrics` : ''}`);
  // Someone watches the watcher: one gap sentinel per vault, started if it is not running (fixed ids).
  const client = new Client({ connection: admin, namespace, dataConverter });
  const running = worker.run(); // stops on SIGINT/SIGTERM
  // The deployment's current version decides where new cycles start: a new worker takes them (IR_PROMOTE).
  const version = worker.options.workerDeploymentOptions?.version;
  if (version) console.log(`deployment: ${await promote(client, version, promotion)}`);
  // Sentinels start once a version is current: a start with none would wait for an unversioned worker.
  const sentinels = await ensureSentinels(client, config, worker.options.taskQueue);
  await admin.close();
  console.log(`sentinels: ${sentinels.join(', ')}`);
  await running;
  await connection.close();
}

run().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
