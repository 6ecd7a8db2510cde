/**
 * The vault switch's ports. Admin state is configuration (persisted); oper state follows it after a link
 * negotiation delay, and only on cabled ports. Listeners (the replication engine) hear every oper change at
 * once, so a port shut mid-transfer cuts the transfer immediately.
 */
import { EventEmitter } from 'node:events';
import type { LabState } from './state';

export type UpDown = 'up' | 'down';

export interface PortDef {
  name: string; // GigabitEthernet1/0/1
  short: string; // Gi1/0/1
  description: string;
  vlan: string;
  type: string;
  cabled: boolean;
  vault: boolean;
  defaultAdmin: UpDown;
}

export const PORTS: PortDef[] = [
  { name: 'GigabitEthernet1/0/1', short: 'Gi1/0/1', description: 'vault-repl-a', vlan: 'trunk', type: '10GBase-SR', cabled: true, vault: true, defaultAdmin: 'down' },
  { name: 'GigabitEthernet1/0/2', short: 'Gi1/0/2', description: 'vault-repl-b', vlan: 'trunk', type: '10GBase-SR', cabled: true, vault: true, defaultAdmin: 'down' },
  { name: 'GigabitEthernet1/0/3', short: 'Gi1/0/3', description: '', vlan: '1', type: '10/100/1000BaseTX', cabled: false, vault: false, defaultAdmin: 'up' },
];

/** Accepts `Gi1/0/1`, `gi1/0/1`, `GigabitEthernet1/0/1`, `g 1/0/1`… (any prefix of the type name). */
export function resolvePort(text: string): PortDef | undefined {
  const m = /^([a-z]+)\s*(\d+\/\d+\/\d+)$/i.exec(text.trim());
  if (!m || !'gigabitethernet'.startsWith(m[1].toLowerCase())) return undefined;
  return PORTS.find((p) => p.name === `GigabitEthernet${m[2]}`);
}

export class SwitchPorts extends EventEmitter {
  private oper = new Map<string, UpDown>();
  private timers = new Map<string, NodeJS.Timeout>();
  /** Interface descriptions may be changed from the CLI (not persisted: the lab's descriptions are fixed). */
  readonly descriptions = new Map<string, string>(PORTS.map((p) => [p.name, p.description]));

  constructor(
    private readonly state: LabState,
    private readonly linkUpDelayMs: number,
  ) {
    super();
    for (const p of PORTS) {
      state.data.ports[p.name] ??= p.defaultAdmin;
      // A restart is not a link flap: ports that were up come back up at once.
      this.oper.set(p.name, state.data.ports[p.name] === 'up' && p.cabled ? 'up' : 'down');
    }
  }

  admin(name: string): UpDown {
    return this.state.data.ports[name];
  }

  operState(name: string): UpDown {
    return this.oper.get(name) ?? 'down';
  }

  states(): Record<string, { admin: UpDown; oper: UpDown }> {
    return Object.fromEntries(PORTS.map((p) => [p.name, { admin: this.admin(p.name), oper: this.operState(p.name) }]));
  }

  vaultPortsUp(): boolean {
    return PORTS.filter((p) => p.vault).every((p) => this.operState(p.name) === 'up');
  }

  vaultPortsDown(): boolean {
    return PORTS.filter((p) => p.vault).every((p) => this.admin(p.name) === 'down' && this.operState(p.name) === 'down');
  }

  setAdmin(nameOrShort: string, admin: UpDown): void {
    const p = resolvePort(nameOrShort);
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
