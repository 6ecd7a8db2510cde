/**
 * bench:cycle's `--stack`: the same measurements against the running production-like stack (`npm run stack`:
 * five Temporal processes on PostgreSQL, mTLS, payloads encrypted with the stack's key) instead of a dev server,
 * and their place in bench/CYCLE-REPORT.md: a "cluster" section beside the dev server's figures.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import { NativeConnection } from '@temporalio/worker';
import { stackConnection } from '../stack/client';
import { runningPid } from '../stack/processes';
import { TEMPORAL_PROCESSES } from '../stack/temporal-server';

export interface BenchTarget {
  description: string;
  connection: Connection;
  client: Client;
  native: NativeConnection;
  dataConverter?: DataConverter;
  /** The server's processes, for the CPU they used. */
  serverPids(): number[];
  stop(): Promise<void>;
}

/** Connects as the stack's worker does (config/stack.yaml: mTLS, temporal.encryption); the stack must be up. */
export async function connectCluster(): Promise<BenchTarget> {
  const { address, namespace, tls, apiKey, dataConverter } = stackConnection();
  const connection = await Connection.connect({ address, tls, apiKey }).catch((err: Error) => {
    throw new Error(`cannot reach the stack's frontend at ${address} (start it with \`npm run stack\`): ${err.message}`);
  });
  return {
    description: `the stack (npm run stack: frontend ${address} over mTLS, 2 history nodes, PostgreSQL, payloads encrypted${dataConverter ? '' : ' — NOT: config/stack.yaml has no temporal.encryption'})`,
    connection,
    client: new Client({ connection, namespace, dataConverter }),
    native: await NativeConnection.connect({ address, tls, apiKey }),
    dataConverter,
    serverPids: () => TEMPORAL_PROCESSES.map((p) => runningPid(p.name)).filter((p): p is number => p !== undefined),
    stop: async () => undefined, // the stack is the operator's: left running
  };
}

const REPORT_MD = resolve(__dirname, 'CYCLE-REPORT.md');
const REPORT_JSON = resolve(__dirname, 'CYCLE-REPORT.json');
const HEADING = '## On the cluster';

/** Puts the cluster run into bench/CYCLE-REPORT.{md,json} (replacing an earlier cluster section), keeping the rest. */
export function writeClusterSection(report: unknown, markdown: string, command: string): void {
  const body = markdown
    .split('\n')
    .filter((l) => !l.startsWith('# ') && !l.startsWith('Reproduce:'))
    .map((l) => (l.startsWith('## ') ? `#${l}` : l))
    .join('\n')
    .trim();
  const section = [
    `${HEADING} (\`npm run stack\`)`,
    '',
    `The same measurements against the production-like stack instead of the dev server: five Temporal processes on`,
    `PostgreSQL, two history nodes, mTLS, every payload encrypted (AES-256-GCM codec). The labs and the worker run as`,
    `above (the worker in the bench process, on its own task queue). Command: \`${command}\` (10 MiB only by default on`,
    `the stack; IR_BENCH_SIZES=10,1024 adds the 1 GiB rows). The machine is shared: read the load averages.`,
    '',
    body,
    '',
  ].join('\n');
  const md = existsSync(REPORT_MD) ? readFileSync(REPORT_MD, 'utf8') : '# Cycle benchmark\n';
  const at = md.indexOf(`\n${HEADING}`);
  const kept = at >= 0 ? md.slice(0, at) : md;
  // A section after the cluster one (none today) would be lost: keep whatever follows the next "## " heading.
  const next = at >= 0 ? md.indexOf('\n## ', at + 1) : -1;
  writeFileSync(REPORT_MD, `${kept.trimEnd()}\n\n${section}${next >= 0 ? md.slice(next) : ''}`);
  const json = existsSync(REPORT_JSON) ? (JSON.parse(readFileSync(REPORT_JSON, 'utf8')) as Record<string, unknown>) : {};
  writeFileSync(REPORT_JSON, JSON.stringify({ ...json, cluster: { command, ...(report as object) } }, null, 2) + '\n');
}
