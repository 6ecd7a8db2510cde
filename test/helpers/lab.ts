/** A lab per test file (temp folder, free ports) and a vault configuration pointing at it. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLab, type Lab, type LabOptions } from '../../lab';
import { parseConfig } from '../../config/load';
import type { Config } from '../../config/schema';

export const VAULT = 'lab-vault';

export function configForLab(lab: Lab, evidenceDir: string, policy: Record<string, unknown> = {}): Config {
  const e = lab.endpoints;
  const pin = { knownHostsFile: e.knownHostsFile };
  const raw = {
    evidenceDir,
    vaults: [
      {
        id: VAULT,
        switch: {
          platform: e.switch.platform,
          host: e.host,
          port: e.switch.port,
          username: e.switch.username,
          password: { file: e.switch.passwordFile },
          enableSecret: { file: e.switch.enableSecretFile },
          hostKey: pin,
          ports: e.switch.vaultPorts,
        },
        source: {
          dd: { host: e.host, port: e.sourceDd.port, username: e.sourceDd.username, password: { file: e.sourceDd.passwordFile }, hostKey: pin, label: 'prod-dd' },
          mtree: e.sourceDd.mtree,
          mountPath: e.sourceDd.mountPath,
        },
        vault: {
          dd: { host: e.host, port: e.vaultDd.port, username: e.vaultDd.username, password: { file: e.vaultDd.passwordFile }, hostKey: pin, label: 'vault-dd' },
          replicaMtree: e.vaultDd.replicaMtree,
          replicaMountPath: e.vaultDd.replicaMountPath,
          copiesMtree: e.vaultDd.copiesMtree,
          copiesMountPath: e.vaultDd.copiesMountPath,
        },
        replication: { contexts: [e.context.destination] },
        // Tests that are not about DECIDE do not wait for a person: they get `approval.when: never` unless
        // they pass an approval rule of their own (`approval: {}` is the schema's default, `when: suspect`).
        policy: { retention: '5m', maxOpen: '10m', pollInterval: '200ms', stall: '60s', linkUpTimeout: '20s', approval: { when: 'never' }, ...policy },
      },
    ],
  };
  return parseConfig(raw, 'test config', '/');
}

export interface TestLab {
  lab: Lab;
  dir: string;
  config: Config;
  close(): Promise<void>;
}

export async function startTestLab(options: Partial<LabOptions> = {}, policy: Record<string, unknown> = {}): Promise<TestLab> {
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
    config: configForLab(lab, join(dir, 'evidence'), policy),
    async close() {
      await lab.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
