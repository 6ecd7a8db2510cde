/**
 * Finds the Temporal CLI (dev server + UI) or builds it from its Go module, never downloading a binary.
 * Order: TEMPORAL_CLI_PATH, `temporal` on PATH, then a cached `go install` of the pinned tag.
 * Used by the demo, the test setup and CI, so all three run the same server. `goInstall` is the shared
 * build step (stack/binaries.ts builds the production server, its SQL tool and the UI with it).
 */
import { spawn, spawnSync } from 'node:child_process';
import { accessSync, constants, mkdirSync, existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';

export const TEMPORAL_CLI_MODULE = 'github.com/temporalio/cli/cmd/temporal';
// Newest tag without `replace` directives in go.mod, which `go install pkg@version` refuses.
export const TEMPORAL_CLI_VERSION = 'v1.5.1';

export function cacheDir(): string {
  const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(base, 'isolated-recovery', 'temporal-cli', TEMPORAL_CLI_VERSION, 'bin');
}

export function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && isExecutable(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

/** Returns the path of an existing CLI without building anything, or undefined. */
export function findTemporalCli(): string | undefined {
  const fromEnv = process.env.TEMPORAL_CLI_PATH;
  if (fromEnv) {
    if (!isExecutable(fromEnv)) {
      throw new Error(`TEMPORAL_CLI_PATH=${fromEnv} is not an executable file. Unset it or point it at a temporal CLI binary.`);
    }
    return fromEnv;
  }
  const cached = join(cacheDir(), 'temporal');
  if (isExecutable(cached)) return cached;
  return onPath('temporal');
}

/** Finds the CLI, or builds it once with `go install` into the cache (minutes; progress is shown). */
export async function ensureTemporalCli(log: (line: string) => void = (l) => process.stderr.write(l + '\n')): Promise<string> {
  const found = findTemporalCli();
  if (found) return found;
  const go = findGo();
  if (!go) {
    throw new Error(
      'The Temporal CLI was not found and Go is not installed to build it.\n' +
        `Either install Go >= 1.25 (then this step runs \`go install ${TEMPORAL_CLI_MODULE}@${TEMPORAL_CLI_VERSION}\`),\n` +
        'or install the Temporal CLI yourself and put `temporal` on PATH / set TEMPORAL_CLI_PATH=/path/to/temporal,\n' +
        'or point at a running server with TEMPORAL_ADDRESS=host:7233.',
    );
  }
  const bin = cacheDir();
  await goInstall({ go, module: TEMPORAL_CLI_MODULE, version: TEMPORAL_CLI_VERSION, bin, what: 'the Temporal CLI', log });
  const path = join(bin, 'temporal');
  const version = spawnSync(path, ['--version'], { encoding: 'utf8' }).stdout.trim();
  log(`Built ${version}: ${path}`);
  return path;
}

/** `go` on PATH or in /usr/local/go, or undefined. */
export function findGo(): string | undefined {
  return onPath('go') ?? (existsSync('/usr/local/go/bin/go') ? '/usr/local/go/bin/go' : undefined);
}

export interface GoInstall {
  go: string;
  module: string; // package path of a main package
  version: string;
  bin: string; // GOBIN: one folder per binary, since several modules name their binary `server`
  what: string; // for the progress lines
  log: (line: string) => void;
}

/** `go install module@version` into `bin`, with progress lines; never fetches a toolchain or a prebuilt binary. */
export async function goInstall({ go, module, version, bin, what, log }: GoInstall): Promise<void> {
  mkdirSync(bin, { recursive: true });
  log(`Building ${what} ${version} from its Go module into ${bin} (one time, a few minutes)...`);
  const started = Date.now();
  await new Promise<void>((resolve, reject) => {
    const child = spawn(go, ['install', '-x', `${module}@${version}`], {
      // GOTOOLCHAIN=local: never fetch another toolchain; CGO off: pure-Go drivers (SQLite, PostgreSQL).
      env: { ...process.env, GOBIN: bin, GOTOOLCHAIN: 'local', CGO_ENABLED: '0', GOFLAGS: process.env.GOFLAGS ?? '' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let packages = 0;
    let tail = '';
    const ticker = setInterval(() => {
      log(`  ... still building ${what} (${Math.round((Date.now() - started) / 1000)} s, ${packages} steps)`);
    }, 15000);
    child.stderr.on('data', (chunk: Buffer) => {
      const text = chunk.toString();
      tail = (tail + text).slice(-4000);
      for (const line of text.split('\n')) {
        if (line.startsWith('go: downloading')) log('  ' + line);
        else if (line.startsWith('WORK') || line.includes('/compile ') || line.includes('/link ')) packages++;
      }
    });
    child.on('error', (err) => {
      clearInterval(ticker);
      reject(err);
    });
    child.on('exit', (code) => {
      clearInterval(ticker);
      if (code === 0) resolve();
      else reject(new Error(`go install ${module}@${version} failed (exit ${code}):\n${tail}`));
    });
  });
  log(`Built ${what} in ${Math.round((Date.now() - started) / 1000)} s`);
}

if (require.main === module) {
  ensureTemporalCli()
    .then((path) => console.log(path))
    .catch((err) => {
      console.error(err instanceof Error ? err.message : err);
      process.exit(1);
    });
}
