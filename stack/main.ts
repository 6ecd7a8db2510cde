/**
 * `npm run stack`: the production-like stack, natively (no Docker), every part a process recorded in .stack/:
 * PostgreSQL, the Temporal server (frontend, matching, worker, two history nodes) over mTLS, the Web UI, the
 * codec server, the lab simulators, the project's worker and Prometheus. A second run leaves running processes
 * alone and starts what died.
 *   npm run stack [-- --status | --stop | --reset]
 * --status prints each process (pid, alive, port, log) and exits 1 if one is down; --stop stops them all by pid;
 * --reset stops them and deletes .stack/ (the Go builds stay cached in ~/.cache/isolated-recovery).
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { codecAvailable, codecSpec, labSpec, LAB_CONTROL_PORT, workerSpec, workerStarted } from './apps';
import { ensureBinaries } from './binaries';
import { dirs, FRONTEND_ADDRESS, FRONTEND_SERVER_NAME, HOST, PORT_OFFSET, ports, STACK_CONFIG, WITH_PROJECT_APPS } from './layout';
import { CLIENT_TOKEN_TTL_SECONDS, ensureJwt, jwtFiles } from './jwt';
import { caFile, certFiles, ensurePki } from './pki';
import { ensurePostgres } from './postgres';
import { ensureProcess, portOpen, processState, stopProcess, waitReady, type ProcessSpec, type ProcessState } from './processes';
import { prometheusSpec, PROMETHEUS_URL } from './prometheus';
import { ensureTemporal, TEMPORAL_PROCESSES } from './temporal-server';
import { CODEC_URL, uiSpec, UI_URL } from './ui';

const say = (line: string) => console.log(`[stack] ${line}`);

/** Every process of the stack, in start order (stop goes the other way). */
export function processNames(): string[] {
  return ['postgres', ...TEMPORAL_PROCESSES.map((p) => p.name), ...(codecAvailable() ? ['codec-server'] : []), 'temporal-ui', ...(WITH_PROJECT_APPS ? ['lab', 'worker'] : []), 'prometheus'];
}

const STOP_SIGNALS: Record<string, NodeJS.Signals> = { postgres: 'SIGINT' };

async function startOne(spec: ProcessSpec, ready: () => Promise<boolean>, what: string, timeoutMs = 60000): Promise<void> {
  const { pid, started } = ensureProcess(spec);
  say(`${spec.name} ${started ? 'started' : 'already running'} (pid ${pid}${spec.port ? `, port ${spec.port}` : ''})`);
  await waitReady(spec.name, ready, timeoutMs, what);
}

