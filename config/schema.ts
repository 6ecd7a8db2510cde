/**
 * The vault configuration (zod). Secrets are references (an environment variable or a file), never
 * values: the config is loaded by workers, and nothing from it but ids and policy numbers reaches history.
 */
import { z } from 'zod';
import { analyticsThresholdsSchema } from '../activities/hashing/analytics';

const duration = z
  .union([z.number().positive(), z.string().regex(/^\d+(\.\d+)?\s*(ms|s|m|h|d)$/, 'a duration like 90s, 30m, 12h or 7d')])
  .transform((v) => (typeof v === 'number' ? v : parseDuration(v)));

export function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)$/.exec(text.trim());
  if (!m) throw new Error(`not a duration: ${text}`);
  const n = Number(m[1]);
  return n * { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400 }[m[2] as 'ms' | 's' | 'm' | 'h' | 'd'];
}

export const secretRef = z.union(
  [z.strictObject({ env: z.string().min(1) }), z.strictObject({ file: z.string().min(1) })],
  { error: 'a secret reference: {env: VAR_NAME} or {file: /path/to/file}; secrets are never written inline' },
);
export type SecretRef = z.infer<typeof secretRef>;

export const hostKeyPin = z.union(
  [
    z.strictObject({ fingerprint: z.string().regex(/^SHA256:[A-Za-z0-9+/]{43}$/, 'an OpenSSH fingerprint like SHA256:abc… (ssh-keygen -lf)') }),
    z.strictObject({ knownHostsFile: z.string().min(1) }),
  ],
  { error: 'a pinned host key: {fingerprint: "SHA256:…"} or {knownHostsFile: path}' },
);

const sshEndpoint = {
  host: z.string().min(1),
  port: z.number().int().min(1).max(65535).default(22),
  username: z.string().min(1),
  password: secretRef,
  hostKey: hostKeyPin,
};

export const switchSchema = z.strictObject({
  ...sshEndpoint,
  platform: z.enum(['cisco-ios', 'cisco-nxos', 'arista-eos', 'junos']),
  enableSecret: secretRef.optional(),
  ports: z.array(z.string().min(1)).min(1, 'list at least one vault replication port'),
  saveConfig: z.boolean().default(false),
});

/**
 * What cuts the air gap (activities/link-controllers.ts): the vault switch's ports, or the vault Data Domain's
 * own replication interface (`net disable|enable <if>`, the way Dell's vault software cuts its gap).
 */
export const linkSchema = z.discriminatedUnion('controller', [
  z.strictObject({ controller: z.literal('switch') }),
  z.strictObject({
    controller: z.literal('dd-interface'),
    interface: z.string().regex(/^[A-Za-z][\w.:-]{0,31}$/, 'a DD interface name like ethV1 (see `net show settings`)'),
  }),
]);
export const LINK_CONTROLLERS = ['switch', 'dd-interface'] as const;

export const dataDomainSchema = z.strictObject({
  ...sshEndpoint,
  label: z.string().optional(),
});

/**
 * When a vault's cycles (or, later, drills) run: a Temporal schedule reconciled by `irctl schedule apply`.
 * Exactly one of `every` (an interval, optionally shifted by `offset`) or `cron` (one or more cron lines).
 */
export const scheduleSchema = z
  .strictObject({
    every: duration.optional(),
    offset: duration.optional(),
    cron: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).optional(),
    timezone: z.string().optional(),
    // Each start is delayed by a random amount up to this: window openings an attacker cannot predict.
    jitter: duration.default(0),
    catchupWindow: duration.default(600),
    pauseOnFailure: z.boolean().default(true),
    notes: z.string().optional(),
  })
  .refine((s) => (s.every === undefined) !== (s.cron === undefined), { error: 'give exactly one of every (an interval like 12h) or cron (like "0 2 * * *")' })
  .refine((s) => s.offset === undefined || s.every !== undefined, { error: 'offset applies to every; with cron write the time in the cron line', path: ['offset'] })
  .refine((s) => s.every === undefined || s.offset === undefined || s.offset < s.every, { error: 'offset must be shorter than every', path: ['offset'] });
export type ScheduleConfig = z.infer<typeof scheduleSchema>;

export const vaultSchema = z.strictObject({
  id: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'lowercase letters, digits and dashes'),
  description: z.string().optional(),
  link: linkSchema.default({ controller: 'switch' }),
  switch: switchSchema.optional(),
  source: z.strictObject({
    dd: dataDomainSchema,
    mtree: z.string().startsWith('/data/col1/'),
    mountPath: z.string().min(1), // where the worker sees the source MTree (NFS mount)
  }),
  vault: z.strictObject({
    dd: dataDomainSchema,
    replicaMtree: z.string().startsWith('/data/col1/'),
    replicaMountPath: z.string().min(1),
    copiesMtree: z.string().startsWith('/data/col1/'), // retention-lock MTree where copies land
    copiesMountPath: z.string().min(1),
  }),
  replication: z.strictObject({
    contexts: z.array(z.string().regex(/^mtree:\/\/[^/]+\/data\/col1\/.+/, 'an MTree replication destination like mtree://vault-dd/data/col1/x')).min(1),
  }),
  policy: z
    .strictObject({
      retention: duration.default(7 * 86400),
      maxOpen: duration.default(4 * 3600),
      pollInterval: duration.default(10),
      stall: duration.default(15 * 60),
      linkUpTimeout: duration.default(120),
      algorithm: z.enum(['sha256', 'blake3']).default('sha256'),
    })
    .prefault({}),
  // Scrubbing of locked copies (workflows/scrub.ts): every copy re-hashed at least once per `period`, the scrub
  // running every `interval`, reading at most `maxBytesPerSecond` so cycles keep their speed.
  scrub: z
    .strictObject({
      period: duration.default(7 * 86400),
      interval: duration.default(86400),
      maxBytesPerSecond: z.number().positive().default(50 * 1024 * 1024),
      // true: `irctl schedule apply` runs the scrub every `interval` (a Temporal schedule, kind scrub).
      schedule: z.boolean().default(false),
    })
    .refine((s) => s.interval <= s.period, { message: 'scrub.interval must not be longer than scrub.period (every copy is covered within a period)' })
    .prefault({}),
  // Ransomware analytics thresholds; every field optional over the defaults (activities/hashing/analytics.ts).
  analytics: analyticsThresholdsSchema.optional(),
  // The cycle's schedule, and the recovery point objective it must meet (irctl schedule apply checks it).
  schedule: scheduleSchema.optional(),
  rpo: duration.optional(),
}).superRefine((v, ctx) => {
  if (v.link.controller === 'switch' && !v.switch) {
    ctx.addIssue({ code: 'custom', path: ['switch'], message: 'the link controller is the switch (link.controller: switch, the default): describe the vault switch here, or set link: {controller: dd-interface, interface: <if>}' });
  }
});

export const configSchema = z.strictObject({
  evidenceDir: z.string().min(1).default('.evidence'),
  vaults: z.array(vaultSchema).min(1, 'define at least one vault'),
});

export type VaultConfig = z.infer<typeof vaultSchema>;
export type Config = z.infer<typeof configSchema>;
