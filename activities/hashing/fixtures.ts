/**
 * Fixture trees for tests, the bench and the lab: an office-like production tree, the ransomware scenario
 * (files overwritten with random bytes and renamed with a ransomware extension, plus a ransom note), a tree
 * of real compressed archives, and a tree of awkward names.
 */
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { crc32, deflateRawSync, gzipSync } from 'node:zlib';

const WORDS = 'vault backup retention replica ledger invoice customer order shipment payroll audit quarter region server policy report'.split(' ');

/** Deterministic PRNG (mulberry32) so fixtures are reproducible. */
export function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    let x = (s = (s + 0x6d2b79f5) >>> 0);
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

export function textContent(bytes: number, rnd: () => number): Buffer {
  let s = '';
  while (s.length < bytes) s += WORDS[Math.floor(rnd() * WORDS.length)] + (rnd() < 0.1 ? ',' + Math.floor(rnd() * 1e6) + '\n' : ' ');
  return Buffer.from(s.slice(0, bytes));
}

/** An office-like production tree: text, CSV and log files in a few departments (low entropy). */
export async function writeProductionTree(root: string, opts: { files?: number; seed?: number; minBytes?: number; maxBytes?: number } = {}): Promise<string[]> {
  const rnd = prng(opts.seed ?? 1);
  const files = opts.files ?? 60;
  const [min, max] = [opts.minBytes ?? 1024, opts.maxBytes ?? 16 * 1024];
  const exts = ['txt', 'csv', 'log', 'md', 'json'];
  const written: string[] = [];
  for (let i = 0; i < files; i++) {
    const rel = `dept-${i % 4}/${i % 3 === 0 ? 'archive/' : ''}doc-${String(i).padStart(4, '0')}.${exts[i % exts.length]}`;
    await fsp.mkdir(path.dirname(path.join(root, rel)), { recursive: true });
    await fsp.writeFile(path.join(root, rel), textContent(min + Math.floor(rnd() * (max - min)), rnd));
    written.push(rel);
  }
  return written;
}

export const RANSOM_NOTE_TEXT = 'Your files have been encrypted. To recover them, send 1 BTC to ... and contact us.\n';

/**
 * The lab's ransomware scenario: `count` files overwritten with random bytes of the same size and renamed
 * `<name>.<extension>`, and a ransom note at the root (and in each touched directory). Returns the new paths.
 */
export async function applyRansomware(
  root: string,
  victims: string[],
  opts: { count?: number; extension?: string; note?: string } = {},
): Promise<{ encrypted: string[]; notes: string[] }> {
  const extension = opts.extension ?? 'locky';
  const note = opts.note ?? 'README_TO_DECRYPT.txt';
  const encrypted: string[] = [];
  const dirs = new Set<string>(['.']);
  for (const rel of victims.slice(0, opts.count ?? victims.length)) {
    const abs = path.join(root, rel);
    const size = (await fsp.stat(abs)).size;
    await fsp.writeFile(abs, randomBytes(size));
    await fsp.rename(abs, `${abs}.${extension}`);
    encrypted.push(`${rel}.${extension}`);
    dirs.add(path.dirname(rel));
  }
  const notes: string[] = [];
  for (const d of dirs) {
    const rel = d === '.' ? note : `${d}/${note}`;
    await fsp.writeFile(path.join(root, rel), RANSOM_NOTE_TEXT);
    notes.push(rel);
  }
  return { encrypted, notes };
}

/** A minimal valid zip with one deflated member. */
export function zipBytes(name: string, data: Buffer): Buffer {
  const body = deflateRawSync(data);
  const nameBuf = Buffer.from(name);
  const crc = crc32(data);
  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0);
  local.writeUInt16LE(20, 4);
  local.writeUInt16LE(8, 8); // deflate
  local.writeUInt32LE(crc, 14);
  local.writeUInt32LE(body.length, 18);
  local.writeUInt32LE(data.length, 22);
  local.writeUInt16LE(nameBuf.length, 26);
  const central = Buffer.alloc(46);
  central.writeUInt32LE(0x02014b50, 0);
  central.writeUInt16LE(20, 4);
  central.writeUInt16LE(20, 6);
  central.writeUInt16LE(8, 10);
  central.writeUInt32LE(crc, 16);
  central.writeUInt32LE(body.length, 20);
  central.writeUInt32LE(data.length, 24);
  central.writeUInt16LE(nameBuf.length, 28);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(1, 8);
  end.writeUInt16LE(1, 10);
  end.writeUInt32LE(central.length + nameBuf.length, 12);
  end.writeUInt32LE(local.length + nameBuf.length + body.length, 16);
  return Buffer.concat([local, nameBuf, body, central, nameBuf, end]);
}

/** A tree of compressed archives and media (naturally high-entropy, valid magic numbers). */
export async function writeArchiveTree(root: string, opts: { files?: number; seed?: number } = {}): Promise<string[]> {
  const rnd = prng(opts.seed ?? 7);
  const written: string[] = [];
  for (let i = 0; i < (opts.files ?? 40); i++) {
    const inner = Buffer.concat([textContent(4096 + Math.floor(rnd() * 60000), rnd), randomBytes(2048)]);
    let rel: string;
    let data: Buffer;
    switch (i % 4) {
      case 0:
        [rel, data] = [`backups/set-${i}.tar.gz`, gzipSync(inner)];
        break;
      case 1:
        [rel, data] = [`exports/export-${i}.zip`, zipBytes(`export-${i}.csv`, inner)];
        break;
      case 2:
        [rel, data] = [`media/photo-${i}.jpg`, Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 16, 0x4a, 0x46, 0x49, 0x46, 0]), randomBytes(8192 + i * 100)])];
        break;
      default:
        [rel, data] = [`backups/db-${i}.sql.gz`, gzipSync(inner, { level: 9 })];
    }
    await fsp.mkdir(path.dirname(path.join(root, rel)), { recursive: true });
    await fsp.writeFile(path.join(root, rel), data);
    written.push(rel);
  }
  return written;
}

/** Names that break naive manifests: spaces, newline, CR, backslash, unicode (BMP and astral), a leading dash. */
export const AWKWARD_NAMES: readonly string[] = [
  'plain.txt',
  'with space.txt',
  'new\nline.txt',
  'back\\slash.txt',
  'both\\and\nnewline',
  'carriage\rreturn.txt',
  'ünïcødé-Ωmega.txt',
  'emoji-😀.bin',
  'cjk-漢字.txt',
  '-leading-dash',
  'trailing space ',
  'sub dir/inner\\name.txt',
  'sub dir/deeper/x',
];

export async function writeAwkwardTree(root: string): Promise<string[]> {
  for (const [i, rel] of AWKWARD_NAMES.entries()) {
    await fsp.mkdir(path.dirname(path.join(root, rel)), { recursive: true });
    await fsp.writeFile(path.join(root, rel), `content ${i} of ${JSON.stringify(rel)}\n`);
  }
  await fsp.writeFile(path.join(root, 'empty'), '');
  await fsp.symlink('plain.txt', path.join(root, 'link-to-plain'));
  await fsp.mkdir(path.join(root, 'empty dir'));
  return [...AWKWARD_NAMES, 'empty'];
}
