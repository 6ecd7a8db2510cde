/**
 * The lab's switches: one per platform, each its own SSH endpoint, ports and revert timer, all run by the one
 * CLI engine. They stand side by side as alternative paths to the vault: replication flows while the vault DD's
 * replication interface is enabled and the vault ports of any one switch are up (each vault config points at
 * one of them; the others stay shut).
 */
import type { PlatformName } from '../vocabulary/switch-platforms';
import { switchDevice, type SwitchContext } from './cli/engine';
import { LAB_PLATFORMS } from './cli/platforms';
import { RevertTimer } from './cli/revert';
import type { Faults } from './faults';
import { SwitchPorts } from './ports';
import type { DeviceHandler } from './ssh-server';
import type { LabState } from './state';

export interface LabSwitch {
  platform: PlatformName;
  hostname: string;
  ports: SwitchPorts;
  timer: RevertTimer;
  handler: DeviceHandler;
  close(): void;
}

export function createSwitch(
  platform: PlatformName,
  o: { state: LabState; faults: Faults; enableSecret: string; username: string; linkUpDelayMs: number; minuteMs: number; log: (l: string) => void },
): LabSwitch {
  const p = LAB_PLATFORMS[platform];
  const ports = new SwitchPorts(o.state, o.linkUpDelayMs, p.ports, (t) => p.resolvePort(t) ?? p.ports.find((x) => x.name === t || x.short === t));
  const timer = new RevertTimer(ports, (l) => o.log(`${p.hostname}: ${l}`));
  const ctx: SwitchContext = {
    platform: p,
    ports,
    faults: o.faults,
    enableSecret: o.enableSecret,
    username: o.username,
    log: o.log,
    timer,
    minuteMs: o.minuteMs,
    store: new Map(),
  };
  return {
    platform,
    hostname: p.hostname,
    ports,
    timer,
    handler: switchDevice(ctx),
    close: () => {
      timer.close();
      ports.close();
    },
  };
}
