/**
 * The evidence store: the one owner of its layout and of its hash chain.
 *
 *   <evidenceDir>/<vault>/catalog.json             copies index (activities/catalog.ts)
 *   <evidenceDir>/<vault>/chain.jsonl              one line per evidence record, each naming the previous one
 *   <evidenceDir>/<vault>/<copyId>/...             manifests, validation.json, report.json, report.md
 *   <evidenceDir>/<vault>/incidents/<id>.json      incidents (scrub, probes, sentinel)
 *   <evidenceDir>/<vault>/decisions|drills|scrubs|probes/<id>.json
 *
 * Every record is written once and appended to the vault's chain: `{seq, kind, key, path, digest, prev, at,
 * hash}`, where `digest` is the sha256 of the record file, `prev` the hash of the previous line and `hash` the
 * sha256 of the line's own fields. JSON records written here also carry `chain: {seq, prev}` inside the file.
 * Rewriting a record (or the chain) unseen would need the chain head each cycle puts into Temporal history.
 */
import { createHash } from 'node:crypto';
import { existsSync, promises as fsp } from 'node:fs';
import { basename, dirname, join, relative, sep } from 'node:path';
import { readManifestInfo } from './hashing';
import { sha256OfFile } from './hashing/manifest';

export type RecordKind = 'manifest' | 'validation' | 'report' | 'incident' | 'decision' | 'drill' | 'scrub' | 'probe';

export interface ChainEntry {
  seq: number;
  kind: RecordKind;
  /** What the record is about, unique per vault (e.g. `report:<copyId>`): a retried append finds its own. */
  key: string;
  /** Relative to the vault's folder, `/`-separated. */
  path: string;
  digest: string; // sha256:<hex> of the record file
  prev: string | null; // hash of the previous entry
  at: string;
  hash: string; // sha256:<hex> over the fields above
}

export interface ChainHead {
  seq: number;
  head: string | null;
}

const VAULT_ID = /^[a-z0-9][a-z0-9-]{0,62}$/;
/** A vault id that is not a safe path segment never becomes a path. */
export const vaultFolder = (vaultId: string): string => (VAULT_ID.test(vaultId) ? vaultId : '_invalid-vault-id');
export const vaultDir = (evidenceDir: string, vaultId: string): string => join(evidenceDir, vaultFolder(vaultId));
export const copyDir = (evidenceDir: string, vaultId: string, copyId: string): string => join(vaultDir(evidenceDir, vaultId), copyId);
export const catalogPath = (evidenceDir: string, vaultId: string): string => join(vaultDir(evidenceDir, vaultId), 'catalog.json');
export const chainPath = (evidenceDir: string, vaultId: string): string => join(vaultDir(evidenceDir, vaultId), 'chain.jsonl');
export const incidentsDir = (evidenceDir: string, vaultId: string): string => join(vaultDir(evidenceDir, vaultId), 'incidents');
const recordsDir = (evidenceDir: string, vaultId: string, kind: 'decisions' | 'drills' | 'scrubs' | 'probes') => join(vaultDir(evidenceDir, vaultId), kind);

const sha = (data: string | Buffer) => `sha256:${createHash('sha256').update(data).digest('hex')}`;

export function entryHash(e: Omit<ChainEntry, 'hash'>): string {
  return sha(JSON.stringify([e.seq, e.kind, e.key, e.path, e.digest, e.prev, e.at]));
}

