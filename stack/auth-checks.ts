/**
 * stack:test's authorization checks, through the real `temporal` CLI (mTLS with its own client certificate, the
 * token with `--api-key`): what the frontend's JWT authorizer lets each caller do. A refusal must be the server's
 * PermissionDenied ("Request unauthorized."), not a TLS or connection error.
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { mintToken, type Role } from '../clients/auth-token';
import { loadConfig } from '../config/load';
import { temporalConnectionOptions } from '../config/temporal';
import { sentinelWorkflowId } from '../workflows/sentinel-messages';
import { codecAvailable, codecTokenFile } from './apps';
import { signingKey, stackToken } from './jwt';
import { FRONTEND_ADDRESS, FRONTEND_SERVER_NAME, logFile, STACK_CONFIG } from './layout';
import { caFile, certFiles } from './pki';
import { assert, run, TEMPORAL_CLI, type Run } from './run';
import { CODEC_URL } from './ui';

const DENIED = /PermissionDenied|Request unauthorized/;

/**
 * The temporal CLI against the stack as `cert` (a client certificate of .stack/pki), with `token` when given;
 * `codec`: through the codec server, so a failure the worker encrypted reads in clear.
 */
function cli(args: string[], o: { cert?: string; token?: string; codec?: boolean } = {}): Promise<Run> {
  const files = certFiles(o.cert ?? 'cli');
  const codec = o.codec && codecAvailable() ? ['--codec-endpoint', CODEC_URL, '--codec-auth', `Bearer ${readFileSync(codecTokenFile(), 'utf8').trim()}`] : [];
  return run(TEMPORAL_CLI, [
    ...args, '--address', FRONTEND_ADDRESS, '--tls-ca-path', caFile(), '--tls-cert-path', files.cert, '--tls-key-path', files.key,
    '--tls-server-name', FRONTEND_SERVER_NAME, '--command-timeout', '15s', ...(o.token ? ['--api-key', o.token] : []), ...codec,
  ], { timeoutMs: 60000, env: { ...process.env, SSL_CERT_FILE: caFile() } });
}

/** The CLI's error in one line (its `msg="…"` when it logs one). */
const why = (r: Run) => (/msg="((?:[^"\\]|\\.)*)"/.exec(r.err)?.[1] ?? r.err.trim()).replace(/\\"/g, '"').split('\n')[0].slice(0, 200);

function refused(what: string, r: Run): string {
  assert(r.code !== 0, `${what}: was allowed (exit 0): ${r.out.trim().slice(0, 200)}`);
  assert(DENIED.test(r.err), `${what}: failed, but not with the authorizer's PermissionDenied: ${r.err.trim().slice(0, 400)}`);
  return why(r);
}

function allowed(what: string, r: Run): void {
  assert(r.code === 0, `${what}: exit ${r.code}: ${r.err.trim().slice(0, 400)}`);
}

const token = (role: Role) => stackToken(role, 300);
/** A workflow no worker polls: start, signal and terminate need none. */
const start = (id: string) => ['workflow', 'start', '--type', 'authCheck', '--task-queue', 'ir-auth-check', '--workflow-id', id];
const SENTINEL = sentinelWorkflowId('lab-vault');

/** A reader token cannot start, signal, update or terminate; the refusal is the server's PermissionDenied. */
export async function readerCannotWrite(): Promise<string> {
  assert(TEMPORAL_CLI && (await run(TEMPORAL_CLI, ['--version'])).code === 0, `the temporal CLI is not built at ${TEMPORAL_CLI} (npm run temporal:ensure)`);
  const reader = token('reader');
  const writer = token('writer');
  const id = `ir-auth-check-${Date.now()}`;
  allowed('a reader lists workflows', await cli(['workflow', 'list', '--limit', '1'], { token: reader }));
  allowed('a writer starts the check workflow', await cli(start(id), { token: writer }));
  try {
    const lines = [
      `start: ${refused('a reader starts a workflow', await cli(start(`${id}-reader`), { token: reader }))}`,
      `signal: ${refused('a reader signals', await cli(['workflow', 'signal', '-w', id, '--name', 'authCheck'], { token: reader }))}`,
      `update: ${refused('a reader sends an update', await cli(['workflow', 'update', 'execute', '-w', SENTINEL, '--name', 'authCheck'], { token: reader }))}`,
      `terminate: ${refused('a reader terminates', await cli(['workflow', 'terminate', '-w', id, '--reason', 'auth check'], { token: reader }))}`,
    ];
    const d = await cli(['workflow', 'describe', '-w', id, '--output', 'json'], { token: reader });
    allowed('a reader describes the check workflow', d);
    assert(/RUNNING/.test(d.out), `the check workflow is not running after the reader's attempts: ${d.out.slice(0, 300)}`);
    return `reader (default:read), each exit 1 with: ${lines.join('; ')}`;
  } finally {
    await cli(['workflow', 'terminate', '-w', id, '--reason', 'auth check done'], { token: writer });
  }
}

