/**
 * A vault configuration (the raw object config/schema.ts checks) pointing at a running lab: its switch flavour
 * or the vault DD's interface as the gap, both Data Domains, the replication context. One builder for the
 * tests, the benchmarks and anything else that drives a lab started on free ports.
 */
import type { PlatformName } from '../vocabulary/switch-platforms';
import type { LabEndpoints } from './index';

/** Which lab switch flavour the vault uses, and what cuts its gap. */
export interface VaultShape {
  platform?: PlatformName;
  link?: 'switch' | 'dd-interface';
}

export function labVaultConfig(e: LabEndpoints, id: string, policy: Record<string, unknown>, shape: VaultShape = {}) {
  const pin = { knownHostsFile: e.knownHostsFile };
  const sw = e.switches.find((s) => s.platform === (shape.platform ?? 'cisco-ios')) ?? e.switch;
  return {
    id,
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
    policy,
  };
}
