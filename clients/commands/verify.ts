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
import { CliError, ExitCode, parse, type Command, type CommandContext } from '../cli';
import { withClient } from '../connection';
import { configOf, vaultArg } from '../vaults';
import { findVault } from '../../config/load';
import { readCatalog } from '../../activities/catalog';
import { vaultHistory } from '../../activities/history';
import { parseAlgo, requireDir } from './manifest';

export const verifyCommand: Command = {
  summary: 'check a tree against a manifest, or a locked copy against the root in Temporal history (exit 0 match, 1 findings)',
  usage: 'irctl verify DIR MANIFEST [--algo sha256|blake3] [--json] [--concurrency N] | irctl verify --copy ID [--vault VAULT]',
  async run(args, ctx) {
    const { values, positionals } = parse(args, ctx, {
      algo: { type: 'string' },
      concurrency: { type: 'string' },
      copy: { type: 'string' },
      vault: { type: 'string' },
    });
    if (values.copy !== undefined) {
      if (positionals.length) ctx.usageError(`--copy checks a copy of the vault: no DIR or MANIFEST (got '${positionals[0]}')`);
      return verifyCopy(values.copy as string, values.vault as string | undefined, ctx);
    }
    if (values.vault !== undefined) ctx.usageError('--vault goes with --copy ID');
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

/**
 * `--copy ID`: re-hash the locked copy and compare its Merkle root with the one its cycle left in Temporal
 * history — the evidence folder's manifest could have been regenerated from a damaged copy. Differences are
 * named from the evidence manifest when it still has the history's root.
 */
async function verifyCopy(copyId: string, vaultOpt: string | undefined, ctx: CommandContext): Promise<number> {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(copyId)) ctx.usageError(`--copy '${copyId}' is not a copy id (like 20261123T120000Z-1a2b3c4d)`);
  const config = configOf(ctx);
  const candidates = vaultOpt !== undefined ? [vaultArg([vaultOpt], ctx, config).id] : config.vaults.map((v) => v.id);
  // The catalog says which execution; history has the last word (a catalog entry can be removed).
  return withClient(ctx.connection, async (client) => {
    for (const vaultId of candidates) {
      const known = (await readCatalog(config.evidenceDir, vaultId)).flatMap((e) => (e.workflow ? [e.workflow] : []));
      const h = (await vaultHistory(client, vaultId, known)).find((r) => r.copyId === copyId);
      if (!h) continue;
      if (!h.copyManifest) {
        ctx.err(`copy ${copyId} of vault ${vaultId}: its cycle (${h.workflowId} run ${h.runId}) ended ${h.outcome} without a copy manifest in history: nothing to check against`);
        return ExitCode.FAILED;
      }
      const vault = findVault(config, vaultId);
      const tree = path.join(vault.vault.copiesMountPath, copyId);
      ctx.out(`copy ${copyId} of vault ${vaultId}: history root ${h.copyManifest.root} (${h.workflowId} run ${h.runId})`);
      const tmp = await fsp.mkdtemp(path.join(tmpdir(), 'irctl-verify-copy-'));
      try {
        const fresh = path.join(tmp, 'actual');
        const info = existsSync(tree) ? await buildManifest(tree, fresh, { algorithm: h.copyManifest.algorithm as HashAlgorithm }) : null;
        if (info?.root === h.copyManifest.root) {
          ctx.out(`OK: ${info.files} files, ${info.bytes} bytes hash to the root recorded in Temporal history`);
          return ExitCode.OK;
        }
        ctx.out(info ? `FAILED: the copy hashes to ${info.root}, not to the root in history` : `FAILED: the copy ${tree} is gone`);
        const evidence = await readManifestInfo(h.copyManifest.path).catch(() => null);
        if (evidence?.root !== h.copyManifest.root) {
          ctx.out(`the evidence manifest ${h.copyManifest.path} was rewritten too (root ${evidence?.root ?? 'unreadable'}): it cannot name the changed files`);
        } else if (info) {
          const diff = await compareManifests(h.copyManifest.path, fresh);
          for (const f of diff.findings) ctx.out(`${printable(f.path)}: FAILED (${f.class})${f.detail ? ` ${f.detail}` : ''}`);
        }
        return ExitCode.FAILED;
      } finally {
        await fsp.rm(tmp, { recursive: true, force: true });
      }
    }
    throw new CliError(`copy ${copyId} has no cycle result in Temporal history${vaultOpt ? ` of vault ${vaultOpt}` : ''}: it cannot be checked against history`, ExitCode.NOT_FOUND);
  });
}

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
