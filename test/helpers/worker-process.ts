/**
 * A worker as a child process (`workers/main.ts`, the operators' entry point), so a test can SIGKILL it the way a
 * host dies: no shutdown, no final heartbeat, the activity it ran just stops.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '../..');

export interface WorkerProcess {
  child: ChildProcess;
  pid: number;
  /** Resolves when the worker is about to poll (it printed its sentinels); rejects if it exits first. */
  ready: Promise<void>;
  output(): string;
  kill(): Promise<void>;
}

export function spawnWorker(env: { configPath: string; address: string; taskQueue: string; extra?: NodeJS.ProcessEnv }): WorkerProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'workers/main.ts')], {
    cwd: ROOT,
    env: { ...process.env, IR_CONFIG: env.configPath, TEMPORAL_ADDRESS: env.address, IR_TASK_QUEUE: env.taskQueue, ...env.extra },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const ready = new Promise<void>((res, rej) => {
    const check = () => out.includes('sentinels:') && res();
    child.stdout?.on('data', check);
    child.once('exit', (code, signal) => rej(new Error(`worker exited (${code ?? signal}) before polling:\n${out.slice(-2000)}`)));
  });
  ready.catch(() => undefined);
  return {
    child,
    pid: child.pid!,
    ready,
    output: () => out,
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;
    },
  };
}
