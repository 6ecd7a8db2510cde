/**
 * The lab state that must survive a restart (docs/lab-protocol.md "state.json"): port admin states, the
 * replication context, retention locks and CLI-set retention limits. Everything else (oper states, transfers
 * in flight, faults) is runtime only. Writes are atomic (temp file + rename) so a crash never leaves half a file.
 */
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';

const Schema = z.object({
  version: z.literal(1),
  ports: z.record(z.string(), z.enum(['up', 'down'])),
  replication: z.object({
    enabled: z.boolean(),
    syncedAsOf: z.string().nullable(),
    /** Relative paths that differed at the last `replication sync` and have not reached the destination yet. */
    pending: z.array(z.string()).nullable(),
  }),
  /** ir-copies relative path → ISO time the lock expires. Only ever moved later. */
  locks: z.record(z.string(), z.string()),
  /** Set by `mtree retention-lock set …`; overrides the LabOptions limits when present. */
  retention: z.object({ minSeconds: z.number().optional(), maxSeconds: z.number().optional() }).default({}),
  /** `<dd>/<interface>` → admin state set by `net disable|enable` (the DD's own replication link). */
  netInterfaces: z.record(z.string(), z.enum(['up', 'down'])).default({}),
});
export type PersistedState = z.infer<typeof Schema>;

export function defaultState(): PersistedState {
  return {
    version: 1,
    ports: {},
    replication: { enabled: false, syncedAsOf: null, pending: null },
    locks: {},
    retention: {},
    netInterfaces: {},
  };
}

export class LabState {
  readonly file: string;
  data: PersistedState;

  constructor(dir: string) {
    this.file = path.join(dir, 'state.json');
    this.data = LabState.load(this.file);
  }

  private static load(file: string): PersistedState {
    if (!fs.existsSync(file)) return defaultState();
    const parsed = Schema.safeParse(JSON.parse(fs.readFileSync(file, 'utf8')));
    // A state file from an incompatible version is not worth a crash: start clean, keep the old one aside.
    if (!parsed.success) {
      fs.renameSync(file, `${file}.invalid-${Date.now()}`);
      return defaultState();
    }
    return parsed.data;
  }

  save(): void {
    const tmp = `${this.file}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(this.data, null, 2) + '\n');
    fs.renameSync(tmp, this.file);
  }
}