/** A writer token can start, signal, update and terminate (the update reaches the workflow, which has no such handler). */
export async function writerCanWrite(): Promise<string> {
  const writer = token('writer');
  const id = `ir-auth-check-${Date.now()}`;
  allowed('a writer starts', await cli(start(id), { token: writer }));
  allowed('a writer signals', await cli(['workflow', 'signal', '-w', id, '--name', 'authCheck'], { token: writer }));
  // The sentinel runs on the stack's worker: an update it has no handler for is rejected by the workflow itself.
  const update = await cli(['workflow', 'update', 'execute', '-w', SENTINEL, '--name', 'authCheck'], { token: writer, codec: true });
  assert(update.code !== 0 && !DENIED.test(update.err) && /handler|not found|unknown|Encoded failure/i.test(update.err), `a writer's update should reach ${SENTINEL} and be rejected there for want of a handler: exit ${update.code}: ${update.err.trim().slice(0, 300)}`);
  allowed('a writer terminates', await cli(['workflow', 'terminate', '-w', id, '--reason', 'auth check'], { token: writer }));
  return `writer (default:write): start, signal, terminate exit 0; update reached ${SENTINEL}: ${why(update)}`;
}

/** No token, an expired one, one signed by another key and one with a forged kid are each refused. */
export async function badTokensRefused(): Promise<string> {
  const stackKey = signingKey();
  const stranger: KeyObject = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  const base = { role: 'writer' as Role, namespace: 'default', subject: 'auth-check', ttlSeconds: 60 };
  // The same claims, signed by another key but naming the stack key's kid: only the signature gives it away.
  const forged = (() => {
    const [h, p] = mintToken(stackKey, base).split('.');
    const [, , sig] = mintToken(stranger, base).split('.');
    return `${h}.${p}.${sig}`;
  })();
  const cases: Array<[string, string | undefined]> = [
    ['no token', undefined],
    ['expired token', mintToken(stackKey, { ...base, now: Math.floor(Date.now() / 1000) - 7200 })],
    ["another key's token", mintToken(stranger, base)],
    ["stack's kid, another key's signature", forged],
    ['not a JWT', 'not-a-token'],
  ];
  const log = logFile('temporal-frontend');
  const logFrom = statSync(log).size;
  const lines: string[] = [];
  for (const [name, t] of cases) {
    lines.push(`${name}: list ${refused(`${name}: workflow list`, await cli(['workflow', 'list', '--limit', '1'], { token: t }))}`);
    refused(`${name}: workflow start`, await cli(start(`ir-auth-check-${Date.now()}`), { token: t }));
  }
  // The caller hears only "Request unauthorized."; the frontend's log says why, and holds no token.
  const logged = readFileSync(log).subarray(logFrom).toString('utf8');
  const reasons = [...logged.matchAll(/"msg":"Authorization error","error":"([^"]*)"/g)].map((m) => m[1].replace(/key ID: \S+/, 'key ID: …'));
  for (const want of [/Token is expired/, /key not found/, /verification error/, /segments/]) assert(reasons.some((r) => want.test(r)), `the frontend log does not say ${want.source}: ${[...new Set(reasons)].join('; ')}`);
  const leaked = cases.filter(([, t]) => t && t.length > 20 && logged.includes(t)).map(([name]) => name);
  assert(!leaked.length, `the frontend log holds the token of: ${leaked.join(', ')}`);
  lines.push(`frontend log, no token in it: ${[...new Set(reasons)].join('; ')}`);
  return lines.join('\n      ');
}

/**
 * The worker is known by its certificate: config/stack.yaml gives it no token, and its certificate alone may
 * write (what the cycle check relied on); other certificates without a token may not, and the UI's only reads.
 */
export async function certificateIdentities(): Promise<string> {
  const asWorker = temporalConnectionOptions(loadConfig(STACK_CONFIG), {}, 'worker');
  assert(asWorker.apiKey === undefined, 'the worker would send a token (config/stack.yaml temporal.worker)');
  const id = `ir-auth-check-${Date.now()}`;
  allowed('the worker certificate alone starts', await cli(start(id), { cert: 'worker' }));
  allowed('the worker certificate alone terminates', await cli(['workflow', 'terminate', '-w', id, '--reason', 'auth check'], { cert: 'worker' }));
  allowed('the UI certificate lists', await cli(['workflow', 'list', '--limit', '1'], { cert: 'ui' }));
  const ui = refused('the UI certificate starts', await cli(start(`${id}-ui`), { cert: 'ui' }));
  const irctl = refused('the irctl certificate without a token lists', await cli(['workflow', 'list', '--limit', '1'], { cert: 'irctl' }));
  return `CN=worker, no token: start + terminate exit 0; CN=ui: list ok, start refused (${ui}); CN=irctl without token: list refused (${irctl})`;
}
