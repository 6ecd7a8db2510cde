/** `irctl manifest DIR [--algo sha256|blake3] [-o FILE]`: write a manifest of a tree (GNU format + header + entries). */
import { statSync } from 'node:fs';
import { buildManifest, type HashAlgorithm } from '../../activities/hashing';
import { parse, type Command, type CommandContext } from '../cli';

export const manifestCommand: Command = {
  summary: 'write a manifest (sha256sum/b3sum format + Merkle root header) of a tree',
  usage: 'irctl manifest DIR [--algo sha256|blake3] [-o FILE] [--concurrency N] [--json]',
  async run(args, ctx) {
    const { values, positionals } = parse(args, ctx, {
      algo: { type: 'string', default: 'sha256' },
      output: { type: 'string', short: 'o' },
      concurrency: { type: 'string' },
    });
    if (positionals.length !== 1) ctx.usageError(positionals.length === 0 ? 'missing DIR' : `unexpected argument '${positionals[1]}'`);
    const dir = requireDir(positionals[0], ctx);
    const algorithm = parseAlgo(values.algo as string, ctx);
    const concurrency = values.concurrency === undefined ? undefined : parsePositiveInt(values.concurrency as string, '--concurrency', ctx);
    const out = (values.output as string | undefined) ?? (algorithm === 'blake3' ? 'B3SUMS' : 'SHA256SUMS');
    const started = Date.now();
    const info = await buildManifest(dir, out, { algorithm, concurrency });
    const seconds = (Date.now() - started) / 1000;
    if (ctx.json) {
      ctx.out(JSON.stringify(info, null, 2));
    } else {
      ctx.out(`${info.manifestPath}: ${info.files} files, ${info.dirs} dirs, ${info.symlinks} symlinks, ${info.bytes} bytes in ${seconds.toFixed(2)} s`);
      ctx.out(`${info.algorithm} merkle root ${info.root}`);
      if (info.errors > 0) ctx.err(`warning: ${info.errors} entries could not be read (see ${info.entriesPath})`);
    }
    return 0;
  },
};

export { parse } from '../cli';

export function parseAlgo(value: string, ctx: CommandContext): HashAlgorithm {
  if (value === 'sha256' || value === 'blake3') return value;
  return ctx.usageError(`--algo must be sha256 or blake3, not '${value}'`);
}

export function requireDir(value: string, ctx: CommandContext): string {
  try {
    if (statSync(value).isDirectory()) return value;
  } catch {
    return ctx.usageError(`DIR '${value}' does not exist`);
  }
  return ctx.usageError(`DIR '${value}' is not a directory`);
}

function parsePositiveInt(value: string, name: string, ctx: CommandContext): number {
  const n = Number(value);
  return Number.isInteger(n) && n > 0 ? n : ctx.usageError(`${name} must be a positive integer, not '${value}'`);
}
