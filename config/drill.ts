/**
 * The business impact analysis and the drill settings of a vault (zod): which applications live in a copy,
 * their tier and recovery objectives, how to prove each one comes back, where drills restore to, how often
 * they run and what coverage is owed. Part of the one vault schema (config/schema.ts).
 */
import { z } from 'zod';

// Durations are written as in the vault policy (90s, 30m, 12h, 7d): the same regex and units as config/schema.ts.
const duration = z
  .union([z.number().positive(), z.string().regex(/^\d+(\.\d+)?\s*(ms|s|m|h|d)$/, 'a duration like 90s, 30m, 12h or 7d')])
  .transform((v) => (typeof v === 'number' ? v : secondsOf(v)));

function secondsOf(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)$/.exec(text.trim())!;
  return Number(m[1]) * { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400 }[m[2] as 'ms' | 's' | 'm' | 'h' | 'd'];
}

/** A path inside a copy: relative, no `..`, no leading slash. */
const copyPath = z
  .string()
  .min(1)
  .refine((p) => !p.startsWith('/') && !p.split('/').includes('..'), 'a path relative to the copy root, without ".." (e.g. apps/crm)');

const tableCounts = z.record(z.string().regex(/^[a-z_][a-z0-9_]*$/, 'a plain SQL table name'), z.number().int().nonnegative());

const checkBase = {
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9 ._-]{0,62}$/, 'a short name (letters, digits, space, . _ -)'),
  timeout: duration.default(120),
};

/**
 * Checks are commands with an expected exit code and output. `command` runs a shell line locally (cwd = the
 * restored application folder, $SANDBOX and $APP_DIR set) or on the recovery host over SSH; the engine kinds
 * run the real engine's own commands (sqlite3, pg_ctl/psql, gzip/tar) and compare against the recorded counts.
 */
export const checkSchema = z.discriminatedUnion(
  'kind',
  [
    z.strictObject({
      ...checkBase,
      kind: z.literal('command'),
      run: z.string().min(1),
      on: z.enum(['local', 'recovery-host']).default('local'),
      expectExit: z.number().int().min(0).max(255).default(0),
      expectOutput: z
        .string()
        .refine((s) => {
          try {
            new RegExp(s);
            return true;
          } catch {
            return false;
          }
        }, 'a valid regular expression')
        .optional(),
    }),
    z.strictObject({ ...checkBase, kind: z.literal('sqlite'), database: copyPath, rows: tableCounts }),
    z.strictObject({ ...checkBase, kind: z.literal('postgres'), dataDir: copyPath, database: z.string().min(1).default('postgres'), rows: tableCounts }),
    z.strictObject({ ...checkBase, kind: z.literal('targz'), archive: copyPath }),
  ],
  { error: 'a check with kind command, sqlite, postgres or targz' },
);

export const applicationSchema = z.strictObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'lowercase letters, digits and dashes'),
  tier: z.number().int().min(0).max(4),
  rto: duration,
  rpo: duration,
  paths: z.array(copyPath).min(1, 'list the paths of the application data inside a copy'),
  checks: z.array(checkSchema).default([]),
});

export const recoveryHostSchema = z.strictObject({
  host: z.string().min(1),
  port: z.number().int().min(1).max(65535).default(22),
  username: z.string().min(1),
  privateKeyFile: z.string().min(1), // a reference to a key file, read by the activity at run time
  hostKey: z.union([
    z.strictObject({ fingerprint: z.string().regex(/^SHA256:[A-Za-z0-9+/]{43}$/, 'an OpenSSH fingerprint like SHA256:abc… (ssh-keygen -lf)') }),
    z.strictObject({ knownHostsFile: z.string().min(1) }),
  ]),
});

export const drillSchema = z.strictObject({
  /** fastcopy: `filesys fastcopy` from the copy into a sandbox MTree of the vault DD; copy: a file copy into a folder. */
  sandbox: z.discriminatedUnion(
    'method',
    [
      z.strictObject({ method: z.literal('fastcopy'), mtree: z.string().startsWith('/data/col1/'), mountPath: z.string().min(1) }),
      z.strictObject({ method: z.literal('copy'), dir: z.string().min(1) }),
    ],
    { error: 'a sandbox: {method: fastcopy, mtree, mountPath} or {method: copy, dir}' },
  ),
  recoveryHost: recoveryHostSchema.optional(),
  /** The vault's cycle interval, for the worst-case RPO (a copy is at most this old, plus the cycle's own time). */
  cycleEvery: duration.optional(),
  // schedule: the vault's drill schedule, in the cycle schedule's own schema (added in config/schema.ts).
  coverage: z.strictObject({ newestWithin: duration.default(24 * 3600), everyCopyWithin: duration.default(7 * 86400) }).prefault({}),
});

export type ApplicationConfig = z.infer<typeof applicationSchema>;
export type CheckConfig = z.infer<typeof checkSchema>;
export type DrillConfig = z.infer<typeof drillSchema>;

/** Application names are unique per vault; the sandbox is never one of the vault's data areas. */
export function checkDrillConfig(v: {
  applications?: ApplicationConfig[];
  drill?: DrillConfig;
  vault: { copiesMtree: string; replicaMtree: string; copiesMountPath: string; replicaMountPath: string };
}, at: string): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const [i, a] of (v.applications ?? []).entries()) {
    if (seen.has(a.name)) problems.push(`${at}.applications[${i}].name: "${a.name}" is used twice; application names must be unique`);
    seen.add(a.name);
    for (const [j, c] of a.checks.entries()) {
      if (c.kind === 'command' && c.on === 'recovery-host' && !v.drill?.recoveryHost) {
        problems.push(`${at}.applications[${i}].checks[${j}].on: "recovery-host" needs drill.recoveryHost in the vault`);
      }
    }
  }
  if (v.applications?.length && !v.drill) problems.push(`${at}.drill: applications are declared but no drill sandbox is; add drill.sandbox`);
  const s = v.drill?.sandbox;
  if (s?.method === 'fastcopy') {
    const inside = (a: string, b: string) => a === b || a.startsWith(b + '/');
    for (const [name, m] of [['vault.copiesMtree', v.vault.copiesMtree], ['vault.replicaMtree', v.vault.replicaMtree]] as const) {
      if (inside(s.mtree, m) || inside(m, s.mtree)) problems.push(`${at}.drill.sandbox.mtree: ${s.mtree} overlaps ${name} ${m}; drills restore into an MTree of their own`);
    }
  }
  return problems;
}

/** Makes the drill's local paths absolute (relative to the config file), like the vault's other paths. */
export function absoluteDrillPaths(v: { drill?: DrillConfig }, abs: (p: string) => string): void {
  const d = v.drill;
  if (!d) return;
  if (d.sandbox.method === 'fastcopy') d.sandbox.mountPath = abs(d.sandbox.mountPath);
  else d.sandbox.dir = abs(d.sandbox.dir);
  if (d.recoveryHost) {
    d.recoveryHost.privateKeyFile = abs(d.recoveryHost.privateKeyFile);
    if ('knownHostsFile' in d.recoveryHost.hostKey) d.recoveryHost.hostKey.knownHostsFile = abs(d.recoveryHost.hostKey.knownHostsFile);
  }
}
