/**
 * Prometheus (Debian's package) on 127.0.0.1:19090, scraping every Temporal server process, the project's
 * worker and itself (stack/prometheus/prometheus.yml); its data in .stack/prometheus. A moved stack
 * (IR_STACK_PORT_OFFSET) gets the same configuration with its own ports, written under its state directory;
 * whoever brings the workers writes their targets into `workerTargetsFile()` (Prometheus rereads it).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { dirs, HOST, ports, ROOT, WITH_PROJECT_APPS } from './layout';
import type { ProcessSpec } from './processes';

export const PROMETHEUS_URL = `http://${HOST}:${ports.prometheus}`;
export const PROMETHEUS_CONFIG = resolve(ROOT, 'stack/prometheus/prometheus.yml');
const movedDir = () => join(dirs.state, 'prometheus-config');
export const workerTargetsFile = () => join(movedDir(), 'targets', 'worker.yml');

/** The moved stack's prometheus.yml: the committed one with its rule file absolute and its targets on our ports. */
function writeMovedConfig(): string {
  mkdirSync(join(movedDir(), 'targets'), { recursive: true });
  const config = readFileSync(PROMETHEUS_CONFIG, 'utf8').replace(/^ {2}- alerts\.yml/m, `  - ${resolve(ROOT, 'stack/prometheus/alerts.yml')}`);
  writeFileSync(join(movedDir(), 'prometheus.yml'), config);
  const server = [
    ['frontend', ports.frontend], ['history-1', ports.history1], ['history-2', ports.history2], ['matching', ports.matching], ['worker', ports.worker],
  ] as const;
  writeFileSync(join(movedDir(), 'targets', 'prometheus.yml'), `- targets: ['${HOST}:${ports.prometheus}']\n`);
  writeFileSync(join(movedDir(), 'targets', 'temporal-server.yml'), server.map(([p, x]) => `- targets: ['${HOST}:${x.metrics}']\n  labels: { process: ${p} }\n`).join(''));
  if (!existsSync(workerTargetsFile())) writeFileSync(workerTargetsFile(), '[]\n');
  return join(movedDir(), 'prometheus.yml');
}

export function prometheusSpec(): ProcessSpec {
  const bin = process.env.PROMETHEUS_BIN ?? '/usr/bin/prometheus';
  if (!existsSync(bin)) throw new Error(`${bin} not found: apt-get install prometheus (or set PROMETHEUS_BIN)`);
  const config = WITH_PROJECT_APPS ? PROMETHEUS_CONFIG : writeMovedConfig();
  return {
    name: 'prometheus',
    command: bin,
    args: [
      `--config.file=${config}`,
      `--storage.tsdb.path=${dirs.prometheus}`,
      `--web.listen-address=${HOST}:${ports.prometheus}`,
      '--storage.tsdb.retention.time=15d',
    ],
    cwd: join(ROOT, 'stack', 'prometheus'), // rule_files (H4's alerts.yml) resolve beside the config
    port: ports.prometheus,
  };
}
