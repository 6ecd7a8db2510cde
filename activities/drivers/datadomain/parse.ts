/**
 * DD OS CLI output parsers: pure functions. DD timestamps are the system's local wall clock; tables print
 * them without a year, so every parser that reads one takes the device clock (`DdClock`: the device's own
 * `system show date` instant and its UTC offset) to resolve it.
 */

export class DdParseError extends Error {
  constructor(
    what: string,
    readonly output: string,
  ) {
    super(`cannot parse DD output (${what}): ${JSON.stringify(output.slice(0, 400))}`);
    this.name = 'DdParseError';
  }
}

/** The DD's clock: its current instant and its UTC offset (minutes east of UTC) for reading wall-clock times. */
export interface DdClock {
  now: Date;
  offsetMinutes: number;
}

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const DAY = 86_400_000;

const ZONES: Record<string, number> = { UTC: 0, GMT: 0, UT: 0, Z: 0, UCT: 0, WET: 0 };

function monthIndex(name: string): number {
  const i = MONTHS.indexOf(name.slice(0, 3).toLowerCase());
  if (i < 0) throw new DdParseError(`unknown month ${name}`, name);
  return i;
}

/** Wall-clock fields → instant, or undefined when the fields are not a real date (Feb 29 in a common year). */
function wallClock(y: number, mon: number, d: number, h: number, mi: number, s: number, offsetMinutes: number): Date | undefined {
  const ms = Date.UTC(y, mon, d, h, mi, s);
  const check = new Date(ms);
  if (check.getUTCMonth() !== mon || check.getUTCDate() !== d || h > 23 || mi > 59 || s > 60) return undefined;
  return new Date(ms - offsetMinutes * 60_000);
}

/** `+0100`, `-05:30`, `UTC`, `GMT+2` → minutes east of UTC; undefined for names we cannot resolve. */
export function zoneOffsetMinutes(zone: string): number | undefined {
  if (zone in ZONES) return ZONES[zone];
  const m = /^(?:UTC|GMT)?([+-])(\d{1,2}):?(\d{2})?$/.exec(zone);
  if (!m) return undefined;
  return (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3] ?? 0));
}

/**
 * `system show date` → `Sun Nov 22 13:32:45 UTC 2026`. Zones without a numeric meaning (e.g. `CET`) are
 * resolved against the local clock: the difference between the device's wall clock and this host's UTC
 * clock, rounded to 15 minutes (DD clocks are NTP-synced; a skew of a few minutes is absorbed).
 */
export function parseSystemDate(raw: string, hostNow: Date = new Date()): { now: Date; zone: string; offsetMinutes: number; raw: string } {
  const text = raw.trim();
  const m = /(?:[A-Za-z]{3},?\s+)?([A-Za-z]{3})\s+(\d{1,2})\s+(\d{1,2}):(\d{2}):(\d{2})\s+(\S+)\s+(\d{4})/.exec(text);
  if (!m) throw new DdParseError('system show date', raw);
  const [, mon, d, h, mi, s, zone, y] = m;
  const fields = [Number(y), monthIndex(mon), Number(d), Number(h), Number(mi), Number(s)] as const;
  let offset = zoneOffsetMinutes(zone);
  if (offset === undefined) {
    const asUtc = wallClock(...fields, 0);
    if (!asUtc) throw new DdParseError('system show date', raw);
    offset = Math.round((asUtc.getTime() - hostNow.getTime()) / 60_000 / 15) * 15;
  }
  const now = wallClock(...fields, offset);
  if (!now) throw new DdParseError('system show date', raw);
  return { now, zone, offsetMinutes: offset, raw: text };
}

/**
 * A DD timestamp without a year (`Sun Nov 22 13:32`, seconds optional) → the latest such instant that is not
 * more than a day after the device's now. `-` (never) → null.
 */
export function parseDdTimeNoYear(text: string, clock: DdClock): Date | null {
  const t = text.trim();
  if (t === '-' || t === '' || /^never$/i.test(t)) return null;
  const m = /^(?:[A-Za-z]{3}\s+)?([A-Za-z]{3})\s+(\d{1,2})\s+(\d{1,2}):(\d{2})(?::(\d{2}))?$/.exec(t);
  if (!m) throw new DdParseError('timestamp', text);
  const [, mon, d, h, mi, s] = m;
  const limit = clock.now.getTime() + DAY;
  const deviceYear = new Date(clock.now.getTime() + clock.offsetMinutes * 60_000).getUTCFullYear();
  for (let y = deviceYear + 1; y >= deviceYear - 8; y--) {
    const at = wallClock(y, monthIndex(mon), Number(d), Number(h), Number(mi), Number(s ?? 0), clock.offsetMinutes);
    if (at && at.getTime() <= limit) return at;
  }
  throw new DdParseError('timestamp (no year fits)', text);
}