export async function startStack(): Promise<void> {
  const t0 = Date.now();
  const bins = await ensureBinaries(say);
  const made = ensurePki();
  say(made.length ? `certificates made in ${dirs.pki}: ${made.join(', ')}` : `certificates in ${dirs.pki}`);
  const jwt = ensureJwt();
  say(`JWT key in ${dirs.jwt}${jwt.length ? ` (made ${jwt.join(', ')})` : ''}; clients' token ${jwtFiles().clientToken} (writer, ${CLIENT_TOKEN_TTL_SECONDS / 86400} days)`);
  await ensurePostgres(bins.sql, say);
  await ensureTemporal(bins.server, say);
  if (codecAvailable()) await startOne(codecSpec(), () => portOpen(ports.codec), `HTTPS on ${CODEC_URL}`);
  else say('codec-server: codec/main.ts is not in this tree yet (issue 17, H4): not started');
  await startOne(uiSpec(bins.ui), () => portOpen(ports.ui), `HTTP on ${UI_URL}`);
  if (WITH_PROJECT_APPS) {
    await startOne(labSpec(), () => portOpen(LAB_CONTROL_PORT), `lab control on ${HOST}:${LAB_CONTROL_PORT}`, 120000);
    await startOne(workerSpec(), async () => workerStarted(), 'the worker polling its task queue', 120000);
  } else say(`ports moved by ${PORT_OFFSET} (IR_STACK_PORT_OFFSET): the server side only; no lab, no worker (config/stack.yaml names fixed ports)`);
  await startOne(prometheusSpec(), async () => (await fetch(`${PROMETHEUS_URL}/-/ready`)).ok, `${PROMETHEUS_URL}/-/ready`);
  // Where things are, for clients that do not import the stack (the demo's --stack).
  writeFileSync(join(dirs.state, 'endpoints.json'), JSON.stringify({ frontend: FRONTEND_ADDRESS, ui: UI_URL, codec: CODEC_URL, prometheus: PROMETHEUS_URL, labDir: dirs.lab }, null, 2) + '\n');
  const cli = certFiles('cli');
  say(`stack up in ${Math.round((Date.now() - t0) / 1000)} s`);
  console.log(
    [
      `  Temporal frontend  ${FRONTEND_ADDRESS} (mTLS; server name ${FRONTEND_SERVER_NAME}; CA ${caFile()})`,
      `  Temporal UI        ${UI_URL}   (codec server ${CODEC_URL}${codecAvailable() ? '' : ', not started'})`,
      `  Prometheus         ${PROMETHEUS_URL}`,
      `  vault config       ${STACK_CONFIG} (the worker's; irctl --config config/stack.yaml uses its temporal.tls)`,
      `  temporal CLI       temporal --address ${FRONTEND_ADDRESS} --tls-ca-path ${caFile()} --tls-cert-path ${cli.cert} --tls-key-path ${cli.key} --tls-server-name ${FRONTEND_SERVER_NAME} --api-key "$(npm run -s irctl -- auth token --role reader)" workflow list`,
      `  authorization      a JWT per caller (irctl auth token --role reader|writer|admin); the worker by its certificate; the UI reads`,
      `  a cycle            npm run irctl -- --config config/stack.yaml start lab-vault --wait   (or npm run demo -- --stack)`,
      `  status / stop      npm run stack -- --status | --stop | --reset`,
    ].join('\n'),
  );
}

export async function stackStatus(): Promise<ProcessState[]> {
  return Promise.all(processNames().map((n) => processState(n)));
}

export function printStatus(states: ProcessState[]): boolean {
  let ok = true;
  for (const s of states) {
    const up = s.alive && s.listening !== false;
    ok &&= up;
    console.log(`${s.name.padEnd(20)} ${up ? 'up  ' : 'DOWN'}  pid ${String(s.pid ?? '-').padEnd(7)} alive ${String(s.alive).padEnd(5)}  port ${String(s.port ?? '-').padEnd(5)}${s.listening === false ? ' (not listening)' : ''}  log ${s.log}`);
  }
  if (!codecAvailable()) console.log('codec-server         n/a   codec/main.ts is not in this tree yet (issue 17, H4): the stack runs without it');
  return ok;
}

export async function stopStack(): Promise<void> {
  for (const name of processNames().reverse()) {
    const r = await stopProcess(name, STOP_SIGNALS[name] ?? 'SIGTERM');
    say(`${name}: ${r}`);
  }
}

async function main(argv: string[]): Promise<number> {
  const [flag, ...extra] = argv;
  if (extra.length || (flag && !['--status', '--stop', '--reset'].includes(flag))) {
    console.error('usage: npm run stack [-- --status | --stop | --reset]');
    return 2;
  }
  if (flag === '--status') return printStatus(await stackStatus()) ? 0 : 1;
  if (flag === '--stop') {
    await stopStack();
    return 0;
  }
  if (flag === '--reset') {
    await stopStack();
    rmSync(dirs.state, { recursive: true, force: true });
    say(`removed ${dirs.state} (Go builds stay cached in ~/.cache/isolated-recovery)`);
    return 0;
  }
  await startStack();
  return 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: Error) => {
      console.error(`[stack] ${err.message}`);
      process.exit(1);
    },
  );
}
