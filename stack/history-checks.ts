/**
 * stack:test's checks of the history the server keeps (issue 17, item 3): nothing of the cycle in clear without
 * the codec, everything with it, and what encryption costs in bytes. They read the latest cycle run of the lab
 * vault (the cycle check before them made one).
 */
import { readFileSync } from 'node:fs';
import { EncryptionCodec } from '../codec/encryption-codec';
import { loadKeyRing } from '../codec/keys';
import { cycleWorkflowId, type CycleResult } from '../workflows/cycle-messages';
import { codecTokenFile } from './apps';
import { connectStack } from './client';
import { cliHistory, found, historySizes, leaves, occurrences, rawHistory, secretsOf, vaultIdPlaces } from './history-scan';
import { assert } from './run';
import { CODEC_URL } from './ui';

const VAULT = 'lab-vault';

export interface CycleRun {
  workflowId: string;
  runId: string;
  result: CycleResult;
}

/** The lab vault's latest cycle run, finished, with its result decoded. */
export async function latestCycle(): Promise<CycleRun> {
  const s = await connectStack();
  try {
    const workflowId = cycleWorkflowId(VAULT);
    const handle = s.client.workflow.getHandle(workflowId);
    const d = await handle.describe();
    assert(d.status.name === 'COMPLETED', `the latest ${workflowId} run is ${d.status.name}; run a cycle first`);
    return { workflowId, runId: d.runId, result: (await s.client.workflow.getHandle(workflowId, d.runId).result()) as CycleResult };
  } finally {
    await s.close();
  }
}

async function needlesOf(cycle: CycleRun) {
  const s = await connectStack();
  await s.close();
  return secretsOf(cycle.result, s.config.vaults.find((v) => v.id === VAULT)!);
}

/** PostgreSQL's rows and `temporal workflow show` without the codec: no path, copy id, file name or hash. */
export async function historyHoldsNoPlaintext(): Promise<string> {
  const cycle = await latestCycle();
  const needles = await needlesOf(cycle);
  const raw = await rawHistory(cycle.workflowId, cycle.runId);
  const inDb = found(raw.text, needles);
  assert(!inDb.length, `PostgreSQL holds in clear: ${inDb.join('; ')}`);
  const json = await cliHistory(cycle.workflowId, cycle.runId);
  const shown = found(leaves(json).map((l) => l.text).join('\n'), needles);
  assert(!shown.length, `temporal workflow show (no codec) shows: ${shown.join('; ')}`);
  // The vault id: only in workflow ids and IrVault, in the CLI's view and (counted) in the stored blobs.
  const places = vaultIdPlaces(json, VAULT);
  assert(!places.elsewhere.length, `the vault id "${VAULT}" stands in clear outside workflow ids and IrVault: ${places.elsewhere.join(', ')}`);
  const stored = occurrences(raw.historyText, VAULT);
  assert(stored === places.allowed, `"${VAULT}" occurs ${stored} times in the stored history_node blobs but ${places.allowed} times in workflow ids and IrVault`);
  return `${needles.length} needles (3 MTree paths, copy id ${cycle.result.copyId}, ${needles.filter((n) => n.what === 'file name').length} file names, ${needles.filter((n) => n.what === 'hash').length} hashes): none in ${raw.historyNodes} history_node blobs, the executions and visibility rows, or workflow show; "${VAULT}" ${stored}× in the blobs, all of them workflow ids / IrVault`;
}

/** The same history through the codec server (bearer token, the stack CA) reads in clear. */
export async function codecShowsHistoryInClear(): Promise<string> {
  const cycle = await latestCycle();
  const json = await cliHistory(cycle.workflowId, cycle.runId, { url: CODEC_URL, token: readFileSync(codecTokenFile(), 'utf8').trim() });
  // Searched exactly as the codec-less view is (payload data base64-decoded): this is what that search finds in clear.
  const text = leaves(json).map((l) => l.text).join('\n');
  assert(text.includes(cycle.result.copyId), `workflow show --codec-endpoint ${CODEC_URL} does not show the copy id ${cycle.result.copyId}`);
  assert(!text.includes('binary/encrypted'), 'workflow show --codec-endpoint still shows encrypted payloads');
  return `workflow show --codec-endpoint ${CODEC_URL}: copy id ${cycle.result.copyId} in clear ${occurrences(text, cycle.result.copyId)}×, no payload left encrypted`;
}

export interface HistoryBytes {
  runId: string;
  events: number;
  storedBytes: number; // history_node.data in PostgreSQL (encrypted)
  apiEncryptedBytes: number; // the History proto as served (encrypted payloads)
  apiDecodedBytes: number; // the same with every payload decoded: an unencrypted cycle's history
  storedWithoutEncryptionBytes: number; // storedBytes less what encryption added
}

export async function historyBytes(): Promise<HistoryBytes> {
  const cycle = await latestCycle();
  const raw = await rawHistory(cycle.workflowId, cycle.runId);
  const s = await connectStack();
  try {
    const codec = new EncryptionCodec(loadKeyRing(s.config.temporal!.encryption!.keys));
    const sizes = await historySizes(s.connection, s.namespace, cycle.workflowId, cycle.runId, codec);
    return {
      runId: cycle.runId,
      events: sizes.events,
      storedBytes: raw.historyBytes,
      apiEncryptedBytes: sizes.encrypted,
      apiDecodedBytes: sizes.decoded,
      storedWithoutEncryptionBytes: raw.historyBytes - (sizes.encrypted - sizes.decoded),
    };
  } finally {
    await s.close();
  }
}

/** History bytes per cycle, with encryption (stored) and without (the same events, payloads decoded). */
export async function historyBytesPerCycle(): Promise<string> {
  const b = await historyBytes();
  assert(b.apiEncryptedBytes > b.apiDecodedBytes, `encrypted ${b.apiEncryptedBytes} B is not larger than decoded ${b.apiDecodedBytes} B: are payloads encrypted?`);
  const extra = b.apiEncryptedBytes - b.apiDecodedBytes;
  return `one cycle, ${b.events} events: ${b.storedBytes} B in history_node with encryption, ≈${b.storedWithoutEncryptionBytes} B without (+${extra} B, +${((100 * extra) / b.storedWithoutEncryptionBytes).toFixed(1)}%); as the API's History proto ${b.apiEncryptedBytes} B encrypted, ${b.apiDecodedBytes} B decoded`;
}
