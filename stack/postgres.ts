/**
 * PostgreSQL for Temporal's persistence and visibility, from Debian's packages: a cluster of its own in
 * .stack/pg on 127.0.0.1:55432, run as the `postgres` OS user when we are root (postgres refuses root).
 * The `temporal` role's password is generated once into .stack/secrets/pg-password (mode 600) and reaches the
 * server and the SQL tool through the environment, never a config file.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { dirs, HOST, ports, STATE } from './layout';
import { ensureProcess, waitReady, type ProcessSpec } from './processes';

export const PG_USER = 'temporal';
export const DATABASES = [
  { name: 'temporal', schema: 'postgresql/v12/temporal' },
  { name: 'temporal_visibility', schema: 'postgresql/v12/visibility' },
];
export const passwordFile = () => join(STATE, 'secrets', 'pg-password');

export function pgBinDir(): string {
  if (process.env.PG_BIN) return process.env.PG_BIN;
  for (const v of ['17', '16', '15', '14', '13']) if (existsSync(`/usr/lib/postgresql/${v}/bin/postgres`)) return `/usr/lib/postgresql/${v}/bin`;
  throw new Error('PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin (apt-get install postgresql) and PG_BIN is not set');
}

const isRoot = () => process.getuid?.() === 0;

/** The OS user PostgreSQL runs as: `postgres` when we are root, else ourselves. */
function pgUser(): { uid: number; gid: number } | undefined {
  if (!isRoot()) return undefined;
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
  const [uid, gid] = [id('-u'), id('-g')];
  return { uid, gid };
}

export function pgPassword(): string {
  const file = passwordFile();
  if (!existsSync(file)) {
    mkdirSync(join(STATE, 'secrets'), { recursive: true, mode: 0o700 });
    writeFileSync(file, randomBytes(18).toString('base64url'), { mode: 0o600 });
  }
  return readFileSync(file, 'utf8').trim();
}

function initCluster(log: (l: string) => void): void {
  if (existsSync(join(dirs.pg, 'PG_VERSION'))) return;
  const user = pgUser();
  for (const d of [dirs.pg, dirs.pgSocket]) {
    mkdirSync(d, { recursive: true, mode: 0o700 });
    if (user) chownSync(d, user.uid, user.gid);
  }
  log(`initdb ${dirs.pg}`);
  // Local socket: trust (only the stack's own admin steps use it, the socket dir is private); TCP: passwords.
  const r = spawnSync(join(pgBinDir(), 'initdb'), ['-D', dirs.pg, '-U', 'postgres', '--auth-local=trust', '--auth-host=scram-sha-256', '-E', 'UTF8', '--no-instructions'], {
    uid: user?.uid, gid: user?.gid, encoding: 'utf8', cwd: '/',
  });
  if (r.status !== 0) throw new Error(`initdb ${dirs.pg} failed (exit ${r.status}): ${r.stderr || r.stdout}`);
}

export function postgresSpec(): ProcessSpec {
  return {
    name: 'postgres',
    command: join(pgBinDir(), 'postgres'),
    args: ['-D', dirs.pg, '-p', String(ports.postgres), '-c', `listen_addresses=${HOST}`, '-k', dirs.pgSocket],
    cwd: '/',
    user: pgUser(),
    port: ports.postgres,
    stopSignal: 'SIGINT', // fast shutdown: rolls back open transactions, checkpoints, exits
  };
}

function psql(sql: string, db = 'postgres'): string {
  const r = spawnSync('psql', ['-h', dirs.pgSocket, '-p', String(ports.postgres), '-U', 'postgres', '-d', db, '-tAq', '-v', 'ON_ERROR_STOP=1', '-c', sql], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`psql: ${sql}: ${r.stderr.trim()}`);
  return r.stdout.trim();
}

function sqlTool(sqlBin: string, db: string, args: string[]): void {
  const r = spawnSync(sqlBin, ['--plugin', 'postgres12', '--endpoint', HOST, '--port', String(ports.postgres), '--user', PG_USER, '--database', db, ...args], {
    env: { ...process.env, SQL_PASSWORD: pgPassword() },
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`temporal-sql-tool ${args.join(' ')} on ${db} failed (exit ${r.status}):\n${(r.stderr + r.stdout).trim().split('\n').slice(-10).join('\n')}`);
}

/** initdb (once), start (unless running), the temporal role, both databases, schema created or upgraded. */
export async function ensurePostgres(sqlBin: string, log: (l: string) => void): Promise<void> {
  initCluster(log);
  const { started, pid } = ensureProcess(postgresSpec());
  log(`postgres ${started ? 'started' : 'already running'} (pid ${pid}) on ${HOST}:${ports.postgres}`);
  await waitReady('postgres', async () => spawnSync('pg_isready', ['-h', HOST, '-p', String(ports.postgres), '-q']).status === 0, 60000, 'pg_isready');
  const password = pgPassword();
  const exists = psql(`SELECT 1 FROM pg_roles WHERE rolname='${PG_USER}'`) === '1';
  // The password is set on every start, so a role and a regenerated password file never disagree.
  psql(`${exists ? 'ALTER' : 'CREATE'} ROLE ${PG_USER} WITH LOGIN CREATEDB PASSWORD '${password.replace(/'/g, "''")}'`);
  for (const { name, schema } of DATABASES) {
    if (psql(`SELECT 1 FROM pg_database WHERE datname='${name}'`) !== '1') {
      sqlTool(sqlBin, name, ['create-database']);
      log(`database ${name} created`);
    }
    if (psql(`SELECT to_regclass('public.schema_version') IS NOT NULL`, name) !== 't') {
      sqlTool(sqlBin, name, ['setup-schema', '-v', '0.0']);
    }
    sqlTool(sqlBin, name, ['update-schema', '--schema-name', schema]);
    log(`database ${name}: schema ${psql('SELECT curr_version FROM schema_version', name)} (${schema})`);
  }
}
