/**
 * startLab: the vault switch, prod-dd and vault-dd over real SSH, sharing one lab state, plus the HTTP control
 * API. Used in-process by tests and the demo, and by `npm run lab` (lab/main.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import { startControl } from './control';
import { ddDevice, type MtreeDef } from './datadomain';
import { Faults, type Fault } from './faults';
import { ensureKeys, writeKnownHosts } from './keys';
import { PORTS, SwitchPorts } from './ports';
import { ransomware } from './ransomware';
import { ReplicationEngine } from './replication';
import { RetentionLock } from './retention';
import { seedProduction } from './seed';
import { startSshDevice, type SshDevice } from './ssh-server';
import { iosDevice } from './switch-ios';
import { LabState } from './state';

export interface LabOptions {
  dir: string;
  host?: string;
  ports?: { switch?: number; sourceDd?: number; vaultDd?: number; control?: number };
  bandwidthBytesPerSec?: number;
  seed?: { files: number; totalBytes: number };
  linkUpDelayMs?: number;
  retention?: { minSeconds: number; maxSeconds: number };
  control?: boolean;
  log?: (line: string) => void;
}

export interface LabEndpoints {
  host: string;
  knownHostsFile: string;
  clientKeyFile: string;
  /** null when started with `control: false`. */
  control: string | null;
  switch: {
    port: number;
    platform: 'cisco-ios';
    hostname: string;
    username: string;
    passwordFile: string;
    enableSecretFile: string;
    vaultPorts: string[];
    fingerprint: string;
  };
  sourceDd: { port: number; hostname: string; username: string; passwordFile: string; fingerprint: string; mtree: string; mountPath: string };
  vaultDd: {
    port: number;
    hostname: string;
    username: string;
    passwordFile: string;
    fingerprint: string;
    replicaMtree: string;
    replicaMountPath: string;
    copiesMtree: string;
    copiesMountPath: string;
  };
  context: { source: string; destination: string };
  /** Whether locked files refuse changes through the mount path (immutable attribute), and why not. */
  worm: { immutable: boolean; reason?: string };
}

export interface Lab {
  endpoints: LabEndpoints;
  portStates(): Record<string, { admin: 'up' | 'down'; oper: 'up' | 'down' }>;
  vaultPortsDown(): boolean;
  setPort(name: string, admin: 'up' | 'down'): void;
  addFault(f: Fault): void;
  clearFaults(): void;
  replication(): { enabled: boolean; connection: string; bytesRemaining: number; filesRemaining: number; syncedAsOf: Date | null };
  lockOf(copiesRelPath: string): { locked: boolean; until: Date | null };
  tamper: { unlink(copiesRelPath: string): Promise<void>; write(copiesRelPath: string, data: Buffer): Promise<void> };
  /** The tamper switch (tests): on lifts the WORM guard of the copies mount, off restores it. */
  setTamper(on: boolean): void;
  ransomware(count: number): Promise<{ encrypted: string[]; note: string }>;
  close(): Promise<void>;
}

export const DEFAULT_PORTS = { switch: 2201, sourceDd: 2202, vaultDd: 2203, control: 2299 };
const MIB = 1024 * 1024;
const SOURCE_MTREE = '/data/col1/prod';
const REPLICA_MTREE = '/data/col1/vault-prod';
const COPIES_MTREE = '/data/col1/ir-copies';

