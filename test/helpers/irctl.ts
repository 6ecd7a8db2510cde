/** Running irctl in-process against the test dev server with a config file of the test's own. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml, stringify } from 'yaml';
import { readFileSync } from 'node:fs';
import { runIrctl } from '../../clients/irctl';

export interface IrctlRun {
  code: number;
  out: string;
  err: string;
  /** stdout as JSON (throws when it does not parse). */
  json(): any;
}

export function irctlWith(env: Record<string, string | undefined>) {
  return async (...argv: string[]): Promise<IrctlRun> => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runIrctl(argv, { out: (l) => out.push(l), err: (l) => err.push(l) }, { ...process.env, ...env });
    const text = out.join('\n');
    return { code, out: text, err: err.join('\n'), json: () => JSON.parse(text) };
  };
}

/** The lab config's vault (config/lab.yaml) copied under other ids, each with the given extra fields. */
export function writeConfig(dir: string, vaults: Record<string, Record<string, unknown>>, evidenceDir = join(dir, 'evidence')): string {
  const lab = parseYaml(readFileSync(join(__dirname, '../../config/lab.yaml'), 'utf8'));
  const base = { ...lab.vaults[0] };
  delete base.schedule;
  delete base.rpo;
  const raw = { evidenceDir, vaults: Object.entries(vaults).map(([id, extra]) => ({ ...base, id, ...extra })) };
  const path = join(dir, 'config.yaml');
  writeFileSync(path, stringify(raw));
  return path;
}

export const tempDir = (prefix: string) => mkdtempSync(join(tmpdir(), prefix));
