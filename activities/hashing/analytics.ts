/**
 * Ransomware analytics of a copy: verdict `clean` / `suspect`, with reasons, scores and findings.
 *
 * One streaming pass over the current manifest (merge-joined with the previous one when given) counts
 * changes and checks every name (ransom notes, ransomware extensions); a bounded reservoir sample of the
 * changed files is then read from the tree for entropy and magic numbers. Naturally high-entropy types
 * (archives, media, encrypted backups) are allowed by extension, and their magic numbers are still checked,
 * so encrypting a .zip in place does not hide behind the allow-list.
 */
import * as path from 'node:path';
import { analyticsThresholdsSchema } from '../../config/analytics';
import { classifyChange, mergeJoin, openEntries, type EntrySource } from './compare';
import type { Entry } from './entries';
import { sampleFile, type FileSample } from './entropy';
import { FindingCollector } from './findings';
import { extensionOf } from './paths';
import { DEFAULT_HIGH_ENTROPY_EXTENSIONS, isRansomNote, magicContradiction, ransomExtension } from './signatures';
import type { Finding } from './types';

export interface AnalyticsThresholds {
  /** Share of the previous copy's files added, modified or deleted above which the copy is suspect. */
  changeRateSuspect: number;
  /** Suspect when the change rate exceeds this multiple of the vault's baseline mean... */
  baselineFactor: number;
  /** ...and is at least this rate (1% → 5% is worth a look; 0.01% → 0.05% is not). */
  baselineMinChangeRate: number;
  /** A sampled block at or above this (Miller–Madow corrected) entropy looks encrypted. */
  entropyBitsPerByte: number;
  /** Suspect when this share of the sampled changed files (allowed types excluded) looks encrypted. */
  highEntropyShareSuspect: number;
  /** Fewer entropy samples than this are not enough to judge a share. */
  minEntropySamples: number;
  /** Files smaller than this are not judged by entropy (too few bytes to tell). */
  minEntropyBytes: number;
  /** Extensions (no dot, lower case) whose content is naturally high-entropy. */
  allowHighEntropyExtensions: string[];
  /** Bytes read per sampled file (head, middle and tail blocks). */
  sampleBytes: number;
  /** Changed files sampled for entropy and magic numbers (reservoir sample). */
  maxSampledFiles: number;
  /** Ransom notes / ransomware-extension files / magic contradictions that make a copy suspect. */
  ransomNoteSuspect: number;
  ransomExtensionSuspect: number;
  magicMismatchSuspect: number;
  /** Added to the built-in lists in signatures.ts. */
  extraRansomExtensions: string[];
  extraRansomNoteNames: string[];
}

export const defaultThresholds: AnalyticsThresholds = {
  changeRateSuspect: 0.3,
  baselineFactor: 4,
  baselineMinChangeRate: 0.05,
  entropyBitsPerByte: 7.5,
  highEntropyShareSuspect: 0.4,
  minEntropySamples: 3,
  minEntropyBytes: 256,
  allowHighEntropyExtensions: [...DEFAULT_HIGH_ENTROPY_EXTENSIONS],
  sampleBytes: 48 * 1024,
  maxSampledFiles: 200,
  ransomNoteSuspect: 1,
  ransomExtensionSuspect: 1,
  magicMismatchSuspect: 3,
  extraRansomExtensions: [],
  extraRansomNoteNames: [],
};

export function resolveThresholds(t: Partial<AnalyticsThresholds> = {}): AnalyticsThresholds {
  return { ...defaultThresholds, ...analyticsThresholdsSchema.parse(t) };
}

export interface Analysis {
  verdict: 'clean' | 'suspect';
  reasons: string[];
  scores: Record<string, number>;
  /** Worst first, capped. */
  findings: Finding[];
}

