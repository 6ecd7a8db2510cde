/**
 * What the stack's history holds in clear (issue 17, item 3's proof). The history of one cycle run is read two
 * ways that bypass the codec: the raw rows in PostgreSQL (history_node blobs, the mutable state in executions,
 * the visibility row) and `temporal workflow show --output json` without --codec-endpoint. Both are searched for
 * what the cycle knows and the server must not: MTree paths, the copy id, file names and hashes of the copy's
 * manifest. The vault id stays plaintext where Temporal needs it (workflow ids, the IrVault search attribute):
 * its places in the CLI's JSON are listed, so one anywhere else shows.
 */
import { readFileSync } from 'node:fs';
import { temporal } from '@temporalio/proto';
import type { Connection } from '@temporalio/client';
import type { PayloadCodec } from '@temporalio/common';
import type { VaultConfig } from '../config/schema';
import type { CycleResult } from '../workflows/cycle-messages';
import { dirs, FRONTEND_ADDRESS, FRONTEND_SERVER_NAME, ports } from './layout';
import { stackToken } from './jwt';
import { caFile, certFiles } from './pki';
import { run, TEMPORAL_CLI } from './run';

export interface Needle {
  what: string; // "MTree path", "copy id", "file name", "hash"
  value: string;
}

/** What a cycle must keep out of the server's sight: paths, the copy id, the manifest's file names and hashes. */
export function secretsOf(result: CycleResult, vault: VaultConfig): Needle[] {
  const needles: Needle[] = [
    ...[vault.source.mtree, vault.vault.replicaMtree, vault.vault.copiesMtree].map((value) => ({ what: 'MTree path', value })),
    { what: 'copy id', value: result.copyId },
  ];
  const source = result.validation?.source;
  if (!source) throw new Error(`cycle ${result.copyId} has no source manifest (outcome ${result.outcome})`);
  needles.push({ what: 'hash', value: source.digest }, { what: 'hash', value: source.root });
  for (const line of readFileSync(source.path, 'utf8').split('\n')) {
    const m = /^([0-9a-f]{64}) {2}(.+)$/.exec(line);
    if (!m) continue;
    needles.push({ what: 'hash', value: m[1] });
    // Short names could match by chance inside ciphertext shown as text; manifest paths are long enough.
    if (m[2].length >= 8) needles.push({ what: 'file name', value: m[2] });
  }
  return needles;
}

/** The needles found in `text` (one line per kind: how many, and the first). */
export function found(text: string, needles: Needle[]): string[] {
  const hits = new Map<string, string[]>();
  for (const n of needles) if (text.includes(n.value)) hits.set(n.what, [...(hits.get(n.what) ?? []), n.value]);
  return [...hits].map(([what, values]) => `${values.length} ${what}${values.length > 1 ? 's' : ''} (e.g. ${values[0]})`);
}

const psqlArgs = (db: string, sql: string) => ['-h', dirs.pgSocket, '-p', String(ports.postgres), '-U', 'postgres', '-d', db, '-tAq', '-v', 'ON_ERROR_STOP=1', '-c', sql];

async function psql(db: string, sql: string): Promise<string> {
  const r = await run('psql', psqlArgs(db, sql), { timeoutMs: 60000 });
  if (r.code !== 0) throw new Error(`psql ${db}: ${sql}: ${r.err.trim()}`);
  return r.out;
}

/** Rows as JSON text with every bytea (`\x…` hex) also decoded to its bytes (latin1), so both can be searched. */
function withBytea(text: string): string {
  const blobs = [...text.matchAll(/\\\\x([0-9a-f]+)/g)].map((m) => Buffer.from(m[1], 'hex').toString('latin1'));
  return [text, ...blobs].join('\n');
}

const runIdHex = (runId: string) => runId.replace(/-/g, '');

export interface RawHistory {
  /** Searchable text: history_node blobs, the run's executions row, its visibility row. */
  text: string;
  /** history_node.data of the run: the bytes the server stores for its events. */
  historyBytes: number;
  historyNodes: number;
  /** history_node blobs only (decoded bytes), for counting where the vault id is. */
  historyText: string;
}

/** One run's rows straight from PostgreSQL (the postgres superuser over the stack's socket). */
export async function rawHistory(workflowId: string, runId: string): Promise<RawHistory> {
  const tree = `decode('${runIdHex(runId)}', 'hex')`;
  const nodes = (await psql('temporal', `SELECT encode(data, 'hex') FROM history_node WHERE tree_id = ${tree} ORDER BY node_id, txn_id`)).split('\n').filter(Boolean);
  const historyText = nodes.map((h) => Buffer.from(h, 'hex').toString('latin1')).join('\n');
  const execution = await psql('temporal', `SELECT row_to_json(e)::text FROM executions e WHERE workflow_id = '${workflowId}' AND run_id = ${tree}`);
  const visibility = await psql('temporal_visibility', `SELECT row_to_json(v)::text FROM executions_visibility v WHERE run_id = '${runId}'`);
  if (!nodes.length) throw new Error(`no history_node rows for run ${runId} in the temporal database`);
  return {
    text: [historyText, withBytea(execution), withBytea(visibility)].join('\n'),
    historyBytes: nodes.reduce((n, h) => n + h.length / 2, 0),
    historyNodes: nodes.length,
    historyText,
  };
}

