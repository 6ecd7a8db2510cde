/**
 * Application checks of a drill, on real engines: each check is a list of commands with expected exit codes
 * and output. The transcript (`$ command`, its output, `exit N`) is what a JUnit failure carries.
 * No Temporal imports: the activity passes an AbortSignal and a heartbeat.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, chmodSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CheckConfig, DrillConfig } from '../config/drill';
import { readPrivateFile } from '../config/load';
import { connectSsh, endSsh, execCommand } from './drivers/ssh';

export interface CheckResult {
  ok: boolean;
  message: string;
  transcript: string;
}

export interface CheckContext {
  /** The sandbox folder holding the restored copy tree of this drill. */
  sandbox: string;
  /** The application's first restored path (a check's working folder). */
  appDir: string;
  recoveryHost?: DrillConfig['recoveryHost'];
  signal: AbortSignal;
  heartbeat(detail: string): void;
}

const OUTPUT_CAP = 8000;

class Transcript {
  text = '';
  add(line: string): void {
    this.text += line.endsWith('\n') ? line : line + '\n';
    if (this.text.length > OUTPUT_CAP) this.text = '…' + this.text.slice(-OUTPUT_CAP);
  }
}

interface RunResult {
  code: number | null;
  output: string;
}

/** Runs a program (no shell unless asked), kills its process group on abort or timeout. */
export function run(file: string, args: string[], o: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs: number; signal: AbortSignal }): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    if (o.signal.aborted) return reject(new Error('cancelled'));
    const child = spawn(file, args, { cwd: o.cwd, env: o.env ?? process.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const add = (d: Buffer) => {
      output += d.toString('utf8');
      if (output.length > OUTPUT_CAP * 2) output = output.slice(-OUTPUT_CAP * 2);
    };
    child.stdout.on('data', add);
    child.stderr.on('data', add);
    const kill = () => {
      try {
        if (child.pid) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    };
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      kill();
    }, o.timeoutMs);
    const onAbort = () => kill();
    o.signal.addEventListener('abort', onAbort, { once: true });
    child.on('error', (err) => {
      clearTimeout(timer);
      o.signal.removeEventListener('abort', onAbort);
      resolve({ code: 127, output: `${file}: ${err.message}` });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      o.signal.removeEventListener('abort', onAbort);
      if (o.signal.aborted) return reject(new Error('cancelled'));
      resolve({ code, output: timedOut ? `${output}\n(killed after the check's timeout of ${o.timeoutMs / 1000} s)` : output });
    });
  });
}

const quote = (a: string) => (/^[\w./:=@%+-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`);

/** Runs one command of a check and records it; true when the exit code (and output) are as expected. */
async function step(t: Transcript, file: string, args: string[], o: { timeoutMs: number; signal: AbortSignal; cwd?: string; env?: NodeJS.ProcessEnv }, expect: { exit?: number; output?: RegExp } = {}): Promise<{ ok: boolean; output: string }> {
  t.add(`$ ${[file, ...args].map(quote).join(' ')}`);
  const r = await run(file, args, o);
  if (r.output) t.add(r.output.trimEnd());
  t.add(`exit ${r.code}`);
  const ok = r.code === (expect.exit ?? 0) && (!expect.output || expect.output.test(r.output));
  return { ok, output: r.output };
}

const isRoot = () => process.getuid?.() === 0;
const asPostgres = (file: string, args: string[]): [string, string[]] => (isRoot() ? ['runuser', ['-u', 'postgres', '--', file, ...args]] : [file, args]);

function pgBinDir(): string {
  if (process.env.PG_BIN) return process.env.PG_BIN;
  for (const v of ['17', '16', '15', '14', '13']) if (existsSync(`/usr/lib/postgresql/${v}/bin/pg_ctl`)) return `/usr/lib/postgresql/${v}/bin`;
  throw new Error('PostgreSQL server binaries not found under /usr/lib/postgresql (apt-get install postgresql) and PG_BIN is not set');
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function countRows(t: Transcript, rows: Record<string, number>, query: (sql: string) => Promise<{ ok: boolean; output: string }>): Promise<string[]> {
  const wrong: string[] = [];
  for (const [table, expected] of Object.entries(rows)) {
    const r = await query(`SELECT count(*) FROM ${table};`);
    const got = r.ok ? Number(r.output.trim()) : NaN;
    if (got !== expected) wrong.push(`${table}: ${Number.isNaN(got) ? 'query failed' : got} rows, expected ${expected}`);
    else t.add(`# ${table}: ${got} rows as recorded`);
  }
  return wrong;
}

