/**
 * Indicators for the ransomware analytics: ransom-note names, extensions ransomware appends, magic numbers
 * of common formats, and the types that are naturally high-entropy. Lists are curated to stay quiet on
 * ordinary data: extensions that legitimate software or ordinary words also use (.enc, .vault, .java,
 * .wallet, .play, .stop) are left out; the configuration can add more.
 */
import { baseName, extensionOf } from './paths';

/** Extensions appended by well-known ransomware families (lower case, no dot). */
export const RANSOMWARE_EXTENSIONS: readonly string[] = [
  'locky', 'zepto', 'odin', 'thor', 'aesir', 'zzzzz', 'osiris', 'lukitus', 'diablo6', 'asasin', 'ykcol',
  'wncry', 'wnry', 'wcry', 'wncryt',
  'encrypted', 'crypted', 'crypt', 'cryp1', 'crypz', 'cryptolocker', 'locked', 'encrypt', 'enciphered',
  'cerber', 'cerber2', 'cerber3', 'ctbl', 'ctb2', 'ecc', 'ezz', 'exx', 'vvv', 'ccc', 'ttt',
  'r5a', 'kraken', 'darkness', 'nochance', 'oshit', 'xtbl', 'crinf', 'dharma', 'harma',
  'ryk', 'ryuk', 'conti', 'lockbit', 'lockbit3', 'akira', 'djvu', 'petya', 'phobos', 'makop', 'sodinokibi',
  'revil', 'egregor', 'babuk', 'blackcat', 'rhysida', 'clop', 'cl0p', 'avoslocker', 'mallox', 'lockfile',
  'gandcrab', 'krab', 'rrk', 'pumax',
];

/** Exact ransom-note file names (lower case) seen across families. */
export const RANSOM_NOTE_NAMES: readonly string[] = [
  'readme_to_decrypt.txt', 'how_to_recover_files.txt', 'how_to_decrypt.txt', 'how_to_decrypt_files.txt',
  'decrypt_instructions.txt', 'decrypt_instructions.html', 'help_decrypt.html', 'help_decrypt.txt',
  'help_to_decrypt.txt', 'help_recover_files.txt', 'recovery_key.txt', '_readme.txt', '!readme!.txt',
  '@please_read_me@.txt', '@wanadecryptor@.exe', '@wanadecryptor@.bmp', '_help_instructions.html',
  '_locky_recover_instructions.txt', '#decrypt_my_files#.txt', 'restore_files.txt', 'readme.hta',
  'readme-warning.txt', 'restore-my-files.txt', 'read_me_now.txt', 'ryukreadme.txt', 'readme_for_decrypt.txt',
  'info.hta', 'files encrypted.txt', 'how to back files.html', 'your_files_are_encrypted.txt',
  'readme.lockbit.txt', 'akira_readme.txt', 'hive_how_to_decrypt.txt',
];