export interface AnalyzeCopyArgs {
  /** The copy's tree on disk (content is sampled from here). */
  tree: string;
  /** The copy's manifest path. */
  current: string;
  /** The previous copy's manifest path, for the change rate. */
  previous?: string;
  /** The vault's own history of change rates (0..1). */
  baseline?: { changeRates: number[] };
  thresholds?: Partial<AnalyticsThresholds>;
}

export async function analyzeCopy(args: AnalyzeCopyArgs): Promise<Analysis> {
  const t = resolveThresholds(args.thresholds);
  const out = new FindingCollector();
  const current = await openEntries(args.current);
  const extraExts = t.extraRansomExtensions;
  const tally = { files: 0, previousFiles: 0, added: 0, modified: 0, deleted: 0, notes: 0, ransomExts: 0 };
  const extsSeen = new Set<string>();
  const reservoir = new Reservoir<Entry>(t.maxSampledFiles, seedOf(current.info?.root ?? args.current));

  const visit = (p: Entry | undefined, c: Entry | undefined) => {
    const prevFile = p?.type === 'f' ? p : undefined;
    const curFile = c?.type === 'f' ? c : undefined;
    if (prevFile) tally.previousFiles++;
    if (curFile) {
      tally.files++;
      if (isRansomNote(curFile.path, t.extraRansomNoteNames)) {
        tally.notes++;
        out.add({ class: 'ransom-note', path: curFile.path, severity: 'critical', detail: 'known ransom-note name' });
      }
      const ext = ransomExtension(curFile.path, extraExts);
      if (ext) {
        tally.ransomExts++;
        extsSeen.add(ext);
        out.add({ class: 'ransomware-extension', path: curFile.path, severity: 'critical', detail: `.${ext}` });
      }
    }
    if (!prevFile && !curFile) return;
    if (!args.previous) return reservoir.offer(curFile!);
    const change = classifyChange(prevFile, curFile);
    if (!change) return;
    tally[change.class]++;
    if (curFile) reservoir.offer(curFile);
  };

  if (args.previous) {
    await mergeJoin(await openEntries(args.previous), current, visit);
  } else {
    await drain(current, (c) => visit(undefined, c));
  }

  const samples = await sampleAll(args.tree, reservoir.items(), t);
  const reasons: string[] = [];
  const scores: Record<string, number> = {
    files: tally.files,
    ransomNotes: tally.notes,
    ransomExtensions: tally.ransomExts,
  };

  if (tally.notes >= t.ransomNoteSuspect) reasons.push(`ransom note${tally.notes > 1 ? 's' : ''} present (${tally.notes} file${tally.notes > 1 ? 's' : ''})`);
  if (tally.ransomExts >= t.ransomExtensionSuspect) {
    reasons.push(`${tally.ransomExts} file${tally.ransomExts > 1 ? 's' : ''} with ransomware extensions (${[...extsSeen].map((e) => '.' + e).join(', ')})`);
  }

  if (args.previous) {
    const changed = tally.added + tally.modified + tally.deleted;
    const rate = changed / Math.max(1, tally.previousFiles);
    Object.assign(scores, { previousFiles: tally.previousFiles, added: tally.added, modified: tally.modified, deleted: tally.deleted, changeRate: round(rate) });
    if (rate > t.changeRateSuspect) {
      reasons.push(`change rate ${pct(rate)} of files vs the previous copy exceeds ${pct(t.changeRateSuspect)}`);
      out.add({ class: 'change-rate', path: '.', severity: 'high', detail: `${changed} of ${tally.previousFiles} files changed` });
    }
    const history = (args.baseline?.changeRates ?? []).filter((r) => Number.isFinite(r) && r >= 0);
    if (history.length > 0) {
      const mean = history.reduce((a, b) => a + b, 0) / history.length;
      const ratio = mean > 0 ? rate / mean : rate > 0 ? Infinity : 1;
      Object.assign(scores, { baselineMean: round(mean), baselineRatio: Number.isFinite(ratio) ? round(ratio) : 999 });
      if (ratio > t.baselineFactor && rate >= t.baselineMinChangeRate) {
        reasons.push(`change rate ${pct(rate)} is ${Number.isFinite(ratio) ? ratio.toFixed(1) + '×' : 'far above'} the vault's baseline ${pct(mean)}`);
        out.add({ class: 'change-rate-baseline', path: '.', severity: 'high', detail: `baseline mean ${pct(mean)} over ${history.length} copies` });
      }
    }
  }

  // Content of sampled changed files.
  let judged = 0;
  let high = 0;
  let mismatches = 0;
  let entropySum = 0;
  for (const { entry, sample } of samples) {
    const expected = magicContradiction(entry.path, sample.head);
    if (expected) {
      mismatches++;
      out.add({ class: 'magic-mismatch', path: entry.path, severity: 'high', detail: `.${extensionOf(entry.path)} but content is not ${expected}` });
    }
    if (t.allowHighEntropyExtensions.includes(extensionOf(entry.path)) || sample.bytesRead < t.minEntropyBytes) continue;
    judged++;
    entropySum += sample.maxEntropy;
    if (sample.maxEntropy >= t.entropyBitsPerByte) {
      high++;
      out.add({ class: 'high-entropy', path: entry.path, severity: 'medium', detail: `${sample.maxEntropy.toFixed(2)} bits/byte` });
    }
  }
  const highShare = judged > 0 ? high / judged : 0;
  Object.assign(scores, {
    sampledFiles: samples.length,
    entropyJudged: judged,
    highEntropyFiles: high,
    highEntropyShare: round(highShare),
    meanEntropy: judged > 0 ? round(entropySum / judged) : 0,
    magicMismatches: mismatches,
  });
  if (judged >= t.minEntropySamples && highShare >= t.highEntropyShareSuspect) {
    reasons.push(`${high} of ${judged} sampled changed files look encrypted (entropy ≥ ${t.entropyBitsPerByte} bits/byte)`);
  }
  if (mismatches >= t.magicMismatchSuspect) reasons.push(`${mismatches} sampled files whose content contradicts their extension`);

  return { verdict: reasons.length > 0 ? 'suspect' : 'clean', reasons, scores, findings: out.findings() };
}

