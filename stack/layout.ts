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

export const ports = {
  postgres: 55432,
  frontend: { grpc: 17233, membership: 16933, http: 17243, metrics: 18001 },
  history1: { grpc: 17234, membership: 16934, metrics: 18002 },
  history2: { grpc: 17334, membership: 16944, metrics: 18003 },
  matching: { grpc: 17235, membership: 16935, metrics: 18004 },
  worker: { grpc: 17239, membership: 16939, metrics: 18005 },
  ui: 18233,
  codec: 18888,
  prometheus: 19090,
  projectWorkerMetrics: 19464,
};

export const FRONTEND_ADDRESS = `${HOST}:${ports.frontend.grpc}`;
export const FRONTEND_SERVER_NAME = 'temporal-frontend';
export const INTERNODE_SERVER_NAME = 'temporal-internode';
export const STACK_CONFIG = resolve(ROOT, 'config/stack.yaml');

export const logFile = (name: string) => resolve(dirs.logs, `${name}.log`);
export const pidFile = (name: string) => resolve(dirs.pids, `${name}.pid`);