/** Patterns for the many variants (numbered, with ids): they require both a "how/help/read" and a "decrypt/recover/restore/encrypted" word. */
export const RANSOM_NOTE_PATTERNS: readonly RegExp[] = [
  /^[_!#@\-\s]*(read[_\-\s]?me|how[_\-\s]?to|help|instructions?|attention|warning)[^/]*(decrypt|recover|restore|encrypt|unlock|ransom)[^/]*\.(txt|html?|hta|rtf|url|png|bmp)$/i,
  /^[_!#@\-\s]*(decrypt|recover|restore)[_\-\s]?(my|your|all)?[_\-\s]?(files|data|instructions?)[^/]*\.(txt|html?|hta|rtf)$/i,
];

export function isRansomNote(relPath: string, extraNames: readonly string[] = []): boolean {
  const name = baseName(relPath).toLowerCase();
  return RANSOM_NOTE_NAMES.includes(name) || extraNames.some((n) => n.toLowerCase() === name) || RANSOM_NOTE_PATTERNS.some((p) => p.test(name));
}

export function ransomExtension(relPath: string, extra: readonly string[] = []): string | null {
  const ext = extensionOf(relPath);
  return ext && (RANSOMWARE_EXTENSIONS.includes(ext) || extra.includes(ext)) ? ext : null;
}

/** Types whose content is high-entropy by nature: archives, media, office zips, encrypted backups. */
export const DEFAULT_HIGH_ENTROPY_EXTENSIONS: readonly string[] = [
  'zip', 'gz', 'tgz', 'bz2', 'tbz2', 'xz', 'txz', 'zst', 'lz4', 'lzma', 'lz', '7z', 'rar', 'cab', 'z', 'br', 'jar', 'war', 'apk',
  'jpg', 'jpeg', 'png', 'gif', 'webp', 'heic', 'avif', 'tif', 'tiff',
  'mp3', 'mp4', 'm4a', 'm4v', 'aac', 'ogg', 'opus', 'flac', 'mkv', 'mov', 'avi', 'webm', 'wmv',
  'pdf', 'docx', 'xlsx', 'pptx', 'odt', 'ods', 'odp', 'epub',
  'gpg', 'pgp', 'asc', 'age', 'kdbx', 'p12', 'pfx', 'vbk', 'vib', 'vrb', 'dar', 'bkf', 'tib', 'vhdx', 'iso', 'dmg', 'squashfs',
];

interface Magic {
  format: string;
  offset: number;
  bytes: number[];
}

const MAGICS: readonly Magic[] = [
  { format: 'zip', offset: 0, bytes: [0x50, 0x4b, 0x03, 0x04] },
  { format: 'zip', offset: 0, bytes: [0x50, 0x4b, 0x05, 0x06] }, // empty zip
  { format: 'gzip', offset: 0, bytes: [0x1f, 0x8b] },
  { format: 'bzip2', offset: 0, bytes: [0x42, 0x5a, 0x68] },
  { format: 'xz', offset: 0, bytes: [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00] },
  { format: 'zstd', offset: 0, bytes: [0x28, 0xb5, 0x2f, 0xfd] },
  { format: 'lz4', offset: 0, bytes: [0x04, 0x22, 0x4d, 0x18] },
  { format: '7z', offset: 0, bytes: [0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c] },
  { format: 'rar', offset: 0, bytes: [0x52, 0x61, 0x72, 0x21, 0x1a, 0x07] },
  { format: 'pdf', offset: 0, bytes: [0x25, 0x50, 0x44, 0x46, 0x2d] },
  { format: 'png', offset: 0, bytes: [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a] },
  { format: 'jpeg', offset: 0, bytes: [0xff, 0xd8, 0xff] },
  { format: 'gif', offset: 0, bytes: [0x47, 0x49, 0x46, 0x38] },
  { format: 'webp', offset: 8, bytes: [0x57, 0x45, 0x42, 0x50] },
  { format: 'tiff', offset: 0, bytes: [0x49, 0x49, 0x2a, 0x00] },
  { format: 'tiff', offset: 0, bytes: [0x4d, 0x4d, 0x00, 0x2a] },
  { format: 'isobmff', offset: 4, bytes: [0x66, 0x74, 0x79, 0x70] }, // mp4, mov, m4a, heic, avif
  { format: 'mp3', offset: 0, bytes: [0x49, 0x44, 0x33] },
  { format: 'ogg', offset: 0, bytes: [0x4f, 0x67, 0x67, 0x53] },
  { format: 'flac', offset: 0, bytes: [0x66, 0x4c, 0x61, 0x43] },
  { format: 'ebml', offset: 0, bytes: [0x1a, 0x45, 0xdf, 0xa3] }, // mkv, webm
  { format: 'riff', offset: 0, bytes: [0x52, 0x49, 0x46, 0x46] }, // avi, wav, webp
  { format: 'ole', offset: 0, bytes: [0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1] }, // doc, xls, ppt, msi
  { format: 'sqlite', offset: 0, bytes: [0x53, 0x51, 0x4c, 0x69, 0x74, 0x65, 0x20, 0x66] },
  { format: 'elf', offset: 0, bytes: [0x7f, 0x45, 0x4c, 0x46] },
  { format: 'pe', offset: 0, bytes: [0x4d, 0x5a] },
  { format: 'kdbx', offset: 0, bytes: [0x03, 0xd9, 0xa2, 0x9a] },
  { format: 'age', offset: 0, bytes: [0x61, 0x67, 0x65, 0x2d, 0x65, 0x6e, 0x63] },
];

/** Extension → formats its content must start with. Only types with a reliable magic are listed. */
const EXPECTED_FORMATS: Record<string, readonly string[]> = {
  zip: ['zip'], jar: ['zip'], war: ['zip'], apk: ['zip'], docx: ['zip'], xlsx: ['zip'], pptx: ['zip'], odt: ['zip'], ods: ['zip'], odp: ['zip'], epub: ['zip'],
  gz: ['gzip'], tgz: ['gzip'], bz2: ['bzip2'], tbz2: ['bzip2'], xz: ['xz'], txz: ['xz'], zst: ['zstd'], lz4: ['lz4'], '7z': ['7z'], rar: ['rar'],
  pdf: ['pdf'], png: ['png'], jpg: ['jpeg'], jpeg: ['jpeg'], gif: ['gif'], webp: ['webp', 'riff'], tif: ['tiff'], tiff: ['tiff'],
  mp4: ['isobmff'], m4a: ['isobmff'], m4v: ['isobmff'], mov: ['isobmff'], heic: ['isobmff'], avif: ['isobmff'],
  ogg: ['ogg'], opus: ['ogg'], flac: ['flac'], mkv: ['ebml'], webm: ['ebml'], avi: ['riff'], wav: ['riff'],
  doc: ['ole'], xls: ['ole'], ppt: ['ole'], msi: ['ole'], sqlite: ['sqlite'], sqlite3: ['sqlite'], kdbx: ['kdbx'], exe: ['pe'], dll: ['pe'],
};

export function detectFormat(head: Uint8Array): string | null {
  for (const m of MAGICS) {
    if (head.length < m.offset + m.bytes.length) continue;
    if (m.bytes.every((b, i) => head[m.offset + i] === b)) return m.format;
  }
  return null;
}

/**
 * A contradiction worth reporting: the extension promises a format with a reliable magic number and the
 * content starts with no known format at all (mislabelled-but-valid files, e.g. a PNG named .jpg, are not
 * flagged: that is sloppiness, not encryption). Returns the expected formats, or null when consistent.
 */
export function magicContradiction(relPath: string, head: Uint8Array): string | null {
  const expected = EXPECTED_FORMATS[extensionOf(relPath)];
  if (!expected || head.length === 0) return null;
  return detectFormat(head) ? null : expected.join('|');
}
