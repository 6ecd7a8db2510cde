/**
 * Switch driver used by activities: open a CLI session on a vault switch and set / read port admin state.
 * Knows protocols, not workflows: no retries, no policy; errors carry the device's own words.
 */
import type { Client } from 'ssh2';
import { DeviceCommandError, DeviceError } from '../errors';
import { connectSsh, endSsh, type SshTarget } from '../ssh';
import type { PlatformName } from '../../../vocabulary/switch-platforms';
import { platform, revertSeconds } from './platforms';
import { PortStateParseError, type AdminState, type PortState } from './ports';
import { CliSession } from './session';

export type { PortState, AdminState } from './ports';
export { PLATFORMS } from './platforms';
export { CliSession } from './session';

export interface SwitchTarget extends SshTarget {
  platform: PlatformName;
  enableSecret?: string;
  /** Name used in errors; defaults to the hostname in the device's prompt. */
  label?: string;
  /** Per-command time limit (ms), default 30 s. */
  commandTimeoutMs?: number;
}

export interface SwitchSession {
  /** The hostname from the device's prompt. */
  readonly hostname: string;
  readonly platform: PlatformName;
  /**
   * Set the admin state of `ports` in one configuration session (IOS `no shutdown`/`shutdown`, Junos + commit).
   * Up with `revertAfterSeconds`: the platform's own revert timer is armed in the same step, so the switch
   * shuts the ports by itself unless they are closed in time. Down: the ports are shut, then any armed timer
   * is overtaken or disarmed (never the other way round: no instant with the ports up and no timer).
   */
  setPorts(ports: string[], admin: AdminState, opts?: { revertAfterSeconds?: number }): Promise<{ revert?: { name: string; seconds: number } }>;
  /** Read each port's admin and oper state from `show interfaces`. */
  portStates(ports: string[]): Promise<PortState[]>;
  /** Persist the running configuration (no-op where commit persists it). */
  saveConfig(): Promise<void>;
  /** Run a show/exec command and return its output (failure strings → DeviceCommandError). */
  show(command: string): Promise<string>;
  close(): Promise<void>;
}

const PORT_NAME = /^[A-Za-z][\w./:-]{0,63}$/;

function checkPorts(device: string, ports: string[]): void {
  for (const p of ports) {
    if (!PORT_NAME.test(p)) {
      throw new DeviceError(`${device}: ${JSON.stringify(p)} is not a valid interface name`, { device, retryable: false });
    }
  }
}

export async function openSwitch(target: SwitchTarget): Promise<SwitchSession> {
  const p = platform(target.platform);
  const label = target.label ?? `switch ${target.host}:${target.port}`;
  const client: Client = await connectSsh(target, label);
  let session: CliSession;
  try {
    session = await CliSession.open(client, {
      label,
      hostnameAsDevice: target.label === undefined,
      platform: p,
      enableSecret: target.enableSecret,
      timeoutMs: target.commandTimeoutMs,
      openTimeoutMs: target.readyTimeoutMs,
    });
  } catch (err) {
    await endSsh(client);
    throw err;
  }

  let closed = false;
  return {
    get hostname() {
      return session.hostname;
    },
    platform: p.name,
    async setPorts(ports, admin, opts = {}) {
      if (ports.length === 0) return {};
      checkPorts(session.device, ports);
      const plan = p.revert;
      if (admin === 'up' && opts.revertAfterSeconds !== undefined) {
        const seconds = revertSeconds(plan, opts.revertAfterSeconds);
        const { lines, ...overrides } = plan.open(ports, seconds);
        await session.sendConfig(lines, overrides);
        return { revert: { name: plan.name, seconds } };
      }
      if (admin === 'down') {
        // An EOS abort reverts at once; it may find nothing pending (timer fired, or none armed): not an error.
        for (const cmd of plan.overtake ?? []) await session.sendCommand(cmd, { check: false });
      }
      await session.sendConfig(ports.flatMap((port) => p.ports.setAdmin(port, admin)));
      if (admin === 'down') {
        // The ports are shut: now drop the timer. Best effort: a timer left armed only shuts shut ports again.
        if (plan.disarmConfig) await session.sendConfig(plan.disarmConfig, { check: false });
        for (const cmd of plan.disarmExec ?? []) await session.sendCommand(cmd, { check: false });
      }
      return {};
    },
    async portStates(ports) {
      checkPorts(session.device, ports);
      const states: PortState[] = [];
      for (const port of ports) {
        const cmd = p.ports.show(port);
        const out = await session.sendCommand(cmd);
        try {
          states.push(p.ports.parse(port, out));
        } catch (err) {
          if (err instanceof PortStateParseError) throw new DeviceCommandError(session.device, cmd, out, `${session.device}: ${err.message}`);
          throw err;
        }
      }
      return states;
    },
    async saveConfig() {
      if (!p.save) return;
      await session.sendCommand(p.save.command, { expect: p.save.expect, timeoutMs: p.save.timeoutMs });
    },
    show(command) {
      return session.sendCommand(command);
    },
    async close() {
      if (closed) return;
      closed = true;
      session.close();
      await endSsh(client);
    },
  };
}
