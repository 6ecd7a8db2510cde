/**
 * The Temporal Web UI against the stack's frontend, with its own client certificate (mTLS), on
 * http://127.0.0.1:18233. Payloads are decoded in the browser by the codec server (TEMPORAL_CODEC_ENDPOINT).
 */
import { copyFileSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { dirs, FRONTEND_ADDRESS, FRONTEND_SERVER_NAME, HOST, ports, ROOT } from './layout';
import { caFile, certFiles } from './pki';
import type { ProcessSpec } from './processes';

export const UI_URL = `http://${HOST}:${ports.ui}`;
export const CODEC_URL = `https://${HOST}:${ports.codec}`;

export function uiSpec(uiBin: string): ProcessSpec {
  mkdirSync(join(dirs.ui, 'config'), { recursive: true });
  copyFileSync(resolve(ROOT, 'stack/config/ui.yaml'), join(dirs.ui, 'config', 'stack.yaml'));
  const cert = certFiles('ui');
  return {
    name: 'temporal-ui',
    command: uiBin,
    args: ['--root', dirs.ui, '--config', 'config', '--env', 'stack', 'start'],
    cwd: dirs.ui,
    port: ports.ui,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      TEMPORAL_ADDRESS: FRONTEND_ADDRESS,
      TEMPORAL_UI_PORT: String(ports.ui),
      TEMPORAL_UI_PUBLIC_URL: UI_URL,
      TEMPORAL_TLS_CA: caFile(),
      TEMPORAL_TLS_CERT: cert.cert,
      TEMPORAL_TLS_KEY: cert.key,
      TEMPORAL_TLS_SERVER_NAME: FRONTEND_SERVER_NAME,
      TEMPORAL_CODEC_ENDPOINT: CODEC_URL,
    },
  };
}
