/**
 * Drill coverage and the compliance report, read from the evidence store (catalog, drill history, cycle
 * reports): per vault and application the newest good copy's age against RPO, the last drill's RTO against the
 * objective with its trend, recent cycles' exposure windows (an SVG timeline), findings, decisions and overdue
 * drills. Renders JSON, Markdown and one self-contained HTML page (inline CSS and SVG, no external assets).
 */
import { readCatalog, type CatalogEntry } from '../activities/catalog';
import { decisionOf, isDrillable } from '../activities/drill-copies';
import { fmtDuration, readDrillHistory, type DrillHistoryEntry } from '../activities/drill-report';
import type { Config, VaultConfig } from '../config/schema';

export interface Coverage {
  newestGood?: { copyId: string; recordedAt: string; ageSeconds: number; drilledAt?: string };
  /** Good copies with no passing drill at all. */
  neverDrilled: string[];
  /** Rule violations, in words (empty when the rule holds). */
  broken: string[];
}

const passedDrillsOf = (copyId: string, drills: DrillHistoryEntry[]) => drills.filter((d) => d.copyId === copyId && (d.outcome === 'passed' || d.outcome === 'objectives-missed'));

/** The coverage rule: the newest good copy drilled within `newestWithin`; every good copy within `everyCopyWithin` of landing. */
export function coverageOf(vault: VaultConfig, catalog: CatalogEntry[], drills: DrillHistoryEntry[], now: Date): Coverage {
  const rule = vault.drill?.coverage ?? { newestWithin: 86400, everyCopyWithin: 7 * 86400 };
  const good = catalog.filter((e) => isDrillable(e, now));
  const broken: string[] = [];
  const neverDrilled = good.filter((e) => passedDrillsOf(e.copyId, drills).length === 0).map((e) => e.copyId);
  const newest = good[good.length - 1];
  let newestGood: Coverage['newestGood'];
  if (newest) {
    const ageSeconds = (now.getTime() - Date.parse(newest.recordedAt)) / 1000;
    const drilled = passedDrillsOf(newest.copyId, drills).pop();
    newestGood = { copyId: newest.copyId, recordedAt: newest.recordedAt, ageSeconds, drilledAt: drilled?.startedAt };
    if (!drilled && ageSeconds > rule.newestWithin) broken.push(`newest good copy ${newest.copyId} is ${fmtDuration(ageSeconds)} old and was never drilled (rule: within ${fmtDuration(rule.newestWithin)})`);
  } else if (catalog.length) {
    broken.push('no good copy in the vault: nothing can be drilled');
  }
  for (const e of good) {
    if (e === newest) continue;
    const age = (now.getTime() - Date.parse(e.recordedAt)) / 1000;
    if (passedDrillsOf(e.copyId, drills).length === 0 && age > rule.everyCopyWithin) broken.push(`copy ${e.copyId} is ${fmtDuration(age)} old and was never drilled (rule: every copy within ${fmtDuration(rule.everyCopyWithin)})`);
  }
  return { newestGood, neverDrilled, broken };
}

export interface ComplianceApp {
  name: string;
  tier: number;
  rpoObjectiveSeconds: number;
  rtoObjectiveSeconds: number;
  newestGoodAgeSeconds?: number;
  rpoMet?: boolean;
  lastDrill?: { drillId: string; at: string; outcome: string; rtoSeconds?: number; rtoMet?: boolean };
  /** RTO of this application's recent drills, oldest first (null: not recovered). */
  rtoTrend: Array<number | null>;
}

export interface ComplianceVault {
  vaultId: string;
  apps: ComplianceApp[];
  cycles: Array<{ copyId: string; recordedAt: string; outcome: string; verdict: string; exposureSeconds?: number; openedAt?: string; closedAt?: string; findings: number; decision?: string }>;
  coverage: Coverage;
}

export interface ComplianceReport {
  format: 'ir-compliance/1';
  generatedAt: string;
  vaults: ComplianceVault[];
}

