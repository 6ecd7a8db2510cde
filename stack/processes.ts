/**
 * The stack's processes, recorded and stopped by pid. Each runs detached in its own process group (it outlives
 * `npm run stack`), writes to its own log in .stack/logs, and has a pid file in .stack/pids holding the pid and
 * a piece of its command line: a later run finds it by pid, and a recycled pid running something else is not
 * mistaken for it.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { logFile, pidFile, dirs } from './layout';

export interface ProcessSpec {
  name: string;
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  user?: { uid: number; gid: number }; // PostgreSQL refuses to run as root
  port?: number; // the one shown by --status and probed for "listening"
  stopSignal?: NodeJS.Signals; // PostgreSQL: SIGINT is its fast shutdown
}

interface PidRecord {
  pid: number;
  match: string; // must appear in /proc/<pid>/cmdline
  port?: number;
  log: string;
  startedAt: string;
}

export interface ProcessState {
  name: string;
  pid?: number;
  alive: boolean;
  port?: number;
  listening?: boolean;
  log: string;
}

function readRecord(name: string): PidRecord | undefined {
  try {
    return JSON.parse(readFileSync(pidFile(name), 'utf8')) as PidRecord;
  } catch {
    return undefined;
  }
}

function cmdline(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
  } catch {
    return undefined;
  }
}

function isAlive(rec: PidRecord | undefined): rec is PidRecord {
  if (!rec) return false;
  const line = cmdline(rec.pid);
  if (line === undefined || !line.includes(rec.match)) return false;
  try {
    return !readFileSync(`/proc/${rec.pid}/stat`, 'utf8').split(') ')[1]?.startsWith('Z');
  } catch {
    return false;
  }
}

export function portOpen(port: number, host = '127.0.0.1', timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

export function runningPid(name: string): number | undefined {
  const rec = readRecord(name);
  return isAlive(rec) ? rec.pid : undefined;
}

/** Starts the process unless its pid file names a live one; returns its pid and whether it was started now. */
export function ensureProcess(spec: ProcessSpec): { pid: number; started: boolean } {
  const running = runningPid(spec.name);
  if (running) return { pid: running, started: false };
  mkdirSync(dirs.logs, { recursive: true });
  mkdirSync(dirs.pids, { recursive: true });
  const log = logFile(spec.name);
  const fd = openSync(log, 'a');
  writeFileSync(fd, `\n=== ${new Date().toISOString()} starting ${spec.command} ${spec.args.join(' ')}\n`);
  const child = spawn(spec.command, spec.args, {
    cwd: spec.cwd,
    env: spec.env ?? process.env,
    detached: true, // own process group: a Ctrl-C on `npm run stack` does not reach it
    stdio: ['ignore', fd, fd],
    uid: spec.user?.uid,
    gid: spec.user?.gid,
  });
  closeSync(fd);
  if (!child.pid) throw new Error(`${spec.name}: could not start ${spec.command}`);
  child.unref();
  const rec: PidRecord = { pid: child.pid, match: spec.args.find((a) => a.endsWith('.ts')) ?? spec.command, port: spec.port, log, startedAt: new Date().toISOString() };
  writeFileSync(pidFile(spec.name), JSON.stringify(rec) + '\n');
  return { pid: child.pid, started: true };
}

/** Stops a recorded process: its stop signal, then SIGKILL after `graceMs`. Removes the pid file. */
export async function stopProcess(name: string, signal: NodeJS.Signals = 'SIGTERM', graceMs = 20000): Promise<'stopped' | 'not running'> {
  const rec = readRecord(name);
  if (!isAlive(rec)) {
    rmSync(pidFile(name), { force: true });
    return 'not running';
  }
  process.kill(rec.pid, signal);
  const deadline = Date.now() + graceMs;
  while (isAlive(rec) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  if (isAlive(rec)) process.kill(rec.pid, 'SIGKILL');
  while (isAlive(rec)) await new Promise((r) => setTimeout(r, 50));
  rmSync(pidFile(name), { force: true });
  return 'stopped';
}

export async function processState(name: string): Promise<ProcessState> {
  const rec = readRecord(name);
  const alive = isAlive(rec);
  return {
    name,
    pid: rec?.pid,
    alive,
    port: rec?.port,
    listening: alive && rec?.port ? await portOpen(rec.port) : undefined,
    log: rec?.log ?? logFile(name),
  };
}

/** The last lines of a process's log, for an error message when it died at start. */
export function logTail(name: string, lines = 15): string {
  const file = logFile(name);
  if (!existsSync(file)) return '(no log)';
  return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
}

/** Waits until `ready()` holds; fails early, with the log's tail, if the process died. */
export async function waitReady(name: string, ready: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await ready().catch(() => false)) return;
    if (!runningPid(name)) throw new Error(`${name} exited while starting (${what}); the end of ${logFile(name)}:\n${logTail(name)}`);
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`${name} not ready after ${Math.round(timeoutMs / 1000)} s (${what}); the end of ${logFile(name)}:\n${logTail(name)}`);
}
