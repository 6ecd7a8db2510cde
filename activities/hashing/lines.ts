/**
 * Fast line reader for large manifests: reads 1 MiB chunks and hands out lines synchronously, awaiting
 * only when a chunk is exhausted (a merge join over two 1M-line files spends its time comparing, not
 * in per-line promises). Lines never contain a raw '\n' (names are escaped).
 */
import { promises as fsp } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';

const CHUNK = 1 << 20;

export class LineReader {
  private fh: fsp.FileHandle | null = null;
  private readonly buf = Buffer.allocUnsafe(CHUNK);
  private readonly decoder = new StringDecoder('utf8');
  private lines: string[] = [];
  private idx = 0;
  private rest = '';
  private eof = false;

  constructor(private readonly file: string) {}

  /** Next line, or null at end of file. Empty lines are skipped. */
  async next(): Promise<string | null> {
    for (;;) {
      while (this.idx < this.lines.length) {
        const line = this.lines[this.idx++];
        if (line.length > 0) return line;
      }
      if (this.eof) return null;
      await this.fill();
    }
  }

  async close(): Promise<void> {
    await this.fh?.close();
    this.fh = null;
  }

  private async fill(): Promise<void> {
    this.fh ??= await fsp.open(this.file, 'r');
    const { bytesRead } = await this.fh.read(this.buf, 0, CHUNK, null);
    let text = this.rest + (bytesRead > 0 ? this.decoder.write(this.buf.subarray(0, bytesRead)) : this.decoder.end());
    if (bytesRead === 0) {
      this.eof = true;
      await this.close();
    } else {
      const cut = text.lastIndexOf('\n');
      this.rest = text.slice(cut + 1);
      text = text.slice(0, cut + 1);
    }
    if (this.eof) this.rest = '';
    this.lines = text.split('\n');
    this.idx = 0;
  }
}
