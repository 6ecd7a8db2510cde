/**
 * Manifest files: the GNU-format manifest (`<hex>  <name>`, what `sha256sum -c` and `b3sum --check` read
 * from the tree root), its JSON header (`<manifest>.json`, a ManifestInfo) and readers for both.
 */
import { createHash } from 'node:crypto';
import { createReadStream, promises as fsp } from 'node:fs';
import { z } from 'zod';
import { compareKeys, escapeName, needsEscape, unescapeName, type EscapeStyle } from './paths';
import { HASH_ALGORITHMS, type HashAlgorithm, type ManifestInfo } from './types';
import type { Entry } from './entries';

export const MANIFEST_FORMAT = 'ir-manifest/1';

export const headerPath = (manifestPath: string): string => manifestPath + '.json';
export const entriesPathOf = (manifestPath: string): string => manifestPath + '.entries';

export const escapeStyleFor = (algorithm: HashAlgorithm): EscapeStyle => (algorithm === 'blake3' ? 'b3sum' : 'coreutils');

/** One GNU line (without '\n'), escaped the way the matching tool writes and reads it. */
export function formatGnuLine(digest: string, relPath: string, style: EscapeStyle): string {
  return needsEscape(relPath, style) ? `\\${digest}  ${escapeName(relPath, style)}` : `${digest}  ${relPath}`;
}

/** Parses `<hex>  <name>`, `<hex> *<name>` and the escaped `\<hex>  <name>` forms. */
export function parseGnuLine(line: string): { digest: string; path: string } {
  const escaped = line.startsWith('\\');
  const body = escaped ? line.slice(1) : line;
  const m = /^([0-9a-fA-F]{32,128}) [ *](.*)$/s.exec(body);
  if (!m) throw new Error(`not a checksum line: ${JSON.stringify(line.slice(0, 200))}`);
  const name = escaped ? unescapeName(m[2]) : m[2];
  return { digest: m[1].toLowerCase(), path: name.startsWith('./') ? name.slice(2) : name };
}

/**
 * A foreign GNU manifest (e.g. written by sha256sum or b3sum), loaded and sorted in memory as file entries
 * of unknown size (-1). Ours are read as a stream from the entries file instead.
 */
export async function readGnuManifestEntries(file: string): Promise<Entry[]> {
  const text = await fsp.readFile(file, 'utf8');
  const entries: Entry[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.endsWith('\r') && !raw.startsWith('\\') ? raw.slice(0, -1) : raw;
    if (line.trim() === '' || line.startsWith('#')) continue;
    const { digest, path } = parseGnuLine(line);
    entries.push({ type: 'f', path, size: -1, digest });
  }
  return entries.sort((a, b) => compareKeys(a.path, b.path));
}

export const manifestInfoSchema = z.object({
  format: z.literal(MANIFEST_FORMAT),
  algorithm: z.enum(HASH_ALGORITHMS as [HashAlgorithm, ...HashAlgorithm[]]),
  root: z.string().regex(/^[0-9a-f]{64}$/),
  files: z.number().int().nonnegative(),
  dirs: z.number().int().nonnegative(),
  symlinks: z.number().int().nonnegative(),
  bytes: z.number().nonnegative(),
  created: z.string(),
  manifestPath: z.string(),
  manifestDigest: z.string(),
  entriesPath: z.string(),
  entriesDigest: z.string(),
  others: z.number().int().nonnegative(),
  errors: z.number().int().nonnegative(),
});

export async function readManifestInfo(outPath: string): Promise<ManifestInfo> {
  const raw = await fsp.readFile(headerPath(outPath), 'utf8');
  const parsed = manifestInfoSchema.safeParse(JSON.parse(raw));
  if (!parsed.success) throw new Error(`invalid manifest header ${headerPath(outPath)}: ${parsed.error.message}`);
  return parsed.data;
}

export async function writeManifestInfo(outPath: string, info: ManifestInfo): Promise<void> {
  const tmp = headerPath(outPath) + '.tmp';
  await fsp.writeFile(tmp, JSON.stringify(info, null, 2) + '\n');
  await fsp.rename(tmp, headerPath(outPath));
}

export async function sha256OfFile(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) h.update(chunk as Buffer);
  return h.digest('hex');
}
