/**
 * Running real commands from the stack's tools (stack:test, stack:faults): the stack's own entry, irctl, the
 * temporal CLI, psql. Output is collected, never shown unless a check fails.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from './layout';

export interface Run {
  code: number | null;
  out: string;
  err: string;
  ms: number;
}

/** Runs a real command and collects its output (SIGKILL after timeoutMs, 10 min by default). */
export function run(command: string, args: string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<Run> {
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: ROOT, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    child.stderr.on('data', (d: Buffer) => (err += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 600000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out, err, ms: Date.now() - t0 });
    });
  });
}

export const tsx = (script: string, args: string[], opts?: Parameters<typeof run>[2]) => run(process.execPath, ['--import', 'tsx', join(ROOT, script), ...args], opts);
/** `npm run stack [-- args]`: a second run starts what died and leaves the rest. */
export const stack = (args: string[] = []) => tsx('stack/main.ts', args, { timeoutMs: 1800000 });
export const irctl = (args: string[], timeoutMs = 600000) => run(process.execPath, [join(ROOT, 'bin/irctl.js'), ...args], { timeoutMs });
export const TEMPORAL_CLI = process.env.TEMPORAL_CLI_PATH ?? join(process.env.XDG_CACHE_HOME || join(process.env.HOME ?? '/root', '.cache'), 'isolated-recovery/temporal-cli/v1.5.1/bin/temporal');

export function assert(ok: unknown, message: string): asserts ok {
  if (!ok) throw new Error(message);
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
