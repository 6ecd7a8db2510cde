/**
 * The project's own processes on the stack: the lab simulators (the devices config/stack.yaml points at), the
 * codec server (H4's codec/main.ts, started only when that file exists) and the cycle worker. Each runs as
 * `node --import tsx <script>`: one process per pid file, signals reach it directly.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join, resolve } from 'node:path';
import { dirs, HOST, logFile, ports, ROOT, STACK_CONFIG, STATE, WITH_PROJECT_APPS } from './layout';
import { caFile, certFiles } from './pki';
import type { ProcessSpec } from './processes';
import { UI_URL } from './ui';

export const CODEC_ENTRY = resolve(ROOT, 'codec/main.ts');
export const CODEC_KEY = { id: '2026-12', file: join(dirs.keys, '2026-12.key') };
export const LAB_CONTROL_PORT = 2299;
export const codecAvailable = () => existsSync(CODEC_ENTRY);
export const codecTokenFile = () => join(STATE, 'secrets', 'codec-token');
/** The worker serves Prometheus metrics once the metrics module (issue 17, H4) is in the tree. */
export const workerMetricsAvailable = () => ['workers/metrics.ts', 'activities/metrics.ts'].some((f) => existsSync(resolve(ROOT, f)));

const tsNode = (script: string, args: string[] = []): Pick<ProcessSpec, 'command' | 'args' | 'cwd'> => ({
  command: process.execPath,
  args: ['--import', 'tsx', resolve(ROOT, script), ...args],
  cwd: ROOT,
});

export function labSpec(): ProcessSpec {
  return { name: 'lab', ...tsNode('lab/main.ts', ['--dir', dirs.lab, '--host', HOST]), port: LAB_CONTROL_PORT };
}

/** The codec key (made once with the codec's own keygen) and the bearer token for CLI callers. */
function ensureCodecSecrets(): string {
  if (!existsSync(CODEC_KEY.file)) {
    mkdirSync(dirs.keys, { recursive: true, mode: 0o700 });
    const r = spawnSync(process.execPath, ['--import', 'tsx', CODEC_ENTRY, 'keygen', '--out', CODEC_KEY.file], { cwd: ROOT, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`codec keygen failed: ${r.stderr || r.stdout}`);
  }
  const token = codecTokenFile();
  if (!existsSync(token)) {
    mkdirSync(join(STATE, 'secrets'), { recursive: true, mode: 0o700 });
    writeFileSync(token, randomBytes(32).toString('hex'), { mode: 0o600 });
  }
  return token;
}

export function codecSpec(): ProcessSpec {
  const tokenFile = ensureCodecSecrets();
  const cert = certFiles('codec-server');
  return {
    name: 'codec-server',
    ...tsNode('codec/main.ts', [
      'serve', '--tls-cert', cert.cert, '--tls-key', cert.key,
      '--client-ca', caFile(), '--token-file', tokenFile,
      '--allow-origin', UI_URL, '--host', HOST, '--port', String(ports.codec),
      // A moved stack (IR_STACK_DIR) keeps its key elsewhere than config/stack.yaml says: name the file.
      ...(WITH_PROJECT_APPS ? ['--config', STACK_CONFIG] : ['--key-file', `${CODEC_KEY.id}=${CODEC_KEY.file}`]),
    ]),
    port: ports.codec,
  };
}

export function workerSpec(): ProcessSpec {
  return {
    name: 'worker',
    ...tsNode('workers/main.ts'),
    env: { ...process.env, IR_CONFIG: STACK_CONFIG, IR_METRICS_BIND: `${HOST}:${ports.projectWorkerMetrics}`, TEMPORAL_ADDRESS: '', TEMPORAL_NAMESPACE: '' },
    port: workerMetricsAvailable() ? ports.projectWorkerMetrics : undefined,
  };
}

/** The worker is ready once it logged its first line (`worker on …`) since its latest start. */
export function workerStarted(): boolean {
  const file = logFile('worker');
  if (!existsSync(file)) return false;
  const text = readFileSync(file, 'utf8');
  return /\nworker on /.test(text.slice(text.lastIndexOf('\n=== ')));
}
