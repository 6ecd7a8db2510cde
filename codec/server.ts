/**
 * The codec server the Temporal UI and CLI call to show encrypted payloads: `POST …/decode` and `POST …/encode`
 * with `{payloads: [...]}` (proto JSON). HTTPS only; each request needs a bearer token (from a 0600 file), a
 * client certificate signed by the given CA, or the session cookie `/login` sets for a browser that shows the UI
 * without OIDC (the UI sends no token of its own then; `TEMPORAL_CODEC_INCLUDE_CREDENTIALS=true` makes it send the
 * cookie). CORS answers the configured UI origin(s) only, a request from any other origin is refused, so a page
 * elsewhere cannot use a logged-in operator's browser to decrypt.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { looseMode } from '../config/load';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { PayloadCodec } from '@temporalio/common';
import { BodyError, payloadsFromJson, payloadsToJson } from './proto-json';
import { DecryptError } from './encryption-codec';

export const MAX_BODY_BYTES = 8 * 1024 * 1024; // manifests' refs and reports' summaries fit with room to spare

export interface CodecServerOptions {
  codec: PayloadCodec;
  host?: string;
  port: number;
  /** PEM files of the server's certificate and key (the stack's CA issues them). */
  certFile: string;
  keyFile: string;
  /** CA whose client certificates are accepted instead of a token (PEM file). */
  clientCaFile?: string;
  /** File holding the bearer token (mode 0600). */
  tokenFile?: string;
  /** Browser origins allowed to call (the UI's, e.g. http://127.0.0.1:18233). */
  allowedOrigins: string[];
  log?: (line: string) => void;
}

export class CodecServerError extends Error {
  override name = 'CodecServerError';
}

function readSecretFile(file: string, what: string): string {
  let loose: number | undefined;
  try {
    loose = looseMode(file);
  } catch (err) {
    throw new CodecServerError(`${what} ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  if (loose !== undefined) throw new CodecServerError(`${what} ${file} is readable by group or others (mode ${loose.toString(8)}); run \`chmod 600 ${file}\``);
  return readFileSync(file, 'utf8').trim();
}

function readPem(file: string, what: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new CodecServerError(`${what} ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}; give the path of a PEM file`);
  }
}

const ALLOWED_HEADERS = 'Content-Type, X-Namespace, Authorization';
const SESSION_COOKIE = 'ir_codec_session';

const LOGIN_FORM = `<!doctype html><meta charset="utf-8"><title>Codec server sign-in</title>
<form method="post" action="login"><p>Codec server token (the stack's token file):</p>
<input type="password" name="token" autofocus size="70"> <button>Sign in</button></form>
<p>Then the Temporal UI (with TEMPORAL_CODEC_INCLUDE_CREDENTIALS=true) shows payloads decoded in this browser.</p>`;

const same = (a: Buffer, b: Buffer) => a.length === b.length && timingSafeEqual(a, b);

function cookieOf(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return v.join('=');
  }
  return undefined;
}

