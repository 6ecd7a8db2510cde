/**
 * The stack's running lab seen from another process (its control API, lab/control.ts): what the demo needs to
 * run its cycle on the stack without starting a second lab on the same ports.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LabEndpoints } from '../lab';
import { dirs } from './layout';

interface LabState {
  vaultPortsDown: boolean;
  ddInterfaces: Record<string, Record<string, 'up' | 'down'>>;
  replication: { enabled: boolean };
}

export interface RunningLab {
  endpoints: LabEndpoints;
  state(): Promise<LabState>;
  ransomware(count: number): Promise<{ encrypted: string[]; note: string }>;
}

export function runningLab(dir = dirs.lab): RunningLab {
  let endpoints: LabEndpoints;
  try {
    endpoints = JSON.parse(readFileSync(join(dir, 'endpoints.json'), 'utf8')) as LabEndpoints;
  } catch {
    throw new Error(`no lab found in ${dir}: start the stack first (npm run stack)`);
  }
  const call = async <T>(method: string, route: string, body?: unknown): Promise<T> => {
    const res = await fetch(endpoints.control + route, { method, body: body === undefined ? undefined : JSON.stringify(body), headers: { 'content-type': 'application/json' } }).catch((err: Error) => {
      throw new Error(`the stack's lab does not answer at ${endpoints.control} (${err.message}): npm run stack -- --status`);
    });
    if (!res.ok) throw new Error(`lab ${method} ${route}: ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  };
  return { endpoints, state: () => call<LabState>('GET', '/state'), ransomware: (count) => call('POST', '/ransomware', { count }) };
}
