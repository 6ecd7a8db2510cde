/**
 * `npm run demo`: the embedded default in one command. Starts a Temporal dev server (SQLite under .data/,
 * UI on :8233; or uses TEMPORAL_ADDRESS), the lab simulators and a worker, runs one cycle on the lab vault
 * and prints it as it happens. Exit 0 only when the copy validated and the gap is verified closed.
 * Ctrl-C aborts a running cycle (the gap is closed first), then stops everything the demo started.
 * `--ransomware N` first encrypts N production files in the lab the way ransomware does, so the cycle shows
 * a suspect copy (and the demo exits 1: that copy is not one to recover from). `--reset` starts the lab and
 * the evidence store over (fresh production data, no earlier copies). `--stack` runs the cycle on the stack
 * (`npm run stack`): config/stack.yaml, its mTLS connection, the stack's lab and worker instead of its own.
 */
import { readFileSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { Client, Connection, WorkflowFailedError } from '@temporalio/client';
import { NativeConnection, Runtime, DefaultLogger } from '@temporalio/worker';
import { ensureTemporalCli } from './temporal-cli';
import { startDevServer, type DevServer } from './devserver';
import { ensureSearchAttributes } from '../workers/search-attributes';
import { startLab, type Lab } from '../lab';
import { ensureRestCerts } from '../lab/rest-faces';
import { loadConfig } from '../config/load';
import { temporalConnectionOptions } from '../config/temporal';
import { dataConverterFor } from '../codec/data-converter';
import { runningStack, type RunningStack } from './running-stack';
import { createWorker } from '../workers/worker';
import { promote } from '../workers/deployment';
import { isolatedRecoveryCycle } from '../workflows';
import { cycleWorkflowId, statusQuery, TASK_QUEUE, type CycleResult, type CycleStatus } from '../workflows/cycle-messages';
import { abortSignal } from '../workflows/operator-messages';

let CONFIG = process.env.IR_CONFIG ?? 'config/lab.yaml';
const VAULT = process.env.IR_VAULT ?? 'lab-vault';
const say = (line: string) => console.log(`[demo] ${line}`);

function parseArgs(argv: string[]): { ransomware: number; reset: boolean; writeRate: number; stack: boolean } {
  // Production keeps being written during the cycle (lab/writer.ts), as backup jobs do all day.
  const out = { ransomware: 0, reset: false, writeRate: 2 * 1024 * 1024, stack: false };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--write-rate') {
      const n = Number(argv[++i]);
      if (!Number.isFinite(n) || n < 0) throw new Error(`--write-rate takes production writes in bytes per second, 0 for none, e.g. --write-rate 4194304 (got ${argv[i] ?? 'nothing'})`);
      out.writeRate = n;
    } else if (argv[i] === '--reset') {
      out.reset = true;
    } else if (argv[i] === '--stack') {
      out.stack = true;
    } else if (argv[i] === '--ransomware') {
      const n = Number(argv[++i]);
      if (!Number.isInteger(n) || n < 1) throw new Error(`--ransomware takes a number of files to encrypt, e.g. --ransomware 5 (got ${argv[i] ?? 'nothing'})`);
      out.ransomware = n;
    } else {
      throw new Error(`unknown argument ${argv[i]}: usage: npm run demo [-- [--stack] [--reset] [--ransomware N] [--write-rate BYTES_PER_SEC]]`);
    }
  }
  if (out.stack && out.reset) throw new Error('--reset with --stack: the stack owns its lab; use npm run stack -- --reset');
  return out;
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  // The demo handles Ctrl-C itself (abort, wait for the close path, then stop): the SDK must not stop the
  // worker on SIGINT under it.
  Runtime.install({ logger: new DefaultLogger('WARN'), shutdownSignals: [] });
  const cleanups: Array<() => Promise<void>> = [];
  const cleanup = async () => {
    for (const fn of cleanups.splice(0).reverse()) await fn().catch((err) => console.error(String(err)));
  };
  // One Ctrl-C handler for the demo's whole life: while a cycle runs, the first press aborts it (the gap is
  // closed before anything stops); otherwise, or on a second press, everything the demo started is stopped.
  let abortCycle: (() => void) | undefined;
  let interrupted = 0;
  let lastSigint = 0;
  process.on('SIGINT', () => {
    // One Ctrl-C can arrive twice: the terminal signals the whole process group and tsx relays it as well.
    if (Date.now() - lastSigint < 1000) return;
    lastSigint = Date.now();
    interrupted++;
    if (abortCycle && interrupted === 1) {
      say('Ctrl-C: aborting the cycle; the gap is closed before the demo stops (Ctrl-C again to stop at once)');
      abortCycle();
      return;
    }
    if (abortCycle) say('stopping now; the cycle resumes and closes the gap when the demo runs again');
    else say('Ctrl-C: stopping');
    void cleanup().finally(() => process.exit(130));
  });

  let server: DevServer | undefined;
  let address = process.env.TEMPORAL_ADDRESS;
  let uiUrl = process.env.TEMPORAL_UI_URL;
  let tls: ReturnType<typeof temporalConnectionOptions>['tls'];
  let stack: RunningStack | undefined;
  if (args.stack) {
    stack = runningStack();
    CONFIG = process.env.IR_CONFIG ?? 'config/stack.yaml';
    ({ address, tls } = temporalConnectionOptions(loadConfig(CONFIG)));
    uiUrl ??= stack.endpoints.ui;
    say(`on the stack: ${address} over mTLS (${CONFIG}); its lab and worker run the cycle`);
  }
  try {
    if (!address) {
      const cliPath = await ensureTemporalCli((l) => say(l));
      say(`starting the Temporal dev server (${cliPath}), data in .data/temporal.db`);
      server = await startDevServer({ cliPath, port: 7233, uiPort: 8233, dbFile: resolve('.data/temporal.db'), logFile: resolve('.data/temporal.log'), detached: true, pidFile: resolve('.data/temporal.pid') });
      cleanups.push(() => server!.stop());
      address = server.address;
      uiUrl = server.uiUrl;
    }
    const connection = await Connection.connect({ address, tls });
    cleanups.push(() => connection.close());
    await ensureSearchAttributes(connection);
    // On the stack, payloads are encrypted with the config's keys (temporal.encryption): the same converter decodes them.
    const client = new Client({ connection, dataConverter: args.stack ? dataConverterFor(loadConfig(CONFIG)) : undefined });

    if (args.reset) {
      say('--reset: removing .lab and .evidence (lab devices, production data, copies and reports)');
      rmSync(resolve('.lab'), { recursive: true, force: true });
      rmSync(resolve('.evidence'), { recursive: true, force: true });
    }
    // A config may pin the lab appliances' certificates by file (tls.fingerprint: { file }): make them first.
    ensureRestCerts(resolve('.lab'));
    // The config decides which lab device is the gap: a switch flavour, or the vault DD's replication interface.
    const config = loadConfig(CONFIG);
    const vaultConfig = config.vaults.find((v) => v.id === VAULT) ?? config.vaults[0];
    const gap = vaultConfig.link.controller === 'dd-interface' ? 'dd-interface' : 'switch';
    if (!args.stack) say(`starting the lab simulators (switches, production and vault Data Domains) in .lab/${args.writeRate > 0 ? `; production written at ${(args.writeRate / 1048576).toFixed(1)} MiB/s (--write-rate 0 to stop it)` : ''}`);
    const lab: Pick<RunningStack['lab'], 'endpoints' | 'ransomware'> = stack
      ? stack.lab
      : await startLab({
          dir: resolve('.lab'),
          gap,
          writer: args.writeRate > 0 ? { bytesPerSec: args.writeRate } : undefined,
          log: (l) => process.env.IR_DEMO_VERBOSE && say(`lab: ${l}`),
        });
    if (!args.stack) cleanups.push(() => (lab as Lab).close());
    say(`lab: switches ${lab.endpoints.switches.map((s) => `${s.platform} :${s.port}`).join(', ')}; prod-dd :${lab.endpoints.sourceDd.port}, vault-dd :${lab.endpoints.vaultDd.port}`);
    say(
      vaultConfig.link.controller === 'dd-interface'
        ? `${CONFIG}: the gap is vault-dd's interface ${vaultConfig.link.interface} (net disable|enable)`
        : `${CONFIG}: the gap is ${vaultConfig.switch!.platform} switch ${vaultConfig.switch!.host}:${vaultConfig.switch!.port} ports ${vaultConfig.switch!.ports.join(', ')}`,
    );

    if (args.ransomware) {
      const hit = await lab.ransomware(args.ransomware);
      say('production in .lab stays encrypted afterwards: `npm run demo -- --reset` starts over');
      say(`ransomware scenario: encrypted ${hit.encrypted.length} production files (${hit.encrypted.slice(0, 3).join(', ')}, …) and dropped ${hit.note}`);
    }
    const cycle = async () => {
      // One id per vault: a demo interrupted earlier is picked up again instead of starting a second cycle.
      const handle = await client.workflow.start(isolatedRecoveryCycle, {
        taskQueue: TASK_QUEUE,
        workflowId: cycleWorkflowId(VAULT),
        args: [VAULT, {}],
        workflowIdConflictPolicy: 'USE_EXISTING',
      });
      say(`cycle ${handle.workflowId} started${uiUrl ? ` — watch it at ${uiUrl}/namespaces/default/workflows/${handle.workflowId}` : ''}`);

      abortCycle = () => void handle.signal(abortSignal, { reason: 'demo interrupted (Ctrl-C)', by: 'demo' }).catch(() => undefined);

      let printed = '';
      // One status query at a time, and none left in flight when the connection closes: a query still being
      // retried by the client after close() throws from a timer, out of reach of any catch.
      let inflight: Promise<void> | undefined;
      const ticker = setInterval(() => {
        inflight ??= handle
          .query(statusQuery)
          .then((s) => void (printed = printProgress(s, printed)))
          .catch(() => undefined)
          .finally(() => (inflight = undefined));
      }, 250);
      try {
        const result = await handle.result();
        printed = printProgress(result, printed);
        return result;
      } catch (err) {
        if (err instanceof WorkflowFailedError) {
          const details = (err.cause as any)?.details?.[0] as CycleResult | undefined;
          say(`cycle FAILED: ${err.cause?.message ?? err.message}`);
          return details;
        }
        throw err;
      } finally {
        clearInterval(ticker);
        await inflight;
        abortCycle = undefined;
      }
    };
    let outcome: CycleResult | undefined;
    if (args.stack) outcome = await cycle(); // the stack's worker runs it
    else {
      const native = await NativeConnection.connect({ address });
      cleanups.push(() => native.close());
      const worker = await createWorker({ connection: native, config });
      say(`worker on task queue ${TASK_QUEUE}`);
      outcome = await worker.runUntil(async () => {
        // New cycles start on this build (workers/deployment.ts); one pinned to an older build finishes on it.
        const version = worker.options.workerDeploymentOptions?.version;
        if (version) say(`deployment: ${await promote(client, version, 'always')}`);
        return cycle();
      });
    }

    // The lab's own view of the gap: the switch ports, or the vault DD's interface when that is the gap.
    const view = stack ? await stack.lab.state() : undefined;
    const ddInterface = view && vaultConfig.link.controller === 'dd-interface' ? view.ddInterfaces['vault-dd']?.[vaultConfig.link.interface] : undefined;
    const portsDown = view
      ? (gap === 'dd-interface' ? ddInterface === 'down' : view.vaultPortsDown)
      : gap === 'dd-interface' ? (lab as Lab).ddInterface() === 'down' : (lab as Lab).vaultPortsDown();
    const replication = view?.replication ?? (lab as Lab).replication();
    if (outcome) summarize(outcome);
    say(`lab check: ${gap === 'dd-interface' ? 'vault-dd replication interface' : 'vault ports'} ${portsDown ? 'down' : 'UP'}, replication ${replication.enabled ? 'ENABLED' : 'disabled'}`);
    if (uiUrl) say(`Temporal UI: ${uiUrl} (search: IrVault="${VAULT}")`);
    const ok = outcome?.outcome === 'validated' && outcome.gap === 'closed' && portsDown && !replication.enabled;
    say(ok ? 'OK: copy validated and the air gap is verified closed' : 'NOT OK: see above');
    return ok ? 0 : 1;
  } finally {
    await cleanup();
  }
}

