/**
 * The Go programs the stack runs, built from their modules with `go install` (clients/temporal-cli.ts's
 * goInstall: local toolchain, no cgo, never a prebuilt download) and cached per version under
 * ~/.cache/isolated-recovery/<name>/<version>/bin: one folder each, as the server and the UI are both `server`.
 * The server itself is built with `go build` from stack/server (the module's server plus the stack's claim mapper).
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { findGo, goInstall, isExecutable } from '../clients/temporal-cli';

export const SERVER_VERSION = 'v1.29.1';
export const UI_VERSION = 'v2.42.1';

const BINARIES = {
  sql: { module: 'go.temporal.io/server/cmd/tools/sql', version: SERVER_VERSION, cache: 'temporal-sql-tool', file: 'sql', what: 'temporal-sql-tool' },
  ui: { module: 'github.com/temporalio/ui-server/v2/cmd/server', version: UI_VERSION, cache: 'temporal-ui-server', file: 'server', what: 'the Temporal UI server' },
} as const;
export type BinaryName = keyof typeof BINARIES;

const cacheBase = () => join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'isolated-recovery');
export const binaryPath = (name: BinaryName) => join(cacheBase(), BINARIES[name].cache, BINARIES[name].version, 'bin', BINARIES[name].file);


/**
 * The stack's server: the Temporal server SERVER_VERSION with the stack's claim mapper (stack/server, its go.mod
 * pins go.temporal.io/server, so Go's build cache from the module's own `go install` is reused). Cached per
 * content of stack/server: a change there builds a new binary.
 */
const SERVER_SOURCE = resolve(__dirname, 'server');
export function serverPath(): string {
  const hash = createHash('sha256');
  for (const f of readdirSync(SERVER_SOURCE).filter((n) => /^(go\.mod|go\.sum|.+\.go)$/.test(n)).sort()) hash.update(`${f}\0`).update(readFileSync(join(SERVER_SOURCE, f)));
  return join(cacheBase(), 'temporal-server-stack', `${SERVER_VERSION}-${hash.digest('hex').slice(0, 12)}`, 'bin', 'server');
}

async function goBuild(go: string, out: string, log: (l: string) => void): Promise<void> {
  const started = Date.now();
  log(`Building the stack's Temporal server (${SERVER_VERSION} + stack/server's claim mapper) into ${out}...`);
  mkdirSync(dirname(out), { recursive: true });
  const r = await new Promise<{ code: number | null; err: string }>((done) => {
    const child = spawn(go, ['build', '-o', out, '.'], { cwd: SERVER_SOURCE, env: { ...process.env, GOTOOLCHAIN: 'local', CGO_ENABLED: '0', GOFLAGS: process.env.GOFLAGS ?? '' }, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
    child.on('error', (e) => done({ code: -1, err: e.message }));
    child.on('exit', (code) => done({ code, err }));
  });
  if (r.code !== 0) throw new Error(`go build in ${SERVER_SOURCE} failed (exit ${r.code}):\n${r.err}`);
  log(`  built in ${Math.round((Date.now() - started) / 1000)} s`);
}

/** Builds what is missing (one after the other: the builds share packages and cores); returns the paths. */
export async function ensureBinaries(log: (l: string) => void): Promise<Record<BinaryName | 'server', string>> {
  const go = findGo();
  for (const name of Object.keys(BINARIES) as BinaryName[]) {
    const path = binaryPath(name);
    if (isExecutable(path)) continue;
    if (!go) throw new Error(`${path} is missing and Go (>= 1.25) is not installed to build it: install Go, then run npm run stack again`);
    const b = BINARIES[name];
    await goInstall({ go, module: b.module, version: b.version, bin: join(path, '..'), what: b.what, log });
  }
  const server = serverPath();
  if (!isExecutable(server)) {
    if (!go) throw new Error(`${server} is missing and Go (>= 1.25) is not installed to build it: install Go, then run npm run stack again`);
    await goBuild(go, server, log);
  }
  return { server, sql: binaryPath('sql'), ui: binaryPath('ui') };
}

/** The module's source folder in the Go module cache (config templates, schema). */
export function moduleDir(module: 'go.temporal.io/server' | 'github.com/temporalio/ui-server/v2', version: string): string {
  const go = findGo() ?? 'go';
  const modcache = spawnSync(go, ['env', 'GOMODCACHE'], { encoding: 'utf8' }).stdout.trim() || join(homedir(), 'go', 'pkg', 'mod');
  // The module cache escapes capital letters as !lower.
  return join(modcache, `${module.replace(/[A-Z]/g, (c) => `!${c.toLowerCase()}`)}@${version}`);
}
