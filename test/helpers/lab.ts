/** A lab per test file (temp folder, free ports) and a vault configuration pointing at it. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLab, type Lab, type LabOptions } from '../../lab';
import { parseConfig } from '../../config/load';
import type { Config, OperatorConfig } from '../../config/schema';
import { labVaultConfig, type VaultShape } from '../../lab/vault-config';

export const VAULT = 'lab-vault';

export type { VaultShape } from '../../lab/vault-config';

export function configForLab(lab: Lab, evidenceDir: string, policy: Record<string, unknown> = {}, shape: VaultShape = {}, operators?: OperatorConfig[]): Config {
  // Tests that are not about DECIDE do not wait for a person: they get `approval.when: never` unless
  // they pass an approval rule of their own (`approval: {}` is the schema's default, `when: suspect`).
  const testPolicy = { retention: '5m', maxOpen: '10m', pollInterval: '200ms', stall: '60s', linkUpTimeout: '20s', approval: { when: 'never' }, ...policy };
  return parseConfig({ evidenceDir, vaults: [labVaultConfig(lab.endpoints, VAULT, testPolicy, shape)], ...(operators ? { operators } : {}) }, 'test config', '/');
}

export interface TestLab {
  lab: Lab;
  dir: string;
  config: Config;
  close(): Promise<void>;
}

/**
 * `operators`: signed decisions (the test's keys, made with ssh-keygen under the lab's folder: test/helpers/ssh-sign.ts);
 * left out, the vault has no operators and takes decisions unsigned.
 */
export async function startTestLab(options: Partial<LabOptions> = {}, policy: Record<string, unknown> = {}, shape: VaultShape = {}, operators?: (dir: string) => OperatorConfig[]): Promise<TestLab> {
  const dir = mkdtempSync(join(tmpdir(), 'ir-lab-'));
  const lab = await startLab({
    dir: join(dir, 'lab'),
    ports: { switch: 0, sourceDd: 0, vaultDd: 0, control: 0 },
    seed: { files: 60, totalBytes: 4 * 1024 * 1024 },
    ...options,
  });
  return {
    lab,
    dir,
    config: configForLab(lab, join(dir, 'evidence'), policy, shape, operators?.(dir)),
    async close() {
      await lab.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