export async function buildCompliance(config: Config, now = new Date(), readReport: (path: string) => Promise<{ exposure?: { openedAt?: string; closedAt?: string }; findings?: unknown[] } | null> = defaultReadReport): Promise<ComplianceReport> {
  const vaults: ComplianceVault[] = [];
  for (const v of config.vaults) {
    const catalog = await readCatalog(config.evidenceDir, v.id);
    const drills = await readDrillHistory(config.evidenceDir, v.id);
    const good = catalog.filter((e) => isDrillable(e, now));
    const newest = good[good.length - 1];
    const newestAge = newest ? (now.getTime() - Date.parse(newest.recordedAt)) / 1000 : undefined;
    const apps = v.applications.map((a): ComplianceApp => {
      const mine = drills.filter((d) => d.apps.some((x) => x.name === a.name));
      const last = mine[mine.length - 1];
      const lastApp = last?.apps.find((x) => x.name === a.name);
      return {
        name: a.name,
        tier: a.tier,
        rpoObjectiveSeconds: a.rpo,
        rtoObjectiveSeconds: a.rto,
        newestGoodAgeSeconds: newestAge,
        rpoMet: newestAge === undefined ? undefined : newestAge <= a.rpo,
        lastDrill: last && lastApp ? { drillId: last.drillId, at: last.startedAt, outcome: last.outcome, rtoSeconds: lastApp.rtoSeconds, rtoMet: lastApp.rtoSeconds === undefined ? false : lastApp.rtoSeconds <= a.rto } : undefined,
        rtoTrend: mine.slice(-10).map((d) => d.apps.find((x) => x.name === a.name)?.rtoSeconds ?? null),
      };
    });
    const cycles = [];
    for (const e of catalog.slice(-20)) {
      const report = await readReport(e.report);
      const d = decisionOf(e);
      cycles.push({
        copyId: e.copyId,
        recordedAt: e.recordedAt,
        outcome: e.outcome,
        verdict: e.verdict,
        exposureSeconds: e.exposureSeconds,
        openedAt: report?.exposure?.openedAt,
        closedAt: report?.exposure?.closedAt,
        findings: report?.findings?.length ?? 0,
        decision: d,
      });
    }
    vaults.push({ vaultId: v.id, apps, cycles, coverage: coverageOf(v, catalog, drills, now) });
  }
  return { format: 'ir-compliance/1', generatedAt: now.toISOString(), vaults };
}

