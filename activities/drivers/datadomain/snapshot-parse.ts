/**
 * Parser for `snapshot list mtree <path>` (DD OS Command Reference, "snapshot"): a table of Name, Pre-Comp (GiB),
 * Create Date, Retain Until and Status between two dashed rules, then a summary. Dates are the DD's local time
 * at minute resolution (`Nov 23 2026 12:40`). Status is empty for a live snapshot and `expired` for one that
 * waits for cleaning: expired snapshots are reported but never counted as present.
 */
export interface SnapshotRow {
  name: string;
  createdAt: Date;
  retainUntil: Date | null;
  expired: boolean;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const DATE = /([A-Z][a-z]{2})\s+(\d{1,2})\s+(\d{4})\s+(\d{2}):(\d{2})/g;

function toDate(m: RegExpExecArray, offsetMinutes: number): Date {
  const month = MONTHS.indexOf(m[1]);
  if (month < 0) throw new Error(`unknown month "${m[1]}" in snapshot list`);
  return new Date(Date.UTC(Number(m[3]), month, Number(m[2]), Number(m[4]), Number(m[5])) - offsetMinutes * 60_000);
}

export function parseSnapshotList(text: string, offsetMinutes = 0): SnapshotRow[] {
  const lines = text.replace(/\r\n/g, '\n').split('\n');
  const header = lines.findIndex((l) => /^\s*Name\s+.*Create Date/i.test(l));
  if (header < 0) throw new Error('snapshot list: no "Name … Create Date" header in the output');
  const rows: SnapshotRow[] = [];
  for (const line of lines.slice(header + 2)) {
    if (/^\s*-{3,}/.test(line) || line.trim() === '') break;
    const name = line.trim().split(/\s+/)[0];
    const dates = [...line.matchAll(DATE)];
    if (!name || dates.length === 0) throw new Error(`snapshot list: cannot read the row ${JSON.stringify(line)}`);
    rows.push({
      name,
      createdAt: toDate(dates[0], offsetMinutes),
      retainUntil: dates[1] ? toDate(dates[1], offsetMinutes) : null,
      expired: /\bexpired\s*$/i.test(line),
    });
  }
  return rows;
}