export async function readChain(evidenceDir: string, vaultId: string): Promise<{ entries: ChainEntry[]; badLine?: { line: number; text: string } }> {
  let text: string;
  try {
    text = await fsp.readFile(chainPath(evidenceDir, vaultId), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { entries: [] };
    throw err;
  }
  const entries: ChainEntry[] = [];
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  for (let i = 0; i < lines.length; i++) {
    try {
      entries.push(JSON.parse(lines[i]) as ChainEntry);
    } catch {
      return { entries, badLine: { line: i + 1, text: lines[i].slice(0, 120) } };
    }
  }
  return { entries };
}

export async function chainHead(evidenceDir: string, vaultId: string): Promise<ChainHead> {
  const { entries } = await readChain(evidenceDir, vaultId);
  const last = entries[entries.length - 1];
  return { seq: last?.seq ?? 0, head: last?.hash ?? null };
}

// ---- appending: one writer at a time per vault (in this process: a queue; across processes: a lock file) ----

const queues = new Map<string, Promise<unknown>>();
const LOCK_STALE_MS = 30_000;

async function withChainLock<T>(evidenceDir: string, vaultId: string, fn: () => Promise<T>): Promise<T> {
  const dir = vaultDir(evidenceDir, vaultId);
  const prior = queues.get(dir) ?? Promise.resolve();
  const run = prior.then(async () => {
    await fsp.mkdir(dir, { recursive: true });
    const lock = join(dir, 'chain.lock');
    for (let attempt = 0; ; attempt++) {
      try {
        await (await fsp.open(lock, 'wx')).close();
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        const st = await fsp.stat(lock).catch(() => null);
        if (st && Date.now() - st.mtimeMs > LOCK_STALE_MS) await fsp.rm(lock, { force: true });
        else if (attempt > 600) throw new Error(`evidence chain of vault ${vaultId} is locked by ${lock} for over a minute`);
        else await new Promise((r) => setTimeout(r, 100));
      }
    }
    try {
      return await fn();
    } finally {
      await fsp.rm(lock, { force: true });
    }
  });
  queues.set(dir, run.catch(() => undefined));
  return run;
}

export interface AppendRequest {
  kind: RecordKind;
  key: string;
  /** Absolute path of the record file. */
  path: string;
  /** A JSON record to write (once) at `path`, with `chain: {seq, prev}` added; omit to chain an existing file. */
  json?: Record<string, unknown>;
  /** Text to write (once) at `path` (e.g. a Markdown rendering); omit to chain an existing file. */
  text?: string;
}

/**
 * Writes a record (or takes an existing file) and appends it to the vault's chain. Idempotent by key: a
 * retried activity gets the entry it appended before, and the file it wrote is never overwritten.
 */
export async function appendRecord(evidenceDir: string, vaultId: string, req: AppendRequest): Promise<ChainEntry> {
  const vdir = vaultDir(evidenceDir, vaultId);
  const rel = relative(vdir, req.path).split(sep).join('/');
  if (rel.startsWith('..') || rel === '') throw new Error(`evidence record ${req.path} is outside the vault's folder ${vdir}`);
  return withChainLock(evidenceDir, vaultId, async () => {
    const { entries, badLine } = await readChain(evidenceDir, vaultId);
    if (badLine) throw new Error(`evidence chain ${chainPath(evidenceDir, vaultId)} line ${badLine.line} is not JSON: refusing to append (run irctl evidence verify)`);
    const existing = entries.find((e) => e.key === req.key);
    if (existing) return existing;
    const last = entries[entries.length - 1];
    const seq = (last?.seq ?? 0) + 1;
    const prev = last?.hash ?? null;
    if (req.json !== undefined || req.text !== undefined) {
      const body = req.json !== undefined ? JSON.stringify({ ...req.json, chain: { vault: vaultId, seq, prev } }, null, 2) + '\n' : req.text!;
      await fsp.mkdir(dirname(req.path), { recursive: true });
      // Written once: a file already there (a crash between write and append) is kept as it is.
      await fsp.writeFile(req.path, body, { flag: 'wx' }).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'EEXIST') throw err;
      });
    }
    const digest = `sha256:${await sha256OfFile(req.path)}`;
    const fields = { seq, kind: req.kind, key: req.key, path: rel, digest, prev, at: new Date().toISOString() };
    const entry: ChainEntry = { ...fields, hash: entryHash(fields) };
    await fsp.appendFile(chainPath(evidenceDir, vaultId), JSON.stringify(entry) + '\n');
    return entry;
  });
}

// ---- records other modules write ----

export interface Incident {
  id: string;
  severity: 'critical' | 'warning';
  /** e.g. scrub-mismatch, scrub-missing, lock-shortened, not-worm, gap-open-unheld */
  kind: string;
  summary: string;
  copyId?: string;
  paths?: string[];
  /** Who found it: `scrub <workflowId>`, `cycle <copyId>`, `sentinel`… */
  source: string;
  at: string;
  /** The finder's own record (e.g. the sentinel's: what was open, since when, who closed it and how). */
  detail?: Record<string, unknown>;
}

const SAFE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
function checkId(id: string, what: string): void {
  if (!SAFE_ID.test(id)) throw new Error(`${what} id ${JSON.stringify(id)} must be letters, digits, dot, dash or underscore (at most 128)`);
}