export async function runCheck(check: CheckConfig, ctx: CheckContext): Promise<CheckResult> {
  const t = new Transcript();
  const timeoutMs = check.timeout * 1000;
  const o = { timeoutMs, signal: ctx.signal };
  const done = (ok: boolean, message: string): CheckResult => ({ ok, message, transcript: t.text });
  const inSandbox = (p: string) => join(ctx.sandbox, p);

  switch (check.kind) {
    case 'sqlite': {
      const db = inSandbox(check.database);
      if (!existsSync(db)) return done(false, `database ${check.database} is not in the restored data`);
      const integrity = await step(t, 'sqlite3', ['-readonly', db, 'PRAGMA integrity_check;'], o, { output: /^ok\s*$/ });
      if (!integrity.ok) return done(false, `PRAGMA integrity_check did not answer ok`);
      const wrong = await countRows(t, check.rows, (sql) => step(t, 'sqlite3', ['-readonly', db, sql], o));
      return wrong.length ? done(false, `row counts differ: ${wrong.join('; ')}`) : done(true, `integrity ok, ${Object.keys(check.rows).length} tables with the recorded row counts`);
    }
    case 'targz': {
      const archive = inSandbox(check.archive);
      if (!existsSync(archive)) return done(false, `archive ${check.archive} is not in the restored data`);
      if (!(await step(t, 'gzip', ['-t', archive], o)).ok) return done(false, 'gzip -t failed: the compressed stream is damaged');
      const list = await step(t, 'tar', ['-tzf', archive], o);
      if (!list.ok) return done(false, 'tar -t failed: the archive cannot be listed');
      return done(true, `gzip and tar read it: ${list.output.split('\n').filter(Boolean).length} entries`);
    }
    case 'postgres':
      return postgresCheck(check, ctx, t, o, done);
    case 'command': {
      const expectOutput = check.expectOutput ? new RegExp(check.expectOutput, 'm') : undefined;
      const what = `exit ${check.expectExit}${expectOutput ? ` and output matching /${check.expectOutput}/` : ''}`;
      if (check.on === 'local') {
        const r = await step(t, 'sh', ['-c', check.run], { ...o, cwd: ctx.appDir, env: { ...process.env, SANDBOX: ctx.sandbox, APP_DIR: ctx.appDir } }, { exit: check.expectExit, output: expectOutput });
        return done(r.ok, r.ok ? `${check.run}: ${what}` : `${check.run}: expected ${what}`);
      }
      const host = ctx.recoveryHost;
      if (!host) return done(false, 'no drill.recoveryHost configured');
      const label = `recovery host ${host.host}:${host.port}`;
      const client = await connectSsh({ host: host.host, port: host.port, username: host.username, privateKey: readPrivateFile(host.privateKeyFile, `${label} SSH private key (recoveryHost.privateKeyFile)`), hostKey: host.hostKey }, label);
      try {
        t.add(`$ ssh ${host.username}@${host.host} -p ${host.port} ${check.run}`);
        const r = await execCommand(client, label, check.run, { timeoutMs });
        const output = r.stdout + r.stderr;
        if (output) t.add(output.trimEnd());
        t.add(`exit ${r.code}`);
        const ok = r.code === check.expectExit && (!expectOutput || expectOutput.test(output));
        return done(ok, ok ? `${check.run} on ${label}: ${what}` : `${check.run} on ${label}: expected ${what}, got exit ${r.code}`);
      } finally {
        await endSsh(client);
      }
    }
  }
}

/**
 * Starts PostgreSQL on the restored data directory as the unprivileged `postgres` user on a free local port,
 * queries the recorded row counts and stops it. The restored folder is handed to that user (the sandbox is the
 * drill's own); when a parent folder outside the sandbox is private, a scratch copy is used and said so.
 */
async function postgresCheck(
  check: Extract<CheckConfig, { kind: 'postgres' }>,
  ctx: CheckContext,
  t: Transcript,
  o: { timeoutMs: number; signal: AbortSignal },
  done: (ok: boolean, message: string) => CheckResult,
): Promise<CheckResult> {
  let data = join(ctx.sandbox, check.dataDir);
  if (!existsSync(join(data, 'PG_VERSION'))) return done(false, `${check.dataDir} is not a PostgreSQL data directory in the restored data (no PG_VERSION)`);
  const bin = pgBinDir();
  const scratch = mkdtempSync(join(tmpdir(), 'ir-drill-pg-'));
  chmodSync(scratch, 0o755);
  try {
    if (isRoot()) {
      await step(t, 'chown', ['-R', 'postgres:postgres', data, scratch], o);
      const reach = await step(t, 'runuser', ['-u', 'postgres', '--', 'test', '-r', join(data, 'PG_VERSION')], o);
      if (!reach.ok) {
        t.add(`# ${data} is not reachable by user postgres (a parent folder is private): using a scratch copy`);
        await step(t, 'cp', ['-a', data, join(scratch, 'data')], o);
        data = join(scratch, 'data');
      }
    }
    await step(t, 'chmod', ['700', data], o);
    const port = await freePort();
    const started = await step(t, ...asPostgres(join(bin, 'pg_ctl'), ['-D', data, '-w', '-t', '60', '-l', join(scratch, 'postgres.log'), '-o', `-p ${port} -k ${scratch} -c listen_addresses=127.0.0.1`, 'start']), o);
    if (!started.ok) {
      try {
        t.add(readFileSync(join(scratch, 'postgres.log'), 'utf8').slice(-2000));
      } catch {
        // no log written
      }
      return done(false, 'PostgreSQL did not start on the restored data directory');
    }
    try {
      const ready = await step(t, join(bin, 'psql'), ['-X', '-A', '-t', '-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', '-d', check.database, '-c', 'SELECT version();'], o);
      if (!ready.ok) return done(false, `PostgreSQL started but database ${check.database} does not answer`);
      const wrong = await countRows(t, check.rows, (sql) => step(t, join(bin, 'psql'), ['-X', '-A', '-t', '-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', '-d', check.database, '-c', sql], o));
      return wrong.length ? done(false, `row counts differ: ${wrong.join('; ')}`) : done(true, `PostgreSQL started on port ${port}, ${Object.keys(check.rows).length} tables with the recorded row counts, stopped`);
    } finally {
      // Stopped even when the check was cancelled: a fresh signal, the server must not outlive the drill.
      await step(t, ...asPostgres(join(bin, 'pg_ctl'), ['-D', data, '-w', '-t', '60', '-m', 'fast', 'stop']), { timeoutMs: 90_000, signal: new AbortController().signal });
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