function printProgress(s: CycleStatus, printed: string): string {
  let out = printed;
  for (const p of s.phases) {
    const key = `${p.phase}:${p.endedAt ? 'end' : 'start'}`;
    if (!out.includes(`|${p.phase}:start`)) {
      say(`→ ${p.phase}${p.phase === 'OPEN' ? ' (no shutdown on the vault ports)' : p.phase === 'CLOSE' ? ' (replication disabled, ports shut and verified)' : ''}`);
      out += `|${p.phase}:start`;
      const d = s.decisions?.at(-1);
      if (p.phase === 'DECIDE' && d) {
        say(`  waiting for a decision, gap closed (${d.why}); without one by ${d.deadline}: ${d.onTimeout}. Decide with:`);
        // Signed when the config lists operators (config/lab.yaml: the lab's alice and bob, keys under .lab/operators).
        for (const name of ['approve', 'reject']) {
          say(s.decisionSigning === 'signed'
            ? `    npm run irctl -- cycle ${name} ${s.vaultId} --key .lab/operators/alice --reason "..."`
            : `    temporal workflow update execute -w ${cycleWorkflowId(s.vaultId)} --name ${name} -i '{"by":"you","reason":"..."}'`);
        }
      }
    }
    if (p.endedAt && !out.includes(`|${key}`)) {
      say(`  ${p.phase} done in ${p.seconds?.toFixed(1)} s`);
      out += `|${key}`;
    }
  }
  return out;
}

