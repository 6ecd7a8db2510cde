/** Shared types of the validation engine (hashing, manifests, compare, analytics). */

export type HashAlgorithm = 'sha256' | 'blake3';
export const HASH_ALGORITHMS: readonly HashAlgorithm[] = ['sha256', 'blake3'];

export interface HashProgress {
  files: number;
  bytes: number;
  totalFiles?: number;
  totalBytes?: number;
  lastPath?: string;
}

/** Also the JSON header written next to the manifest (`<out>.json`). */
export interface ManifestInfo {
  format: 'ir-manifest/1';
  algorithm: HashAlgorithm;
  /** Merkle root (hex), see merkle.ts for the exact definition. */
  root: string;
  files: number;
  dirs: number;
  symlinks: number;
  /** Total bytes of regular files. */
  bytes: number;
  created: string;
  /** GNU-format manifest (what `sha256sum -c` / `b3sum --check` read). */
  manifestPath: string;
  /** sha256 of the manifest file. */
  manifestDigest: string;
  /** Full sorted listing (files, dirs, symlinks, others, errors), see entries.ts. */
  entriesPath: string;
  /** sha256 of the entries file. */
  entriesDigest: string;
  /** Entries that are neither file, dir nor symlink (fifo, socket, device). */
  others: number;
  /** Entries that could not be read (permission, vanished, ...); they are in the entries file, not the manifest. */
  errors: number;
}

export type Severity = 'critical' | 'high' | 'medium' | 'low' | 'info';
export const SEVERITY_ORDER: readonly Severity[] = ['critical', 'high', 'medium', 'low', 'info'];

export type FindingClass =
  | 'missing'
  | 'extra'
  | 'size-differs'
  | 'content-differs'
  | 'type-differs'
  | 'unreadable'
  | 'added'
  | 'modified'
  | 'deleted';

export interface Finding {
  class: FindingClass | string;
  path: string;
  detail?: string;
  severity: Severity;
}

export interface CompareResult {
  equal: boolean;
  counts: Record<string, number>;
  /** Capped (first 1000 by severity), worst first. */
  findings: Finding[];
  truncated: boolean;
}
