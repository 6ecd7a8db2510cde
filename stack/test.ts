/**
 * `npm run stack:test`: the stack end to end, with real parts only. Starts the stack (`npm run stack`), then runs
 * a list of named checks, stops the stack, prints a summary and exits 0 only when every check held. Not part
 * of `npm test`: a first run builds minutes of Go. Add a check by appending to CHECKS. Among them: the history
 * the server keeps holds nothing of the cycle in clear (stack/history-checks.ts), the cycle's metrics through
 * Prometheus (stack/metrics-checks.ts), and last, one fault of each kind mid-cycle (stack/faults.ts; the full
 * report with figures: `npm run stack:faults`).
 *   npm run stack:test [-- --reset] [--keep] [--only NAME,NAME]
 * --reset starts from an empty .stack/; --keep leaves the stack running afterwards.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { loadConfig } from '../config/load';
import { explainConnectError, temporalConnectionOptions, type TemporalTls } from '../config/temporal';
import { cycleWorkflowId, type CycleResult } from '../workflows/cycle-messages';
import { codecAvailable, workerMetricsAvailable } from './apps';
import { dirs, FRONTEND_ADDRESS, FRONTEND_SERVER_NAME, ports, ROOT, STACK_CONFIG } from './layout';
import { caFile, certFiles, issue, makeCa } from './pki';
import { PROMETHEUS_URL } from './prometheus';
import { TEMPORAL_PROCESSES } from './temporal-server';
import { CODEC_URL, UI_URL } from './ui';
import { assert, run, stack, TEMPORAL_CLI } from './run';
import { codecShowsHistoryInClear, historyBytesPerCycle, historyHoldsNoPlaintext } from './history-checks';
import { cycleMetricsInPrometheus, promtoolChecksConfig } from './metrics-checks';
import { describeFault, faultHeld, FAULT_KINDS, runFault, type FaultKind } from './faults';
import { badTokensRefused, certificateIdentities, readerCannotWrite, writerCanWrite } from './auth-checks';
import { stackToken } from './jwt';

/** A CA the stack does not trust, and a client certificate from it (a stranger's). */
function untrusted(): { cert: string; key: string; ca: string } {
  const dir = join(dirs.state, 'test-untrusted');
  if (!existsSync(join(dir, 'ca.crt'))) {
    makeCa(dir, 'a CA the stack does not trust');
    issue(dir, 'stranger', { client: true });
  }
  return { ...certFiles('stranger', dir), ca: caFile(dir) };
}

const pem = (f: string) => readFileSync(f);
const tlsOf = (client: { cert: string; key: string } | undefined, serverName = FRONTEND_SERVER_NAME): TemporalTls => ({
  serverNameOverride: serverName,
  serverRootCACertificate: pem(caFile()),
  clientCertPair: client ? { crt: pem(client.cert), key: pem(client.key) } : undefined,
});

/** The three refusals: what we present, and what the explanation must name. */
const REFUSALS = () => [
  { name: 'no client certificate', tls: tlsOf(undefined), names: /temporal\.tls\.certFile/, cli: [] as string[] },
  { name: 'untrusted client certificate', tls: tlsOf(untrusted()), names: /temporal\.tls\.certFile/, cli: ['--tls-cert-path', untrusted().cert, '--tls-key-path', untrusted().key] },
  { name: 'wrong server name', tls: tlsOf(certFiles('worker'), 'not-the-frontend'), names: /temporal\.tls\.serverName/, cli: ['--tls-cert-path', certFiles('cli').cert, '--tls-key-path', certFiles('cli').key] },
];

async function refusedBySdk(kind: 'client' | 'native', tls: TemporalTls): Promise<string> {
  try {
    if (kind === 'client') {
      const c = await Connection.connect({ address: FRONTEND_ADDRESS, tls, connectTimeout: 5000 });
      await c.workflowService.getSystemInfo({});
      await c.close();
    } else {
      await (await NativeConnection.connect({ address: FRONTEND_ADDRESS, tls })).close();
    }
  } catch (err) {
    return (await explainConnectError(err, { address: FRONTEND_ADDRESS, tls })).message;
  }
  throw new Error(`the ${kind === 'client' ? 'Connection' : 'NativeConnection'} was accepted`);
}

interface Check {
  name: string;
  run: () => Promise<string>; // the evidence, one line
}

