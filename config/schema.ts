/**
 * The vault configuration (zod). Secrets are references (an environment variable or a file), never
 * values: the config is loaded by workers, and nothing from it but ids and policy numbers reaches history.
 */
import { z } from 'zod';
import { analyticsThresholdsSchema } from './analytics';
import { applicationSchema, drillSchema } from './drill';
import { PLATFORM_NAMES } from '../vocabulary/switch-platforms';
import { keyFingerprint, parsePublicKeyLine } from '../vocabulary/decision-signature';

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
  platform: z.enum(PLATFORM_NAMES),
  enableSecret: secretRef.optional(),
  ports: z.array(z.string().min(1)).min(1, 'list at least one vault replication port'),
  saveConfig: z.boolean().default(false),
});

/**
 * An appliance's self-signed HTTPS certificate, pinned: its SHA-256 fingerprint (inline, or `{ file }` holding it,
 * read by config/load.ts) and the PEM it matches.
 */
export const tlsPin = z.strictObject({
  fingerprint: z.string().regex(/^SHA256:([0-9A-Fa-f]{2}:){31}[0-9A-Fa-f]{2}$/, 'a certificate fingerprint like SHA256:AB:CD:… (openssl x509 -noout -fingerprint -sha256 -in cert.pem), or { file: path } holding it'),
  caFile: z.string().min(1),
});

const httpsEndpoint = {
  url: z.string().regex(/^https:\/\/[^/]+$/, 'an https:// URL with host and port, no path, e.g. https://dd.example:3009'),
  tls: tlsPin,
  timeout: duration.default(30),
};

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
  /** The DD REST API (port 3009); username and password default to the SSH ones. */
  rest: z.strictObject({ ...httpsEndpoint, username: z.string().min(1).optional(), password: secretRef.optional() }).optional(),
});

/** Backup software whose jobs write the protected data: drained before the gap opens, held while it is open. */
export const backupSchema = z
  .strictObject({
    software: z.enum(['bareos', 'networker']),
    ...httpsEndpoint,
    username: z.string().min(1),
    password: secretRef,
    /** Names of the jobs that write the protected MTree (Bareos job names, NetWorker job/workflow names). */
    protects: z.array(z.string().min(1)).min(1, 'name at least one job that writes the protected data'),
    hold: z.strictObject({
      jobs: z.array(z.string().min(1)).default([]), // Bareos: disable job=
      schedules: z.array(z.string().min(1)).default([]), // Bareos: disable schedule=
      workflows: z.array(z.strictObject({ policy: z.string().min(1), workflow: z.string().min(1) })).default([]), // NetWorker: autoStartEnabled
    }),
    drainTimeout: duration.default(2 * 3600),
    pollInterval: duration.default(10),
    reassertInterval: duration.default(60),
  })
  .superRefine((b, ctx) => {
    if (b.software === 'bareos' && (b.hold.workflows.length || !(b.hold.jobs.length + b.hold.schedules.length))) {
      ctx.addIssue({ code: 'custom', path: ['hold'], message: 'Bareos holds jobs and/or schedules: list hold.jobs or hold.schedules (not hold.workflows)' });
    }
    if (b.software === 'networker' && (b.hold.jobs.length || b.hold.schedules.length || !b.hold.workflows.length)) {
      ctx.addIssue({ code: 'custom', path: ['hold'], message: 'NetWorker holds protection-policy workflows: list hold.workflows [{policy, workflow}] (not jobs or schedules)' });
    }
  });

/**
 * When a person must approve a copy (DECIDE, after VALIDATE, always with the gap closed) and how. The one schema
 * for the config file's `policy.approval` and a run's `--policy '{"approval":{...}}'` override; durations are
 * written like every other duration (90s, 30m, 24h, or seconds as a number) and become seconds.
 */
export const approvalSchema = z
  .strictObject({
    when: z.enum(['suspect', 'always', 'never']).default('suspect'), // suspect: only a suspect verdict waits
    approvers: z.array(z.string().min(1)).min(1, 'list at least one approver, or leave approvers out (anyone may decide)').optional(),
    quorum: z.union([z.literal(1), z.literal(2)], { error: '1, or 2 for the two-person rule' }).default(1),
    timeout: duration.default(24 * 3600), // no decision by then: onTimeout applies
    onTimeout: z.enum(['reject', 'approve']).default('reject'),
    beforeOpen: z.boolean().default(false), // also ask before the gap opens (change windows)
    beforeOpenTimeout: duration.default(3600), // no approval by then: the cycle ends, gap untouched
    // With `operators` configured, approve/reject are signed; abort too unless this says true.
    unsignedAbort: z.boolean().default(false),
    // A signed decision older than this (by its issuedAt) is refused: a signature is not a standing permission.
    signatureMaxAge: duration.default(15 * 60),
  })
  .refine((a) => a.quorum === 1 || !a.approvers || new Set(a.approvers).size >= 2, {
    message: 'quorum 2 needs at least two different approvers',
    path: ['quorum'],
  });
