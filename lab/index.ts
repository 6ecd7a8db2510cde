/**
 * startLab: the vault switch, prod-dd and vault-dd over real SSH, sharing one lab state, plus the HTTP control
 * API. Used in-process by tests and the demo, and by `npm run lab` (lab/main.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import { startControl } from './control';
import { ddDevice } from './datadomain';
import type { MtreeDef } from './mtrees';
import { DdExtras } from './dd-everyday';
import { Faults, type Fault } from './faults';
import { ensureKeys, writeKnownHosts } from './keys';
import { ensureOperatorKeys } from './operator-keys';
import { PLATFORM_NAMES, type PlatformName } from '../vocabulary/switch-platforms';
import { DD_INTERFACES, DdNet } from './dd-net';
import { createSwitch, type LabSwitch } from './switches';
import type { PendingRevert } from './cli/revert';
import type { Phase } from '../vocabulary/phases';
import { ransomware } from './ransomware';
import { seedApplications } from './apps';
import { startRecoveryHost, type RecoveryHostEndpoint } from './recovery-host-server';
import { RestoreFaults } from './restore-faults';
import { ReplicationEngine } from './replication';
import { startRestFaces, type RestEndpoints, type RestFaces, type RestFacesOptions } from './rest-faces';
import { RetentionLock, type RetentionLimits } from './retention';
import { seedProduction } from './seed';
import { startSshDevice, type SshDevice } from './ssh-server';
import { LabState } from './state';
import { MtreeSnapshots, SnapshotCommands, type SnapshotRecord } from './snapshots';
import { ProductionWriter, type WriterOptions, type WriterStats } from './writer';

export interface LabOptions {
  dir: string;
  host?: string;
  /** REST faces (ddRest, bareos, networker) take port 0 when `ports` is given without them. */
  ports?: { switch?: number; sourceDd?: number; vaultDd?: number; control?: number; ddRest?: number; bareos?: number; networker?: number; switches?: Partial<Record<PlatformName, number>> };
  /** Which switch platforms to start (default: all four; the IOS one is `endpoints.switch`). */
  switches?: PlatformName[];
  /** Which element is the air gap at first start: the switch ports (default) or the vault DD's replication interface. */
  gap?: 'switch' | 'dd-interface';
  /** How long one device minute lasts for the switches' revert timers (default 60000: real time). */
  deviceMinuteMs?: number;
  bandwidthBytesPerSec?: number;
  seed?: { files: number; totalBytes: number };
  /** Real applications (SQLite, PostgreSQL, tar.gz) in the production data, for drills (lab/apps.ts). */
  apps?: boolean;
  recoveryHostPort?: number;
  linkUpDelayMs?: number;
  retention?: RetentionLimits;
  /** Backup job timelines and REST session lifetime (lab/rest-faces.ts). */
  rest?: Pick<RestFacesOptions, 'bareosJobs' | 'networkerJobs' | 'tokenTtlMs'>;
  control?: boolean;
  /** The production writer (lab/writer.ts), started with the lab when given. */
  writer?: WriterOptions;
  log?: (line: string) => void;
}

export interface LabEndpoints {
  host: string;
  knownHostsFile: string;
  clientKeyFile: string;
  /** null when started with `control: false`. */
  control: string | null;
  /** Every lab switch, one per platform (the first is also `switch`). */
  switches: LabSwitchEndpoint[];
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
    sandboxMtree: string;
    sandboxMountPath: string;
    /** The vault DD's replication interface (`net disable|enable`, `net show settings`). */
    replicationInterface: string;
  };
  recoveryHost: RecoveryHostEndpoint;
  context: { source: string; destination: string };
  /** HTTPS faces: vault DD REST, Bareos, NetWorker (url, certificate file and fingerprint, user, password file). */
  rest: RestEndpoints;
  /** Whether locked files refuse changes through the mount path (immutable attribute), and why not. */
  worm: { immutable: boolean; reason?: string };
}