const CHECKS: Check[] = [
  {
    name: 'stack starts (npm run stack)',
    async run() {
      const r = await stack();
      assert(r.code === 0, `npm run stack exited ${r.code}:\n${(r.out + r.err).trim().split('\n').slice(-20).join('\n')}`);
      return `exit 0 in ${(r.ms / 1000).toFixed(1)} s; ${(r.out.match(/already running/g) ?? []).length} processes already running`;
    },
  },
  {
    name: '--status: every process up',
    async run() {
      const r = await stack(['--status']);
      assert(r.code === 0, `--status exited ${r.code}:\n${r.out}${r.err}`);
      const up = r.out.split('\n').filter((l) => / up {2}/.test(l)).length;
      return `exit 0, ${up} processes up${codecAvailable() ? '' : ' (codec server not in this tree yet)'}`;
    },
  },
  {
    name: 'a second npm run stack restarts what died and leaves the rest',
    async run() {
      const victim = JSON.parse(readFileSync(join(dirs.pids, 'temporal-history-2.pid'), 'utf8')) as { pid: number };
      process.kill(victim.pid, 'SIGKILL');
      await new Promise((r) => setTimeout(r, 500));
      const down = await stack(['--status']);
      assert(down.code === 1 && /temporal-history-2 +DOWN/.test(down.out), `--status after killing history-2 should exit 1 naming it:\n${down.out}`);
      const r = await stack();
      assert(r.code === 0, `npm run stack exited ${r.code}: ${r.err}`);
      assert(/temporal-history-2 started/.test(r.out), 'history-2 was not started again');
      const restarted = r.out.split('\n').filter((l) => / started \(pid/.test(l));
      assert(restarted.length === 1, `expected only history-2 to start, got:\n${restarted.join('\n')}`);
      return `killed history-2 (pid ${victim.pid}): --status exit 1; the next run started only it`;
    },
  },
  {
    name: 'two history nodes in the ring',
    async run() {
      const r = await run('psql', ['-h', dirs.pgSocket, '-p', String(ports.postgres), '-U', 'postgres', '-d', 'temporal', '-tAc',
        "SELECT DISTINCT rpc_port FROM cluster_membership WHERE role = 2 AND last_heartbeat > now() - interval '30 seconds' ORDER BY 1"]);
      const members = r.out.trim().split('\n').filter(Boolean).map(Number);
      const want = TEMPORAL_PROCESSES.filter((p) => p.service === 'history').map((p) => p.ports.membership);
      assert(want.every((p) => members.includes(p)), `history members with a fresh heartbeat: ${members.join(', ') || 'none'}; want ${want.join(', ')}`);
      return `history members on membership ports ${members.join(', ')}`;
    },
  },
  {
    name: "the clients' certificate and token connect (config/stack.yaml)",
    async run() {
      const o = temporalConnectionOptions(loadConfig(STACK_CONFIG), {});
      assert(o.apiKey, 'config/stack.yaml gives clients no token (temporal.apiKeyFile)');
      const connection = await Connection.connect({ address: o.address, tls: o.tls, apiKey: o.apiKey });
      try {
        const info = await connection.workflowService.getSystemInfo({});
        const ns = await connection.workflowService.describeNamespace({ namespace: o.namespace });
        return `mTLS to ${o.address} as CN=irctl with the clients' token: server ${info.serverVersion}, namespace ${ns.namespaceInfo?.name}`;
      } finally {
        await connection.close();
      }
    },
  },
  {
    name: 'a cycle to a validated copy through the stack (irctl start lab-vault --wait)',
    async run() {
      const r = await run(process.execPath, [join(ROOT, 'bin/irctl.js'), '--config', STACK_CONFIG, '--json', 'start', 'lab-vault', '--wait'], { timeoutMs: 600000 });
      assert(r.code === 0, `irctl exited ${r.code}: ${r.err || r.out}`);
      const result = JSON.parse(r.out) as CycleResult;
      assert(result.outcome === 'validated' && result.gap === 'closed', `outcome ${result.outcome}, gap ${result.gap}`);
      const o = temporalConnectionOptions(loadConfig(STACK_CONFIG), {});
      const connection = await Connection.connect({ address: o.address, tls: o.tls, apiKey: o.apiKey });
      try {
        const d = await new Client({ connection }).workflow.getHandle(cycleWorkflowId('lab-vault')).describe();
        return `copy ${result.copy?.mtreePath} validated, gap closed, exposure ${result.exposure.seconds?.toFixed(1)} s; workflow ${d.status.name}, IrPhase ${String(d.searchAttributes.IrPhase)}`;
      } finally {
        await connection.close();
      }
    },
  },
  { name: 'history: no path, copy id, file name or hash in PostgreSQL or workflow show without the codec', run: historyHoldsNoPlaintext },
  { name: 'history: through the codec server the copy id reads in clear', run: codecShowsHistoryInClear },
  { name: 'history: bytes per cycle with and without encryption', run: historyBytesPerCycle },
  { name: 'metrics: the cycle through Prometheus (ir_gap_open 0, validated, exposure, service_requests)', run: cycleMetricsInPrometheus },
  { name: 'metrics: promtool check config stack/prometheus/prometheus.yml', run: promtoolChecksConfig },
  ...(['client', 'native'] as const).map((kind) => ({
    name: `TLS refusals through the SDK's ${kind === 'client' ? 'Connection (grpc-js)' : 'NativeConnection (Rust core)'}`,
    async run() {
      const lines: string[] = [];
      for (const c of REFUSALS()) {
        const message = await refusedBySdk(kind, c.tls);
        assert(c.names.test(message), `${c.name}: the error does not name ${c.names.source}: ${message}`);
        lines.push(`${c.name}: ${message.replace(/^cannot connect to Temporal at [^:]+:\d+: /, '')}`);
      }
      return lines.join('\n      ');
    },
  })),
  {
    name: 'irctl names the flag or config field to fix',
    async run() {
      const irctl = (args: string[]) => run(process.execPath, [join(ROOT, 'bin/irctl.js'), '--config', STACK_CONFIG, ...args, 'status', 'lab-vault'], { timeoutMs: 60000 });
      const stranger = untrusted();
      const flagged = await irctl(['--tls-cert-path', stranger.cert, '--tls-key-path', stranger.key]);
      assert(flagged.code === 3 && /--tls-cert-path/.test(flagged.err), `a stranger's certificate by flag: exit ${flagged.code}: ${flagged.err}`);
      const named = await irctl(['--tls-server-name', 'not-the-frontend']);
      assert(named.code === 3 && /--tls-server-name/.test(named.err), `a wrong --tls-server-name: exit ${named.code}: ${named.err}`);
      const ok = await irctl([]);
      assert(ok.code === 0, `irctl --config config/stack.yaml status: exit ${ok.code}: ${ok.err}`);
      return `stranger's cert: exit 3 "${flagged.err.trim().slice(0, 140)}…"; wrong name: exit 3 naming --tls-server-name; the config's certificate and token: exit 0`;
    },
  },
  {
    name: 'TLS refusals through the temporal CLI (and its certificate accepted)',
    async run() {
      assert(existsSync(TEMPORAL_CLI), `the temporal CLI is not built at ${TEMPORAL_CLI} (npm run temporal:ensure)`);
      const base = ['workflow', 'list', '--limit', '3', '--address', FRONTEND_ADDRESS, '--command-timeout', '10s', '--tls-ca-path', caFile()];
      const ok = await run(TEMPORAL_CLI, [...base, '--tls-server-name', FRONTEND_SERVER_NAME, '--tls-cert-path', certFiles('cli').cert, '--tls-key-path', certFiles('cli').key, '--api-key', stackToken('reader', 300)]);
      assert(ok.code === 0 && ok.out.includes('ir-'), `the cli certificate was not accepted (exit ${ok.code}): ${ok.err}`);
      const lines = ['cli certificate: workflow list ok'];
      for (const c of REFUSALS()) {
        const serverName = c.name === 'wrong server name' ? 'not-the-frontend' : FRONTEND_SERVER_NAME;
        const r = await run(TEMPORAL_CLI, [...base, '--tls-server-name', serverName, ...c.cli], { timeoutMs: 60000 });
        assert(r.code !== 0, `${c.name}: the temporal CLI was accepted`);
        const why = /msg="([^"\\]*(?:\\.[^"\\]*)*)"/.exec(r.err)?.[1] ?? r.err.trim();
        assert(/tls|certificate|x509|broken pipe|reset|EOF/i.test(why), `${c.name}: unexpected CLI error: ${r.err}`);
        lines.push(`${c.name}: exit ${r.code}, ${why.replace(/\\"/g, '"').slice(0, 160)}`);
      }
      return lines.join('\n      ');
    },
  },
  {
    name: 'the Web UI reaches the frontend over mTLS and points the browser at the codec server',
    async run() {
      const settings = (await (await fetch(`${UI_URL}/api/v1/settings`)).json()) as { Codec: { Endpoint: string } };
      assert(settings.Codec.Endpoint === CODEC_URL, `UI codec endpoint ${settings.Codec.Endpoint}, want ${CODEC_URL}`);
      const list = (await (await fetch(`${UI_URL}/api/v1/namespaces/default/workflows?query=${encodeURIComponent('IrVault="lab-vault"')}`)).json()) as { executions?: Array<{ execution: { workflowId: string } }> };
      const ids = (list.executions ?? []).map((e) => e.execution.workflowId);
      assert(ids.includes(cycleWorkflowId('lab-vault')), `the UI lists ${ids.join(', ') || 'nothing'} for IrVault="lab-vault"`);
      return `${UI_URL}: ${ids.length} executions for IrVault="lab-vault"; codec endpoint ${settings.Codec.Endpoint}`;
    },
  },
  {
    name: 'Prometheus scrapes every target (/api/v1/query?query=up)',
    async run() {
      // The first scrape of a just-started target takes up to one interval (5 s).
      let down: string[] = [];
      let series: Array<{ metric: Record<string, string>; value: [number, string] }> = [];
      for (let i = 0; i < 20; i++) {
        const body = (await (await fetch(`${PROMETHEUS_URL}/api/v1/query?query=up`)).json()) as { data: { result: typeof series } };
        series = body.data.result;
        const expectDown = (m: Record<string, string>) => m.job === 'isolated-recovery-worker' && !workerMetricsAvailable();
        down = series.filter((s) => s.value[1] !== '1' && !expectDown(s.metric)).map((s) => `${s.metric.job}/${s.metric.instance}`);
        if (series.length >= 7 && !down.length) break;
        await new Promise((r) => setTimeout(r, 1000));
      }
      const server = series.filter((s) => s.metric.job === 'temporal-server' && s.value[1] === '1').length;
      assert(!down.length, `targets down: ${down.join(', ')}`);
      assert(server === TEMPORAL_PROCESSES.length, `${server} of ${TEMPORAL_PROCESSES.length} Temporal server processes up`);
      const q = (await (await fetch(`${PROMETHEUS_URL}/api/v1/query?query=${encodeURIComponent('sum(service_requests)')}`)).json()) as { data: { result: Array<{ value: [number, string] }> } };
      return `${series.length} targets, ${server} server processes up${workerMetricsAvailable() ? '' : ' (worker metrics not in this tree yet: its target is expected down)'}; sum(service_requests) = ${q.data.result[0]?.value[1] ?? 'none'}`;
    },
  },
  { name: 'authorization: a reader token cannot start, signal, update or terminate (temporal CLI)', run: readerCannotWrite },
  { name: 'authorization: a writer token can start, signal, update and terminate (temporal CLI)', run: writerCanWrite },
  { name: 'authorization: no token, an expired token and tokens signed by another key are refused (temporal CLI)', run: badTokensRefused },
  { name: 'authorization: the worker is known by its certificate; the UI reads (temporal CLI)', run: certificateIdentities },
  // Last: each kills part of the stack mid-cycle (the full report: npm run stack:faults).
  ...FAULT_KINDS.map((kind) => ({ name: `faults: ${kind} mid-cycle, the gap still closes`, run: () => faultCheck(kind) })),
];

async function faultCheck(kind: FaultKind): Promise<string> {
  const f = await runFault(kind);
  const broken = faultHeld(f);
  assert(!broken, `${broken}\n      ${describeFault(f)}`);
  return `${describeFault(f)}${f.note ? `\n      ${f.note}` : ''}`;
}

async function main(argv: string[]): Promise<number> {
  const only = argv.includes('--only') ? argv[argv.indexOf('--only') + 1].split(',') : undefined;
  if (argv.includes('--reset')) await stack(['--reset']);
  const results: Array<{ name: string; ok: boolean; ms: number; detail: string }> = [];
  for (const check of CHECKS) {
    if (only && !only.some((o) => check.name.includes(o))) continue;
    const t0 = Date.now();
    process.stdout.write(`… ${check.name}\n`);
    try {
      const detail = await check.run();
      results.push({ name: check.name, ok: true, ms: Date.now() - t0, detail });
    } catch (err) {
      results.push({ name: check.name, ok: false, ms: Date.now() - t0, detail: (err as Error).message });
      if (check === CHECKS[0]) break; // the stack did not start: nothing else can hold
    }
    const last = results.at(-1)!;
    console.log(`${last.ok ? 'ok  ' : 'FAIL'} ${last.name} (${(last.ms / 1000).toFixed(1)} s)\n      ${last.detail}`);
  }
  if (!argv.includes('--keep')) {
    const stop = await stack(['--stop']);
    const after = await stack(['--status']);
    const stopped = stop.code === 0 && after.code === 1 && !/ up {2}/.test(after.out);
    results.push({ name: 'npm run stack -- --stop stops every process', ok: stopped, ms: stop.ms, detail: stopped ? '--status afterwards: all down, exit 1' : after.out });
    console.log(`${stopped ? 'ok  ' : 'FAIL'} ${results.at(-1)!.name}`);
  }
  const failed = results.filter((r) => !r.ok);
  console.log(`\nstack:test: ${results.length - failed.length} of ${results.length} checks held${failed.length ? `; failed: ${failed.map((f) => f.name).join('; ')}` : ''}`);
  return failed.length ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: Error) => {
    console.error(err.stack ?? err.message);
    process.exit(1);
  },
);
