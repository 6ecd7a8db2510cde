/**
 * `irctl verify DIR MANIFEST`: re-hash a tree and check it against a manifest, without Temporal.
 * Works with our manifests (header + entries: every compare class, digests of the manifest files checked)
 * and with plain `sha256sum`/`b3sum` files (files only). Exit 0 match, 1 findings, 2 usage error.
 */
import { existsSync, promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { buildManifest, compareManifests, entriesPathOf, headerPath, readManifestInfo, type Finding, type HashAlgorithm } from '../../activities/hashing';
import { sha256OfFile } from '../../activities/hashing/manifest';
import { escapeName, needsEscape } from '../../activities/hashing/paths';
import { parse, type Command } from '../cli';
import { parseAlgo, requireDir } from './manifest';

export const verifyCommand: Command = {
  summary: 'check a tree against a manifest (exit 0 match, 1 findings)',
  usage: 'irctl verify DIR MANIFEST [--algo sha256|blake3] [--json] [--concurrency N]',
  async run(args, ctx) {
    const { values, positionals } = parse(args, ctx, {
      algo: { type: 'string' },
      concurrency: { type: 'string' },
    });
    if (positionals.length < 2) ctx.usageError(positionals.length === 0 ? 'missing DIR and MANIFEST' : 'missing MANIFEST');
    if (positionals.length > 2) ctx.usageError(`unexpected argument '${positionals[2]}'`);
    const dir = requireDir(positionals[0], ctx);
    const manifest = positionals[1];
    if (!existsSync(manifest)) ctx.usageError(`MANIFEST '${manifest}' does not exist`);

    const header = existsSync(headerPath(manifest)) ? await readManifestInfo(manifest) : null;
    const algorithm: HashAlgorithm = values.algo !== undefined ? parseAlgo(values.algo as string, ctx) : (header?.algorithm ?? 'sha256');
    if (header && header.algorithm !== algorithm) ctx.usageError(`--algo ${algorithm} contradicts the manifest header (${header.algorithm})`);

    const findings: Finding[] = [];
    if (header) findings.push(...(await tampering(manifest, header.manifestDigest, header.entriesDigest)));

    const tmp = await fsp.mkdtemp(path.join(tmpdir(), 'irctl-verify-'));
    try {
      const fresh = path.join(tmp, 'actual');
      const concurrency = values.concurrency === undefined ? undefined : Number(values.concurrency);
      await buildManifest(dir, fresh, { algorithm, concurrency, exclude: excludeManifest(dir, manifest) });
      const result = await compareManifests(manifest, fresh);
      findings.push(...result.findings);
      if (ctx.json) {
        ctx.out(JSON.stringify({ ok: findings.length === 0, ...result, findings }, null, 2));
      } else {
        for (const f of findings) ctx.out(`${printable(f.path)}: FAILED (${f.class})${f.detail ? ` ${f.detail}` : ''}`);
        const summary = Object.entries(result.counts).filter(([k]) => k !== 'compared').map(([k, n]) => `${n} ${k}`);
        if (findings.length === 0) ctx.err(`OK: ${result.counts.compared ?? 0} entries match ${manifest}`);
        else ctx.err(`FAILED: ${summary.join(', ') || 'manifest files altered'}${result.truncated ? ' (list truncated)' : ''}`);
      }
      return findings.length === 0 ? 0 : 1;
    } finally {
      await fsp.rm(tmp, { recursive: true, force: true });
    }
  },
};

/** The manifest files must still be what their header says (an edited manifest proves nothing). */
async function tampering(manifest: string, manifestDigest: string, entriesDigest: string): Promise<Finding[]> {
  const out: Finding[] = [];
  if ((await sha256OfFile(manifest)) !== manifestDigest) {
    out.push({ class: 'manifest-altered', path: manifest, severity: 'critical', detail: 'sha256 differs from the header' });
  }
  const entries = entriesPathOf(manifest);
  if (existsSync(entries) && (await sha256OfFile(entries)) !== entriesDigest) {
    out.push({ class: 'manifest-altered', path: entries, severity: 'critical', detail: 'sha256 differs from the header' });
  }
  return out;
}

/** A manifest kept inside the tree it describes is not part of that tree. */
function excludeManifest(dir: string, manifest: string): (rel: string) => boolean {
  const own = new Set<string>();
  for (const f of [manifest, headerPath(manifest), entriesPathOf(manifest)]) {
    const rel = path.relative(path.resolve(dir), path.resolve(f));
    if (!rel.startsWith('..') && !path.isAbsolute(rel)) own.add(rel.split(path.sep).join('/'));
  }
  return (rel) => own.has(rel);
}

/** One line per finding: names with newlines or backslashes are escaped the way sha256sum prints them. */
function printable(p: string): string {
  return needsEscape(p, 'coreutils') ? '\\' + escapeName(p, 'coreutils') : p;
}