export type ApprovalPolicy = z.output<typeof approvalSchema>;
export type ApprovalInput = z.input<typeof approvalSchema>;

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

/** policy.closeAfter's values; the workflow input (CyclePolicy.closeAfter) takes its type from here. */
export const closeAfterValues = ['converge', 'validate'] as const;
export type CloseAfter = (typeof closeAfterValues)[number];

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
      approval: approvalSchema.prefault({}),
      // converge: close as soon as the data moved (LOCK and VALIDATE isolated); validate: the seeds' order.
      closeAfter: z.enum(closeAfterValues).default('converge'),
    })
    .prefault({}),
  /** How copies are retention-locked: atime over the mount (default) or the DD REST rlfiles call. */
  lock: z.strictObject({ method: z.enum(['atime', 'rest']).default('atime') }).prefault({}),
  // The cycle's hashing (source and copy, over the mounts) reads at most `maxBytesPerSecond`; unset: as fast as
  // the mounts give. For DDs whose NFS reads are shared with backup ingest or restores.
  hashing: z.strictObject({ maxBytesPerSecond: z.number().positive().optional() }).prefault({}),
  backup: backupSchema.optional(),
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
  // The gap sentinel (workflows/sentinel.ts): how often it asks the devices whether the gap is open.
  sentinel: z.strictObject({ period: duration.default(60) }).prefault({}),
  // One operation per vault: a second cycle on a held vault waits for it, or is refused naming the holder.
  hold: z.strictObject({ onBusy: z.enum(['wait', 'refuse']).default('wait') }).prefault({}),
  // The cycle's schedule, and the recovery point objective it must meet (irctl schedule apply checks it).
  schedule: scheduleSchema.optional(),
  rpo: duration.optional(),
  // Business impact analysis and drills (config/drill.ts).
  applications: z.array(applicationSchema).default([]),
  drill: drillSchema.extend({ schedule: scheduleSchema.optional() }).optional(), // `irctl schedule apply` --kind drill
}).superRefine((v, ctx) => {
  if (v.link.controller === 'switch' && !v.switch) {
    ctx.addIssue({ code: 'custom', path: ['switch'], message: 'the link controller is the switch (link.controller: switch, the default): describe the vault switch here, or set link: {controller: dd-interface, interface: <if>}' });
  }
});

/**
 * How workers and irctl reach Temporal (config/temporal.ts); env TEMPORAL_ADDRESS / TEMPORAL_NAMESPACE override.
 * `tls`: mTLS to the frontend, file paths relative to the config file like every other file reference.
 */
export const temporalConnectionFields = {
  address: z.string().regex(/^[^\s:]+:\d{1,5}$/, 'host:port of the Temporal frontend, like 127.0.0.1:7233').optional(),
  namespace: z.string().min(1).optional(),
  tls: z
    .strictObject({
      caFile: z.string().min(1).optional(), // the CA that signed the server's certificate (system roots when left out)
      certFile: z.string().min(1).optional(), // our client certificate (mTLS)
      keyFile: z.string().min(1).optional(),
      serverName: z.string().min(1).optional(), // the name in the server's certificate, when not the address's host
    })
    .refine((t) => Boolean(t.certFile) === Boolean(t.keyFile), { message: 'a client certificate needs both certFile and keyFile', path: ['keyFile'] })
    .optional(),
};

/**
 * Payload encryption (codec/): AES-256-GCM keys in files (32 random bytes, raw or base64, mode 0600; `tsx codec/main.ts
 * keygen --out FILE` writes one). The first key encrypts, every listed key decrypts (rotation: add the new key first,
 * keep the old ones while histories that use them are retained).
 */
export const encryptionSchema = z.strictObject({
  keys: z
    .array(z.strictObject({ id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'a key id like 2026-12 (letters, digits, . _ -)'), file: z.string().min(1) }))
    .min(1, 'list at least one key: [{id: "2026-12", file: keys/2026-12.key}] (the first one encrypts)')
    .refine((keys) => new Set(keys.map((k) => k.id)).size === keys.length, { message: 'key ids must be unique' }),
});

/** The worker's Prometheus endpoint (SDK metrics and the cycle's own); env IR_METRICS_BIND overrides. */
export const metricsSchema = z.strictObject({
  prometheus: z.string().regex(/^[^\s:]+:\d{1,5}$/, 'host:port to serve /metrics on, like 127.0.0.1:9464').optional(),
});

/**
 * Who may decide, with their SSH public keys (`ssh-keygen -Y sign` keys: ed25519 or ecdsa) and roles: `approver`
 * approves or rejects copies, `operator` aborts (and starts cycles and drills), `auditor` reads and verifies
 * evidence. `vaults` limits an operator to those vaults (default: every vault). When operators are listed, the
 * cycle's decisions must be signed (workflows/decide.ts); public keys are not secrets and go into the policy.
 */