/** A DD timestamp with a year (`Sun Nov 29 13:30:00 2026`, optionally with a zone before the year). */
export function parseDdTimeWithYear(text: string, offsetMinutes: number): Date {
  const m = /^(?:[A-Za-z]{3}\s+)?([A-Za-z]{3})\s+(\d{1,2})\s+(\d{1,2}):(\d{2})(?::(\d{2}))?\s+(?:(\S+)\s+)?(\d{4})$/.exec(text.trim());
  if (!m) throw new DdParseError('timestamp', text);
  const [, mon, d, h, mi, s, zone, y] = m;
  const offset = (zone !== undefined ? zoneOffsetMinutes(zone) : undefined) ?? offsetMinutes;
  const at = wallClock(Number(y), monthIndex(mon), Number(d), Number(h), Number(mi), Number(s ?? 0), offset);
  if (!at) throw new DdParseError('timestamp', text);
  return at;
}

/** Comma-grouped integer (`1,234,567`) → number. */
export function parseDdNumber(text: string): number {
  const t = text.trim().replace(/,/g, '');
  if (!/^\d+(?:\.\d+)?$/.test(t)) throw new DdParseError('number', text);
  return Number(t);
}

const PERIOD_UNITS: Array<[RegExp, number]> = [
  [/^(?:s|sec|secs|second|seconds)$/i, 1],
  [/^(?:m|min|mins|minute|minutes)$/i, 60],
  [/^(?:h|hr|hrs|hour|hours)$/i, 3600],
  [/^(?:d|day|days)$/i, 86_400],
  [/^(?:w|wk|week|weeks)$/i, 7 * 86_400],
];

/** Retention period (`720minutes`, `12hours`, `7days`, `720min`, `6day`) → seconds; `not set` → null. */
export function parseRetentionPeriod(text: string): number | null {
  const t = text.trim();
  if (/^(not set|-|none)$/i.test(t)) return null;
  const m = /^(\d+)\s*([A-Za-z]+)$/.exec(t);
  if (!m) throw new DdParseError('retention period', text);
  const unit = PERIOD_UNITS.find(([re]) => re.test(m[2]));
  if (!unit) throw new DdParseError(`retention period unit ${m[2]}`, text);
  return Number(m[1]) * unit[1];
}

export interface ReplicationStatusRow {
  ctx: number;
  destination: string;
  enabled: boolean;
  /** As printed, lower-cased: `connected`, `disconnected`, `idle`, … */
  connection: string;
  syncedAsOf: Date | null;
}

function yesNo(text: string, what: string, output: string): boolean {
  const t = text.trim().toLowerCase();
  if (t === 'yes' || t === 'enabled' || t === 'true') return true;
  if (t === 'no' || t === 'disabled' || t === 'false') return false;
  throw new DdParseError(`${what} ${JSON.stringify(text)}`, output);
}

const TABLE_TIME = /\s+((?:[A-Za-z]{3}\s+)?[A-Za-z]{3}\s+\d{1,2}\s+\d{1,2}:\d{2}(?::\d{2})?|-)\s*$/;

/** `replication status [<dest>]` table (dash rules and header skipped). */
export function parseReplicationStatus(output: string, clock: DdClock): ReplicationStatusRow[] {
  const rows: ReplicationStatusRow[] = [];
  let sawHeader = false;
  for (const raw of output.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || /^-{2,}(\s+-+)*\s*(\.\.\.)?$/.test(line)) continue;
    if (/^CTX\s+Destination/i.test(line)) {
      sawHeader = true;
      continue;
    }
    if (!/^\d+\s/.test(line)) continue;
    const tm = TABLE_TIME.exec(line);
    if (!tm) throw new DdParseError(`replication status row ${JSON.stringify(line)}`, output);
    const f = line.slice(0, tm.index).trim().split(/\s+/);
    if (f.length < 4) throw new DdParseError(`replication status row ${JSON.stringify(line)}`, output);
    rows.push({
      ctx: Number(f[0]),
      destination: f[1],
      enabled: yesNo(f[2], 'Enabled', output),
      connection: f.slice(3).join(' ').toLowerCase(),
      syncedAsOf: parseDdTimeNoYear(tm[1], clock),
    });
  }
  if (!sawHeader) throw new DdParseError('replication status: no "CTX  Destination" header', output);
  return rows;
}

export interface ReplicationStats {
  destination: string;
  source: string;
  /** `normal`, `disabled`, `disconnected`, `error`, `initializing`, … (lower-cased). */
  state: string;
  enabled: boolean;
  connection: string;
  bytesRemaining: number;
  filesRemaining: number;
  syncedAsOf: Date | null;
  throughputKBps: number;
}

/** `Key: value` lines → map keyed by the key lower-cased with non-alphanumerics removed. */
export function parseKeyValues(output: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const line of output.split(/\r?\n/)) {
    const m = /^\s*([^:]+?)\s*:\s*(.*?)\s*$/.exec(line);
    if (m) map.set(m[1].toLowerCase().replace(/[^a-z0-9]/g, ''), m[2]);
  }
  return map;
}

