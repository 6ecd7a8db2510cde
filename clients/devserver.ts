/**
 * Starts (or attaches to) the Temporal server the demo and the tests use, and makes sure the project's
 * search attributes exist on it. A dev server started with an existing SQLite file ignores new
 * `--search-attribute` flags, so attributes are always registered through the operator API as well.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { deploymentVersion, promote } from '../workers/deployment';
import { searchAttributeNames } from '../workflows/cycle-messages';
import { ensureSearchAttributes } from '../workers/search-attributes';

export interface DevServerOptions {
  cliPath: string;
  ip?: string;
  port?: number; // 0 or undefined: a free port
  uiPort?: number | false; // false: headless
  dbFile?: string; // SQLite file (a restart resumes); in-memory when unset
  namespace?: string;
  logFile?: string; // server output goes here (it is noisy)
  startupTimeoutMs?: number;
  // Own process group, so a terminal's Ctrl-C reaches only the parent, which can then close the gap over a
  // live server before stopping it. The pid file lets the next start stop a server an earlier run left behind.
  detached?: boolean;
  pidFile?: string;
}

/**
 * The dev server opens its SQLite file in rollback-journal mode with a full fsync per commit and no busy wait: with
 * many vaults at once its persistence calls queue behind each other until they hit their deadline and SQLite answers
 * `interrupted (9)` to every one (bench:fleet at 100 vaults). WAL lets readers run beside the writer, NORMAL syncs at
 * checkpoints (a crashed server process still loses nothing), and the busy timeout waits instead of failing.
 */
export const SQLITE_PRAGMAS = ['journal_mode=WAL', 'synchronous=NORMAL', 'busy_timeout=5000'];

export interface DevServer {
  address: string;
  uiUrl?: string;
  pid?: number;
  stop(): Promise<void>;
}

export async function freePort(ip = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, ip, () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

async function portFree(port: number, ip: string): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, ip, () => srv.close(() => resolve(true)));
  });
}

export async function waitForServer(address: string, timeoutMs: number, child?: ChildProcess): Promise<Connection> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (child && child.exitCode !== null) throw new Error(`temporal server exited early with code ${child.exitCode}`);
    try {
      const connection = await Connection.connect({ address, connectTimeout: 2000 });
      await connection.workflowService.getSystemInfo({});
      return connection;
    } catch (err) {
      lastError = err;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  throw new Error(`Temporal server at ${address} not ready after ${timeoutMs} ms: ${String(lastError)}`);
}

/** Stops a dev server an earlier run started and left running (its pid file names it). */
async function stopLeftover(pidFile: string): Promise<void> {
  let pid: number;
  try {
    pid = Number(readFileSync(pidFile, 'utf8'));
  } catch {
    return;
  }
  let cmdline = '';
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    // not running (or no /proc): nothing to stop
  }
  if (pid > 0 && cmdline.includes('start-dev')) {
    process.kill(pid, 'SIGTERM');
    for (let i = 0; i < 100; i++) {
      try {
        process.kill(pid, 0);
      } catch {
        break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  rmSync(pidFile, { force: true });
}

export async function startDevServer(opts: DevServerOptions): Promise<DevServer> {
  const ip = opts.ip ?? '127.0.0.1';
  const namespace = opts.namespace ?? 'default';
  if (opts.pidFile) await stopLeftover(opts.pidFile);
  const port = opts.port || (await freePort(ip));
  if (!(await portFree(port, ip))) {
    throw new Error(
      `Port ${ip}:${port} is already in use. Stop whatever runs there, or use that server with TEMPORAL_ADDRESS=${ip}:${port}.`,
    );
  }
  const args = ['server', 'start-dev', '--ip', ip, '--port', String(port), '--namespace', namespace, '--log-level', 'warn'];
  if (opts.dbFile) {
    mkdirSync(dirname(opts.dbFile), { recursive: true });
    args.push('--db-filename', opts.dbFile);
    for (const pragma of SQLITE_PRAGMAS) args.push('--sqlite-pragma', pragma);
  }
  if (opts.uiPort === false || opts.uiPort === undefined) args.push('--headless');
  else args.push('--ui-port', String(opts.uiPort));
  for (const name of searchAttributeNames) args.push('--search-attribute', `${name}=Keyword`);

  let stdio: 'ignore' | number = 'ignore';
  if (opts.logFile) {
    mkdirSync(dirname(opts.logFile), { recursive: true });
    stdio = openSync(opts.logFile, 'a');
  }
  const child = spawn(opts.cliPath, args, { stdio: ['ignore', stdio, stdio], detached: opts.detached ?? false });
  if (opts.pidFile && child.pid) writeFileSync(opts.pidFile, String(child.pid));
  const address = `${ip}:${port}`;
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10000);
    await exited;
    clearTimeout(timer);
    if (opts.pidFile) rmSync(opts.pidFile, { force: true });
  };
  try {
    const connection = await waitForServer(address, opts.startupTimeoutMs ?? 60000, child);
    await ensureSearchAttributes(connection, namespace);
    // This build's workers register their deployment version (workers/deployment.ts): make it current before any
    // polls, so the first cycle does not wait for a worker. A cycle pinned to an older build finishes on that build.
    await promote(new Client({ connection, namespace }), deploymentVersion(), 'always', { allowNoPollers: true });
    await connection.close();
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    address,
    pid: child.pid,
    uiUrl: typeof opts.uiPort === 'number' ? `http://${ip}:${opts.uiPort}` : undefined,
    stop,
  };
}
