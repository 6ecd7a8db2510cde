/** Vault configs with the lab's HTTPS faces (DD REST lock method, backup software), and curl against them. */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { parseConfig } from '../../config/load';
import type { Config } from '../../config/schema';
import type { Lab } from '../../lab';

const run = promisify(execFile);

export function withRest(config: Config, lab: Lab, opts: { lock?: 'atime' | 'rest'; backup?: 'bareos' | 'networker'; backupOver?: Record<string, unknown> } = {}): Config {
  const r = lab.endpoints.rest;
  const raw = JSON.parse(JSON.stringify(config));
  const v = raw.vaults[0];
  v.vault.dd.rest = { url: r.vaultDdRest.url, tls: { fingerprint: r.vaultDdRest.fingerprint, caFile: r.vaultDdRest.certFile }, timeout: '10s' };
  v.lock = { method: opts.lock ?? 'atime' };
  if (opts.backup === 'bareos') {
    const b = r.bareos;
    v.backup = { software: 'bareos', url: b.url, tls: { fingerprint: b.fingerprint, caFile: b.certFile }, username: b.username, password: { file: b.passwordFile }, protects: b.protects, hold: { jobs: b.jobs }, pollInterval: '200ms', reassertInterval: '1s', drainTimeout: '60s', timeout: '10s', ...opts.backupOver };
  }
  if (opts.backup === 'networker') {
    const n = r.networker;
    v.backup = { software: 'networker', url: n.url, tls: { fingerprint: n.fingerprint, caFile: n.certFile }, username: n.username, password: { file: n.passwordFile }, protects: n.protects, hold: { workflows: n.workflows }, pollInterval: '200ms', reassertInterval: '1s', drainTimeout: '60s', timeout: '10s', ...opts.backupOver };
  }
  return parseConfig(raw, 'test config', '/');
}

export const secret = (file: string) => readFileSync(file, 'utf8').trim();

/** curl with the appliance's certificate as the only trust anchor (no -k); returns status, headers and body. */
export async function curl(certFile: string, method: string, url: string, opts: { headers?: Record<string, string>; json?: unknown; form?: Record<string, string>; user?: string } = {}) {
  const args = ['-sS', '-i', '--max-time', '20', '--cacert', certFile, '-X', method];
  for (const [k, v] of Object.entries(opts.headers ?? {})) args.push('-H', `${k}: ${v}`);
  if (opts.json !== undefined) args.push('-H', 'content-type: application/json', '--data-binary', JSON.stringify(opts.json));
  if (opts.form) for (const [k, v] of Object.entries(opts.form)) args.push('--data-urlencode', `${k}=${v}`);
  if (opts.user) args.push('-u', opts.user);
  args.push(url);
  const { stdout } = await run('curl', args);
  const [head, ...rest] = stdout.split(/\r?\n\r?\n/);
  const status = Number(/^HTTP\/[\d.]+ (\d+)/.exec(head)?.[1]);
  const headers = Object.fromEntries(head.split(/\r?\n/).slice(1).map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
  const text = rest.join('\n\n');
  let body: any = text;
  try {
    body = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status, headers, body };
}

export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