/** `replication show detailed-stats <dest>`. */
export function parseDetailedStats(output: string, clock: DdClock): ReplicationStats {
  const kv = parseKeyValues(output);
  const get = (what: string, ...keys: string[]): string => {
    for (const k of keys) {
      const v = kv.get(k);
      if (v !== undefined) return v;
    }
    throw new DdParseError(`detailed-stats: no "${what}" line`, output);
  };
  const throughput = kv.get('currentthroughputkbs');
  return {
    destination: get('Destination', 'destination'),
    source: get('Source', 'source'),
    state: get('State', 'state').toLowerCase(),
    enabled: yesNo(get('Enabled', 'enabled'), 'Enabled', output),
    connection: get('Connection', 'connection').toLowerCase(),
    bytesRemaining: parseDdNumber(get('Pre-compressed bytes remaining', 'precompressedbytesremaining')),
    filesRemaining: parseDdNumber(get('Files remaining', 'filesremaining')),
    syncedAsOf: parseDdTimeNoYear(get('Synced as of time', 'syncedasoftime', 'syncedasoftime', 'syncedasof'), clock),
    throughputKBps: throughput === undefined || throughput.trim() === '-' ? 0 : parseDdNumber(throughput),
  };
}

export interface RetentionLockStatus {
  enabled: boolean;
  mode: 'governance' | 'compliance' | 'none';
  minSeconds: number;
  maxSeconds: number;
  /** Every option as printed, e.g. `{ '': 'enabled', mode: 'governance', 'min-retention-period': '720minutes' }`. */
  options: Record<string, string>;
}

/** `mtree retention-lock status mtree <path>`: `Retention-lock [option] value` lines. */
export function parseRetentionLockStatus(output: string): RetentionLockStatus {
  const options: Record<string, string> = {};
  for (const raw of output.split(/\r?\n/)) {
    const f = raw.trim().split(/\s+/);
    if (f[0]?.toLowerCase() !== 'retention-lock' || f.length < 2) continue;
    const isOption = f.length > 2 && (f[1].toLowerCase() === 'mode' || /^[a-z]+(?:-[a-z]+)+$/i.test(f[1])) && !/^never-enabled$/i.test(f[1]);
    if (isOption) options[f[1].toLowerCase()] = f.slice(2).join(' ');
    else options[''] = f.slice(1).join(' ');
  }
  const status = options[''];
  if (status === undefined) throw new DdParseError('retention-lock status: no "Retention-lock <status>" line', output);
  const enabled = status.toLowerCase() === 'enabled';
  const modeText = (options['mode'] ?? '').toLowerCase();
  const mode = modeText === 'governance' || modeText === 'compliance' ? modeText : 'none';
  const period = (key: string): number => {
    const v = options[key];
    return v === undefined ? 0 : (parseRetentionPeriod(v) ?? 0);
  };
  return { enabled, mode, minSeconds: period('min-retention-period'), maxSeconds: period('max-retention-period'), options };
}

export interface RetentionReportRow {
  path: string;
  mode: string;
  size: number;
  expires: Date;
}

/** `mtree retention-lock report generate retention-details mtrees <path>`; checks `Total files: N`. */
export function parseRetentionReport(output: string, offsetMinutes: number): RetentionReportRow[] {
  const rows: RetentionReportRow[] = [];
  let total: number | undefined;
  const row =
    /^(\/.*?)\s+(\S+)\s+([\d,]+)\s+((?:[A-Za-z]{3}\s+)?[A-Za-z]{3}\s+\d{1,2}\s+\d{1,2}:\d{2}(?::\d{2})?\s+(?:\S+\s+)?\d{4})\s*$/;
  for (const raw of output.split(/\r?\n/)) {
    const line = raw.trim();
    const t = /^Total files:\s*([\d,]+)/i.exec(line);
    if (t) {
      total = parseDdNumber(t[1]);
      continue;
    }
    const m = row.exec(line);
    if (m) rows.push({ path: m[1], mode: m[2].toLowerCase(), size: parseDdNumber(m[3]), expires: parseDdTimeWithYear(m[4], offsetMinutes) });
  }
  if (total !== undefined && total !== rows.length) {
    throw new DdParseError(`retention report: "Total files: ${total}" but ${rows.length} rows read`, output);
  }
  return rows;
}

/** `filesys fastcopy …` → `Fastcopy completed: <n> files.` */
export function parseFastcopy(output: string): number | null {
  const m = /Fastcopy completed:\s*([\d,]+)\s+files?/i.exec(output);
  return m ? parseDdNumber(m[1]) : null;
}

/** DD OS's refusal of a fastcopy onto a path that is taken: `**** Destination path "<path>" already exists.` */
export const isDestinationTaken = (output: string | undefined): boolean => /\*\*\*\*\s*Destination path .* already exists/i.test(output ?? '');

/**
 * `**** …` lines: how DD OS prints errors. Over exec the answer to a confirmation prompt is not echoed, so
 * the error can follow the prompt on the same line (`… [no]: **** Operation cancelled.`).
 */
export function ddErrorLines(output: string): string[] {
  const out: string[] = [];
  for (const line of output.split(/\r?\n/)) {
    const m = /(?:^|\s)(\*\*\*\* .*)$/.exec(line);
    if (m) out.push(m[1].trim());
  }
  return out;
}
