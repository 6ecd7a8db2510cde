/** Builds the worker: real drivers, the vault configuration, alerts to the evidence store. */
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { createActivities, type ActivityDeps } from '../activities';
import { fileAlerter } from '../activities/notify';
import { openSwitch } from '../activities/drivers/switch';
import { openDataDomain } from '../activities/drivers/datadomain/cli';
import type { Config } from '../config/schema';
import { TASK_QUEUE } from '../workflows/cycle-messages';
import { deploymentVersion } from './deployment';
import type { WorkerDeploymentVersion } from '@temporalio/common';

export function realDeps(config: Config, overrides: Partial<ActivityDeps> = {}): ActivityDeps {
  return { config, openSwitch, openDataDomain, alert: fileAlerter(config.evidenceDir), ...overrides };
}

export interface CreateWorkerOptions {
  connection: NativeConnection;
  config: Config;
  namespace?: string;
  taskQueue?: string;
  deps?: Partial<ActivityDeps>;
  workflowBundle?: WorkerOptions['workflowBundle'];
  /** Worker interceptors (telemetry, or the tests' phase feed to the lab). */
  interceptors?: WorkerOptions['interceptors'];
  /** Payload encryption (codec/data-converter.ts dataConverterFor); the SDK default when absent. */
  dataConverter?: WorkerOptions['dataConverter'];
  /** The deployment version this worker registers (default: workers/deployment.ts). */
  version?: WorkerDeploymentVersion;
}

/**
 * Every worker of these workflows is versioned: cycles, drills and scrubs are PINNED to the version that started them,
 * the sentinel auto-upgrades (each says so with setWorkflowOptions, which an unversioned worker refuses).
 */
export function versioning(version: WorkerDeploymentVersion = deploymentVersion()) {
  return { version, useWorkerVersioning: true, defaultVersioningBehavior: 'PINNED' } as const;
}

export async function createWorker(opts: CreateWorkerOptions): Promise<Worker> {
  return Worker.create({
    connection: opts.connection,
    namespace: opts.namespace ?? 'default',
    taskQueue: opts.taskQueue ?? TASK_QUEUE,
    ...(opts.workflowBundle ? { workflowBundle: opts.workflowBundle } : { workflowsPath: require.resolve('../workflows') }),
    activities: createActivities(realDeps(opts.config, opts.deps)),
    ...(opts.interceptors ? { interceptors: opts.interceptors } : {}),
    ...(opts.dataConverter ? { dataConverter: opts.dataConverter } : {}),
    workerDeploymentOptions: versioning(opts.version),
    // Cancellation reaches an activity only in answer to a heartbeat, and the SDK throttles heartbeats to
    // 0.8 x heartbeatTimeout by default (24 s here): an abort must stop openLink within about a second.
    maxHeartbeatThrottleInterval: '1 second',
    defaultHeartbeatThrottleInterval: '1 second',
    // A workflow's tasks go to the queue of the worker that ran it last (sticky). When that worker is SIGKILLed,
    // nobody tells the server, and each task waits this long there before any worker may take it: with the
    // default 10 s, an abort or a completed activity sat 10 s behind a dead worker while the gap was open.
    // A miss only costs a replay of the (small) history on another worker.
    stickyQueueScheduleToStartTimeout: '3 seconds',
  });
}
