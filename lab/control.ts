/**
 * The lab's HTTP control API (docs/lab-protocol.md "Control"): what a test or demo does *to* the lab that no
 * device protocol offers — inspect state, inject faults, hand-open ports, unleash ransomware, lift the WORM
 * guard of the copies mount (the tamper switch, for tests that must damage a locked copy).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import { PHASES, type Phase } from '../vocabulary/phases';
import { FAULT_DEVICES, FAULT_KINDS, LAB_PHASES, type Fault } from './faults';

export interface ControlTarget {
  state(): unknown;
  /** The link alone (ports, vaultPortsDown, DD interfaces): cheap enough to read every second from many labs. */
  link(): unknown;
  addFault(f: Fault): void;
  clearFaults(): void;
  /** The cycle's phase, told by whoever follows the cycle (faults aimed with `cyclePhase`). */
  setCyclePhase(phase: Phase | null): void;
  setPort(name: string, admin: 'up' | 'down'): void;
  /** The vault DD's replication interface, by hand (a gap opened outside any cycle). */
  setDdInterface(admin: 'up' | 'down'): void;
  ransomware(count: number): Promise<{ encrypted: string[]; note: string }>;
  /** Further routes (the backup simulators' job controls); undefined when none matches. */
  extra?(method: string, path: string, body: () => Promise<unknown>): Promise<unknown> | undefined;
  setTamper(on: boolean): Promise<void>;
}

const FaultBody = z.object({
  device: z.enum(FAULT_DEVICES),
  match: z.string(),
  output: z.string().optional(),
  exitCode: z.number().int().optional(),
  times: z.number().int().positive().optional(),
  kind: z.enum(FAULT_KINDS).optional(),
  afterCommands: z.number().int().nonnegative().optional(),
  phase: z.enum(LAB_PHASES).optional(),
  cyclePhase: z.enum(PHASES).optional(),
  ms: z.number().int().positive().optional(),
});
const CyclePhaseBody = z.strictObject({ phase: z.enum(PHASES).nullable() });
const RansomBody = z.object({ count: z.number().int().nonnegative() });
const TamperBody = z.strictObject({ on: z.boolean() });

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

async function body(req: http.IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (!text) return {};
  try {
    return JSON.parse(text);
  } catch {
    throw new HttpError(400, 'body is not JSON');
  }
}

function parse<T>(schema: z.ZodType<T>, value: unknown): T {
  const r = schema.safeParse(value);
  if (!r.success) throw new HttpError(400, r.error.message);
  return r.data;
}

async function route(t: ControlTarget, req: http.IncomingMessage): Promise<unknown> {
  const url = new URL(req.url ?? '/', 'http://lab');
  const p = url.pathname;
  if (req.method === 'GET' && (p === '/state' || p === '/')) return t.state();
  if (req.method === 'GET' && p === '/link') return t.link();
  if (req.method === 'POST' && p === '/faults') {
    const f = parse(FaultBody, await body(req));
    try {
      t.addFault(f);
    } catch (err) {
      throw new HttpError(400, (err as Error).message); // a fault that cannot be aimed as asked
    }
    return { ok: true };
  }
  if (req.method === 'DELETE' && p === '/faults') {
    t.clearFaults();
    return { ok: true };
  }
  if (req.method === 'POST' && p === '/cycle/phase') {
    const { phase } = parse(CyclePhaseBody, await body(req));
    t.setCyclePhase(phase);
    return { cyclePhase: phase };
  }
  // Port names contain slashes: /ports/Gi1/0/1/up and /ports/Gi1%2F0%2F1/up both work.
  const port = /^\/ports\/(.+)\/(up|down)$/.exec(p);
  if (req.method === 'POST' && port) {
    try {
      t.setPort(decodeURIComponent(port[1]), port[2] as 'up' | 'down');
    } catch (err) {
      throw new HttpError(404, (err as Error).message);
    }
    return { ok: true };
  }
  if (req.method === 'POST' && p === '/tamper') {
    await t.setTamper(parse(TamperBody, await body(req)).on);
    return { ok: true };
  }
  const ddIf = /^\/dd\/vault-dd\/net\/ethV1\/(up|down)$/.exec(p);
  if (req.method === 'POST' && ddIf) {
    t.setDdInterface(ddIf[1] as 'up' | 'down');
    return { ok: true };
  }
  if (req.method === 'POST' && p === '/ransomware') return t.ransomware(parse(RansomBody, await body(req)).count);
  const extra = t.extra?.(req.method ?? 'GET', p, () => body(req));
  if (extra) return extra.catch((err: Error) => Promise.reject(new HttpError(err.name === 'RouteError' ? 400 : 500, err.message)));
  throw new HttpError(404, `no route ${req.method} ${p}`);
}

export async function startControl(t: ControlTarget, host: string, port: number): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    route(t, req).then(
      (result) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(result, null, 2) + '\n');
      },
      (err: Error) => {
        res.writeHead(err instanceof HttpError ? err.status : 500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: err.message }) + '\n');
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${addr.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