/** Records an incident (once per id) in the chain. Alerts are the caller's: it knows who to tell. */
export async function recordIncident(evidenceDir: string, vaultId: string, incident: Omit<Incident, 'at'> & { at?: string }): Promise<ChainEntry> {
  checkId(incident.id, 'incident');
  const record = { format: 'ir-incident/1', ...incident, at: incident.at ?? new Date().toISOString(), vaultId };
  return appendRecord(evidenceDir, vaultId, { kind: 'incident', key: `incident:${incident.id}`, path: join(incidentsDir(evidenceDir, vaultId), `${incident.id}.json`), json: record });
}

/** Closes an incident: a resolution record next to it (the incident itself is never edited). */
export async function resolveIncident(evidenceDir: string, vaultId: string, id: string, by: string, note: string): Promise<ChainEntry> {
  checkId(id, 'incident');
  return appendRecord(evidenceDir, vaultId, {
    kind: 'incident',
    key: `resolution:${id}`,
    path: join(incidentsDir(evidenceDir, vaultId), `${id}.resolved.json`),
    json: { format: 'ir-incident-resolution/1', id, by, note, at: new Date().toISOString() },
  });
}

export async function openIncidents(evidenceDir: string, vaultId: string): Promise<Incident[]> {
  const dir = incidentsDir(evidenceDir, vaultId);
  if (!existsSync(dir)) return [];
  const names = await fsp.readdir(dir);
  const resolved = new Set(names.filter((n) => n.endsWith('.resolved.json')).map((n) => n.slice(0, -'.resolved.json'.length)));
  const out: Incident[] = [];
  for (const n of names.filter((n) => n.endsWith('.json') && !n.endsWith('.resolved.json'))) {
    const id = basename(n, '.json');
    if (resolved.has(id)) continue;
    try {
      out.push(JSON.parse(await fsp.readFile(join(dir, n), 'utf8')) as Incident);
    } catch {
      out.push({ id, severity: 'critical', kind: 'unreadable-incident', summary: `incident record ${n} cannot be read`, source: 'evidence store', at: '' });
    }
  }
  return out.sort((a, b) => a.at.localeCompare(b.at));
}

/** Decisions, drill reports, scrub and probe reports: one JSON record each, chained. */
export async function recordEvidence(
  evidenceDir: string,
  vaultId: string,
  kind: 'decision' | 'drill' | 'scrub' | 'probe',
  id: string,
  record: Record<string, unknown>,
): Promise<ChainEntry & { absPath: string }> {
  checkId(id, kind);
  const path = join(recordsDir(evidenceDir, vaultId, `${kind}s` as 'decisions'), `${id}.json`);
  return { ...(await appendRecord(evidenceDir, vaultId, { kind, key: `${kind}:${id}`, path, json: { format: `ir-${kind}/1`, id, ...record } })), absPath: path };
}

/** Every JSON record of one kind (e.g. past scrubs), oldest first by file name. */
export async function listRecords<T>(evidenceDir: string, vaultId: string, kind: 'decision' | 'drill' | 'scrub' | 'probe'): Promise<T[]> {
  const dir = recordsDir(evidenceDir, vaultId, `${kind}s` as 'decisions');
  if (!existsSync(dir)) return [];
  const names = (await fsp.readdir(dir)).filter((n) => n.endsWith('.json')).sort();
  return Promise.all(names.map(async (n) => JSON.parse(await fsp.readFile(join(dir, n), 'utf8')) as T));
}

// ---- verification ----

export interface ChainProblem {
  seq: number;
  path?: string;
  problem: string;
}

export interface ChainCheck {
  records: number;
  head: string | null;
  /** Worst first is not meaningful here: in chain order, the first is the first record that does not fit. */
  problems: ChainProblem[];
  entries: ChainEntry[];
}

