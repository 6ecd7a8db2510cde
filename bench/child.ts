/**
 * One measured operation in a fresh process, so its peak RSS (worker threads included) is its own.
 *   tsx bench/child.ts manifest DIR OUT sha256|blake3
 *   tsx bench/child.ts compare EXPECTED ACTUAL
 * Prints one JSON line: seconds (the operation only, not process start-up), maxRssMiB, baseRssMiB, result.
 */
import { buildManifest, compareManifests, type HashAlgorithm } from '../activities/hashing';

const mib = (kib: number) => Math.round((kib / 1024) * 10) / 10;

async function main(): Promise<void> {
  const [mode, a, b, algo] = process.argv.slice(2);
  const baseRssMiB = mib(process.resourceUsage().maxRSS);
  const t0 = performance.now();
  let result: unknown;
  if (mode === 'manifest') {
    const info = await buildManifest(a, b, { algorithm: (algo ?? 'sha256') as HashAlgorithm });
    result = { files: info.files, bytes: info.bytes, root: info.root };
  } else if (mode === 'compare') {
    const r = await compareManifests(a, b);
    result = { equal: r.equal, counts: r.counts, findings: r.findings.length };
  } else {
    throw new Error(`unknown mode ${mode}`);
  }
  const seconds = (performance.now() - t0) / 1000;
  process.stdout.write(JSON.stringify({ seconds, maxRssMiB: mib(process.resourceUsage().maxRSS), baseRssMiB, result }) + '\n');
}

main().catch((err) => {
  process.stderr.write(String(err instanceof Error ? err.stack : err) + '\n');
  process.exitCode = 1;
});