async function drain(src: EntrySource, visit: (e: Entry) => void): Promise<void> {
  try {
    for (let e = await src.next(); e; e = await src.next()) visit(e);
  } finally {
    await src.close();
  }
}

/** Reads the samples a few at a time; files that vanished or cannot be read are skipped. */
async function sampleAll(tree: string, entries: Entry[], t: AnalyticsThresholds): Promise<Array<{ entry: Entry; sample: FileSample }>> {
  const results: Array<{ entry: Entry; sample: FileSample }> = [];
  const sorted = [...entries].sort((a, b) => (a.path < b.path ? -1 : 1));
  let next = 0;
  const lane = async () => {
    while (next < sorted.length) {
      const entry = sorted[next++];
      try {
        results.push({ entry, sample: await sampleFile(path.join(tree, entry.path), t.sampleBytes) });
      } catch {
        // not readable: compare reports it
      }
    }
  };
  await Promise.all(Array.from({ length: 8 }, lane));
  return results.sort((a, b) => (a.entry.path < b.entry.path ? -1 : 1));
}

/** Uniform sample of k items from a stream (Algorithm R), seeded so a re-run samples the same files. */
class Reservoir<T> {
  private readonly buf: T[] = [];
  private seen = 0;
  private state: number;

  constructor(
    private readonly k: number,
    seed: number,
  ) {
    this.state = seed >>> 0;
  }

  offer(item: T): void {
    this.seen++;
    if (this.buf.length < this.k) return void this.buf.push(item);
    const j = Math.floor(this.random() * this.seen);
    if (j < this.k) this.buf[j] = item;
  }

  items(): T[] {
    return this.buf;
  }

  /** mulberry32 */
  private random(): number {
    let x = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  }
}

function seedOf(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}

const round = (x: number) => Math.round(x * 10000) / 10000;
const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
