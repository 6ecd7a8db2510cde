/**
 * Where the stack keeps its state and which ports it uses (the ports are the contract's, issue 17). Everything
 * the stack writes lives under `.stack/` (git-ignored); the Go builds are cached under ~/.cache/isolated-recovery.
 */
import { resolve } from 'node:path';

export const ROOT = resolve(__dirname, '..');
export const STATE = resolve(ROOT, process.env.IR_STACK_DIR ?? '.stack');

export const dirs = {
  state: STATE,
  logs: resolve(STATE, 'logs'),
  pids: resolve(STATE, 'pids'),
  pki: resolve(STATE, 'pki'),
  keys: resolve(STATE, 'keys'),
  jwt: resolve(STATE, 'jwt'),
  pg: resolve(STATE, 'pg'),
  pgSocket: resolve(STATE, 'pg-socket'),
  temporal: resolve(STATE, 'temporal'),
  ui: resolve(STATE, 'ui'),
  prometheus: resolve(STATE, 'prometheus'),
  lab: resolve(ROOT, '.lab'), // config/stack.yaml points at the lab's files where the demo keeps them
};

export const HOST = '127.0.0.1';

/**
 * IR_STACK_PORT_OFFSET moves every port of the stack (with IR_STACK_DIR, a second stack beside the first: the
 * fleet bench and the soak run theirs at 2000 so they need no stack lock). A moved stack runs the server side only:
 * the lab and the worker of config/stack.yaml use fixed ports, so whoever moves the stack brings their own.
 */
export const PORT_OFFSET = portOffset(process.env.IR_STACK_PORT_OFFSET);

export function portOffset(text: string | undefined): number {
  const n = Number(text ?? 0);
  if (!Number.isInteger(n) || n < 0 || n > 10000) throw new Error(`IR_STACK_PORT_OFFSET=${text}: a whole number from 0 to 10000 (added to every stack port)`);
  return n;
}

const at = (p: number) => p + PORT_OFFSET;
export const ports = {
  postgres: at(55432),
  frontend: { grpc: at(17233), membership: at(16933), http: at(17243), metrics: at(18001) },
  history1: { grpc: at(17234), membership: at(16934), metrics: at(18002) },
  history2: { grpc: at(17334), membership: at(16944), metrics: at(18003) },
  matching: { grpc: at(17235), membership: at(16935), metrics: at(18004) },
  worker: { grpc: at(17239), membership: at(16939), metrics: at(18005) },
  ui: at(18233),
  codec: at(18888),
  prometheus: at(19090),
  projectWorkerMetrics: at(19464),
};
// Moved ports must miss the unmoved stack's (1000 would put the frontend on the UI's 18233): 2000 does.
if (PORT_OFFSET) {
  const moved = JSON.stringify(ports).match(/\d+/g)!.map(Number);
  const base = new Set(moved.map((p) => p - PORT_OFFSET));
  const clash = moved.filter((p) => base.has(p));
  if (clash.length) throw new Error(`IR_STACK_PORT_OFFSET=${PORT_OFFSET} puts stack ports on ${clash.join(', ')}, which the unmoved stack uses; try 2000`);
}

/** The stack's own lab and worker run only on the unmoved stack (config/stack.yaml names fixed ports). */
export const WITH_PROJECT_APPS = PORT_OFFSET === 0;

export const FRONTEND_ADDRESS = `${HOST}:${ports.frontend.grpc}`;
export const FRONTEND_SERVER_NAME = 'temporal-frontend';
export const INTERNODE_SERVER_NAME = 'temporal-internode';
export const STACK_CONFIG = resolve(ROOT, 'config/stack.yaml');

export const logFile = (name: string) => resolve(dirs.logs, `${name}.log`);
export const pidFile = (name: string) => resolve(dirs.pids, `${name}.pid`);
