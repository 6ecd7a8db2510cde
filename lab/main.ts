/**
 * `npm run lab` — runs the lab in the foreground until SIGINT/SIGTERM.
 *   tsx lab/main.ts [--dir .lab] [--host 127.0.0.1] [--switch-port 2201] [--source-port 2202]
 *                   [--vault-port 2203] [--control-port 2299] [--bandwidth BYTES_PER_SEC] [--link-delay MS]
 *   tsx lab/main.ts ransomware --count N [--dir .lab]   (via the running lab, else directly on the folder)
 *   tsx lab/main.ts state [--dir .lab]                  (GET /state of the running lab)
 *   tsx lab/main.ts --vaults N [--processes 4] [--solo 0] [--dir .fleet] [--base-port 30000] [--mib 4]
 *                                                        (a fleet of N vault labs: lab/fleet.ts)
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_PORTS, startLab, type LabEndpoints } from './index';
import { runFleet } from './fleet';
import { ransomware } from './ransomware';
import { DEFAULT_REST_PORTS } from './rest-faces';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    dir: { type: 'string', default: '.lab' },
    host: { type: 'string', default: '127.0.0.1' },
    'switch-port': { type: 'string' },
    'source-port': { type: 'string' },
    'vault-port': { type: 'string' },
    'control-port': { type: 'string' },
    bandwidth: { type: 'string' },
    'link-delay': { type: 'string' },
    'write-rate': { type: 'string' }, // production writer, bytes/s (lab/writer.ts); off when absent
    count: { type: 'string', default: '10' },
    vaults: { type: 'string' },
    processes: { type: 'string', default: '4' },
    solo: { type: 'string', default: '0' },
    'base-port': { type: 'string', default: '30000' },
    mib: { type: 'string', default: '4' },
  },
});
const dir = path.resolve(values.dir!);
const num = (v: string | undefined, fallback?: number) => (v === undefined ? fallback : Number(v));

function runningEndpoints(): LabEndpoints | null {
  const file = path.join(dir, 'endpoints.json');
  return fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, 'utf8')) as LabEndpoints) : null;
}

async function control(method: string, route: string, body?: unknown): Promise<unknown | null> {
  const ep = runningEndpoints();
  if (!ep?.control) return null;
  try {
    const res = await fetch(ep.control + route, { method, body: body === undefined ? undefined : JSON.stringify(body), headers: { 'content-type': 'application/json' } });
    if (!res.ok) throw new Error(`${method} ${route}: ${res.status} ${await res.text()}`);
    return await res.json();
  } catch (err) {
    if ((err as { cause?: { code?: string } }).cause?.code === 'ECONNREFUSED') return null; // lab not running
    throw err;
  }
}

async function main(): Promise<void> {
  const cmd = positionals[0] ?? 'run';
  if (values.vaults !== undefined) {
    const fleetDir = values.dir === '.lab' ? '.fleet' : values.dir!;
    await runFleet({ dir: fleetDir, vaults: Number(values.vaults), processes: Number(values.processes), solo: Number(values.solo), basePort: Number(values['base-port']), host: values.host, mib: Number(values.mib) });
    return;
  }
  if (cmd === 'ransomware') {
    const count = Number(values.count);
    const viaLab = await control('POST', '/ransomware', { count });
    const result = viaLab ?? ransomware(path.join(dir, 'prod-dd', 'data', 'col1', 'prod'), count);
    console.log(JSON.stringify(result, null, 2));
    return;
  }
  if (cmd === 'state') {
    const s = await control('GET', '/state');
    if (!s) throw new Error(`no running lab found for ${dir}`);
    console.log(JSON.stringify(s, null, 2));
    return;
  }
  if (cmd !== 'run') throw new Error(`unknown command ${cmd} (run | ransomware | state)`);

  const lab = await startLab({
    dir,
    host: values.host,
    ports: {
      switch: num(values['switch-port'], DEFAULT_PORTS.switch),
      sourceDd: num(values['source-port'], DEFAULT_PORTS.sourceDd),
      vaultDd: num(values['vault-port'], DEFAULT_PORTS.vaultDd),
      control: num(values['control-port'], DEFAULT_PORTS.control),
      ...DEFAULT_REST_PORTS,
    },
    bandwidthBytesPerSec: num(values.bandwidth),
    linkUpDelayMs: num(values['link-delay']),
    apps: true, // SQLite, PostgreSQL and tar.gz data for drills (lab/apps.ts)
    writer: values['write-rate'] ? { bytesPerSec: Number(values['write-rate']) } : undefined,
    log: (line) => console.log(`${new Date().toISOString()} ${line}`),
  });
  const ep = lab.endpoints;
  console.log(
    [
      `lab running in ${dir}`,
      `  switch   ssh -p ${ep.switch.port} -i ${ep.clientKeyFile} -o UserKnownHostsFile=${ep.knownHostsFile} ${ep.switch.username}@${ep.host}`,
      `  prod-dd  ssh -p ${ep.sourceDd.port} -i ${ep.clientKeyFile} -o UserKnownHostsFile=${ep.knownHostsFile} ${ep.sourceDd.username}@${ep.host} 'replication status'`,
      `  vault-dd ssh -p ${ep.vaultDd.port} -i ${ep.clientKeyFile} -o UserKnownHostsFile=${ep.knownHostsFile} ${ep.vaultDd.username}@${ep.host} 'mtree list'`,
      `  rescue   ssh -p ${ep.recoveryHost.port} -i ${ep.clientKeyFile} -o UserKnownHostsFile=${ep.knownHostsFile} ${ep.recoveryHost.username}@${ep.host} 'rear -v checklayout'`,
      `  DD REST  curl --cacert ${ep.rest.vaultDdRest.certFile} -i -X POST -H 'content-type: application/json' -d '{"username":"sysadmin","password":"…"}' ${ep.rest.vaultDdRest.url}/rest/v1.0/auth`,
      `  bareos   ${ep.rest.bareos.url} (POST /token; certificate ${ep.rest.bareos.fingerprint})`,
      `  nw       ${ep.rest.networker.url}/nwrestapi/v3/global (basic auth; certificate ${ep.rest.networker.fingerprint})`,
      `  control  ${ep.control}/state`,
      `  endpoints ${path.join(dir, 'endpoints.json')}`,
    ].join('\n'),
  );
  let stopping = false;
  const stop = (sig: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`${sig}: stopping lab`);
    lab.close().then(
      () => process.exit(0),
      (err: Error) => {
        console.error(err);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((err: Error) => {
  console.error(err.message);
  process.exit(1);
});
