/**
 * The stack's local CA and its certificates (openssl), made at first start in .stack/pki and kept:
 *   ca.crt/key              the CA every party trusts (and the only one the frontend accepts client certs from)
 *   frontend.crt/key        the frontend's server certificate: temporal-frontend, localhost, 127.0.0.1
 *   internode.crt/key       history, matching, worker and frontend among themselves (server and client use)
 *   codec-server.crt/key    the codec server's HTTPS certificate
 *   worker, irctl, ui, cli  client certificates (irctl's also serves the demo)
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { dirs, FRONTEND_SERVER_NAME, INTERNODE_SERVER_NAME } from './layout';

export const CLIENTS = ['worker', 'irctl', 'ui', 'cli'] as const;
export type ClientName = (typeof CLIENTS)[number];

export interface CertFiles {
  cert: string;
  key: string;
}

export const caFile = (dir = dirs.pki) => join(dir, 'ca.crt');
export const certFiles = (name: string, dir = dirs.pki): CertFiles => ({ cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) });

function openssl(args: string[]): void {
  try {
    execFileSync('openssl', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as { stderr?: Buffer; message: string };
    throw new Error(`openssl ${args[0]} failed: ${e.stderr?.toString().trim() || e.message} (is openssl installed? apt-get install openssl)`);
  }
}

const newKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/** A self-signed CA (also used by the tests to make an untrusted one). */
export function makeCa(dir: string, commonName: string): void {
  mkdirSync(dir, { recursive: true });
  const key = join(dir, 'ca.key');
  openssl(['req', '-x509', ...newKey, '-keyout', key, '-out', caFile(dir), '-days', '3650', '-subj', `/O=isolated-recovery/CN=${commonName}`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  chmodSync(key, 0o600);
}

/** Issues `name`.crt/key signed by the CA in `dir`. `sans` makes it a server certificate for those names. */
export function issue(dir: string, name: string, use: { server?: string[]; client?: boolean }): CertFiles {
  const files = certFiles(name, dir);
  const csr = join(dir, `${name}.csr`);
  const ext = join(dir, `${name}.ext`);
  const eku = [use.server ? 'serverAuth' : '', use.client ? 'clientAuth' : ''].filter(Boolean).join(',');
  const san = (use.server ?? []).map((n) => (/^\d+\.\d+\.\d+\.\d+$/.test(n) ? `IP:${n}` : `DNS:${n}`)).join(',');
  writeFileSync(ext, [
    'basicConstraints=critical,CA:FALSE',
    'keyUsage=critical,digitalSignature,keyEncipherment',
    `extendedKeyUsage=${eku}`,
    'subjectKeyIdentifier=hash',
    'authorityKeyIdentifier=keyid',
    ...(san ? [`subjectAltName=${san}`] : []),
  ].join('\n') + '\n');
  openssl(['req', '-new', ...newKey, '-keyout', files.key, '-out', csr, '-subj', `/O=isolated-recovery/CN=${name}`]);
  openssl(['x509', '-req', '-in', csr, '-CA', caFile(dir), '-CAkey', join(dir, 'ca.key'), '-set_serial', `0x${Date.now().toString(16)}${Math.floor(Math.random() * 1e6).toString(16)}`,
    '-days', '825', '-extfile', ext, '-out', files.cert]);
  chmodSync(files.key, 0o600);
  rmSync(csr);
  rmSync(ext);
  return files;
}

const LOCAL = ['localhost', '127.0.0.1'];

/** Makes the CA and every certificate that is missing; returns what it made. */
export function ensurePki(dir = dirs.pki): string[] {
  const made: string[] = [];
  if (!existsSync(caFile(dir))) {
    makeCa(dir, 'isolated-recovery stack CA');
    made.push('ca');
  }
  const wanted: Array<[string, { server?: string[]; client?: boolean }]> = [
    ['frontend', { server: [FRONTEND_SERVER_NAME, ...LOCAL] }],
    ['internode', { server: [INTERNODE_SERVER_NAME, ...LOCAL], client: true }],
    ['codec-server', { server: ['codec-server', ...LOCAL] }],
    ...CLIENTS.map((c): [string, { client: boolean }] => [c, { client: true }]),
  ];
  for (const [name, use] of wanted) {
    if (existsSync(certFiles(name, dir).cert)) continue;
    issue(dir, name, use);
    made.push(name);
  }
  return made;
}

// `node --import tsx stack/pki.ts DIR`: the same CA and certificates for docker-compose's one-shot pki job.
if (require.main === module) {
  const made = ensurePki(process.argv[2] ?? dirs.pki);
  console.log(made.length ? `made ${made.join(', ')} in ${process.argv[2] ?? dirs.pki}` : 'certificates already there');
}
