/**
 * The Data Domain's network interfaces as far as the air gap needs them: `net show settings`, and
 * `net disable <if>` / `net enable <if>` on the replication interface — the way Dell's vault software
 * (Cyber Recovery) cuts its gap on the vault DD instead of a switch port. Imitates DD OS `net` commands
 * (DD OS Command Reference, "net"); the table's exact columns are [S] (secondary sources), and the reply
 * texts of `net disable|enable` are [U]: a real DD must be checked (README "Supported families").
 * The management interface cannot be disabled from the lab (a real DD would cut the session doing it).
 */
import type { LabState } from './state';

export interface NetInterfaceDef {
  name: string; // ethV1
  ip: string;
  netmask: string;
  /** The replication interface whose state gates replication; the others never change. */
  replication: boolean;
  management: boolean;
}

export const DD_INTERFACES = (octet: number): NetInterfaceDef[] => [
  { name: 'ethMa', ip: `192.168.10.${octet}`, netmask: '255.255.255.0', replication: false, management: true },
  { name: 'ethV1', ip: `10.20.0.${octet}`, netmask: '255.255.255.0', replication: true, management: false },
];

export class DdNet {
  constructor(
    private readonly state: LabState,
    private readonly dd: string,
    readonly interfaces: NetInterfaceDef[],
    /** Whether the replication interface starts enabled (first start only; then state.json keeps it). */
    replicationUpByDefault: boolean,
    private readonly onChange: () => void = () => undefined,
  ) {
    for (const i of interfaces) state.data.netInterfaces[this.key(i.name)] ??= i.replication && !replicationUpByDefault ? 'down' : 'up';
  }

  private key(name: string): string {
    return `${this.dd}/${name}`;
  }

  admin(name: string): 'up' | 'down' {
    return this.state.data.netInterfaces[this.key(name)] ?? 'down';
  }

  /** True when the replication interface is enabled (no interface: always true). */
  replicationUp(): boolean {
    return this.interfaces.filter((i) => i.replication).every((i) => this.admin(i.name) === 'up');
  }

  set(name: string, admin: 'up' | 'down'): void {
    this.state.data.netInterfaces[this.key(name)] = admin;
    this.state.save();
    this.onChange();
  }

  /** Runs `net …`; returns its output, or throws the DD's `****` error through `fail`. */
  run(t: string[], fail: (msg: string) => never): string {
    const sub = t.slice(1).map((x) => x.toLowerCase());
    if (sub[0] === 'show' && sub[1] === 'settings' && sub.length === 2) return this.settings();
    if ((sub[0] === 'disable' || sub[0] === 'enable') && sub.length === 2) {
      const i = this.interfaces.find((x) => x.name.toLowerCase() === sub[1]);
      if (!i) return fail(`Interface "${t[2]}" does not exist.`);
      if (i.management && sub[0] === 'disable') return fail(`Cannot disable ${i.name}: it is the interface of this session.`);
      const want = sub[0] === 'enable' ? 'up' : 'down';
      this.set(i.name, want);
      return `Interface ${i.name} ${sub[0]}d.\n`;
    }
    return fail(`Unrecognized command "${t.join(' ')}".`);
  }

  settings(): string {
    const rows = this.interfaces.map((i) => {
      const on = this.admin(i.name) === 'up';
      return [i.name.padEnd(7), (on ? 'yes' : 'no').padEnd(7), (on ? 'running' : 'down').padEnd(7), 'no'.padEnd(4), i.ip.padEnd(21), i.netmask.padEnd(15), 'n/a'].join('   ');
    });
    return [
      'port      enabled   state     DHCP   IP address              netmask           type   additional setting',
      '-------   -------   -------   ----   ---------------------   ---------------   ----   ------------------',
      ...rows,
      '-------   -------   -------   ----   ---------------------   ---------------   ----   ------------------',
      '',
    ].join('\n');
  }
}