export interface LabSwitchEndpoint {
  platform: PlatformName;
  port: number;
  hostname: string;
  username: string;
  passwordFile: string;
  enableSecretFile: string;
  vaultPorts: string[];
  fingerprint: string;
}

export interface Lab {
  endpoints: LabEndpoints;
  /** One switch's ports and revert timer (tests check what the device did by itself). */
  switchState(platform: PlatformName): { ports: Record<string, { admin: 'up' | 'down'; oper: 'up' | 'down' }>; revert: PendingRevert | null; reverts: number };
  /** The vault DD's replication interface admin state. */
  ddInterface(): 'up' | 'down';
  setDdInterface(admin: 'up' | 'down'): void;
  /** SSH connections open now, per device (drivers must leave none behind). */
  connections(): Record<string, number>;
  portStates(): Record<string, { admin: 'up' | 'down'; oper: 'up' | 'down' }>;
  vaultPortsDown(): boolean;
  setPort(name: string, admin: 'up' | 'down'): void;
  addFault(f: Fault): void;
  clearFaults(): void;
  /** The cycle's phase as told to the lab (faults aimed with `cyclePhase`); null: none. */
  setCyclePhase(phase: Phase | null): void;
  replication(): { enabled: boolean; connection: string; bytesRemaining: number; filesRemaining: number; syncedAsOf: Date | null };
  lockOf(copiesRelPath: string): { locked: boolean; until: Date | null };
  tamper: { unlink(copiesRelPath: string): Promise<void>; write(copiesRelPath: string, data: Buffer): Promise<void> };
  /** The tamper switch (tests): on lifts the WORM guard of the copies mount, off restores it. */
  setTamper(on: boolean): Promise<void>;
  ransomware(count: number): Promise<{ encrypted: string[]; note: string }>;
  /** Drills: the next restore into the sandbox MTree comes back with `count` files corrupted. */
  restoreFaults: RestoreFaults;
  /** Snapshots on prod-dd's MTree and on the vault's replica. */
  snapshots(): { source: SnapshotRecord[]; replica: SnapshotRecord[] };
  /** Starts (or re-rates) the production writer; stopWriter stops it. */
  startWriter(opts: WriterOptions): void;
  stopWriter(): void;
  writerStatus(): WriterStats | null;
  /** The REST faces and backup timelines, for tests (open connections, sessions, job runs). */
  rest: RestFaces;
  close(): Promise<void>;
}

export const DEFAULT_PORTS = { switch: 2201, sourceDd: 2202, vaultDd: 2203, control: 2299 };
/** The other switch flavours' SSH ports (the IOS one is DEFAULT_PORTS.switch). */
export const DEFAULT_SWITCH_PORTS: Record<PlatformName, number> = { 'cisco-ios': 2201, 'cisco-nxos': 2211, 'arista-eos': 2212, junos: 2213 };
export const DEFAULT_RECOVERY_HOST_PORT = 2204;
const MIB = 1024 * 1024;
const SOURCE_MTREE = '/data/col1/prod';
const REPLICA_MTREE = '/data/col1/vault-prod';
const COPIES_MTREE = '/data/col1/ir-copies';
const SANDBOX_MTREE = '/data/col1/drill-sandbox';

