/**
 * The running stack (`npm run stack`) seen from the demo: where its UI is and its lab's control API
 * (lab/control.ts), read from the endpoint files both write, so `npm run demo -- --stack` runs its cycle on the
 * stack without a second lab on the same ports and without importing the stack's code.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

interface StackEndpoints {
  frontend: string;
  ui: string;
  prometheus: string;
  labDir: string;
}

interface LabState {
  vaultPortsDown: boolean;
  ddInterfaces: Record<string, Record<string, 'up' | 'down'>>;
  replication: { enabled: boolean };
}

export interface RunningStack {
  endpoints: StackEndpoints;
  lab: {
    endpoints: { switches: Array<{ platform: string; port: number }>; sourceDd: { port: number }; vaultDd: { port: number } };
    state(): Promise<LabState>;
    ransomware(count: number): Promise<{ encrypted: string[]; note: string }>;
  };
}

function readJson<T>(file: string, what: string): T {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch {
    throw new Error(`${what} not found (${file}): start the stack first (npm run stack)`);
  }
}

export function runningStack(stateDir = resolve('.stack')): RunningStack {
  const endpoints = readJson<StackEndpoints>(join(stateDir, 'endpoints.json'), 'the stack');
  const lab = readJson<RunningStack['lab']['endpoints'] & { control: string }>(join(endpoints.labDir, 'endpoints.json'), "the stack's lab");
  const call = async <T>(method: string, route: string, body?: unknown): Promise<T> => {
    const res = await fetch(lab.control + route, { method, body: body === undefined ? undefined : JSON.stringify(body), headers: { 'content-type': 'application/json' } }).catch((err: Error) => {
      throw new Error(`the stack's lab does not answer at ${lab.control} (${err.message}): npm run stack -- --status`);
    });
    if (!res.ok) throw new Error(`lab ${method} ${route}: ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  };
  return { endpoints, lab: { endpoints: lab, state: () => call<LabState>('GET', '/state'), ransomware: (count) => call('POST', '/ransomware', { count }) } };
}
