/**
 * The Temporal server as five processes of one binary: frontend, matching, worker and two history nodes (a
 * real ring: shards are spread over both). One config (stack/config/temporal.yaml, copied to
 * .stack/temporal/config/stack.yaml) and per-process ports through the environment, as docker.yaml does.
 * Then the `default` namespace and the project's search attributes, over mTLS like any client.
 */
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import { ensureSearchAttributes } from '../workers/search-attributes';
import { dirs, FRONTEND_ADDRESS, FRONTEND_SERVER_NAME, HOST, ports, ROOT } from './layout';
import { jwtFiles, stackToken } from './jwt';
import { caFile, certFiles } from './pki';
import { pgPassword, PG_USER } from './postgres';
import { ensureProcess, waitReady, type ProcessSpec } from './processes';

type Service = 'frontend' | 'history' | 'matching' | 'worker';
export const TEMPORAL_PROCESSES: Array<{ name: string; service: Service; ports: { grpc: number; membership: number; metrics: number } }> = [
  { name: 'temporal-history-1', service: 'history', ports: ports.history1 },
  { name: 'temporal-history-2', service: 'history', ports: ports.history2 },
  { name: 'temporal-matching', service: 'matching', ports: ports.matching },
  { name: 'temporal-frontend', service: 'frontend', ports: ports.frontend },
  { name: 'temporal-worker', service: 'worker', ports: ports.worker },
];

const configDir = () => join(dirs.temporal, 'config');

/**
 * Identities the frontend takes from the client certificate's CN (stack/server): the project's worker may write
 * in `default` (poll, complete, start its sentinels); the server's own system worker (internode certificate) is
 * admin; the Web UI reads (the UI server cannot send a token of its own, and a browser cannot act through it).
 * Everyone else brings a JWT.
 */
export const CERT_PERMISSIONS = 'worker=default:write;internode=temporal-system:admin;ui=default:read';

function writeConfig(): void {
  mkdirSync(join(configDir(), 'dynamicconfig'), { recursive: true });
  copyFileSync(resolve(ROOT, 'stack/config/temporal.yaml'), join(configDir(), 'stack.yaml'));
  copyFileSync(resolve(ROOT, 'stack/config/dynamicconfig/stack.yaml'), join(configDir(), 'dynamicconfig', 'stack.yaml'));
}

/** The environment stack/config/temporal.yaml reads, for one process. */
function serverEnv(p: (typeof TEMPORAL_PROCESSES)[number]): NodeJS.ProcessEnv {
  const own = p.service === 'history' ? p.ports : ports.history1;
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    TEMPORAL_PKI_DIR: dirs.pki,
    POSTGRES_SEEDS: HOST,
    DB_PORT: String(ports.postgres),
    POSTGRES_USER: PG_USER,
    POSTGRES_PWD: pgPassword(),
    NUM_HISTORY_SHARDS: '4',
    BIND_ON_IP: HOST,
    TEMPORAL_BROADCAST_ADDRESS: HOST,
    TEMPORAL_FRONTEND_HOST: HOST,
    FRONTEND_GRPC_PORT: String(ports.frontend.grpc),
    FRONTEND_MEMBERSHIP_PORT: String(ports.frontend.membership),
    FRONTEND_HTTP_PORT: String(ports.frontend.http),
    HISTORY_GRPC_PORT: String(own.grpc),
    HISTORY_MEMBERSHIP_PORT: String(own.membership),
    MATCHING_GRPC_PORT: String(ports.matching.grpc),
    MATCHING_MEMBERSHIP_PORT: String(ports.matching.membership),
    WORKER_GRPC_PORT: String(ports.worker.grpc),
    WORKER_MEMBERSHIP_PORT: String(ports.worker.membership),
    PROMETHEUS_ENDPOINT: `${HOST}:${p.ports.metrics}`,
    DYNAMIC_CONFIG_FILE_PATH: join(configDir(), 'dynamicconfig', 'stack.yaml'),
    TEMPORAL_JWKS_FILE: jwtFiles().jwks,
    TEMPORAL_CERT_PERMISSIONS: CERT_PERMISSIONS,
  };
}

export function temporalSpecs(serverBin: string): ProcessSpec[] {
  return TEMPORAL_PROCESSES.map((p) => ({
    name: p.name,
    command: serverBin,
    // Who may connect at all is decided by mTLS (our CA only); what each caller may do, by the authorizer.
    args: ['--root', dirs.temporal, '--config', 'config', '--env', 'stack', 'start', '--service', p.service],
    cwd: dirs.temporal,
    env: serverEnv(p),
    // The worker service serves no gRPC (it only joins the ring): its membership port shows it is up.
    port: p.service === 'worker' ? p.ports.membership : p.ports.grpc,
  }));
}

/** A TLS connection to the frontend as `client` (a certificate of .stack/pki), with a token when given. */
export async function connectAs(client: string, opts: { connectTimeout?: number; apiKey?: string } = {}): Promise<Connection> {
  const files = certFiles(client);
  return Connection.connect({
    address: FRONTEND_ADDRESS,
    connectTimeout: opts.connectTimeout ?? 5000,
    apiKey: opts.apiKey,
    tls: {
      serverNameOverride: FRONTEND_SERVER_NAME,
      serverRootCACertificate: readFileSync(caFile()),
      clientCertPair: { crt: readFileSync(files.cert), key: readFileSync(files.key) },
    },
  });
}

async function ensureNamespace(connection: Connection, namespace: string, log: (l: string) => void): Promise<void> {
  try {
    await connection.workflowService.describeNamespace({ namespace });
    return;
  } catch (err) {
    if ((err as { code?: number }).code !== 5) throw err; // 5: NOT_FOUND
  }
  await connection.workflowService.registerNamespace({ namespace, workflowExecutionRetentionPeriod: msToTs('7 days') });
  log(`namespace ${namespace} registered (retention 7 days)`);
}

/** Starts the five server processes (those not running), waits for the frontend, registers what the project needs. */
export async function ensureTemporal(serverBin: string, log: (l: string) => void): Promise<void> {
  writeConfig();
  for (const spec of temporalSpecs(serverBin)) {
    const { pid, started } = ensureProcess(spec);
    log(`${spec.name} ${started ? 'started' : 'already running'} (pid ${pid}, port ${spec.port})`);
  }
  let connection: Connection | undefined;
  await waitReady('temporal-frontend', async () => {
    // Registering the namespace and search attributes is admin work: a short-lived admin token of the stack's.
    connection ??= await connectAs('irctl', { connectTimeout: 2000, apiKey: stackToken('admin') });
    await connection.workflowService.getSystemInfo({});
    return true;
  }, 180000, `frontend on ${FRONTEND_ADDRESS} answering over mTLS`);
  try {
    await ensureNamespace(connection!, 'default', log);
    // A new namespace reaches every frontend's cache within seconds; until then calls on it fail.
    await waitReady('temporal-frontend', async () => {
      await connection!.operatorService.listSearchAttributes({ namespace: 'default' });
      return true;
    }, 60000, 'namespace default known to the frontend');
    await ensureSearchAttributes(connection!, 'default');
    log('search attributes IrVault, IrPhase, IrGapState, IrVerdict, IrDecision (Keyword) registered');
  } finally {
    await connection!.close();
  }
}
