/**
 * Merkle root of a manifest, computed in one streaming pass with O(log n) state.
 *
 * Definition (SHA-256 whatever the file algorithm, so anyone can recompute it with standard tools):
 *   leaves  = the lines of the entries file (entries.ts, without '\n'), in file order (sorted by entry key)
 *   leaf(x) = sha256_hex("L" + x)                 (UTF-8)
 *   node    = sha256_hex("N" + leftHex + rightHex)
 *   tree    = RFC 6962 shape: for n > 1 leaves, left = the largest power of two < n leaves, right = the rest
 *   root of zero leaves = sha256_hex("")
 * Equal trees give equal roots; any change to a type, path, size or digest changes the root.
 *
 * The streaming form keeps a stack of perfect subtrees (one per set bit of the leaf count) and folds it
 * right to left at the end, which yields exactly the RFC 6962 tree. The stack is small and JSON-serialisable,
 * so it travels in the checkpoint.
 */
import { hash } from 'node:crypto';

const sha256 = (s: string): string => hash('sha256', s, 'hex');

export interface MerkleState {
  count: number;
  /** [height, hex] of perfect subtrees, heights strictly decreasing. */
  stack: Array<[number, string]>;
}

export class MerkleBuilder {
  private count: number;
  private stack: Array<[number, string]>;

  constructor(state?: MerkleState) {
    this.count = state?.count ?? 0;
    this.stack = state ? state.stack.map(([h, d]) => [h, d] as [number, string]) : [];
  }

  addLeaf(line: string): void {
    let node = sha256('L' + line);
    let height = 0;
    while (this.stack.length > 0 && this.stack[this.stack.length - 1][0] === height) {
      node = sha256('N' + this.stack.pop()![1] + node);
      height++;
    }
    this.stack.push([height, node]);
    this.count++;
  }

  root(): string {
    if (this.stack.length === 0) return sha256('');
    let acc = this.stack[this.stack.length - 1][1];
    for (let i = this.stack.length - 2; i >= 0; i--) acc = sha256('N' + this.stack[i][1] + acc);
    return acc;
  }

  state(): MerkleState {
    return { count: this.count, stack: this.stack.map(([h, d]) => [h, d] as [number, string]) };
  }
}

/** Reference (recursive, in-memory) RFC 6962 root, for tests. */
export function merkleRootOf(lines: string[]): string {
  if (lines.length === 0) return sha256('');
  const rec = (lo: number, hi: number): string => {
    if (hi - lo === 1) return sha256('L' + lines[lo]);
    let k = 1;
    while (k * 2 < hi - lo) k *= 2;
    return sha256('N' + rec(lo, lo + k) + rec(lo + k, hi));
  };
  return rec(0, lines.length);
}
