/**
 * docker-compose.yml and the Dockerfile describe the same stack as `npm run stack` (stack/): same services, same
 * config files, same ports. Checked without a Docker engine: `docker-compose config -q` (Debian's docker-compose,
 * which .ci/run installs) and the file's structure against stack/layout.ts and the config templates.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { parse } from 'yaml';

// stack/ modules write under IR_STACK_DIR when asked for paths (the password file): keep that out of .stack/.
process.env.IR_STACK_DIR = mkdtempSync(join(tmpdir(), 'ir-compose-'));
/* eslint-disable @typescript-eslint/no-require-imports */
const { ports, ROOT } = require('../stack/layout') as typeof import('../stack/layout');
const { TEMPORAL_PROCESSES, temporalSpecs } = require('../stack/temporal-server') as typeof import('../stack/temporal-server');
const { uiSpec } = require('../stack/ui') as typeof import('../stack/ui');
const { passwordFile } = require('../stack/postgres') as typeof import('../stack/postgres');
const { codecTokenFile } = require('../stack/apps') as typeof import('../stack/apps');
/* eslint-enable @typescript-eslint/no-require-imports */

interface Service {
  image?: string;
  build?: { context: string; target: string };
  command?: string[];
  entrypoint?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  ports?: string[];
}
const compose = parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, Service>;
  secrets: Record<string, { file: string }>;
};
const services = compose.services;
const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
const targets = [...dockerfile.matchAll(/^FROM \S+ AS (\S+)$/gm)].map((m) => m[1]);
/** The environment variables a config template reads, and those it gives a default. */
const templateEnv = (file: string) => {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const read = new Set([...text.matchAll(/env "([A-Z0-9_]+)"/g)].map((m) => m[1]));
  const defaulted = new Set([...text.matchAll(/default "[^"]*" \(env "([A-Z0-9_]+)"\)|env "([A-Z0-9_]+)" \| default/g)].map((m) => m[1] ?? m[2]));
  return { read, required: [...read].filter((v) => !defaulted.has(v)) };
};
const hostPort = (s: Service) => (s.ports ?? []).map((p) => p.split(':').slice(0, 2).join(':'));

describe('docker-compose.yml', () => {
  const hasCompose = !!process.env.CI || spawnSync('docker-compose', ['version']).status === 0;
  if (!hasCompose) console.warn('docker-compose is not installed (apt-get install docker-compose): skipping `docker-compose config -q`');
  (hasCompose ? test : test.skip)('docker-compose config -q accepts it', () => {
    const r = spawnSync('docker-compose', ['-f', join(ROOT, 'docker-compose.yml'), 'config', '-q'], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  test('every service has an image or a Dockerfile target, and every image we name is built by a service', () => {
    const built = new Set(Object.values(services).filter((s) => s.build).map((s) => s.image));
    for (const [name, s] of Object.entries(services)) {
      expect([name, Boolean(s.image || s.build)]).toEqual([name, true]);
      if (s.build) expect([name, targets]).toEqual([name, expect.arrayContaining([s.build.target])]);
      if (s.image?.startsWith('isolated-recovery/')) expect([name, built.has(s.image)]).toEqual([name, true]);
    }
  });

  test('every file it or the Dockerfile refers to exists; secrets are the ones npm run stack makes', () => {
    const hostPaths = Object.values(services).flatMap((s) => (s.volumes ?? []).map((v) => v.split(':')[0]).filter((p) => p.startsWith('./')));
    const copied = [...dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap((m) => m[1].split(/\s+/)).filter((p) => p !== '.');
    for (const p of [...hostPaths, ...copied]) expect([p, existsSync(join(ROOT, p))]).toEqual([p, true]);
    const secretFiles = Object.values(compose.secrets).map((s) => s.file.replace(/^\.\//, ''));
    const made = [passwordFile(), codecTokenFile()].map((f) => relative(process.env.IR_STACK_DIR!, f));
    expect(secretFiles).toEqual(made.map((f) => `.stack/${f}`));
  });

  test('the Temporal services are the native stack\'s processes, with its ports', () => {
    for (const p of TEMPORAL_PROCESSES) {
      const s = services[p.name];
      expect([p.name, s?.command]).toEqual([p.name, ['--service', p.service]]);
      const env = s.environment!;
      expect(env.PROMETHEUS_ENDPOINT).toBe(`0.0.0.0:${p.ports.metrics}`);
      const [grpc, membership] = { frontend: ['FRONTEND_GRPC_PORT', 'FRONTEND_MEMBERSHIP_PORT'], history: ['HISTORY_GRPC_PORT', 'HISTORY_MEMBERSHIP_PORT'], matching: ['MATCHING_GRPC_PORT', 'MATCHING_MEMBERSHIP_PORT'], worker: ['WORKER_GRPC_PORT', 'WORKER_MEMBERSHIP_PORT'] }[p.service];
      expect([p.name, Number(env[grpc]), Number(env[membership])]).toEqual([p.name, p.ports.grpc, p.ports.membership]);
      expect(env.TEMPORAL_BROADCAST_ADDRESS).toMatch(/^172\.28\.0\.\d+$/);
    }
    expect(hostPort(services['temporal-frontend'])).toEqual([`127.0.0.1:${ports.frontend.grpc}`]);
    expect(hostPort(services['temporal-ui'])).toEqual([`127.0.0.1:${ports.ui}`]);
    expect(hostPort(services['codec-server'])).toEqual([`127.0.0.1:${ports.codec}`]);
    expect(hostPort(services.prometheus)).toEqual([`127.0.0.1:${ports.prometheus}`]);
    expect(hostPort(services.postgresql)).toEqual([`127.0.0.1:${ports.postgres}`]);
  });

  test('stack/config/temporal.yaml gets every variable it needs, in compose and natively', () => {
    const { required } = templateEnv('stack/config/temporal.yaml');
    expect(required).toEqual(expect.arrayContaining(['POSTGRES_PWD', 'TEMPORAL_PKI_DIR', 'PROMETHEUS_ENDPOINT']));
    const entrypoint = readFileSync(join(ROOT, 'stack/docker/temporal-entrypoint.sh'), 'utf8');
    for (const p of TEMPORAL_PROCESSES) {
      const given = new Set([...Object.keys(services[p.name].environment!), ...(entrypoint.includes('export POSTGRES_PWD') ? ['POSTGRES_PWD'] : [])]);
      expect([p.name, required.filter((v) => !given.has(v))]).toEqual([p.name, []]);
    }
    for (const spec of temporalSpecs('/bin/server')) expect([spec.name, required.filter((v) => !spec.env?.[v])]).toEqual([spec.name, []]);
  });

  test('the frontend authorizes the same way in compose and natively (identities by certificate, the JWKS the pki job makes)', () => {
    const native = temporalSpecs('/bin/server').find((p) => p.name === 'temporal-frontend')!.env!;
    const frontend = services['temporal-frontend'];
    expect(frontend.environment!.TEMPORAL_CERT_PERMISSIONS).toBe(native.TEMPORAL_CERT_PERMISSIONS);
    expect(native.TEMPORAL_CERT_PERMISSIONS).toMatch(/(^|;)worker=default:write(;|$)/);
    const jwtVolume = frontend.volumes!.find((v) => frontend.environment!.TEMPORAL_JWKS_FILE.startsWith(`${v.split(':')[1]}/`));
    expect(services.pki.volumes).toContain(jwtVolume!.split(':').slice(0, 2).join(':'));
    expect(services.pki.entrypoint!.join(' ')).toContain(`stack/jwt.ts ${jwtVolume!.split(':')[1]}`);
    expect(readFileSync(join(ROOT, 'stack/docker/temporal-entrypoint.sh'), 'utf8')).not.toContain('--allow-no-auth');
  });

  test('stack/config/ui.yaml gets every variable it needs, in compose and natively', () => {
    const { required } = templateEnv('stack/config/ui.yaml');
    const compose = services['temporal-ui'].environment!;
    expect(required.filter((v) => !compose[v])).toEqual([]);
    const native = uiSpec('/bin/ui').env!;
    expect(required.filter((v) => !native[v])).toEqual([]);
    expect(compose.TEMPORAL_CODEC_ENDPOINT).toBe(native.TEMPORAL_CODEC_ENDPOINT);
  });

  test('Prometheus: one config file, the same jobs and ports natively and in compose', () => {
    const dir = (d: string) => resolve(ROOT, 'stack/prometheus', d);
    const scrape = (d: string, f: string) => (parse(readFileSync(join(dir(d), f), 'utf8')) as Array<{ targets: string[]; labels?: Record<string, string> }>);
    for (const f of ['prometheus.yml', 'temporal-server.yml', 'worker.yml']) {
      const native = scrape('targets', f);
      const inCompose = scrape('compose-targets', f);
      expect([f, inCompose.map((t) => t.labels)]).toEqual([f, native.map((t) => t.labels)]);
      expect([f, inCompose.map((t) => t.targets[0].split(':')[1])]).toEqual([f, native.map((t) => t.targets[0].split(':')[1])]);
    }
    const metrics = scrape('targets', 'temporal-server.yml').map((t) => Number(t.targets[0].split(':')[1]));
    expect(metrics.sort()).toEqual(TEMPORAL_PROCESSES.map((p) => p.ports.metrics).sort());
  });
});