const cliBase = () => {
  const cli = certFiles('cli');
  return ['--address', FRONTEND_ADDRESS, '--tls-ca-path', caFile(), '--tls-cert-path', cli.cert, '--tls-key-path', cli.key, '--tls-server-name', FRONTEND_SERVER_NAME, '--command-timeout', '30s',
    '--api-key', stackToken('reader', 300)]; // the frontend authorizes: reading history takes a reader token
};

/** `temporal workflow show --output json`, without the codec or through the codec server (bearer token). */
export async function cliHistory(workflowId: string, runId: string, codec?: { url: string; token: string }): Promise<unknown> {
  const args = ['workflow', 'show', '-w', workflowId, '-r', runId, '--output', 'json', ...cliBase()];
  if (codec) args.push('--codec-endpoint', codec.url, '--codec-auth', `Bearer ${codec.token}`);
  const r = await run(TEMPORAL_CLI, args, { env: { ...process.env, SSL_CERT_FILE: caFile() }, timeoutMs: 60000 });
  if (r.code !== 0) throw new Error(`temporal workflow show ${workflowId}${codec ? ' --codec-endpoint' : ''} exited ${r.code}: ${r.err.trim()}`);
  return JSON.parse(r.out);
}

interface Leaf {
  path: string; // dotted, array indexes left out: events.workflowExecutionStartedEventAttributes.workflowId
  text: string; // the value; a payload's base64 `data` decoded
}

/** Every string of the CLI's JSON, payload data (base64) decoded. */
export function leaves(json: unknown, path: string[] = []): Leaf[] {
  if (Array.isArray(json)) return json.flatMap((v) => leaves(v, path));
  if (json && typeof json === 'object') return Object.entries(json).flatMap(([k, v]) => leaves(v, [...path, k]));
  if (typeof json !== 'string') return [];
  const text = path.at(-1) === 'data' || path.at(-2) === 'metadata' ? Buffer.from(json, 'base64').toString('latin1') : json;
  return [{ path: path.join('.'), text }];
}

/** Where the vault id may stand in clear: workflow ids (`ir-cycle-…`, `ir-sentinel-…`) and the IrVault attribute. */
const VAULT_ID_PLACES = [/(^|\.)workflowId$/, /\.searchAttributes\.indexedFields\.IrVault\.data$/];

/** The CLI JSON's places holding the vault id outside those two, and how many places hold it in all. */
export function vaultIdPlaces(json: unknown, vaultId: string): { allowed: number; elsewhere: string[] } {
  const hits = leaves(json).filter((l) => l.text.includes(vaultId));
  const elsewhere = hits.filter((l) => !VAULT_ID_PLACES.some((re) => re.test(l.path))).map((l) => l.path);
  return { allowed: hits.length - elsewhere.length, elsewhere: [...new Set(elsewhere)] };
}

export const occurrences = (text: string, what: string) => text.split(what).length - 1;

/** Every Payload in a history, by reference (a Payload: an object with `metadata` and Uint8Array `data`). */
function payloadsIn(o: unknown, out: Array<{ parent: Record<string, unknown> | unknown[]; key: string | number }> = []): typeof out {
  if (!o || typeof o !== 'object' || o instanceof Uint8Array) return out;
  for (const [k, v] of Object.entries(o)) {
    if (v && typeof v === 'object' && !(v instanceof Uint8Array) && 'metadata' in v && (v as { data?: unknown }).data instanceof Uint8Array) {
      out.push({ parent: o as Record<string, unknown>, key: Array.isArray(o) ? Number(k) : k });
    } else payloadsIn(v, out);
  }
  return out;
}

/**
 * The run's history as the API serves it, serialized as the History proto: as stored (payloads encrypted) and
 * with every payload decoded by the codec, i.e. what an unencrypted cycle would store.
 */
export async function historySizes(connection: Connection, namespace: string, workflowId: string, runId: string, codec: PayloadCodec): Promise<{ encrypted: number; decoded: number; events: number }> {
  const events: temporal.api.history.v1.IHistoryEvent[] = [];
  let nextPageToken: Uint8Array | undefined;
  do {
    const page = await connection.workflowService.getWorkflowExecutionHistory({ namespace, execution: { workflowId, runId }, nextPageToken });
    events.push(...(page.history?.events ?? []));
    nextPageToken = page.nextPageToken?.length ? page.nextPageToken : undefined;
  } while (nextPageToken);
  const size = () => temporal.api.history.v1.History.encode({ events }).finish().length;
  const encrypted = size();
  for (const { parent, key } of payloadsIn(events)) {
    const [plain] = await codec.decode([(parent as Record<string, unknown>)[key as string] as temporal.api.common.v1.IPayload]);
    (parent as Record<string, unknown>)[key as string] = plain;
  }
  return { encrypted, decoded: size(), events: events.length };
}
