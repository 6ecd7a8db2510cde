/**
 * Hashing benchmark: our hasher (SHA-256, BLAKE3) side by side with coreutils `sha256sum`, `openssl dgst
 * -sha256` and `b3sum` (each via `find | xargs -0 -P<cores>`) on generated trees hot in the page cache,
 * plus peak RSS on a many-file tree and the time to compare two large manifests.
 *
 *   npm run bench:hash               full run (4 × 1 GiB, 100k × 4 KiB, mixed ~2.3 GB, 1M-file tree, 1M-entry compare)
 *   npm run bench:hash -- --quick    small sizes, a minute or so
 *   IR_BENCH_LARGE_FILES=4 IR_BENCH_LARGE_MIB=1024 IR_BENCH_SMALL_FILES=100000 IR_BENCH_SMALL_KIB=4
 *   IR_BENCH_MIXED_SCALE=1 IR_BENCH_RSS_FILES=1000000 IR_BENCH_COMPARE_ENTRIES=1000000 IR_BENCH_RUNS=2
 *   IR_BENCH_ONLY=large,small,mixed,rss,compare
 *
 * Writes bench/out/hash-<stamp>.{md,json}; copy the Markdown to bench/REPORT.md to commit it.
 * Generated trees live in one temp directory that is removed at the end (also on failure or Ctrl-C).
 */
import { execFileSync, spawn } from 'node:child_process';
import { hash, randomFillSync } from 'node:crypto';
import { closeSync, mkdirSync, openSync, promises as fsp, rmSync, writeFileSync, writeSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir, totalmem } from 'node:os';
import * as path from 'node:path';
import { entriesPathOf, MANIFEST_FORMAT } from '../activities/hashing/manifest';
import { prng } from '../activities/hashing/fixtures';

const quick = process.argv.includes('--quick') || process.env.IR_BENCH_QUICK === '1';
const env = (name: string, full: number, small: number) => Number(process.env[name] ?? (quick ? small : full));
const cfg = {
  largeFiles: env('IR_BENCH_LARGE_FILES', 4, 2),
  largeMiB: env('IR_BENCH_LARGE_MIB', 1024, 256),
  smallFiles: env('IR_BENCH_SMALL_FILES', 100_000, 10_000),
  smallKiB: env('IR_BENCH_SMALL_KIB', 4, 4),
  mixedScale: env('IR_BENCH_MIXED_SCALE', 1, 0.1),
  rssFiles: env('IR_BENCH_RSS_FILES', 1_000_000, 50_000),
  compareEntries: env('IR_BENCH_COMPARE_ENTRIES', 1_000_000, 100_000),
  runs: env('IR_BENCH_RUNS', 2, 1),
  cores: availableParallelism(),
  only: (process.env.IR_BENCH_ONLY ?? 'large,small,mixed,rss,compare').split(','),
};

const ROOT = path.resolve(__dirname, '..');
const TSX = path.join(ROOT, 'node_modules', '.bin', 'tsx');
const CHILD = path.join(__dirname, 'child.ts');

interface Measure {
  tool: string;
  seconds: number;
  files: number;
  bytes: number;
  gbps: number;
  filesPerSec: number;
  maxRssMiB: number | null;
  note?: string;
}

interface Scenario {
  name: string;
  description: string;
  files: number;
  bytes: number;
  results: Measure[];
}

// ---------- tree generation ----------

function writeRandomFile(file: string, bytes: number, chunk: Buffer): void {
  const fd = openSync(file, 'w');
  try {
    for (let done = 0; done < bytes; ) {
      const n = Math.min(chunk.length, bytes - done);
      randomFillSync(chunk, 0, Math.min(n, 4096)); // vary the data cheaply; content does not matter to hashing speed
      writeSync(fd, chunk, 0, n);
      done += n;
    }
  } finally {
    closeSync(fd);
  }
}

