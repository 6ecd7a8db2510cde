/**
 * Prometheus (Debian's package) on 127.0.0.1:19090, scraping every Temporal server process, the project's
 * worker and itself (stack/prometheus/prometheus.yml); its data in .stack/prometheus.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { dirs, HOST, ports, ROOT } from './layout';
import type { ProcessSpec } from './processes';

export const PROMETHEUS_URL = `http://${HOST}:${ports.prometheus}`;
export const PROMETHEUS_CONFIG = resolve(ROOT, 'stack/prometheus/prometheus.yml');

export function prometheusSpec(): ProcessSpec {
  const bin = process.env.PROMETHEUS_BIN ?? '/usr/bin/prometheus';
  if (!existsSync(bin)) throw new Error(`${bin} not found: apt-get install prometheus (or set PROMETHEUS_BIN)`);
  return {
    name: 'prometheus',
    command: bin,
    args: [
      `--config.file=${PROMETHEUS_CONFIG}`,
      `--storage.tsdb.path=${dirs.prometheus}`,
      `--web.listen-address=${HOST}:${ports.prometheus}`,
      '--storage.tsdb.retention.time=15d',
    ],
    cwd: join(ROOT, 'stack', 'prometheus'), // rule_files (H4's alerts.yml) resolve beside the config
    port: ports.prometheus,
  };
}
