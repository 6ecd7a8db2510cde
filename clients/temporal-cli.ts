/**
 * Finds the Temporal CLI (dev server + UI) or builds it from its Go module, never downloading a binary.
 * Order: TEMPORAL_CLI_PATH, `temporal` on PATH, then a cached `go install` of the pinned tag.
 * Used by the demo, the test setup and CI, so all three run the same server.
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

function isExecutable(path: string): boolean {
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
  const go = onPath('go') ?? (existsSync('/usr/local/go/bin/go') ? '/usr/local/go/bin/go' : undefined);
  if (!go) {
    throw new Error(
      'The Temporal CLI was not found and Go is not installed to build it.\n' +
        `Either install Go >= 1.25 (then this step runs \`go install ${TEMPORAL_CLI_MODULE}@${TEMPORAL_CLI_VERSION}\`),\n` +
        'or install the Temporal CLI yourself and put `temporal` on PATH / set TEMPORAL_CLI_PATH=/path/to/temporal,\n' +
        'or point at a running server with TEMPORAL_ADDRESS=host:7233.',
    );
  }
  const bin = cacheDir();
  mkdirSync(bin, { recursive: true });
  log(`Building the Temporal CLI ${TEMPORAL_CLI_VERSION} from its Go module into ${bin} (one time, a few minutes)...`);
  const started = Date.now();
  await new Promise<void>((resolve, reject) => {
    const child = spawn(go, ['install', '-x', `${TEMPORAL_CLI_MODULE}@${TEMPORAL_CLI_VERSION}`], {
      // GOTOOLCHAIN=local: never fetch another toolchain; CGO off: the CLI's SQLite driver is pure Go.
      env: { ...process.env, GOBIN: bin, GOTOOLCHAIN: 'local', CGO_ENABLED: '0', GOFLAGS: process.env.GOFLAGS ?? '' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let packages = 0;
    let tail = '';
    const ticker = setInterval(() => {
      log(`  ... still building (${Math.round((Date.now() - started) / 1000)} s, ${packages} steps)`);
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
      else reject(new Error(`go install ${TEMPORAL_CLI_MODULE}@${TEMPORAL_CLI_VERSION} failed (exit ${code}):\n${tail}`));
    });
  });
  const path = join(bin, 'temporal');
  const version = spawnSync(path, ['--version'], { encoding: 'utf8' }).stdout.trim();
  log(`Built ${version} in ${Math.round((Date.now() - started) / 1000)} s: ${path}`);
  return path;
}

if (require.main === module) {
  ensureTemporalCli()
    .then((path) => console.log(path))
    .catch((err) => {
      console.error(err instanceof Error ? err.message : err);
      process.exit(1);
    });
}
