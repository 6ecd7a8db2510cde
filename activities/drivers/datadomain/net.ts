/**
 * The Data Domain's network interfaces for a link controller: `net show settings` parsed, `net disable|enable
 * <if>` to cut and restore the vault DD's replication interface. Pure parsing plus two commands on the CLI.
 */
import { DeviceCommandError } from '../errors';
import type { DataDomainCli } from './cli';
import type { PortState } from '../switch/ports';

export interface NetSetting {
  port: string;
  enabled: boolean;
  /** `running` when the link carries traffic; anything else is down. */
  state: string;
  line: string;
}

/** `net show settings`: a `port enabled state DHCP IP address …` table between dashed rules. */
export function parseNetSettings(out: string): NetSetting[] {
  const lines = out.split('\n').map((l) => l.trimEnd());
  const header = lines.findIndex((l) => /^port\s+enabled\s+state\b/i.test(l.trim()));
  if (header < 0) throw new Error(`no "port enabled state" header in \`net show settings\` output: ${JSON.stringify(out.slice(0, 300))}`);
  const rows: NetSetting[] = [];
  for (const line of lines.slice(header + 1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 3 || /^-+$/.test(f[0])) continue;
    if (!/^(yes|no)$/i.test(f[1])) continue;
    rows.push({ port: f[0], enabled: f[1].toLowerCase() === 'yes', state: f[2].toLowerCase(), line: line.trim() });
  }
  return rows;
}

const IF_NAME = /^[A-Za-z][\w.:-]{0,31}$/;

export async function netInterfaceState(dd: DataDomainCli, iface: string): Promise<PortState> {
  const out = await dd.run('net show settings');
  let rows: NetSetting[];
  try {
    rows = parseNetSettings(out);
  } catch (err) {
    throw new DeviceCommandError(dd.label, 'net show settings', out, `${dd.label}: ${(err as Error).message}`);
  }
  const row = rows.find((r) => r.port === iface);
  if (!row) throw new DeviceCommandError(dd.label, 'net show settings', out, `${dd.label} has no interface ${iface} in \`net show settings\` (has: ${rows.map((r) => r.port).join(', ')})`);
  return { port: iface, admin: row.enabled ? 'up' : 'down', oper: row.enabled && row.state === 'running' ? 'up' : 'down', line: row.line };
}

export async function setNetInterface(dd: DataDomainCli, iface: string, admin: 'up' | 'down'): Promise<void> {
  if (!IF_NAME.test(iface)) throw new DeviceCommandError(dd.label, 'net', '', `${dd.label}: ${JSON.stringify(iface)} is not an interface name`);
  await dd.run(`net ${admin === 'up' ? 'enable' : 'disable'} ${iface}`);
}