/** Walks the chain: links, hashes, every file's digest, the chain fields inside JSON records, manifest headers. */
export async function verifyChain(evidenceDir: string, vaultId: string): Promise<ChainCheck> {
  const vdir = vaultDir(evidenceDir, vaultId);
  const { entries, badLine } = await readChain(evidenceDir, vaultId);
  const problems: ChainProblem[] = [];
  let prev: string | null = null;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i];
    const where = { seq: e.seq ?? i + 1, path: e.path };
    if (e.seq !== i + 1) problems.push({ ...where, problem: `sequence number ${e.seq} where ${i + 1} was expected (a record was removed or inserted)` });
    if (e.prev !== prev) problems.push({ ...where, problem: `names previous record ${e.prev ?? 'none'}, but the previous record is ${prev ?? 'none'}` });
    const { hash, ...fields } = e;
    if (entryHash(fields) !== hash) problems.push({ ...where, problem: 'the chain line was edited (its hash does not match its fields)' });
    prev = hash;
    const abs = join(vdir, e.path);
    if (!existsSync(abs)) {
      problems.push({ ...where, problem: 'the record file is missing' });
      continue;
    }
    const actual = `sha256:${await sha256OfFile(abs)}`;
    if (actual !== e.digest) {
      problems.push({ ...where, problem: `the record file was rewritten: ${actual} where the chain recorded ${e.digest}` });
      continue;
    }
    if (e.path.endsWith('.json') && e.kind !== 'manifest') {
      const inner = (JSON.parse(await fsp.readFile(abs, 'utf8')) as { chain?: { seq: number; prev: string | null } }).chain;
      if (inner && (inner.seq !== e.seq || inner.prev !== e.prev)) problems.push({ ...where, problem: `the record names its place in the chain as #${inner.seq} after ${inner.prev}` });
    }
    if (e.kind === 'manifest' && e.path.endsWith('.json')) {
      const manifest = abs.slice(0, -'.json'.length);
      const info = await readManifestInfo(manifest).catch((err: Error) => err);
      if (info instanceof Error) problems.push({ ...where, problem: info.message });
      else if (!existsSync(manifest) || (await sha256OfFile(manifest)) !== info.manifestDigest) {
        problems.push({ ...where, problem: `the manifest ${basename(manifest)} does not match the digest in its chained header` });
      }
    }
  }
  if (badLine) problems.push({ seq: entries.length + 1, problem: `chain line ${badLine.line} is not JSON: ${badLine.text}` });
  return { records: entries.length, head: entries[entries.length - 1]?.hash ?? null, problems, entries };
}

/** What one cycle put into Temporal history about the evidence (its workflow result). */
export interface HistoryRecord {
  workflowId: string;
  runId: string;
  copyId: string;
  outcome?: string;
  chain?: ChainHead;
  copyManifest?: { path: string; root: string; digest: string; algorithm: string };
  lockedUntil?: string;
  mtreePath?: string;
}

export interface HistoryProblem {
  copyId: string;
  workflowId: string;
  runId: string;
  problem: string;
}

/** Checks the evidence against what history holds: each cycle's chain head, each copy's manifest root. */
export async function verifyAgainstHistory(chain: ChainCheck, history: HistoryRecord[]): Promise<HistoryProblem[]> {
  const problems: HistoryProblem[] = [];
  for (const h of history) {
    const at = { copyId: h.copyId, workflowId: h.workflowId, runId: h.runId };
    if (h.chain && h.chain.seq > 0) {
      const entry = chain.entries[h.chain.seq - 1];
      if (!entry) problems.push({ ...at, problem: `history records chain head #${h.chain.seq} ${h.chain.head}, but the chain has only ${chain.records} records (truncated)` });
      else if (entry.hash !== h.chain.head) problems.push({ ...at, problem: `chain record #${h.chain.seq} (${entry.path}) is ${entry.hash}, history recorded ${h.chain.head}: the chain was rewritten` });
    }
    if (h.copyManifest) {
      const info = await readManifestInfo(h.copyManifest.path).catch((err: Error) => err);
      if (info instanceof Error) problems.push({ ...at, problem: `copy manifest ${h.copyManifest.path}: ${info.message}` });
      else {
        if (info.root !== h.copyManifest.root) problems.push({ ...at, problem: `copy manifest ${h.copyManifest.path} has root ${info.root}, history recorded ${h.copyManifest.root}` });
        if (info.manifestDigest !== h.copyManifest.digest) problems.push({ ...at, problem: `copy manifest ${h.copyManifest.path} has digest ${info.manifestDigest}, history recorded ${h.copyManifest.digest}` });
        else if (!existsSync(h.copyManifest.path) || (await sha256OfFile(h.copyManifest.path)) !== info.manifestDigest) {
          problems.push({ ...at, problem: `copy manifest ${h.copyManifest.path} does not match the digest history recorded` });
        }
      }
    }
  }
  return problems;
}