function makeTree(dir: string, sizes: number[], perDir = 1000): { files: number; bytes: number } {
  const chunk = randomFillSync(Buffer.allocUnsafe(16 << 20));
  let bytes = 0;
  sizes.forEach((size, i) => {
    const d = path.join(dir, `d${String(Math.floor(i / perDir)).padStart(4, '0')}`);
    if (i % perDir === 0) mkdirSync(d, { recursive: true });
    const f = path.join(d, `f${String(i).padStart(7, '0')}.bin`);
    if (size <= 65536) writeFileSync(f, randomFillSync(Buffer.allocUnsafe(size)));
    else writeRandomFile(f, size, chunk);
    bytes += size;
  });
  return { files: sizes.length, bytes };
}

function mixedSizes(scale: number, rnd: () => number): number[] {
  const sizes: number[] = [];
  const logUniform = (lo: number, hi: number) => Math.round(Math.exp(Math.log(lo) + rnd() * (Math.log(hi) - Math.log(lo))));
  for (let i = 0; i < Math.round(10_000 * scale); i++) sizes.push(logUniform(1024, 64 << 10));
  for (let i = 0; i < Math.round(200 * scale); i++) sizes.push(logUniform(1 << 20, 8 << 20));
  for (let i = 0; i < Math.max(1, Math.round(4 * scale)); i++) sizes.push(256 << 20);
  // shuffle so large files are spread through the tree
  for (let i = sizes.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [sizes[i], sizes[j]] = [sizes[j], sizes[i]];
  }
  return sizes;
}

// ---------- runners ----------

function run(cmd: string, args: string[], opts: { cwd?: string } = {}): Promise<{ code: number; stdout: string; stderr: string; seconds: number }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const p = spawn(cmd, args, { cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr, seconds: (performance.now() - t0) / 1000 }));
  });
}

/** An external tool over every file of the tree, `xargs -P<cores>`, timed wall-clock, peak RSS from GNU time. */
async function external(tool: string, cmdline: string, dir: string, perCall: number): Promise<{ seconds: number; maxRssMiB: number | null }> {
  const script = `find . -type f -print0 | xargs -0 -P${cfg.cores} -n${perCall} ${cmdline} > /dev/null`;
  const r = await run('/usr/bin/time', ['-f', 'IRBENCH %M', 'bash', '-c', script], { cwd: dir });
  if (r.code !== 0) throw new Error(`${tool} failed (${r.code}): ${r.stderr.slice(-500)}`);
  const m = /IRBENCH (\d+)/.exec(r.stderr);
  return { seconds: r.seconds, maxRssMiB: m ? Math.round(Number(m[1]) / 102.4) / 10 : null };
}

async function ours(mode: 'manifest' | 'compare', a: string, b: string, algo?: string): Promise<{ seconds: number; maxRssMiB: number; wall: number; result: unknown }> {
  const r = await run(TSX, [CHILD, mode, a, b, ...(algo ? [algo] : [])]);
  if (r.code !== 0) throw new Error(`bench child failed: ${r.stderr.slice(-1000)}`);
  const j = JSON.parse(r.stdout.trim().split('\n').pop()!) as { seconds: number; maxRssMiB: number; result: unknown };
  return { ...j, wall: r.seconds };
}

async function best<T extends { seconds: number }>(runs: number, f: () => Promise<T>): Promise<T> {
  let b: T | null = null;
  for (let i = 0; i < runs; i++) {
    const r = await f();
    if (!b || r.seconds < b.seconds) b = r;
  }
  return b!;
}

function measure(tool: string, s: { seconds: number; maxRssMiB: number | null }, files: number, bytes: number, note?: string): Measure {
  return { tool, seconds: round(s.seconds, 3), files, bytes, gbps: round(bytes / s.seconds / 1e9, 3), filesPerSec: Math.round(files / s.seconds), maxRssMiB: s.maxRssMiB, note };
}

