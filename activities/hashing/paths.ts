/**
 * Path order and escaping shared by the walker, the manifest writers and the compare readers.
 *
 * Order: every entry has a sort key, its relative path ('/'-separated, no leading './'), plus a trailing '/'
 * for directories. Keys are ordered by Unicode code point, which is the byte order of their UTF-8 form, so
 * a depth-first walk that sorts each directory by key emits the whole tree already sorted: "a-b" < "a/" <
 * "a/x" because '-' (0x2d) < '/' (0x2f). Sorted manifests let compare be a streaming merge join.
 */

/** Code point order of two strings (UTF-16 `<` differs from UTF-8 byte order only around surrogates). */
export function compareKeys(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    if (x >= 0xd800 && y >= 0xd800) {
      // Surrogates (astral code points) sort after U+E000..U+FFFF in code point order.
      x = x >= 0xe000 ? x - 0x800 : x + 0x2000;
      y = y >= 0xe000 ? y - 0x800 : y + 0x2000;
    }
    return x - y;
  }
  return a.length - b.length;
}

/** Escape style of the manifest flavours. */
export type EscapeStyle = 'coreutils' | 'b3sum';

/**
 * coreutils 9 escapes '\\', '\n' and '\r'; b3sum 1.x escapes '\\' and '\n' only and rejects '\r' escapes
 * (it reads a raw CR fine). A line with any escape starts with '\'. Checked against both tools.
 */
export function needsEscape(name: string, style: EscapeStyle): boolean {
  return name.includes('\\') || name.includes('\n') || (style === 'coreutils' && name.includes('\r'));
}

export function escapeName(name: string, style: EscapeStyle): string {
  let out = name.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
  if (style === 'coreutils') out = out.replace(/\r/g, '\\r');
  return out;
}

/** Inverse of escapeName for either style (also reads the entries file, which always escapes CR). */
export function unescapeName(escaped: string): string {
  if (!escaped.includes('\\')) return escaped;
  return escaped.replace(/\\(.)/gs, (_m, c: string) => {
    switch (c) {
      case '\\':
        return '\\';
      case 'n':
        return '\n';
      case 'r':
        return '\r';
      default:
        throw new Error(`invalid escape \\${c} in manifest name`);
    }
  });
}

/** Lower-cased final extension without the dot ('' when none): 'a/B.TXT' -> 'txt'. */
export function extensionOf(relPath: string): string {
  const base = baseName(relPath);
  const dot = base.lastIndexOf('.');
  return dot <= 0 ? '' : base.slice(dot + 1).toLowerCase();
}

export function baseName(relPath: string): string {
  const p = relPath.endsWith('/') ? relPath.slice(0, -1) : relPath;
  return p.slice(p.lastIndexOf('/') + 1);
}
