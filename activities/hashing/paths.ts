/**
 * Path order and escaping shared by the walker, the manifest writers and the compare readers.
 *
 * Order: entries are keyed by their relative path ('/'-separated, no leading './') and ordered component by
 * component, names by Unicode code point (= UTF-8 byte order). That is plain string order with '/' ranked
 * below every other character, so a depth-first walk that sorts each directory emits the whole tree already
 * sorted ("a" < "a/x" < "a-b"), and a file and a directory of the same name share one key, which is what
 * lets compare report type-differs. Sorted manifests make compare a streaming merge join.
 */

/** Path order: '/' lowest, then code point order (UTF-16 `<` differs from it only around surrogates). */
export function compareKeys(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    if (x === 0x2f) return -1;
    if (y === 0x2f) return 1;
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
  return relPath.slice(relPath.lastIndexOf('/') + 1);
}
