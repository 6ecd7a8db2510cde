/**
 * Real applications in the lab's production data, so drills prove more than checksums:
 *   apps/crm/crm.sqlite          a SQLite database made with the sqlite3 CLI (customers, orders)
 *   apps/ledger/pgdata/          a PostgreSQL 15 cluster's data directory after a clean shutdown (accounts, entries),
 *                                made with the real initdb/pg_ctl as the unprivileged `postgres` user
 *   apps/archive/records-2026.tar.gz   a tar.gz of business records
 * The row counts are recorded here (APP_ROWS) when the data is made; config/lab.yaml's checks expect them.
 * Making the PostgreSQL cluster costs seconds, so it is made once and kept under ~/.cache/isolated-recovery.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const APP_ROWS = {
  crm: { customers: 500, orders: 2000 },
  ledger: { accounts: 120, entries: 3000 },
} as const;

export const APP_PATHS = { crm: 'apps/crm', ledger: 'apps/ledger', archive: 'apps/archive' } as const;

const CACHE_VERSION = 'v1';

/** The newest PostgreSQL server binaries Debian installed (or $PG_BIN). */
export function pgBinDir(): string {
  if (process.env.PG_BIN) return process.env.PG_BIN;
  const root = '/usr/lib/postgresql';
  const versions = fs.existsSync(root) ? fs.readdirSync(root).filter((v) => fs.existsSync(path.join(root, v, 'bin', 'initdb'))) : [];
  if (!versions.length) throw new Error('PostgreSQL server binaries not found under /usr/lib/postgresql (apt-get install postgresql) and PG_BIN is not set');
  return path.join(root, versions.sort((a, b) => Number(b) - Number(a))[0], 'bin');
}

/** initdb and postgres refuse to run as root: as root, run them as the unprivileged `postgres` user. */
function asPostgres(cmd: string, args: string[]): void {
  const [file, argv] = process.getuid?.() === 0 ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args];
  execFileSync(file, argv, { stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 });
}

function chownPostgres(p: string): void {
  if (process.getuid?.() === 0) execFileSync('chown', ['-R', 'postgres:postgres', p]);
}

/** Builds the PostgreSQL data directory once (clean shutdown) and returns the cached copy's path. */
export function ensurePostgresTemplate(cacheRoot = path.join(os.homedir(), '.cache', 'isolated-recovery', 'lab-apps')): string {
  const bin = pgBinDir();
  const target = path.join(cacheRoot, `pgdata-${path.basename(path.dirname(bin))}-${CACHE_VERSION}`);
  if (fs.existsSync(path.join(target, 'PG_VERSION'))) return target;
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'ir-lab-pg-'));
  try {
    fs.chmodSync(work, 0o755);
    const data = path.join(work, 'data');
    chownPostgres(work);
    asPostgres(path.join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C', '--wal-segsize=1', '--no-sync']);
    const port = String(20000 + Math.floor(Math.random() * 20000));
    asPostgres(path.join(bin, 'pg_ctl'), ['-D', data, '-w', '-t', '60', '-l', path.join(work, 'log'), '-o', `-p ${port} -k ${work} -c listen_addresses=''`, 'start']);
    try {
      const { accounts, entries } = APP_ROWS.ledger;
      const sql = [
        'CREATE DATABASE ledger;',
        '\\c ledger',
        'CREATE TABLE accounts (id int PRIMARY KEY, name text NOT NULL, opened date NOT NULL);',
        'CREATE TABLE entries (id int PRIMARY KEY, account_id int NOT NULL REFERENCES accounts(id), amount numeric(12,2) NOT NULL, booked date NOT NULL);',
        `INSERT INTO accounts SELECT i, 'account ' || i, date '2026-01-01' + (i % 300) FROM generate_series(1, ${accounts}) i;`,
        `INSERT INTO entries SELECT i, 1 + (i * 7) % ${accounts}, ((i * 37) % 100000) / 100.0, date '2026-01-01' + (i % 300) FROM generate_series(1, ${entries}) i;`,
      ].join('\n');
      fs.writeFileSync(path.join(work, 'seed.sql'), sql);
      chownPostgres(path.join(work, 'seed.sql'));
      asPostgres(path.join(bin, 'psql'), ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-h', work, '-p', port, '-U', 'postgres', '-d', 'postgres', '-f', path.join(work, 'seed.sql')]);
    } finally {
      // -m fast: a clean shutdown (checkpoint written), so the copy starts without crash recovery.
      asPostgres(path.join(bin, 'pg_ctl'), ['-D', data, '-w', '-t', '60', '-m', 'fast', 'stop']);
    }
    fs.mkdirSync(cacheRoot, { recursive: true });
    const staged = `${target}.tmp-${process.pid}`;
    fs.cpSync(data, staged, { recursive: true });
    fs.rmSync(target, { recursive: true, force: true });
    fs.renameSync(staged, target);
    return target;
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

function makeSqlite(file: string): void {
  const { customers, orders } = APP_ROWS.crm;
  const sql = [
    'PRAGMA journal_mode=DELETE;',
    'CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT NOT NULL, city TEXT NOT NULL);',
    'CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL REFERENCES customers(id), total REAL NOT NULL);',
    `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${customers}) INSERT INTO customers SELECT i, 'Customer ' || i, 'City ' || (i % 17) FROM n;`,
    `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${orders}) INSERT INTO orders SELECT i, 1 + (i * 13) % ${customers}, (i * 31 % 90000) / 100.0 FROM n;`,
  ].join('\n');
  execFileSync('sqlite3', [file], { input: sql, stdio: ['pipe', 'pipe', 'pipe'] });
}

function makeArchive(file: string): void {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'ir-lab-tar-'));
  try {
    const dir = path.join(work, 'records-2026');
    fs.mkdirSync(dir);
    for (let m = 1; m <= 12; m++) {
      const rows = Array.from({ length: 200 }, (_, i) => `2026-${String(m).padStart(2, '0')}-${String(1 + (i % 28)).padStart(2, '0')},REC-${m}-${i},${(i * 17) % 1000}.00`);
      fs.writeFileSync(path.join(dir, `month-${String(m).padStart(2, '0')}.csv`), 'date,record,amount\n' + rows.join('\n') + '\n');
    }
    execFileSync('tar', ['-czf', file, '-C', work, 'records-2026']);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/** Adds the applications to the production tree unless they are there already. Returns what it made. */
export function seedApplications(prodDir: string, log: (line: string) => void = () => undefined): string[] {
  const made: string[] = [];
  const crm = path.join(prodDir, APP_PATHS.crm, 'crm.sqlite');
  if (!fs.existsSync(crm)) {
    fs.mkdirSync(path.dirname(crm), { recursive: true });
    makeSqlite(crm);
    made.push(crm);
  }
  const pg = path.join(prodDir, APP_PATHS.ledger, 'pgdata');
  if (!fs.existsSync(pg)) {
    const started = Date.now();
    const template = ensurePostgresTemplate();
    fs.cpSync(template, pg, { recursive: true });
    made.push(pg);
    log(`apps: PostgreSQL data directory in place (${Date.now() - started} ms)`);
  }
  const tgz = path.join(prodDir, APP_PATHS.archive, 'records-2026.tar.gz');
  if (!fs.existsSync(tgz)) {
    fs.mkdirSync(path.dirname(tgz), { recursive: true });
    makeArchive(tgz);
    made.push(tgz);
  }
  return made;
}
