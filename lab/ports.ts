/**
 * A lab switch's ports. Admin state is configuration (persisted in state.json, keyed by the full interface
 * name, which differs per platform); oper state follows it after a link negotiation delay, and only on cabled
 * ports. Listeners (the replication engine, `terminal monitor` sessions) hear every change at once, so a port
 * shut mid-transfer cuts the transfer immediately.
 */
import { EventEmitter } from 'node:events';
import type { LabState } from './state';

export type UpDown = 'up' | 'down';

export interface PortDef {
  /** Full interface name as the platform prints it: GigabitEthernet1/0/1, Ethernet1/1, Ethernet1, ge-0/0/1. */
  name: string;
  /** The short form the platform uses in tables: Gi1/0/1, Eth1/1, Et1, ge-0/0/1. */
  short: string;
  description: string;
  vlan: string;
  /** Media type as the platform prints it; matches the interface type (a Gigabit port is not 10GBase-SR). */
  type: string;
  /** Negotiated speed in Mb/s when up. */
  speedMbps: number;
  cabled: boolean;
  vault: boolean;
  defaultAdmin: UpDown;
}

/** The IOS switch's ports (the lab's first switch; kept under this name for older imports). */
export const PORTS: PortDef[] = [
  { name: 'GigabitEthernet1/0/1', short: 'Gi1/0/1', description: 'vault-repl-a', vlan: 'trunk', type: '1000BaseSX SFP', speedMbps: 1000, cabled: true, vault: true, defaultAdmin: 'down' },
  { name: 'GigabitEthernet1/0/2', short: 'Gi1/0/2', description: 'vault-repl-b', vlan: 'trunk', type: '1000BaseSX SFP', speedMbps: 1000, cabled: true, vault: true, defaultAdmin: 'down' },
  { name: 'GigabitEthernet1/0/3', short: 'Gi1/0/3', description: '', vlan: '1', type: '10/100/1000BaseTX', speedMbps: 1000, cabled: false, vault: false, defaultAdmin: 'up' },
];

export class SwitchPorts extends EventEmitter {
  private oper = new Map<string, UpDown>();
  private timers = new Map<string, NodeJS.Timeout>();
  /** Interface descriptions may be changed from the CLI (not persisted: the lab's descriptions are fixed). */
  readonly descriptions: Map<string, string>;

  constructor(
    private readonly state: LabState,
    private readonly linkUpDelayMs: number,
    readonly defs: PortDef[] = PORTS,
    /** Resolves what a user typed (any accepted abbreviation) to a port; defaults to exact names. */
    private readonly resolver: (text: string) => PortDef | undefined = (t) => defs.find((p) => p.name === t || p.short === t),
  ) {
    super();
    this.setMaxListeners(100);
    this.descriptions = new Map<string, string>(defs.map((p) => [p.name, p.description]));
    for (const p of defs) {
      state.data.ports[p.name] ??= p.defaultAdmin;
      // A restart is not a link flap: ports that were up come back up at once.
      this.oper.set(p.name, state.data.ports[p.name] === 'up' && p.cabled ? 'up' : 'down');
    }
  }

  resolve(text: string): PortDef | undefined {
    return this.resolver(text);
  }

  def(name: string): PortDef {
    return this.defs.find((p) => p.name === name)!;
  }

  admin(name: string): UpDown {
    return this.state.data.ports[name];
  }

  operState(name: string): UpDown {
    return this.oper.get(name) ?? 'down';
  }

  states(): Record<string, { admin: UpDown; oper: UpDown }> {
    return Object.fromEntries(this.defs.map((p) => [p.name, { admin: this.admin(p.name), oper: this.operState(p.name) }]));
  }

  /** Admin states of every port, for a rollback snapshot. */
  snapshot(): Record<string, UpDown> {
    return Object.fromEntries(this.defs.map((p) => [p.name, this.admin(p.name)]));
  }

  restore(snap: Record<string, UpDown>): void {
    for (const [name, admin] of Object.entries(snap)) this.setAdmin(name, admin);
  }

  vaultPortsUp(): boolean {
    return this.defs.filter((p) => p.vault).every((p) => this.operState(p.name) === 'up');
  }

  vaultPortsDown(): boolean {
    return this.defs.filter((p) => p.vault).every((p) => this.admin(p.name) === 'down' && this.operState(p.name) === 'down');
  }

  setAdmin(nameOrShort: string, admin: UpDown): void {
    const p = this.resolve(nameOrShort);
    if (!p) throw new Error(`unknown port ${nameOrShort}`);
    const before = this.admin(p.name);
    this.state.data.ports[p.name] = admin;
    this.state.save();
    if (before === admin) return;
    this.emit('admin', p.name, admin);
    clearTimeout(this.timers.get(p.name));
    this.timers.delete(p.name);
    if (admin === 'down') {
      this.setOper(p.name, 'down');
    } else if (p.cabled) {
      this.timers.set(
        p.name,
        setTimeout(() => {
          this.timers.delete(p.name);
          this.setOper(p.name, 'up');
        }, this.linkUpDelayMs),
      );
    }
  }

  /** A link flap (fault): oper down for `ms`, then back up if the port is still admin up. */
  flap(name: string, ms: number): void {
    const p = this.resolve(name);
    if (!p || this.operState(p.name) !== 'up') return;
    this.setOper(p.name, 'down');
    this.timers.set(
      p.name,
      setTimeout(() => {
        this.timers.delete(p.name);
        if (this.admin(p.name) === 'up') this.setOper(p.name, 'up');
      }, ms),
    );
  }

  private setOper(name: string, oper: UpDown): void {
    if (this.oper.get(name) === oper) return;
    this.oper.set(name, oper);
    this.emit('oper', name, oper);
  }

  close(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    this.removeAllListeners();
  }
}
