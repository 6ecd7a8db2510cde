/** A lab per test file (temp folder, free ports) and a vault configuration pointing at it. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLab, type Lab, type LabOptions } from '../../lab';
import { parseConfig } from '../../config/load';
import type { Config } from '../../config/schema';
import type { PlatformName } from '../../lab/cli/engine';

export const VAULT = 'lab-vault';

/** Which lab switch flavour the vault uses, and what cuts its gap. */
export interface VaultShape {
  platform?: PlatformName;
  link?: 'switch' | 'dd-interface';
}

export function configForLab(lab: Lab, evidenceDir: string, policy: Record<string, unknown> = {}, shape: VaultShape = {}): Config {
  const e = lab.endpoints;
  const pin = { knownHostsFile: e.knownHostsFile };
  const sw = e.switches.find((s) => s.platform === (shape.platform ?? 'cisco-ios')) ?? e.switch;
  const raw = {
    evidenceDir,
    vaults: [
      {
        id: VAULT,
        // A vault whose gap is the DD's interface needs no switch section at all.
        ...(shape.link === 'dd-interface'
          ? { link: { controller: 'dd-interface', interface: e.vaultDd.replicationInterface } }
          : {
              switch: {
                platform: sw.platform,
                host: e.host,
                port: sw.port,
                username: sw.username,
                password: { file: sw.passwordFile },
                enableSecret: { file: sw.enableSecretFile },
                hostKey: pin,
                ports: sw.vaultPorts,
              },
            }),
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
        policy: { retention: '5m', maxOpen: '10m', pollInterval: '200ms', stall: '60s', linkUpTimeout: '20s', ...policy },
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

export async function startTestLab(options: Partial<LabOptions> = {}, policy: Record<string, unknown> = {}, shape: VaultShape = {}): Promise<TestLab> {
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
    config: configForLab(lab, join(dir, 'evidence'), policy, shape),
    async close() {
      await lab.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