export const OPERATOR_ROLES = ['approver', 'operator', 'auditor'] as const;
export type OperatorRole = (typeof OPERATOR_ROLES)[number];

const publicKeyLine = z.string().superRefine((line, ctx) => {
  try {
    parsePublicKeyLine(line);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: `not a usable SSH public key (${(err as Error).message}); paste the .pub file's line, e.g. "ssh-ed25519 AAAA… alice@laptop" (ssh-keygen -t ed25519)` });
  }
});

export const operatorSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/, 'a name like alice or a.smith (letters, digits, . _ @ -)'),
  keys: z.array(publicKeyLine).min(1, 'list at least one SSH public key ("ssh-ed25519 AAAA… alice@laptop")'),
  roles: z
    .array(z.enum(OPERATOR_ROLES, { error: `a role: ${OPERATOR_ROLES.join(', ')}` }))
    .min(1, `give at least one role: ${OPERATOR_ROLES.join(', ')}`),
  vaults: z.array(z.string().min(1)).min(1, 'list the vault ids, or leave vaults out (every vault)').optional(),
});
export type OperatorConfig = z.infer<typeof operatorSchema>;

/** An operator as the workflow sees it (CyclePolicy.operators): the keys canonical ("type base64", no comment). */
export interface PolicyOperator {
  name: string;
  roles: OperatorRole[];
  keys: string[];
}

/** The operators of one vault for the workflow's policy; undefined when no operators are configured (unsigned). */
export function operatorsForVault(operators: OperatorConfig[] | undefined, vaultId: string): PolicyOperator[] | undefined {
  if (!operators?.length) return undefined;
  return operators
    .filter((o) => !o.vaults || o.vaults.includes(vaultId))
    .map((o) => ({ name: o.name, roles: [...o.roles], keys: o.keys.map((k) => parsePublicKeyLine(k).canonical) }));
}

export const configSchema = z
  .strictObject({
    evidenceDir: z.string().min(1).default('.evidence'),
    vaults: z.array(vaultSchema).min(1, 'define at least one vault'),
    operators: z.array(operatorSchema).optional(),
    temporal: z.strictObject({ ...temporalConnectionFields, encryption: encryptionSchema.optional() }).optional(),
    metrics: metricsSchema.optional(),
  })
  .superRefine((c, ctx) => {
    if (!c.operators) return;
    const ids = new Set(c.vaults.map((v) => v.id));
    const names = new Map<string, number>();
    const keys = new Map<string, string>();
    c.operators.forEach((o, i) => {
      if (names.has(o.name)) ctx.addIssue({ code: 'custom', path: ['operators', i, 'name'], message: `"${o.name}" is listed twice (operators[${names.get(o.name)}]); one entry per person, with all their keys` });
      names.set(o.name, i);
      o.vaults?.forEach((v, j) => {
        if (!ids.has(v)) ctx.addIssue({ code: 'custom', path: ['operators', i, 'vaults', j], message: `no vault "${v}" in this configuration; use one of ${[...ids].join(', ')}` });
      });
      o.keys.forEach((k, j) => {
        let fp: string;
        try {
          fp = keyFingerprint(k);
        } catch {
          return; // named by the key's own check
        }
        const owner = keys.get(fp);
        if (owner !== undefined) ctx.addIssue({ code: 'custom', path: ['operators', i, 'keys', j], message: `key ${fp} is already ${owner}'s: a key belongs to one person (give ${o.name} a key of their own)` });
        else keys.set(fp, `operators[${i}] ${o.name}`);
      });
    });
    // Every vault that may ask a person needs someone who can answer with a signature.
    c.vaults.forEach((v, i) => {
      const mine = operatorsForVault(c.operators, v.id) ?? [];
      const approvers = mine.filter((o) => o.roles.includes('approver')).map((o) => o.name);
      const listed = v.policy.approval.approvers;
      for (const [j, name] of (listed ?? []).entries()) {
        if (!approvers.includes(name)) {
          ctx.addIssue({ code: 'custom', path: ['vaults', i, 'policy', 'approval', 'approvers', j], message: `${name} is not an operator with role approver for vault ${v.id}; add them to operators with roles [approver] (and their key), or remove them here` });
        }
      }
      if (v.policy.approval.when !== 'never' && !approvers.length) {
        ctx.addIssue({ code: 'custom', path: ['vaults', i, 'policy', 'approval'], message: `no operator has role approver for vault ${v.id}, so nobody could sign a decision; give an operator roles [approver] (and vaults: [${v.id}] or none), or set approval.when: never` });
      }
      if (v.policy.approval.quorum === 2 && approvers.length < 2 && v.policy.approval.when !== 'never') {
        ctx.addIssue({ code: 'custom', path: ['vaults', i, 'policy', 'approval', 'quorum'], message: `quorum 2 needs two operators with role approver for vault ${v.id}; ${approvers.length} has it` });
      }
    });
  });

export type VaultConfig = z.infer<typeof vaultSchema>;
export type Config = z.infer<typeof configSchema>;
