/**
 * Deterministic production data for prod-dd's MTree: mostly low-entropy business files (CSV, JSON lines, text),
 * some gzip files (real compressed content, high entropy but not ransomware), nested folders and one name
 * with spaces. Same options → same bytes, so tests and demos can reason about the tree.
 */
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

/** mulberry32: tiny seeded PRNG, good enough for test data. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Kind = 'csv' | 'jsonl' | 'log.gz' | 'sql.gz' | 'txt';

const WORDS = ['invoice', 'payment', 'customer', 'order', 'shipment', 'refund', 'ledger', 'account', 'vendor', 'contract', 'quarter', 'budget', 'forecast', 'audit', 'review', 'approved', 'pending', 'closed'];
const CITIES = ['Berlin', 'Lyon', 'Porto', 'Utrecht', 'Graz', 'Aarhus', 'Bologna', 'Gdansk'];

function lines(kind: Kind, rnd: () => number, bytes: number, fileNo: number): string {
  const pick = <T>(xs: T[]) => xs[Math.floor(rnd() * xs.length)];
  const int = (n: number) => Math.floor(rnd() * n);
  const day = () => `2026-${String(1 + int(10)).padStart(2, '0')}-${String(1 + int(28)).padStart(2, '0')}`;
  const out: string[] = [];
  let size = 0;
  const push = (l: string) => {
    out.push(l);
    size += l.length + 1;
  };
  if (kind === 'csv') push('date,account,reference,amount,currency,status');
  if (kind === 'sql.gz') push('-- PostgreSQL database dump\nSET client_encoding = \'UTF8\';\nCOPY public.orders (id, customer_id, placed_at, total) FROM stdin;');
  for (let i = 0; size < bytes; i++) {
    switch (kind) {
      case 'csv':
        push(`${day()},ACC-${10000 + int(5000)},${pick(WORDS)}-${fileNo}-${i},${(rnd() * 10000).toFixed(2)},EUR,${pick(['approved', 'pending', 'closed'])}`);
        break;
      case 'jsonl':
        push(JSON.stringify({ id: fileNo * 100000 + i, name: `Customer ${int(90000)}`, city: pick(CITIES), email: `c${int(90000)}@example.com`, balance: Number((rnd() * 5000).toFixed(2)), tags: [pick(WORDS), pick(WORDS)] }));
        break;
      case 'log.gz':
        push(`${day()}T${String(int(24)).padStart(2, '0')}:${String(int(60)).padStart(2, '0')}:${String(int(60)).padStart(2, '0')}Z ${pick(['INFO', 'INFO', 'INFO', 'WARN', 'ERROR'])} app[${1000 + int(50)}]: ${pick(WORDS)} ${pick(WORDS)} id=${int(1e6)} took=${int(900)}ms`);
        break;
      case 'sql.gz':
        push(`${fileNo * 100000 + i}\t${int(90000)}\t${day()} 12:00:00+00\t${(rnd() * 900).toFixed(2)}`);
        break;
      case 'txt':
        push(Array.from({ length: 8 + int(10) }, () => pick(WORDS)).join(' ') + '.');
        break;
    }
  }
  return out.join('\n') + '\n';
}

function pathFor(kind: Kind, i: number): string {
  const n = String(i).padStart(4, '0');
  switch (kind) {
    case 'csv':
      return `finance/${2024 + (i % 3)}/ledger-${n}.csv`;
    case 'jsonl':
      return `crm/customers/region-${i % 4}/customers-${n}.jsonl`;
    case 'log.gz':
      return `logs/app/app-${n}.log.gz`;
    case 'sql.gz':
      return `db/dumps/orders-${n}.sql.gz`;
    case 'txt':
      return `docs/notes/note-${n}.txt`;
  }
}

export interface SeedOptions {
  files: number;
  totalBytes: number;
}

/**
 * The seed data set's files (relative path, bytes) for these options. Same options, same bytes: made once per
 * process and kept, so the many labs a test run starts write them instead of generating and gzipping them again.
 */
const made = new Map<string, Array<[string, Buffer]>>();
function seedFiles(opts: SeedOptions): Array<[string, Buffer]> {
  const key = `${opts.files}/${opts.totalBytes}`;
  const known = made.get(key);
  if (known) return known;
  const rnd = prng(20261122);
  const kinds: Kind[] = ['csv', 'csv', 'csv', 'jsonl', 'jsonl', 'txt', 'log.gz', 'csv', 'jsonl', 'sql.gz'];
  // Mixed sizes: a few large files carry most of the bytes, as in real shares.
  const weights = Array.from({ length: opts.files }, () => Math.exp(rnd() * 4));
  const sum = weights.reduce((a, b) => a + b, 0);
  const files: Array<[string, Buffer]> = [];
  for (let i = 0; i < opts.files; i++) {
    const target = Math.max(64, Math.round((weights[i] / sum) * opts.totalBytes));
    const kind: Kind = kinds[i % kinds.length];
    const rel = i === 0 ? 'docs/Quarterly Report Q3 2026.txt' : pathFor(kind, i);
    // Text compresses roughly 5:1; generate enough for a compressed file near the target size.
    const body = kind.endsWith('.gz') ? zlib.gzipSync(lines(kind, rnd, target * 5, i), { level: 6 }) : Buffer.from(lines(i === 0 ? 'txt' : kind, rnd, target, i));
    files.push([rel, body]);
  }
  if (opts.totalBytes <= 64 * 1024 * 1024) made.set(key, files); // a demo-sized set is kept; a huge one is not
  return files;
}

/** Fills dir with the seed data set unless it already holds files. Returns the number of files written. */
export function seedProduction(dir: string, opts: SeedOptions): number {
  fs.mkdirSync(dir, { recursive: true });
  if (fs.readdirSync(dir).length > 0) return 0;
  for (const [rel, body] of seedFiles(opts)) {
    const file = path.join(dir, rel);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, body);
  }
  return opts.files;
}