export async function startLab(opts: LabOptions): Promise<Lab> {
  const dir = path.resolve(opts.dir);
  const host = opts.host ?? '127.0.0.1';
  const log = opts.log ?? (() => undefined);
  fs.mkdirSync(dir, { recursive: true });

  const keys = ensureKeys(dir);
  const state = new LabState(dir);
  const prodDir = path.join(dir, 'prod-dd', 'data', 'col1', 'prod');
  const replicaDir = path.join(dir, 'vault-dd', 'data', 'col1', 'vault-prod');
  const copiesDir = path.join(dir, 'vault-dd', 'data', 'col1', 'ir-copies');
  for (const d of [prodDir, replicaDir, copiesDir]) fs.mkdirSync(d, { recursive: true });
  const seeded = seedProduction(prodDir, opts.seed ?? { files: 200, totalBytes: 20 * MIB });
  if (seeded) log(`seeded ${seeded} production files`);

  const context = { source: `mtree://prod-dd.lab${SOURCE_MTREE}`, destination: `mtree://vault-dd.lab${REPLICA_MTREE}` };
  const ports = new SwitchPorts(state, opts.linkUpDelayMs ?? 300);
  const faults = new Faults();
  const retention = new RetentionLock(copiesDir, state, opts.retention ?? { minSeconds: 60, maxSeconds: 1827 * 86400 });
  if (!retention.immutable.available) {
    log(`WARNING: locked copies are NOT immutable through the mount path: ${retention.immutable.reason}; the immutability probe will report this vault as not WORM`);
  }
  const engine = new ReplicationEngine({
    srcDir: prodDir,
    dstDir: replicaDir,
    state,
    linkUp: () => ports.vaultPortsUp(),
    bandwidthBytesPerSec: opts.bandwidthBytesPerSec ?? 64 * MIB,
    destination: context.destination,
    log,
  });
  ports.on('oper', (name: string, oper: string) => {
    log(`switch: ${name} line protocol ${oper}`);
    engine.kick();
  });

  // Anything started is stopped again if a later step fails (e.g. a port already in use).
  const closers: Array<() => Promise<void>> = [];
  const closeAll = async () => {
    for (const c of closers.reverse()) await c().catch((err: Error) => log(`close: ${err.message}`));
    closers.length = 0;
  };
  closers.push(async () => {
    ports.close();
    state.save();
  });
  // Locks expire on the lab's clock: lift the attribute then. On close, lift it everywhere (folder removable).
  const expiry = setInterval(() => retention.expire(), 1000);
  expiry.unref();
  closers.push(async () => {
    clearInterval(expiry);
    retention.unsealAll();
  });

  try {
    await engine.start();
    closers.push(() => engine.close());
    const want = { ...DEFAULT_PORTS, ...opts.ports };
    const ssh = (name: string, port: number, d: { key: Buffer; username: string; password: string; crlf: boolean }, handler: Parameters<typeof startSshDevice>[0]['handler']) =>
      startSshDevice({ name, host, port, hostKey: d.key, username: d.username, password: d.password, clientPublic: keys.clientPublic, crlf: d.crlf, handler, log }).then((dev: SshDevice) => {
        closers.push(() => dev.close());
        return dev;
      });
    const sw = await ssh(
      'vault-sw1',
      want.switch,
      { key: keys.hostKeys.switch, username: 'netops', password: keys.secrets.switchPassword, crlf: true },
      iosDevice({ hostname: 'vault-sw1', ports, faults, enableSecret: keys.secrets.switchEnable, log }),
    );
    const ddCommon = { engine, faults, source: context.source, destination: context.destination, username: 'sysadmin', log };
    const prodMtrees: MtreeDef[] = [{ path: SOURCE_MTREE, dir: prodDir, kind: 'rw' }];
    const vaultMtrees: MtreeDef[] = [
      { path: REPLICA_MTREE, dir: replicaDir, kind: 'replica' },
      { path: COPIES_MTREE, dir: copiesDir, kind: 'retention' },
    ];
    const ddCreds = { username: 'sysadmin', password: keys.secrets.ddPassword, crlf: false };
    const prod = await ssh('prod-dd', want.sourceDd, { key: keys.hostKeys['prod-dd'], ...ddCreds }, ddDevice({ ...ddCommon, hostname: 'prod-dd', device: 'source-dd', mtrees: prodMtrees, retention: null }));
    const vault = await ssh('vault-dd', want.vaultDd, { key: keys.hostKeys['vault-dd'], ...ddCreds }, ddDevice({ ...ddCommon, hostname: 'vault-dd', device: 'vault-dd', mtrees: vaultMtrees, retention }));

    const knownHostsFile = path.join(dir, 'known_hosts');
    writeKnownHosts(knownHostsFile, host, [
      { port: sw.port, publicKey: keys.hostPublic.switch },
      { port: prod.port, publicKey: keys.hostPublic['prod-dd'] },
      { port: vault.port, publicKey: keys.hostPublic['vault-dd'] },
    ]);

    const lab: Lab = {
      endpoints: undefined as unknown as LabEndpoints, // set below, once the control port is known
      portStates: () => ports.states(),
      vaultPortsDown: () => ports.vaultPortsDown(),
      setPort: (name, admin) => {
        log(`hand: port ${name} ${admin}`);
        ports.setAdmin(name, admin);
      },
      addFault: (f) => faults.add(f),
      clearFaults: () => faults.clear(),
      replication: () => {
        const s = engine.status();
        return { enabled: s.enabled, connection: s.connection, bytesRemaining: s.bytesRemaining, filesRemaining: s.filesRemaining, syncedAsOf: s.syncedAsOf };
      },
      lockOf: (rel) => retention.lockOf(rel),
      tamper: {
        unlink: async (rel) => retention.unlink(rel),
        write: async (rel, data) => retention.writeFile(rel, data),
      },
      setTamper: (on) => {
        log(`hand: tamper switch ${on ? 'ON: the copies mount is writable' : 'off: WORM guard restored'}`);
        retention.setTamper(on);
      },
      ransomware: async (count) => {
        const r = ransomware(prodDir, count);
        log(`ransomware: encrypted ${r.encrypted.length} production files, note ${r.note}`);
        return r;
      },
      close: closeAll,
    };

    let controlUrl: string | null = null;
    if (opts.control !== false) {
      const control = await startControl(
        {
          state: () => ({
            ports: ports.states(),
            vaultPortsDown: ports.vaultPortsDown(),
            replication: engine.status(),
            locks: retention.locked().map((l) => ({ path: `${COPIES_MTREE}/${l.rel}`, until: l.until.toISOString() })),
            worm: { immutable: retention.immutable.available, reason: retention.immutable.reason, tamper: retention.tamper },
            faults: faults.snapshot(),
          }),
          addFault: lab.addFault,
          clearFaults: lab.clearFaults,
          setPort: lab.setPort,
          ransomware: lab.ransomware,
          setTamper: lab.setTamper,
        },
        host,
        want.control,
      );
      closers.push(() => control.close());
      controlUrl = control.url;
    }

    lab.endpoints = {
      host,
      knownHostsFile,
      clientKeyFile: keys.clientKeyFile,
      control: controlUrl,
      switch: {
        port: sw.port,
        platform: 'cisco-ios',
        hostname: 'vault-sw1',
        username: 'netops',
        passwordFile: keys.files.switchPassword,
        enableSecretFile: keys.files.switchEnable,
        vaultPorts: PORTS.filter((p) => p.vault).map((p) => p.name),
        fingerprint: keys.fingerprints.switch,
      },
      sourceDd: {
        port: prod.port,
        hostname: 'prod-dd',
        username: 'sysadmin',
        passwordFile: keys.files.ddPassword,
        fingerprint: keys.fingerprints['prod-dd'],
        mtree: SOURCE_MTREE,
        mountPath: prodDir,
      },
      vaultDd: {
        port: vault.port,
        hostname: 'vault-dd',
        username: 'sysadmin',
        passwordFile: keys.files.ddPassword,
        fingerprint: keys.fingerprints['vault-dd'],
        replicaMtree: REPLICA_MTREE,
        replicaMountPath: replicaDir,
        copiesMtree: COPIES_MTREE,
        copiesMountPath: copiesDir,
      },
      context,
      worm: { immutable: retention.immutable.available, reason: retention.immutable.reason },
    };
    fs.writeFileSync(path.join(dir, 'endpoints.json'), JSON.stringify(lab.endpoints, null, 2) + '\n');
    return lab;
  } catch (err) {
    await closeAll();
    throw err;
  }
}