async function defaultReadReport(path: string) {
  try {
    const { readFile } = await import('node:fs/promises');
    return JSON.parse(await readFile(path, 'utf8'));
  } catch {
    return null;
  }
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const ok = (met?: boolean) => (met === undefined ? '–' : met ? 'met' : 'MISSED');
const trend = (t: Array<number | null>) => (t.length ? t.map((x) => (x === null ? '✗' : fmtDuration(x))).join(' → ') : '–');

export function renderComplianceMarkdown(r: ComplianceReport): string {
  const lines = [`# Compliance report — ${r.generatedAt}`, ''];
  for (const v of r.vaults) {
    lines.push(`## Vault ${v.vaultId}`, '', '| application | tier | newest good copy age (RPO) | RPO | last drill | RTO (objective) | RTO | RTO trend |', '|---|---|---|---|---|---|---|---|');
    for (const a of v.apps) {
      lines.push(
        `| ${a.name} | ${a.tier} | ${fmtDuration(a.newestGoodAgeSeconds)} (${fmtDuration(a.rpoObjectiveSeconds)}) | ${ok(a.rpoMet)} | ${a.lastDrill ? `${a.lastDrill.outcome} ${a.lastDrill.at}` : 'never'} | ${fmtDuration(a.lastDrill?.rtoSeconds)} (${fmtDuration(a.rtoObjectiveSeconds)}) | ${ok(a.lastDrill?.rtoMet)} | ${trend(a.rtoTrend)} |`,
      );
    }
    lines.push('', '### Recent cycles (exposure windows)', '', '| copy | recorded | outcome | verdict | exposure | findings | decision |', '|---|---|---|---|---|---|---|');
    for (const c of v.cycles) lines.push(`| ${c.copyId} | ${c.recordedAt} | ${c.outcome} | ${c.verdict} | ${fmtDuration(c.exposureSeconds)} | ${c.findings} | ${c.decision ?? '–'} |`);
    lines.push('', '### Drill coverage', '');
    if (v.coverage.newestGood) lines.push(`- newest good copy ${v.coverage.newestGood.copyId}, ${fmtDuration(v.coverage.newestGood.ageSeconds)} old, ${v.coverage.newestGood.drilledAt ? `drilled ${v.coverage.newestGood.drilledAt}` : 'not drilled'}`);
    lines.push(`- good copies never drilled: ${v.coverage.neverDrilled.length ? v.coverage.neverDrilled.join(', ') : 'none'}`);
    for (const b of v.coverage.broken) lines.push(`- **overdue:** ${b}`);
    if (!v.coverage.broken.length) lines.push('- coverage rule holds');
    lines.push('');
  }
  return lines.join('\n');
}

/** The exposure windows of recent cycles on a time axis: one bar per opening, coloured by outcome. */
export function renderTimelineSvg(v: ComplianceVault): string {
  const w = 900;
  const rowH = 22;
  const cycles = v.cycles.filter((c) => c.openedAt && c.closedAt);
  const h = 40 + Math.max(1, cycles.length) * rowH;
  if (!cycles.length) return `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" role="img" aria-label="no gap openings recorded"><text x="10" y="30" font-size="13">no gap openings recorded</text></svg>`;
  const t0 = Math.min(...cycles.map((c) => Date.parse(c.openedAt!)));
  const t1 = Math.max(...cycles.map((c) => Date.parse(c.closedAt!)));
  const span = Math.max(1000, t1 - t0);
  const x = (t: number) => 170 + ((t - t0) / span) * (w - 190);
  // Green clean, amber suspect but approved by people, red suspect or rejected, grey a cycle that did not finish.
  const colour = (c: (typeof cycles)[number]) =>
    c.outcome === 'validated' ? '#2e7d32' : c.decision === 'approved' ? '#f9a825' : c.outcome === 'suspect' || c.decision === 'rejected' ? '#c62828' : '#757575';
  const parts = [`<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" role="img" aria-label="gap openings of vault ${esc(v.vaultId)}" class="timeline">`];
  parts.push(`<line x1="170" y1="${h - 18}" x2="${w - 20}" y2="${h - 18}" stroke="#999"/>`);
  parts.push(`<text x="170" y="${h - 4}" font-size="11">${esc(new Date(t0).toISOString())}</text><text x="${w - 20}" y="${h - 4}" font-size="11" text-anchor="end">${esc(new Date(t1).toISOString())}</text>`);
  cycles.forEach((c, i) => {
    const y = 10 + i * rowH;
    const a = x(Date.parse(c.openedAt!));
    const b = Math.max(a + 3, x(Date.parse(c.closedAt!)));
    parts.push(`<text x="4" y="${y + 13}" font-size="11">${esc(c.copyId.slice(0, 24))}</text>`);
    parts.push(`<rect class="opening" x="${a.toFixed(1)}" y="${y}" width="${(b - a).toFixed(1)}" height="16" rx="2" fill="${colour(c)}"><title>${esc(`${c.copyId}: gap open ${fmtDuration(c.exposureSeconds)} (${c.outcome}${c.decision ? `, ${c.decision}` : ''})`)}</title></rect>`);
  });
  parts.push('</svg>');
  return parts.join('');
}

export function renderComplianceHtml(r: ComplianceReport): string {
  const cls = (met?: boolean) => (met === undefined ? '' : met ? 'ok' : 'bad');
  const body = r.vaults
    .map((v) => {
      const rows = v.apps
        .map(
          (a) =>
            `<tr><td>${esc(a.name)}</td><td>${a.tier}</td><td>${fmtDuration(a.newestGoodAgeSeconds)} / ${fmtDuration(a.rpoObjectiveSeconds)}</td><td class="${cls(a.rpoMet)}">${ok(a.rpoMet)}</td><td>${a.lastDrill ? `${esc(a.lastDrill.outcome)}<br><small>${esc(a.lastDrill.at)}</small>` : 'never'}</td><td>${fmtDuration(a.lastDrill?.rtoSeconds)} / ${fmtDuration(a.rtoObjectiveSeconds)}</td><td class="${cls(a.lastDrill?.rtoMet)}">${ok(a.lastDrill?.rtoMet)}</td><td>${esc(trend(a.rtoTrend))}</td></tr>`,
        )
        .join('\n');
      const cycles = v.cycles
        .map((c) => `<tr><td>${esc(c.copyId)}</td><td>${esc(c.recordedAt)}</td><td class="${c.outcome === 'validated' || c.outcome === 'approved' ? 'ok' : 'bad'}">${esc(c.outcome)}</td><td>${esc(c.verdict)}</td><td>${fmtDuration(c.exposureSeconds)}</td><td>${c.findings}</td><td>${esc(c.decision ?? '–')}</td></tr>`)
        .join('\n');
      const overdue = v.coverage.broken.length ? `<ul class="overdue">${v.coverage.broken.map((b) => `<li>${esc(b)}</li>`).join('')}</ul>` : '<p class="ok">Drill coverage rule holds.</p>';
      return `<section><h2>Vault ${esc(v.vaultId)}</h2>
<h3>Recovery objectives</h3>
<table><thead><tr><th>application</th><th>tier</th><th>newest good copy age / RPO</th><th>RPO</th><th>last drill</th><th>RTO / objective</th><th>RTO</th><th>RTO trend</th></tr></thead><tbody>${rows}</tbody></table>
<h3>Gap openings (exposure windows)</h3>
${renderTimelineSvg(v)}
<table><thead><tr><th>copy</th><th>recorded</th><th>outcome</th><th>verdict</th><th>exposure</th><th>findings</th><th>decision</th></tr></thead><tbody>${cycles}</tbody></table>
<h3>Drill coverage</h3>
<p>Good copies never drilled: ${v.coverage.neverDrilled.length ? esc(v.coverage.neverDrilled.join(', ')) : 'none'}</p>
${overdue}</section>`;
    })
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Isolated recovery — compliance report</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222}
table{border-collapse:collapse;margin:8px 0 16px}th,td{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f3f3f3}.ok{color:#2e7d32}.bad{color:#c62828;font-weight:600}.overdue li{color:#c62828}
svg.timeline{border:1px solid #ddd;background:#fafafa;display:block}
</style></head>
<body><h1>Isolated recovery — compliance report</h1><p>Generated ${esc(r.generatedAt)}</p>
${body}
</body></html>
`;
}