export async function startCodecServer(opts: CodecServerOptions): Promise<{ server: Server; url: string; close(): Promise<void> }> {
  if (!opts.tokenFile && !opts.clientCaFile) {
    throw new CodecServerError('the codec server needs a way to authenticate callers: give a token file (--token-file) and/or a client CA (--client-ca)');
  }
  if (!opts.allowedOrigins.length) throw new CodecServerError('give the UI origin allowed to call (--allow-origin http://127.0.0.1:18233)');
  const token = opts.tokenFile ? Buffer.from(readSecretFile(opts.tokenFile, 'token file')) : undefined;
  if (token && token.length < 16) throw new CodecServerError(`token file ${opts.tokenFile} holds a token shorter than 16 characters; write a long random one (openssl rand -hex 32)`);
  const log = opts.log ?? ((line: string) => console.error(line));
  // The browser session: derived from the token (never the token itself), so a new token ends every session.
  const session = token ? createHmac('sha256', token).update('ir-codec-ui-session').digest('hex') : undefined;
  const origins = new Set(opts.allowedOrigins.map((o) => o.replace(/\/$/, '')));

  const server = createServer(
    {
      cert: readPem(opts.certFile, 'server certificate'),
      key: readPem(opts.keyFile, 'server key'),
      ...(opts.clientCaFile ? { ca: readPem(opts.clientCaFile, 'client CA'), requestCert: true, rejectUnauthorized: false } : {}),
    },
    (req, res) => {
      handle(req, res).catch((err: unknown) => {
        log(`codec server: ${req.method} ${req.url}: ${(err as Error).message}`);
        if (!res.headersSent) send(res, 500, 'internal error (see the codec server log)');
      });
    },
  );
  // curl and others ask before sending a large body (Expect: 100-continue): a declared oversize body is refused
  // without inviting it; anything else is invited and handled as usual.
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
    if (Number(req.headers['content-length'] ?? 0) > MAX_BODY_BYTES) {
      send(res, 413, `the body is larger than ${MAX_BODY_BYTES} bytes`, { Connection: 'close' });
      return;
    }
    res.writeContinue();
    server.emit('request', req, res);
  });

  const send = (res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', ...headers });
    res.end(`${text}\n`);
  };

  /** Why the caller is not allowed, or undefined when it is (a valid client certificate, or the token). */
  const refusal = (req: IncomingMessage): { status: 401 | 403; text: string } | undefined => {
    const socket = req.socket as TLSSocket;
    if (opts.clientCaFile && socket.authorized) return undefined;
    const cookie = cookieOf(req, SESSION_COOKIE);
    if (cookie && session && same(Buffer.from(cookie), Buffer.from(session))) return undefined;
    const header = req.headers.authorization;
    if (header && token) {
      const m = /^Bearer\s+(\S+)$/i.exec(header);
      const given = Buffer.from(m?.[1] ?? '');
      if (m && same(given, token)) return undefined;
      return { status: 403, text: 'the bearer token is not valid for this codec server' };
    }
    const cert = opts.clientCaFile ? socket.getPeerCertificate() : undefined;
    if (cert && Object.keys(cert).length) {
      return { status: 403, text: `the client certificate is not accepted (${socket.authorizationError ?? 'not signed by the codec server CA'})` };
    }
    const ways = [token ? 'an Authorization: Bearer <token> header' : '', opts.clientCaFile ? 'a client certificate signed by the stack CA' : ''].filter(Boolean).join(' or ');
    return { status: 401, text: `authentication required: send ${ways}` };
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const origin = req.headers.origin;
    const cors: Record<string, string> = {};
    // The sign-in form posts to its own origin (this server); no CORS needed there.
    if (origin !== undefined && origin !== `https://${req.headers.host}`) {
      if (!origins.has(origin)) {
        send(res, 403, `origin ${origin} is not allowed to use this codec server`);
        return;
      }
      Object.assign(cors, {
        'Access-Control-Allow-Origin': origin,
        'Access-Control-Allow-Methods': 'POST, OPTIONS',
        'Access-Control-Allow-Headers': ALLOWED_HEADERS,
        'Access-Control-Allow-Credentials': 'true',
        'Access-Control-Max-Age': '600',
        Vary: 'Origin',
      });
    }
    // A preflight carries no credentials (browsers never send them there): answer it for the allowed origin only.
    if (req.method === 'OPTIONS') {
      res.writeHead(204, cors);
      res.end();
      return;
    }
    const path = (req.url ?? '').split('?')[0];
    if (/\/login$/.test(path) && token) {
      await login(req, res);
      return;
    }
    const action = /\/(encode|decode)$/.exec(path)?.[1];
    if (req.method !== 'POST' || !action) {
      send(res, 404, 'POST /decode or POST /encode with {"payloads": [...]}', cors);
      return;
    }
    const denied = refusal(req);
    if (denied) {
      send(res, denied.status, denied.text, { ...cors, ...(denied.status === 401 && token ? { 'WWW-Authenticate': 'Bearer' } : {}) });
      req.resume();
      return;
    }
    let body: Buffer;
    try {
      body = await readBody(req);
    } catch (err) {
      // Answer first, then drop the rest unread; the socket goes a little later so the client reads the 413.
      send(res, 413, (err as Error).message, { ...cors, Connection: 'close' });
      req.resume();
      setTimeout(() => req.destroy(), 2000).unref();
      return;
    }
    let payloads;
    try {
      payloads = payloadsFromJson(JSON.parse(body.toString('utf8')));
    } catch (err) {
      send(res, 400, err instanceof BodyError ? err.message : `the body is not JSON: ${(err as Error).message}`, cors);
      return;
    }
    try {
      const out = action === 'decode' ? await opts.codec.decode(payloads) : await opts.codec.encode(payloads);
      res.writeHead(200, { 'Content-Type': 'application/json', ...cors });
      res.end(JSON.stringify(payloadsToJson(out)));
    } catch (err) {
      if (!(err instanceof DecryptError)) throw err;
      log(`codec server: ${action} refused (namespace ${req.headers['x-namespace'] ?? '?'}): ${err.message}`);
      send(res, 422, err.message, cors);
    }
  }

  /** GET: the sign-in form; POST (form or JSON {token}): the session cookie for the UI's browser. */
  async function login(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method === 'GET') {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
      res.end(LOGIN_FORM);
      return;
    }
    if (req.method !== 'POST') {
      send(res, 405, 'GET /login for the form, POST /login with token=<token>');
      return;
    }
    const body = (await readBody(req).catch(() => Buffer.alloc(0))).toString('utf8');
    let given = '';
    try {
      given = /^\s*\{/.test(body) ? String((JSON.parse(body) as { token?: unknown }).token ?? '') : (new URLSearchParams(body).get('token') ?? '');
    } catch {
      // not JSON after all: no token
    }
    if (!same(Buffer.from(given.trim()), token!)) {
      send(res, 403, 'the token is not valid for this codec server');
      return;
    }
    // SameSite=None: the UI's page is another site (its own port and scheme) and must send the cookie along.
    res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'Set-Cookie': `${SESSION_COOKIE}=${session}; Path=/; HttpOnly; Secure; SameSite=None; Max-Age=43200` });
    res.end('signed in: the Temporal UI in this browser can now decode payloads (for 12 hours)\n');
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : opts.port;
  return {
    server,
    url: `https://${opts.host ?? '127.0.0.1'}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections(); // keep-alive connections of the UI or curl would hold close() open
      }),
  };
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > MAX_BODY_BYTES) {
      reject(new Error(`the body is larger than ${MAX_BODY_BYTES} bytes`));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        reject(new Error(`the body is larger than ${MAX_BODY_BYTES} bytes`));
        req.pause();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}
