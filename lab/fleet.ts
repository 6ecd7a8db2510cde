/**
 * A lab fleet: N vault labs spread over several processes, each lab on ports allocated up front and written to
 * `<dir>/fleet.json` (the config generator reads it; a killed group restarts on the same ports and the same
 * folders, so the vault config stays true). One vault can be put in a process of its own ("solo"), so a fault
 * can take one vault's devices away without the others'.
 *
 *   npm run lab -- --vaults 100 [--processes 4] [--dir .fleet] [--base-port 30000] [--solo 1] [--mib 4]
 *   tsx lab/fleet.ts group <fleet.json> <group>    (one group's labs; what the command above spawns)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { startLab, type Lab, type LabEndpoints } from './index';

/** The ports one lab listens on (cisco-ios switch only; REST faces and the recovery host included). */
export const LAB_PORT_NAMES = ['switch', 'sourceDd', 'vaultDd', 'control', 'recoveryHost', 'ddRest', 'bareos', 'networker'] as const;
export type LabPorts = Record<(typeof LAB_PORT_NAMES)[number], number>;
const BLOCK = 10; // ports per lab block (8 used)

export interface FleetVault {
  id: string;
  group: string;
  dir: string;
  ports: LabPorts;
}

export interface FleetPlan {
  host: string;
  dir: string;
  seed: { files: number; totalBytes: number };
  bandwidthBytesPerSec: number;
  vaults: FleetVault[];
  groups: string[];
}

export const fleetFile = (dir: string) => path.join(path.resolve(dir), 'fleet.json');
export const vaultIdOf = (i: number) => `vault-${String(i).padStart(3, '0')}`;

function portFree(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, host, () => s.close(() => resolve(true)));
  });
}

export interface PlanOptions {
  dir: string;
  vaults: number;
  processes: number;
  solo?: number; // the first `solo` vaults each get a process of their own
  basePort?: number;
  host?: string;
  mib?: number;
  files?: number;
  bandwidthBytesPerSec?: number;
}

/**
 * Allocates ports (blocks of 10 from basePort, a block with any port taken is skipped) and groups, and writes
 * fleet.json. An existing plan for the same directory and vault count is kept as it is (its labs' data too).
 */
export async function planFleet(o: PlanOptions): Promise<FleetPlan> {
  const dir = path.resolve(o.dir);
  const host = o.host ?? '127.0.0.1';
  const existing = fs.existsSync(fleetFile(dir)) ? (JSON.parse(fs.readFileSync(fleetFile(dir), 'utf8')) as FleetPlan) : undefined;
  if (existing && existing.vaults.length === o.vaults) return existing;
  if (!Number.isInteger(o.vaults) || o.vaults < 1) throw new Error(`--vaults ${o.vaults}: a whole number of vaults, 1 or more`);
  if (!Number.isInteger(o.processes) || o.processes < 1) throw new Error(`--processes ${o.processes}: a whole number of lab processes, 1 or more`);
  const solo = o.solo ?? 0;
  const shared = Math.max(1, o.processes - solo);
  const vaults: FleetVault[] = [];
  let block = o.basePort ?? 30000;
  for (let i = 0; i < o.vaults; i++) {
    for (;;) {
      if (block + BLOCK > 65535) throw new Error(`no free ports left above ${o.basePort ?? 30000} for ${o.vaults} labs; try a lower --base-port`);
      const free = await Promise.all(LAB_PORT_NAMES.map((_, k) => portFree(block + k, host)));
      if (free.every(Boolean)) break;
      block += BLOCK;
    }
    const ports = Object.fromEntries(LAB_PORT_NAMES.map((n, k) => [n, block + k])) as LabPorts;
    block += BLOCK;
    const group = i < solo ? `solo-${i}` : `group-${(i - solo) % shared}`;
    vaults.push({ id: vaultIdOf(i), group, dir: path.join(dir, vaultIdOf(i)), ports });
  }
  const plan: FleetPlan = {
    host,
    dir,
    seed: { files: o.files ?? 40, totalBytes: (o.mib ?? 4) * 1024 * 1024 },
    bandwidthBytesPerSec: o.bandwidthBytesPerSec ?? 32 * 1024 * 1024,
    vaults,
    groups: [...new Set(vaults.map((v) => v.group))],
  };
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(fleetFile(dir), JSON.stringify(plan, null, 2) + '\n');
  return plan;
}

export const readPlan = (file: string) => JSON.parse(fs.readFileSync(file, 'utf8')) as FleetPlan;

