/**
 * The HTTPS listener under the lab's REST faces (DD REST, Bareos, NetWorker): JSON in and out, aimed faults
 * from the control API (a matching `METHOD /path`: kind `error` answers the fault's `exitCode` as HTTP status
 * with its `output` as body, `latency` waits `ms` first, `drop` cuts the connection; a 401 fault also drops the
 * token it was sent with, which is how an expired session looks), and a count of open connections so tests can prove drivers leak none.
 */
import { randomBytes } from 'node:crypto';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { FaultDevice, Faults } from './faults';
import type { LabCert } from './tls';

export class RestError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {
    super(typeof body === 'string' ? body : JSON.stringify(body));
  }
}

export interface RestRequest {
  method: string;
  path: string; // decoded path without query
  rawPath: string;
  query: URLSearchParams;
  headers: Record<string, string | string[] | undefined>;
  body: unknown; // JSON, or form fields for x-www-form-urlencoded
}

export interface RestReply {
  status?: number;
  headers?: Record<string, string>;
  body?: unknown;
}

export type RestHandler = (req: RestRequest) => Promise<RestReply> | RestReply;

export interface RestFace {
  url: string;
  port: number;
  openConnections(): number;
  requests(): number;
  close(): Promise<void>;
}

export interface RestFaceOptions {
  name: string;
  device: FaultDevice;
  host: string;
  port: number;
  cert: LabCert;
  faults: Faults;
  handler: RestHandler;
  /** Called with the token a 401 fault hit, so the face forgets it. */
  dropToken?: (req: RestRequest) => void;
  log: (line: string) => void;
}

async function readBody(req: import('node:http').IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  if (!text.trim()) return undefined;
  const type = String(req.headers['content-type'] ?? '');
  if (type.includes('application/x-www-form-urlencoded')) return Object.fromEntries(new URLSearchParams(text));
  try {
    return JSON.parse(text);
  } catch {
    throw new RestError(400, { detail: 'request body is not valid JSON' });
  }
}

export async function startRestFace(o: RestFaceOptions): Promise<RestFace> {
  const sockets = new Set<Socket>();
  let count = 0;
  const timers = new Set<NodeJS.Timeout>();
  const server = https.createServer({ key: o.cert.key, cert: o.cert.cert }, (req, res) => {
    count++;
    const url = new URL(req.url ?? '/', 'https://lab');
    const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      if (res.destroyed) return;
      const text = body === undefined ? '' : typeof body === 'string' ? body : JSON.stringify(body);
      res.writeHead(status, { ...(text && { 'content-type': typeof body === 'string' ? 'text/plain' : 'application/json' }), ...headers });
      res.end(text);
    };
    (async () => {
      const r: RestRequest = {
        method: req.method ?? 'GET',
        path: decodeURIComponent(url.pathname),
        rawPath: url.pathname,
        query: url.searchParams,
        headers: req.headers,
        body: await readBody(req),
      };
      const fault = o.faults.take(o.device, `${r.method} ${r.path}`);
      if (fault) {
        o.log(`${o.name}: fault injected for ${r.method} ${r.path}`);
        if (fault.kind === 'latency') {
          await new Promise<void>((resolve) => {
            const t = setTimeout(() => {
              timers.delete(t);
              resolve();
            }, fault.ms);
            timers.add(t);
          });
        } else if (fault.kind === 'drop') {
          req.socket.destroy(); // the connection dies mid-request
          return;
        } else if (fault.exitCode >= 100 && fault.exitCode <= 599) {
          if (fault.exitCode === 401) o.dropToken?.(r);
          let body: unknown = fault.output;
          try {
            body = JSON.parse(fault.output);
          } catch {
            /* plain text */
          }
          return send(fault.exitCode, body);
        }
      }
      const reply = await o.handler(r);
      send(reply.status ?? 200, reply.body, reply.headers);
    })().catch((err: Error) => {
      if (err instanceof RestError) send(err.status, err.body);
      else send(500, { detail: `internal error: ${err.message}` });
    });
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  server.on('tlsClientError', () => undefined); // a client refusing our certificate is its business
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `https://${o.host.includes(':') ? `[${o.host}]` : o.host}:${port}`,
    port,
    openConnections: () => sockets.size,
    requests: () => count,
    close: () =>
      new Promise<void>((resolve) => {
        for (const t of timers) clearTimeout(t);
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

const issued: string[] = [];

/** A random opaque token, like an appliance session id. */
export function newToken(): string {
  const token = randomBytes(24).toString('base64url');
  issued.push(token);
  return token;
}

/** Every token this process's lab faces handed out (a leak check looks for each in history, logs and reports). */
export function issuedTokens(): readonly string[] {
  return issued;
}
