/** The vault's ransomware analytics thresholds as configured (zod). Part of the one vault schema (config/schema.ts). */
import { z } from 'zod';

const share = z.number().min(0).max(1);
const count = z.number().int().min(0);
const extensions = z.array(z.string().transform((e) => e.replace(/^\./, '').toLowerCase()));

/** Every field optional, merged over defaultThresholds (activities/hashing/analytics.ts). */
export const analyticsThresholdsSchema = z
  .object({
    changeRateSuspect: share,
    baselineFactor: z.number().min(1),
    baselineMinChangeRate: share,
    entropyBitsPerByte: z.number().min(0).max(8),
    highEntropyShareSuspect: share,
    minEntropySamples: count,
    minEntropyBytes: count,
    allowHighEntropyExtensions: extensions,
    sampleBytes: z.number().int().min(256).max(16 << 20),
    maxSampledFiles: count,
    ransomNoteSuspect: count.min(1),
    ransomExtensionSuspect: count.min(1),
    magicMismatchSuspect: count.min(1),
    extraRansomExtensions: extensions,
    extraRansomNoteNames: z.array(z.string()),
  })
  .partial()
  .strict();