/** The endpoints each lab wrote when it started (its dir/endpoints.json): what the config generator needs. */
export function fleetEndpoints(plan: FleetPlan): Array<{ id: string; endpoints: LabEndpoints }> {
  return plan.vaults.map((v) => ({ id: v.id, endpoints: JSON.parse(fs.readFileSync(path.join(v.dir, 'endpoints.json'), 'utf8')) as LabEndpoints }));
}

/**
 * node --cpu-prof into a folder of the process's own, under node's default names (CPU.<date>.<time>.<pid>.<tid>.<seq>):
 * every thread writes a profile (tsx's loader hooks run on a thread of their own, the worker's workflows on others),
 * and one fixed name would leave whichever thread exited last.
 */
export function cpuProfileFlags(profileDir: string, processName: string): string[] {
  const dir = path.join(profileDir, processName);
  fs.mkdirSync(dir, { recursive: true });
  return ['--cpu-prof', `--cpu-prof-dir=${dir}`];
}

/** A running group process: its pid, and a promise of its exit. */
export interface GroupProcess {
  group: string;
  child: ChildProcess;
  pid: number;
  exited: Promise<number | null>;
}

/**
 * Starts one group's labs in a process of its own and resolves once they all listen. Its output goes to
 * `<dir>/<group>.log`. The process stops on SIGTERM (labs closed) and when killed leaves its folders as they were.
 */
export async function startGroup(plan: FleetPlan, group: string, opts: { profileDir?: string } = {}): Promise<GroupProcess> {
  const log = fs.openSync(path.join(plan.dir, `${group}.log`), 'a');
  // --cpu-prof: node writes the process's CPU profiles when it exits (SIGTERM closes the labs and exits).
  const prof = opts.profileDir ? cpuProfileFlags(opts.profileDir, `lab-${group}`) : [];
  const child = spawn(process.execPath, [...prof, '--import', 'tsx', __filename, 'group', fleetFile(plan.dir), group], {
    stdio: ['ignore', 'pipe', log],
  });
  fs.closeSync(log);
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  await new Promise<void>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (l) => (l === 'ready' ? resolve() : undefined));
    void exited.then((code) => reject(new Error(`lab fleet ${group} exited (${code}) before its labs listened; see ${path.join(plan.dir, `${group}.log`)}`)));
  });
  return { group, child, pid: child.pid!, exited };
}

/** Inside a group process: start its labs on their planned ports, say `ready`, close them on SIGTERM/SIGINT. */
async function runGroup(file: string, group: string): Promise<void> {
  const plan = readPlan(file);
  const labs: Lab[] = [];
  let closing = false;
  const close = async () => {
    if (closing) return;
    closing = true;
    for (const l of labs) await l.close().catch(() => undefined);
    process.exit(0);
  };
  process.on('SIGTERM', () => void close());
  process.on('SIGINT', () => void close());
  for (const v of plan.vaults.filter((x) => x.group === group)) {
    const p = v.ports;
    labs.push(
      await startLab({
        dir: v.dir,
        host: plan.host,
        ports: { switch: p.switch, sourceDd: p.sourceDd, vaultDd: p.vaultDd, control: p.control, ddRest: p.ddRest, bareos: p.bareos, networker: p.networker },
        recoveryHostPort: p.recoveryHost,
        switches: ['cisco-ios'],
        seed: plan.seed,
        bandwidthBytesPerSec: plan.bandwidthBytesPerSec,
        log: (line) => console.error(`${new Date().toISOString()} ${v.id} ${line}`),
      }),
    );
  }
  process.stdout.write('ready\n');
}

/** `npm run lab -- --vaults N`: plan, start every group, print where the plan is, stop them all on Ctrl-C. */
export async function runFleet(o: PlanOptions): Promise<void> {
  const plan = await planFleet(o);
  const t0 = Date.now();
  const groups = await Promise.all(plan.groups.map((g) => startGroup(plan, g)));
  console.log(`${plan.vaults.length} vault labs in ${groups.length} processes up in ${((Date.now() - t0) / 1000).toFixed(1)} s; ports and folders in ${fleetFile(plan.dir)}`);
  console.log(`  the vault config: npx tsx bench/fleet-config.ts --fleet ${fleetFile(plan.dir)} --out ${path.join(plan.dir, 'vaults.yaml')}`);
  for (const g of groups) console.log(`  ${g.group.padEnd(10)} pid ${g.pid}  ${plan.vaults.filter((v) => v.group === g.group).length} labs`);
  const stop = () => {
    for (const g of groups) g.child.kill('SIGTERM');
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  await Promise.all(groups.map((g) => g.exited));
}

if (require.main === module && process.argv[2] === 'group') {
  runGroup(process.argv[3], process.argv[4]).catch((err: Error) => {
    console.error(err.stack ?? err.message);
    process.exit(1);
  });
}
