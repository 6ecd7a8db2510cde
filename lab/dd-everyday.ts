/**
 * The everyday DD OS commands an engineer types on the lab DDs (`system show version`, `filesys show space`,
 * `net show settings`, `replication show config`, `mtree list` with its legend) and the "vault full" state.
 * Output shapes follow DD OS 7.x captures (column headers, `-----` rules, the mtree list legend); figures are
 * the lab's own (sizes of the lab folders, a fixed capacity).
 */
import fs from 'node:fs';
import path from 'node:path';
import { listFiles, type RetentionLock } from './retention';
import type { MtreeDef } from './mtrees';

export const DD_OS_VERSION = 'Data Domain OS 7.13.1.0-1104632';
const GIB = 2 ** 30;

export interface EverydayContext {
  hostname: string;
  mtrees: MtreeDef[];
  retention: RetentionLock | null;
  source: string;
  destination: string;
  replicationEnabled(): boolean;
}

export interface NetInterface {
  port: string;
  enabled: boolean;
  ip: string;
  role: string;
}

/** Per-DD runtime extras: capacity (and the "vault full" fault), interfaces as `net show settings` lists them. */
export class DdExtras {
  full = false;
  capacityGiB = 1024;
  interfaces: NetInterface[];

  constructor(hostname: string) {
    const last = hostname === 'prod-dd' ? 10 : 20;
    this.interfaces = [
      { port: 'ethMa', enabled: true, ip: `192.168.100.${last}`, role: 'management' },
      { port: 'ethV1', enabled: true, ip: `10.20.0.${last}`, role: 'replication' },
    ];
  }
}

const used = (dirs: string[]) => dirs.reduce((n, d) => n + listFiles(d).reduce((m, f) => m + fs.statSync(path.join(d, f)).size, 0), 0);
const pad = (cols: Array<[string, number]>) => cols.map(([v, w]) => v.padEnd(w)).join('   ').trimEnd();

export function mtreeStatus(m: MtreeDef, retention: RetentionLock | null): string {
  if (m.kind === 'rw') return 'RW';
  if (m.kind === 'replica') return 'RO/RD';
  return retention?.mode() === 'compliance' ? 'RW/RLCE' : 'RW/RLGE';
}

export function mtreeList(ctx: EverydayContext): string {
  const rule = `${'-'.repeat(23)}   ${'-'.repeat(14)}   ${'-'.repeat(7)}`;
  const rows = [...ctx.mtrees]
    .sort((a, b) => a.path.localeCompare(b.path))
    .map((m) => `${m.path.padEnd(23)}   ${(used([m.dir]) / GIB).toFixed(1).padStart(14)}   ${mtreeStatus(m, ctx.retention)}`);
  const legend = [
    ' D    : Deleted',
    ' Q    : Quota Defined',
    ' RO   : Read Only',
    ' RW   : Read Write',
    ' RD   : Replication Destination',
    ' IRH  : Retention-Lock Indefinite Retention Hold Enabled',
    ' ARL  : Automatic-Retention-Lock Enabled',
    ' RLGE : Retention-Lock Governance Enabled',
    ' RLGD : Retention-Lock Governance Disabled',
    ' RLCE : Retention-Lock Compliance Enabled',
    ' M    : Mobile',
    ' m    : Migratable',
  ];
  return [`${'Name'.padEnd(23)}   Pre-Comp (GiB)   Status`, rule, ...rows, rule, ...legend, ''].join('\n');
}

/** Answers an everyday command, or refuses a write on a full vault; null when the command is not one of these. */
export function everydayCommand(tokens: string[], ctx: EverydayContext, extras: DdExtras): string | { error: string } | null {
  const line = tokens.join(' ').toLowerCase();
  if (extras.full && (line.startsWith('filesys fastcopy') || line.startsWith('replication sync'))) {
    return { error: 'Operation failed: the file system is full (no space left on /data: post-comp 100% used).' };
  }
  switch (line) {
    case 'system show version':
      return `${DD_OS_VERSION}\n`;
    case 'mtree list':
      return mtreeList(ctx);
    case 'filesys show space': {
      const usedGiB = extras.full ? extras.capacityGiB : used(ctx.mtrees.map((m) => m.dir)) / GIB;
      const pct = Math.min(100, Math.round((usedGiB / extras.capacityGiB) * 100));
      const w: number[] = [16, 8, 8, 9, 4, 14];
      const row = (cells: string[]) => pad(cells.map((c, i) => [i === 0 ? c : c.padStart(w[i]), w[i]] as [string, number]));
      const rule = row(w.map((n) => '-'.repeat(n)));
      return [
        'Active Tier:',
        row(['Resource', 'Size GiB', 'Used GiB', 'Avail GiB', 'Use%', 'Cleanable GiB*']),
        rule,
        row(['/data: pre-comp', '-', usedGiB.toFixed(1), '-', '-', '-']),
        row(['/data: post-comp', extras.capacityGiB.toFixed(1), usedGiB.toFixed(1), (extras.capacityGiB - usedGiB).toFixed(1), `${pct}%`, '0.0']),
        row(['/ddvar', '49.2', '5.1', '41.6', '11%', '-']),
        rule,
        ' * Estimated based on last cleaning of 2026/11/01 06:00:00.',
        '',
      ].join('\n');
    }
    case 'net show settings': {
      const head = ['port', 'enabled', 'state', 'DHCP', 'IP address', 'netmask', 'type', 'additional setting'];
      const w = [7, 7, 7, 4, 25, 15, 4, 18];
      const row = (c: string[]) => pad(c.map((v, i) => [v, w[i]] as [string, number]));
      const rule = row(w.map((n) => '-'.repeat(n)));
      return [
        row(head),
        rule,
        ...extras.interfaces.map((i) => row([i.port, i.enabled ? 'yes' : 'no', i.enabled ? 'running' : 'down', 'no', i.ip, '255.255.255.0', 'n/a', i.role === 'replication' ? 'replication' : ''])),
        rule,
        '',
      ].join('\n');
    }
    case 'replication show config': {
      const w = [3, 46, 46, 24, 12, 7];
      const row = (c: string[]) => pad(c.map((v, i) => [v, w[i]] as [string, number]));
      const srcHost = /^mtree:\/\/([^/]+)/.exec(ctx.source)?.[1] ?? 'source';
      return [
        row(['CTX', 'Source', 'Destination', 'Connection Host and Port', 'Low-bw-optim', 'Enabled']),
        row(w.map((n) => '-'.repeat(n))),
        row(['1', ctx.source, ctx.destination, `${srcHost} (default)`, 'disabled', ctx.replicationEnabled() ? 'yes' : 'no']),
        row(w.map((n) => '-'.repeat(n))),
        '',
      ].join('\n');
    }
    default:
      return null;
  }
}