async function hashScenario(name: string, description: string, dir: string, files: number, bytes: number, perCall: number, outDir: string): Promise<Scenario> {
  execFileSync('bash', ['-c', `find . -type f -print0 | xargs -0 cat > /dev/null`], { cwd: dir }); // hot in the page cache
  const results: Measure[] = [];
  for (const algo of ['sha256', 'blake3']) {
    const r = await best(cfg.runs, () => ours('manifest', dir, path.join(outDir, `${name}.${algo}`), algo));
    results.push(measure(`ours ${algo}`, r, files, bytes, `process start-up excluded (${(r.wall - r.seconds).toFixed(2)} s)`));
    log(`  ${name} ours ${algo}: ${r.seconds.toFixed(2)} s`);
  }
  const tools: Array<[string, string]> = [
    ['sha256sum', 'sha256sum'],
    ['openssl dgst -sha256', 'openssl dgst -sha256'],
    ['b3sum', 'b3sum'],
  ];
  for (const [tool, cmd] of tools) {
    const r = await best(cfg.runs, () => external(tool, cmd, dir, perCall));
    results.push(measure(tool, r, files, bytes, `xargs -P${cfg.cores} -n${perCall}`));
    log(`  ${name} ${tool}: ${r.seconds.toFixed(2)} s`);
  }
  return { name, description, files, bytes, results };
}

// ---------- compare of two large manifests ----------

async function writeSyntheticManifest(file: string, n: number, variant: number): Promise<void> {
  const fd = openSync(entriesPathOf(file), 'w');
  let buf = '';
  for (let i = 0; i < n; i++) {
    if (variant === 1 && i % 10007 === 5) continue; // missing
    const changed = variant === 1 && i % 1009 === 3;
    const digest = hash('sha256', `${i}${changed ? 'x' : ''}`, 'hex');
    buf += `f 4096 ${digest} dir-${String(Math.floor(i / 1000)).padStart(5, '0')}/file-${String(i).padStart(8, '0')}.dat\n`;
    if (buf.length > 1 << 20) {
      writeSync(fd, buf);
      buf = '';
    }
  }
  writeSync(fd, buf);
  closeSync(fd);
  writeFileSync(file, '');
  const info = {
    format: MANIFEST_FORMAT, algorithm: 'sha256', root: hash('sha256', `root${variant}`, 'hex'), files: n, dirs: 0, symlinks: 0, bytes: n * 4096,
    created: new Date().toISOString(), manifestPath: file, manifestDigest: '', entriesPath: entriesPathOf(file), entriesDigest: '', others: 0, errors: 0,
  };
  writeFileSync(file + '.json', JSON.stringify(info));
}

// ---------- report ----------

const round = (x: number, d: number) => Math.round(x * 10 ** d) / 10 ** d;
const log = (s: string) => process.stderr.write(s + '\n');

function ratio(a: number, b: number): string {
  return b > 0 ? `${(a / b).toFixed(2)}×` : 'n/a';
}

function scenarioTable(s: Scenario): string {
  const ours256 = s.results.find((r) => r.tool === 'ours sha256')!;
  const oursB3 = s.results.find((r) => r.tool === 'ours blake3')!;
  const rows = s.results.map((r) => {
    // Same work for every tool, so the speed ratio is the inverse time ratio.
    const vs = r.tool.startsWith('ours') ? '' : `${ratio(r.seconds, ours256.seconds)} / ${ratio(r.seconds, oursB3.seconds)}`;
    return `| ${r.tool} | ${r.seconds.toFixed(2)} | ${r.gbps.toFixed(2)} | ${r.filesPerSec.toLocaleString('en-US')} | ${r.maxRssMiB ?? 'n/a'} | ${vs} | ${r.note ?? ''} |`;
  });
  return [
    `### ${s.name}: ${s.description}`,
    '',
    `${s.files.toLocaleString('en-US')} files, ${(s.bytes / 1e9).toFixed(2)} GB`,
    '',
    '| tool | seconds | GB/s | files/s | peak RSS MiB | ours sha256 / ours blake3 ÷ tool (speed) | notes |',
    '|---|---:|---:|---:|---:|---:|---|',
    ...rows,
    '',
  ].join('\n');
}

