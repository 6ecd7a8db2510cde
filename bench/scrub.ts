/**
 * `npm run bench:scrub`: scrub throughput. A headless dev server on a free port, the lab in a temp folder,
 * a worker; N cycles land N locked copies, then `scrubCopies` re-reads all of them unlimited and at a set
 * rate. Writes bench/SCRUB.md and bench/SCRUB.json. Options: --copies N (3) --mib M per copy (64)
 * --limit MIB_PER_S (16).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { ensureTemporalCli } from '../clients/temporal-cli';
import { startDevServer } from '../clients/devserver';
import { ensureSearchAttributes } from '../workers/search-attributes';
import { startLab } from '../lab';
import { createWorker } from '../workers/worker';
import { isolatedRecoveryCycle, scrubCopies } from '../workflows';
import type { ScrubResult } from '../workflows/scrub-messages';
import { configForLab, VAULT } from '../test/helpers/lab';

const MIB = 1024 * 1024;
const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};

async function main(): Promise<void> {
  const copies = arg('copies', 3);
  const mib = arg('mib', 64);
  const limit = arg('limit', 16) * MIB;
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const dir = mkdtempSync(join(tmpdir(), 'ir-bench-scrub-'));
  const server = await startDevServer({ cliPath: await ensureTemporalCli(), uiPort: false, logFile: join(dir, 'temporal.log') });
  const lab = await startLab({ dir: join(dir, 'lab'), ports: { switch: 0, sourceDd: 0, vaultDd: 0, control: 0 }, seed: { files: 200, totalBytes: mib * MIB }, bandwidthBytesPerSec: 1024 * MIB });
  const connection = await Connection.connect({ address: server.address });
  const native = await NativeConnection.connect({ address: server.address });
  try {
    await ensureSearchAttributes(connection);
    const client = new Client({ connection });
    const config = configForLab(lab, join(dir, 'evidence'));
    const worker = await createWorker({ connection: native, config, taskQueue: 'bench-scrub' });
    const runs: Array<{ label: string; result: ScrubResult }> = [];
    await worker.runUntil(async () => {
      for (let i = 0; i < copies; i++) {
        await client.workflow.execute(isolatedRecoveryCycle, { taskQueue: 'bench-scrub', workflowId: `bench-cycle-${i}`, args: [VAULT, {}] });
      }
      for (const [label, maxBytesPerSecond] of [['unlimited', 1e12], [`limit ${limit / MIB} MiB/s`, limit]] as const) {
        const result = await client.workflow.execute(scrubCopies, { taskQueue: 'bench-scrub', workflowId: `bench-scrub-${runs.length}`, args: [VAULT, { all: true, maxBytesPerSecond }] });
        runs.push({ label, result });
        console.log(`${label}: ${(result.bytes / MIB).toFixed(1)} MiB in ${result.seconds.toFixed(2)} s = ${(result.bytesPerSecond / MIB).toFixed(1)} MiB/s`);
      }
    });
    const env = { cpus: cpus().length, cpu: cpus()[0]?.model, node: process.version, copies, mibPerCopy: mib };
    const rows = runs.map(({ label, result: r }) => ({
      run: label,
      copies: r.scrubbed.length,
      mib: r.bytes / MIB,
      seconds: r.seconds,
      mibPerSecond: r.bytesPerSecond / MIB,
      limitMibPerSecond: r.maxBytesPerSecond / MIB,
      allOk: r.scrubbed.every((s) => s.ok),
      probeWorm: r.probe?.worm,
    }));
    writeFileSync(resolve(__dirname, 'SCRUB.json'), JSON.stringify({ at: new Date().toISOString(), env, rows }, null, 2) + '\n');
    const md = [
      '# Scrub throughput',
      '',
      `\`npm run bench:scrub -- --copies ${copies} --mib ${mib} --limit ${limit / MIB}\` on ${env.cpus} CPUs (${env.cpu}), Node ${env.node}, ${new Date().toISOString()}.`,
      'Each run re-reads every locked copy in full (SHA-256, one hashing thread: the scrub is meant to stay in the background) and checks it',
      'against the root in Temporal history and the storage\'s lock report, then runs the immutability probe.',
      '',
      '| run | copies | MiB | seconds | MiB/s | limit MiB/s | all copies match history | probe WORM |',
      '|---|---|---|---|---|---|---|---|',
      ...rows.map((r) => `| ${r.run} | ${r.copies} | ${r.mib.toFixed(1)} | ${r.seconds.toFixed(2)} | ${r.mibPerSecond.toFixed(1)} | ${r.limitMibPerSecond > 1e5 ? '–' : r.limitMibPerSecond} | ${r.allOk} | ${r.probeWorm} |`),
      '',
    ].join('\n');
    writeFileSync(resolve(__dirname, 'SCRUB.md'), md);
    console.log(md);
  } finally {
    await native.close();
    await connection.close();
    await lab.close();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
