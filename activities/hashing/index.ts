/** Validation engine: parallel hashing, manifests, compare, ransomware analytics. */
export type { HashAlgorithm, HashProgress, ManifestInfo, Finding, FindingClass, CompareResult, Severity } from './types';
export { buildManifest, type BuildManifestOptions } from './hasher';
export { readManifestInfo, manifestInfoSchema, headerPath, entriesPathOf, MANIFEST_FORMAT } from './manifest';
export { compareManifests, diffCopies } from './compare';
export { analyzeCopy, defaultThresholds, resolveThresholds, type AnalyticsThresholds, type Analysis, type AnalyzeCopyArgs } from './analytics';
export { MerkleBuilder, merkleRootOf } from './merkle';
export { shannonEntropy } from './entropy';