async function main(): Promise<void> {
  const renderIdx = process.argv.indexOf('--render');
  if (renderIdx > 0) {
    const file = process.argv[renderIdx + 1];
    process.stdout.write(render(JSON.parse(await fsp.readFile(file, 'utf8')) as Report));
    return;
  }
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const tmp = await fsp.mkdtemp(path.join(tmpdir(), 'ir-bench-'));
  const cleanup = () => rmSync(tmp, { recursive: true, force: true });
  process.once('SIGINT', () => {
    cleanup();
    process.exit(130);
  });
  const outDir = path.join(tmp, 'manifests');
  mkdirSync(outDir);
  const scenarios: Scenario[] = [];
  const extra: Record<string, unknown> = {};
  const targets: Array<{ target: string; value: string; met: boolean }> = [];
  try {
    log(`bench in ${tmp} (${quick ? 'quick' : 'full'}): ${JSON.stringify(cfg)}`);
    if (cfg.only.includes('large')) {
      const dir = path.join(tmp, 'large');
      const t = makeTree(dir, Array.from({ length: cfg.largeFiles }, () => cfg.largeMiB << 20));
      const s = await hashScenario('large', `${cfg.largeFiles} × ${cfg.largeMiB} MiB`, dir, t.files, t.bytes, 1, outDir);
      scenarios.push(s);
      const o = s.results.find((r) => r.tool === 'ours sha256')!;
      const ob = s.results.find((r) => r.tool === 'ours blake3')!;
      const b3 = s.results.find((r) => r.tool === 'b3sum')!;
      targets.push({ target: 'SHA-256 on large files ≥ 2.5 GB/s', value: `${o.gbps.toFixed(2)} GB/s`, met: o.gbps >= 2.5 });
      targets.push({ target: 'BLAKE3 ≥ 0.8× b3sum (large files)', value: `${ratio(ob.gbps, b3.gbps)} (${ob.gbps.toFixed(2)} vs ${b3.gbps.toFixed(2)} GB/s)`, met: ob.gbps >= 0.8 * b3.gbps });
      rmSync(dir, { recursive: true, force: true });
    }
    if (cfg.only.includes('small')) {
      const dir = path.join(tmp, 'small');
      const t = makeTree(dir, Array.from({ length: cfg.smallFiles }, () => cfg.smallKiB << 10));
      const s = await hashScenario('small', `${cfg.smallFiles.toLocaleString('en-US')} × ${cfg.smallKiB} KiB`, dir, t.files, t.bytes, 500, outDir);
      scenarios.push(s);
      const o = s.results.find((r) => r.tool === 'ours sha256')!;
      const c = s.results.find((r) => r.tool === 'sha256sum')!;
      targets.push({ target: `small files ≥ 1.0× parallel sha256sum (files/s)`, value: `${ratio(o.filesPerSec, c.filesPerSec)} (${o.filesPerSec.toLocaleString('en-US')} vs ${c.filesPerSec.toLocaleString('en-US')} files/s)`, met: o.filesPerSec >= c.filesPerSec });
      rmSync(dir, { recursive: true, force: true });
    }
    if (cfg.only.includes('mixed')) {
      const dir = path.join(tmp, 'mixed');
      const t = makeTree(dir, mixedSizes(cfg.mixedScale, prng(42)), 500);
      scenarios.push(await hashScenario('mixed', 'log-uniform 1–64 KiB, 1–8 MiB and 256 MiB files, shuffled', dir, t.files, t.bytes, 32, outDir));
      rmSync(dir, { recursive: true, force: true });
    }
    if (cfg.only.includes('rss')) {
      const dir = path.join(tmp, 'many');
      log(`  rss: creating ${cfg.rssFiles} files`);
      const t = makeTree(dir, Array.from({ length: cfg.rssFiles }, () => 64));
      execFileSync('bash', ['-c', `find . -type f -print0 | xargs -0 cat > /dev/null`], { cwd: dir });
      const r = await ours('manifest', dir, path.join(outDir, 'many'), 'sha256');
      extra.rss = { files: t.files, seconds: round(r.seconds, 2), filesPerSec: Math.round(t.files / r.seconds), maxRssMiB: r.maxRssMiB };
      targets.push({ target: `peak RSS < 300 MB for a ${cfg.rssFiles.toLocaleString('en-US')}-file tree`, value: `${r.maxRssMiB} MiB (${(r.maxRssMiB * 1.048576).toFixed(0)} MB), ${t.files.toLocaleString('en-US')} files in ${r.seconds.toFixed(1)} s`, met: r.maxRssMiB * 1.048576 < 300 });
      log(`  rss: ${JSON.stringify(extra.rss)}`);
      rmSync(dir, { recursive: true, force: true });
    }
    if (cfg.only.includes('compare')) {
      const a = path.join(outDir, 'cmp-a');
      const b = path.join(outDir, 'cmp-b');
      await writeSyntheticManifest(a, cfg.compareEntries, 0);
      await writeSyntheticManifest(b, cfg.compareEntries, 1);
      const r = await ours('compare', a, b);
      extra.compare = { entries: cfg.compareEntries, seconds: round(r.seconds, 2), maxRssMiB: r.maxRssMiB, result: r.result };
      targets.push({ target: `compare two ${cfg.compareEntries.toLocaleString('en-US')}-entry manifests < 5 s`, value: `${r.seconds.toFixed(2)} s (peak RSS ${r.maxRssMiB} MiB)`, met: r.seconds < 5 });
      log(`  compare: ${JSON.stringify(extra.compare)}`);
    }
  } finally {
    cleanup();
  }

  const machine = { cpu: cpus()[0]?.model, cores: cfg.cores, memGiB: Math.round(totalmem() / 2 ** 30), node: process.version, ...toolVersions() };
  const data: Report = { machine, cfg, quick, targets, scenarios, ...extra, generated: new Date().toISOString() };
  const md = render(data);
  const outBase = path.join(__dirname, 'out', `hash-${stamp}`);
  mkdirSync(path.dirname(outBase), { recursive: true });
  writeFileSync(outBase + '.md', md);
  writeFileSync(outBase + '.json', JSON.stringify(data, null, 2));
  process.stdout.write(md + `\nwritten: ${outBase}.md and .json\n`);
}

