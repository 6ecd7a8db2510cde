/**
 * The Go programs the stack runs, built from their modules with `go install` (clients/temporal-cli.ts's
 * goInstall: local toolchain, no cgo, never a prebuilt download) and cached per version under
 * ~/.cache/isolated-recovery/<name>/<version>/bin: one folder each, as the server and the UI are both `server`.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { findGo, goInstall, isExecutable } from '../clients/temporal-cli';

export const SERVER_VERSION = 'v1.29.1';
export const UI_VERSION = 'v2.42.1';

const BINARIES = {
  server: { module: 'go.temporal.io/server/cmd/server', version: SERVER_VERSION, cache: 'temporal-server', file: 'server', what: 'the Temporal server' },
  sql: { module: 'go.temporal.io/server/cmd/tools/sql', version: SERVER_VERSION, cache: 'temporal-sql-tool', file: 'sql', what: 'temporal-sql-tool' },
  ui: { module: 'github.com/temporalio/ui-server/v2/cmd/server', version: UI_VERSION, cache: 'temporal-ui-server', file: 'server', what: 'the Temporal UI server' },
} as const;
export type BinaryName = keyof typeof BINARIES;

const cacheBase = () => join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'isolated-recovery');
export const binaryPath = (name: BinaryName) => join(cacheBase(), BINARIES[name].cache, BINARIES[name].version, 'bin', BINARIES[name].file);


/** Builds what is missing (one after the other: the builds share packages and cores); returns the paths. */
export async function ensureBinaries(log: (l: string) => void): Promise<Record<BinaryName, string>> {
  for (const name of Object.keys(BINARIES) as BinaryName[]) {
    const path = binaryPath(name);
    if (isExecutable(path)) continue;
    const go = findGo();
    if (!go) throw new Error(`${path} is missing and Go (>= 1.25) is not installed to build it: install Go, then run npm run stack again`);
    const b = BINARIES[name];
    await goInstall({ go, module: b.module, version: b.version, bin: join(path, '..'), what: b.what, log });
  }
  return { server: binaryPath('server'), sql: binaryPath('sql'), ui: binaryPath('ui') };
}

/** The module's source folder in the Go module cache (config templates, schema). */
export function moduleDir(module: 'go.temporal.io/server' | 'github.com/temporalio/ui-server/v2', version: string): string {
  const go = findGo() ?? 'go';
  const modcache = spawnSync(go, ['env', 'GOMODCACHE'], { encoding: 'utf8' }).stdout.trim() || join(homedir(), 'go', 'pkg', 'mod');
  // The module cache escapes capital letters as !lower.
  return join(modcache, `${module.replace(/[A-Z]/g, (c) => `!${c.toLowerCase()}`)}@${version}`);
}