function summarize(r: CycleResult): void {
  say(`outcome: ${r.outcome}, verdict: ${r.verdict}, gap: ${r.gap}`);
  if (r.exposure.seconds !== undefined) {
    say(`exposure window: ${r.exposure.seconds.toFixed(1)} s (opened ${r.exposure.openedAt}, verified closed ${r.exposure.closedAt}; maxOpen ${r.exposure.maxOpenSeconds} s)`);
  }
  if (r.copy) say(`copy ${r.copy.mtreePath}: ${r.copy.files} files, ${r.copy.bytes} bytes, ${r.copy.lockMode} lock until ${r.copy.lockedUntil}`);
  if (r.validation) say(`validation: source and copy ${r.validation.equal ? 'identical' : 'DIFFER'} (root ${r.validation.copy.root.slice(0, 16)}…); ${r.validation.reasons.join('; ') || 'no findings'}`);
  for (const d of r.decisions ?? []) {
    say(`decision (${d.stage}): ${d.state}${d.by ? ` by ${d.by}` : ''}${d.decidedAt ? ` at ${d.decidedAt}` : ''}${d.reason ? `: ${d.reason}` : ''}${d.ticket ? ` [${d.ticket}]` : ''}`);
  }
  for (const f of r.findings.slice(0, 10)) say(`  ${f.severity} ${f.class} ${f.path}${f.detail ? ` — ${f.detail}` : ''}`);
  if (r.report) {
    say(`report: ${r.report.markdownPath} (and report.json, ${r.report.digest})`);
    if (process.env.IR_DEMO_PRINT_REPORT) console.log(readFileSync(r.report.markdownPath, 'utf8'));
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(`[demo] ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