export async function startLab(opts: LabOptions): Promise<Lab> {
  const dir = path.resolve(opts.dir);
  const host = opts.host ?? '127.0.0.1';
  const log = opts.log ?? (() => undefined);
  fs.mkdirSync(dir, { recursive: true });

  const keys = ensureKeys(dir);
  ensureOperatorKeys(dir); // the demo's operators sign decisions with these (config/lab.yaml lists their public keys)
  const state = new LabState(dir);
  const prodDir = path.join(dir, 'prod-dd', 'data', 'col1', 'prod');
  const replicaDir = path.join(dir, 'vault-dd', 'data', 'col1', 'vault-prod');
  const copiesDir = path.join(dir, 'vault-dd', 'data', 'col1', 'ir-copies');
  const sandboxDir = path.join(dir, 'vault-dd', 'data', 'col1', 'drill-sandbox');
  for (const d of [prodDir, replicaDir, copiesDir, sandboxDir]) fs.mkdirSync(d, { recursive: true });
  const seeded = seedProduction(prodDir, opts.seed ?? { files: 200, totalBytes: 20 * MIB });
  if (seeded) log(`seeded ${seeded} production files`);
  if (opts.apps) seedApplications(prodDir, log);
  const restoreFaults = new RestoreFaults(SANDBOX_MTREE, sandboxDir, log);

  const context = { source: `mtree://prod-dd.lab${SOURCE_MTREE}`, destination: `mtree://vault-dd.lab${REPLICA_MTREE}` };
  const faults = new Faults();
  const switchOpts = {
    state,
    faults,
    enableSecret: keys.secrets.switchEnable,
    username: 'netops',
    linkUpDelayMs: opts.linkUpDelayMs ?? 300,
    minuteMs: opts.deviceMinuteMs ?? 60_000,
    log,
  };
  const platforms = opts.switches ?? [...PLATFORM_NAMES];
  if (!platforms.includes('cisco-ios')) platforms.unshift('cisco-ios'); // endpoints.switch is the IOS one
  const switches: LabSwitch[] = platforms.map((p) => createSwitch(p, switchOpts));
  const ios = switches[0];
  const gap = opts.gap ?? 'switch';
  // The vault DD's replication interface: the gap itself with `gap: dd-interface`, else always enabled.
  const vaultNet = new DdNet(state, 'vault-dd', DD_INTERFACES(3), gap === 'switch', () => engine.kick());
  const prodNet = new DdNet(state, 'prod-dd', DD_INTERFACES(2), true);
  // The element that is not the gap is made passable, but only while the gap itself is closed.
  const allSwitchesDown = () => switches.every((w) => w.ports.vaultPortsDown());
  faults.phase = () => {
    const up = vaultNet.replicationUp() && switches.some((w) => w.ports.vaultPortsUp());
    if (up) return 'open';
    return vaultNet.replicationUp() && !allSwitchesDown() ? 'opening' : 'closed';
  };
  const retention = new RetentionLock(copiesDir, state, opts.retention ?? { minSeconds: 60, maxSeconds: 1827 * 86400 });
  const sourceSnaps = new MtreeSnapshots(SOURCE_MTREE, prodDir, path.join(dir, 'snapshots-prod-dd.json'), log);
  const replicaSnaps = new MtreeSnapshots(REPLICA_MTREE, replicaDir, path.join(dir, 'snapshots-vault-dd.json'), log);
  let writer: ProductionWriter | null = null;
  if (!retention.immutable.available) {
    log(`WARNING: locked copies are NOT immutable through the mount path: ${retention.immutable.reason}; the immutability probe will report this vault as not WORM`);
  }
  const engine = new ReplicationEngine({
    snapshots: { source: sourceSnaps, replica: replicaSnaps },
    srcDir: prodDir,
    dstDir: replicaDir,
    state,
    linkUp: () => vaultNet.replicationUp() && switches.some((w) => w.ports.vaultPortsUp()),
    bandwidthBytesPerSec: opts.bandwidthBytesPerSec ?? 64 * MIB,
    stalledBy: () => faults.stalled(),
    destination: context.destination,
    log,
  });
  for (const w of switches) {
    w.ports.on('oper', (name: string, oper: string) => {
      log(`${w.hostname}: ${name} line protocol ${oper}`);
      engine.kick();
    });
  }
  if (gap === 'dd-interface' && allSwitchesDown()) {
    // Coming from a switch run: close the new gap first (the DD interface), then make the switch passable.
    if (vaultNet.replicationUp()) vaultNet.set('ethV1', 'down');
    for (const p of ios.ports.defs.filter((d) => d.vault)) ios.ports.setAdmin(p.name, 'up');
  }
  if (gap === 'switch' && !vaultNet.replicationUp()) {
    // Coming from a dd-interface run: shut every switch's vault ports first (closing is always safe).
    for (const w of switches) for (const p of w.ports.defs.filter((d) => d.vault)) w.ports.setAdmin(p.name, 'down');
    vaultNet.set('ethV1', 'up');
  }
  const portsOf = (name: string) => switches.find((w) => w.ports.resolve(name))?.ports;

  // Anything started is stopped again if a later step fails (e.g. a port already in use).
  const closers: Array<() => Promise<void>> = [];
  const closeAll = async () => {
    for (const c of closers.reverse()) await c().catch((err: Error) => log(`close: ${err.message}`));
    closers.length = 0;
  };
  closers.push(async () => {
    writer?.stop();
    for (const w of switches) w.close();
    state.save();
  });
  // Locks expire on the lab's clock: lift the attribute then. On close, lift it everywhere (folder removable).
  const expiry = setInterval(() => retention.expire(), 1000);
  expiry.unref();
  closers.push(async () => {
    clearInterval(expiry);
    await retention.unsealAll();
    await Promise.all([sourceSnaps.drain(), replicaSnaps.drain()]);
  });

  try {
    await engine.start();
    closers.push(() => engine.close());
    const want = { ...DEFAULT_PORTS, ...opts.ports };
    const ssh = (name: string, port: number, d: { key: Buffer; username: string; password: string; crlf: boolean }, handler: Parameters<typeof startSshDevice>[0]['handler']) =>
      startSshDevice({
        name, host, port, hostKey: d.key, username: d.username, password: d.password, clientPublic: keys.clientPublic, crlf: d.crlf, handler, log,
        refuseLogin: () => faults.refuseLogin(name === 'prod-dd' ? 'source-dd' : 'vault-dd'),
      }).then((dev: SshDevice) => {
        closers.push(() => dev.close());
        return dev;
      });
    // The lab's switches share one host key (and the same secrets): one lab box with four personalities.
    const swDevs: SshDevice[] = [];
    for (const w of switches) {
      // Asked for free ports (switch: 0, as tests do): every switch gets a free port.
      const port = w.platform === 'cisco-ios' ? want.switch : (opts.ports?.switches?.[w.platform] ?? (want.switch === 0 ? 0 : DEFAULT_SWITCH_PORTS[w.platform]));
      swDevs.push(
        await startSshDevice({
          name: w.hostname,
          host,
          port,
          hostKey: keys.hostKeys.switch,
          username: 'netops',
          password: keys.secrets.switchPassword,
          clientPublic: keys.clientPublic,
          crlf: true,
          handler: w.handler,
          log,
          refuseLogin: () => faults.refuseLogin('switch'),
        }).then((dev) => {
          closers.push(() => dev.close());
          return dev;
        }),
      );
    }
    const ddCommon = { engine, faults, source: context.source, destination: context.destination, username: 'sysadmin', log };
    const prodMtrees: MtreeDef[] = [{ path: SOURCE_MTREE, dir: prodDir, kind: 'rw' }];
    const vaultMtrees: MtreeDef[] = [
      { path: REPLICA_MTREE, dir: replicaDir, kind: 'replica' },
      { path: COPIES_MTREE, dir: copiesDir, kind: 'retention' },
      { path: SANDBOX_MTREE, dir: sandboxDir, kind: 'rw' },
    ];
    const ddCreds = { username: 'sysadmin', password: keys.secrets.ddPassword, crlf: false };
    const prodSnapshots = new SnapshotCommands([sourceSnaps], () => false);
    const vaultSnapshots = new SnapshotCommands([replicaSnaps], (m) => m === REPLICA_MTREE);
    const prod = await ssh('prod-dd', want.sourceDd, { key: keys.hostKeys['prod-dd'], ...ddCreds }, ddDevice({ ...ddCommon, hostname: 'prod-dd', device: 'source-dd', mtrees: prodMtrees, retention: null, net: prodNet, snapshots: prodSnapshots }));
    const vaultExtras = new DdExtras('vault-dd');
    const vault = await ssh('vault-dd', want.vaultDd, { key: keys.hostKeys['vault-dd'], ...ddCreds }, restoreFaults.wrap(ddDevice({ ...ddCommon, hostname: 'vault-dd', device: 'vault-dd', mtrees: vaultMtrees, retention, net: vaultNet, snapshots: vaultSnapshots, extras: vaultExtras })));
    const rescue = await startRecoveryHost({ dir, host, // A lab on free ports (tests) puts the recovery host on a free port too.
      port: opts.recoveryHostPort ?? (opts.ports?.switch === 0 ? 0 : DEFAULT_RECOVERY_HOST_PORT), clientPublic: keys.clientPublic, clientKeyFile: keys.clientKeyFile, faults, log });
    closers.push(() => rescue.close());
    const restPorts = opts.ports ? { ddRest: opts.ports.ddRest ?? 0, bareos: opts.ports.bareos ?? 0, networker: opts.ports.networker ?? 0 } : undefined;
    const rest = await startRestFaces({ dir, host, ports: restPorts, faults, ddUsername: 'sysadmin', ddPassword: keys.secrets.ddPassword, vaultMtrees, retention, vaultExtras, ...opts.rest, log });
    closers.push(() => rest.close());

    const knownHostsFile = path.join(dir, 'known_hosts');
    writeKnownHosts(knownHostsFile, host, [
      ...swDevs.map((d) => ({ port: d.port, publicKey: keys.hostPublic.switch })),
      { port: prod.port, publicKey: keys.hostPublic['prod-dd'] },
      { port: vault.port, publicKey: keys.hostPublic['vault-dd'] },
      { port: rescue.endpoint.port, publicKey: rescue.publicKey },
    ]);

    const lab: Lab = {
      endpoints: undefined as unknown as LabEndpoints, // set below, once the control port is known
      portStates: () => Object.assign({}, ...switches.map((w) => w.ports.states())),
      vaultPortsDown: () => allSwitchesDown(),
      setPort: (name, admin) => {
        const ports = portsOf(name);
        if (!ports) throw new Error(`unknown port ${name} (no lab switch has it)`);
        log(`hand: port ${name} ${admin}`);
        ports.setAdmin(name, admin);
      },
      switchState: (platform) => {
        const w = switches.find((x) => x.platform === platform);
        if (!w) throw new Error(`no ${platform} switch in this lab`);
        return { ports: w.ports.states(), revert: w.timer.pending, reverts: w.timer.fired.length };
      },
      ddInterface: () => vaultNet.admin('ethV1'),
      setDdInterface: (admin) => {
        log(`hand: vault-dd ethV1 ${admin}`);
        vaultNet.set('ethV1', admin);
      },
      connections: () => ({
        ...Object.fromEntries(switches.map((w, i) => [w.hostname, swDevs[i].connections()])),
        'prod-dd': prod.connections(),
        'vault-dd': vault.connections(),
      }),
      addFault: (f) => faults.add(f),
      clearFaults: () => faults.clear(),
      setCyclePhase: (phase) => {
        if (faults.cyclePhase !== phase) log(`cycle phase: ${phase ?? 'none'} (told to the lab)`);
        faults.cyclePhase = phase;
      },
      replication: () => {
        const s = engine.status();
        return { enabled: s.enabled, connection: s.connection, bytesRemaining: s.bytesRemaining, filesRemaining: s.filesRemaining, syncedAsOf: s.syncedAsOf };
      },
      lockOf: (rel) => retention.lockOf(rel),
      tamper: {
        unlink: async (rel) => retention.unlink(rel),
        write: async (rel, data) => retention.writeFile(rel, data),
      },
      restoreFaults,
      rest,
      setTamper: (on) => {
        log(`hand: tamper switch ${on ? 'ON: the copies mount is writable' : 'off: WORM guard restored'}`);
        return retention.setTamper(on);
      },
      ransomware: async (count) => {
        const r = ransomware(prodDir, count);
        log(`ransomware: encrypted ${r.encrypted.length} production files, note ${r.note}`);
        return r;
      },
      snapshots: () => ({ source: sourceSnaps.list(), replica: replicaSnaps.list() }),
      startWriter: (w) => {
        if (writer) writer.setRate(w.bytesPerSec);
        else writer = new ProductionWriter(prodDir, w, log);
        writer.start();
      },
      stopWriter: () => writer?.stop(),
      writerStatus: () => writer?.status() ?? null,
      close: closeAll,
    };
    if (opts.writer) lab.startWriter(opts.writer);

    let controlUrl: string | null = null;
    if (opts.control !== false) {
      const ddInterfaces = () => ({ 'vault-dd': Object.fromEntries(vaultNet.interfaces.map((i) => [i.name, vaultNet.admin(i.name)])) });
      const control = await startControl(
        {
          // `locks` walks the copies and stats every file (a lock is an atime set over the mount): /link is for polling.
          link: () => ({ ports: lab.portStates(), vaultPortsDown: allSwitchesDown(), ddInterfaces: ddInterfaces() }),
          state: () => ({
            ports: lab.portStates(),
            vaultPortsDown: allSwitchesDown(),
            phase: faults.phase(),
            cyclePhase: faults.cyclePhase,
            switches: switches.map((w) => ({ platform: w.platform, hostname: w.hostname, ports: w.ports.states(), revert: w.timer.pending })),
            ddInterfaces: ddInterfaces(),
            connections: lab.connections(),
            replication: engine.status(),
            locks: retention.locked().map((l) => ({ path: `${COPIES_MTREE}/${l.rel}`, until: l.until.toISOString() })),
            worm: { immutable: retention.immutable.available, reason: retention.immutable.reason, tamper: retention.tamper },
            faults: faults.snapshot(),
          }),
          addFault: lab.addFault,
          clearFaults: lab.clearFaults,
          setCyclePhase: lab.setCyclePhase,
          setPort: lab.setPort,
          setDdInterface: lab.setDdInterface,
          ransomware: lab.ransomware,
          extra: (method, p, body) =>
            rest.route(method, p, body) ??
            (method === 'POST' && p === '/replication/stall'
              ? body().then((b) => {
                  engine.stalled = (b as { stalled?: unknown })?.stalled !== false;
                  log(`replication: ${engine.stalled ? 'stalled (fault)' : 'moving again'}`);
                  return { stalled: engine.stalled };
                })
              : undefined),
          setTamper: lab.setTamper,
        },
        host,
        want.control,
      );
      closers.push(() => control.close());
      controlUrl = control.url;
    }

    const switchEndpoints: LabSwitchEndpoint[] = switches.map((w, i) => ({
      platform: w.platform,
      port: swDevs[i].port,
      hostname: w.hostname,
      username: 'netops',
      passwordFile: keys.files.switchPassword,
      enableSecretFile: keys.files.switchEnable,
      vaultPorts: w.ports.defs.filter((p) => p.vault).map((p) => p.name),
      fingerprint: keys.fingerprints.switch,
    }));
    lab.endpoints = {
      host,
      knownHostsFile,
      clientKeyFile: keys.clientKeyFile,
      control: controlUrl,
      switches: switchEndpoints,
      switch: { ...switchEndpoints[0], platform: 'cisco-ios' },
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
        sandboxMtree: SANDBOX_MTREE,
        sandboxMountPath: sandboxDir,
        replicationInterface: 'ethV1',
      },
      recoveryHost: rescue.endpoint,
      context,
      rest: rest.endpoints,
      worm: { immutable: retention.immutable.available, reason: retention.immutable.reason },
    };
    fs.writeFileSync(path.join(dir, 'endpoints.json'), JSON.stringify(lab.endpoints, null, 2) + '\n');
    return lab;
  } catch (err) {
    await closeAll();
    throw err;
  }
}