interface Report {
  machine: ReturnType<typeof toolVersions> & { cpu: string; cores: number; memGiB: number; node: string };
  cfg: typeof cfg;
  quick: boolean;
  targets: Array<{ target: string; value: string; met: boolean }>;
  scenarios: Scenario[];
  rss?: unknown;
  compare?: unknown;
  generated: string;
}

/** Markdown of a run (also `tsx bench/hash.ts --render out/hash-….json` to re-render a stored one). */
function render({ machine, cfg, quick, targets, scenarios, rss, compare, generated }: Report): string {
  return [
    '# Hashing benchmark',
    '',
    `Generated by \`npm run bench:hash${quick ? ' -- --quick' : ''}\` on ${generated}.`,
    '',
    `Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memGiB} GiB; Node ${machine.node}; ${machine.coreutils}; ${machine.openssl}; ${machine.b3sum}.`,
    '',
    `Trees are generated in a temp dir, read once (hot in the page cache), then hashed by each tool; best of ${cfg.runs} run(s). External tools run as \`find . -type f -print0 | xargs -0 -P${cfg.cores} -n<N> <tool>\`; their peak RSS is GNU time's max RSS (largest single process). Ours runs in a fresh process per measurement (\`bench/child.ts\`) and reports the hashing time without process start-up and its own max RSS, worker threads included. "ours ÷ tool" > 1 means we are faster.`,
    '',
    '## Targets',
    '',
    '| target | measured | met |',
    '|---|---|---|',
    ...targets.map((t) => `| ${t.target} | ${t.value} | ${t.met ? 'yes' : '**no**'} |`),
    '',
    '## Results',
    '',
    ...scenarios.map(scenarioTable),
    ...(rss ? [`### many files: peak RSS (64-byte files)\n\n\`${JSON.stringify(rss)}\`\n`] : []),
    ...(compare ? [`### compare of two synthetic manifests (0.1% content changes, 0.01% missing)\n\n\`${JSON.stringify(compare)}\`\n`] : []),
  ].join('\n');
}

function toolVersions(): { coreutils: string; openssl: string; b3sum: string } {
  const v = (cmd: string, args: string[]) => {
    try {
      return execFileSync(cmd, args, { encoding: 'utf8' }).split('\n')[0].trim();
    } catch {
      return `${cmd}: n/a`;
    }
  };
  return { coreutils: v('sha256sum', ['--version']), openssl: v('openssl', ['version']), b3sum: v('b3sum', ['--version']) };
}

main().catch((err) => {
  process.stderr.write(String(err instanceof Error ? err.stack : err) + '\n');
  process.exitCode = 1;
});
