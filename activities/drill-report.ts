/**
 * A drill's evidence: JUnit XML (a testsuite per application, a testcase per step and check), JSON and
 * Markdown under <evidence>/<vault>/drills/<drillId>/, and the vault's drill history (drills.json). The
 * renderers are the one place a DrillResult becomes text; irctl uses them too.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DrillResult } from '../workflows/drill-messages';
import { appendRecord } from './evidence';

export interface DrillHistoryEntry {
  drillId: string;
  copyId?: string;
  startedAt: string;
  endedAt?: string;
  outcome: DrillResult['outcome'];
  apps: Array<{ name: string; recovered: boolean; rtoSeconds?: number; rtoObjectiveSeconds: number; rpoSeconds: number; rpoObjectiveSeconds: number; restoreSeconds?: number }>;
  report?: string;
}

export const drillDir = (evidenceDir: string, vaultId: string, drillId: string) => join(evidenceDir, vaultId, 'drills', drillId);
const historyPath = (evidenceDir: string, vaultId: string) => join(evidenceDir, vaultId, 'drills.json');

export async function readDrillHistory(evidenceDir: string, vaultId: string): Promise<DrillHistoryEntry[]> {
  try {
    return JSON.parse(await readFile(historyPath(evidenceDir, vaultId), 'utf8')) as DrillHistoryEntry[];
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

export async function writeDrillEvidence(evidenceDir: string, r: DrillResult): Promise<{ json: string; markdown: string; junit: string }> {
  const dir = drillDir(evidenceDir, r.vaultId, r.drillId);
  await mkdir(dir, { recursive: true });
  const paths = { json: join(dir, 'drill.json'), markdown: join(dir, 'drill.md'), junit: join(dir, 'junit.xml') };
  // Evidence records like a cycle's report: written once, chained into the vault's evidence (activities/evidence.ts).
  await appendRecord(evidenceDir, r.vaultId, { kind: 'drill', key: `drill:${r.drillId}`, path: paths.json, json: { format: 'ir-drill/1', ...r, report: undefined } });
  await appendRecord(evidenceDir, r.vaultId, { kind: 'drill', key: `drill-md:${r.drillId}`, path: paths.markdown, text: renderDrillMarkdown(r) });
  await appendRecord(evidenceDir, r.vaultId, { kind: 'drill', key: `drill-junit:${r.drillId}`, path: paths.junit, text: renderJUnit(r) });
  const entries = (await readDrillHistory(evidenceDir, r.vaultId)).filter((e) => e.drillId !== r.drillId);
  entries.push({
    drillId: r.drillId,
    copyId: r.copyId,
    startedAt: r.startedAt,
    endedAt: r.endedAt,
    outcome: r.outcome,
    apps: r.apps.map((a) => ({ name: a.name, recovered: a.recovered, rtoSeconds: a.rtoSeconds, rtoObjectiveSeconds: a.rtoObjectiveSeconds, rpoSeconds: a.rpoSeconds, rpoObjectiveSeconds: a.rpoObjectiveSeconds, restoreSeconds: a.restoreSeconds })),
    report: paths.json,
  });
  const file = historyPath(evidenceDir, r.vaultId);
  await writeFile(`${file}.tmp`, JSON.stringify(entries, null, 2));
  await rename(`${file}.tmp`, file);
  return paths;
}

const xml = (s: string) =>
  s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    // XML 1.0 forbids most control characters, even escaped.
    .replace(/[\x00-\x08\x0b\x0c\x0e-\x1f]/g, '?');

export const fmtDuration = (s?: number): string => (s === undefined ? '–' : s < 120 ? `${s.toFixed(1)} s` : s < 7200 ? `${(s / 60).toFixed(1)} min` : s < 172800 ? `${(s / 3600).toFixed(1)} h` : `${(s / 86400).toFixed(1)} d`);

/** JUnit XML as CI systems read it: testsuites > testsuite (application) > testcase (step or check). */
export function renderJUnit(r: DrillResult): string {
  const out: string[] = ['<?xml version="1.0" encoding="UTF-8"?>'];
  const cases = r.apps.flatMap((a) => a.steps);
  const total = r.apps.reduce((n, a) => n + (a.rtoSeconds ?? 0), 0);
  const failures = (a: DrillResult['apps'][number]) => a.steps.filter((s) => s.status === 'failed').length + (a.rtoMet === false ? 1 : 0) + (a.rpoMet ? 0 : 1);
  out.push(
    `<testsuites name="${xml(`recovery drill ${r.drillId}`)}" tests="${cases.length + r.apps.length * 2}" failures="${r.apps.reduce((n, a) => n + failures(a), 0)}" time="${total.toFixed(3)}" timestamp="${r.startedAt}">`,
  );
  if (!r.apps.length && r.error) {
    out.push(`  <testsuite name="${xml(r.vaultId)}" tests="1" failures="1" time="0">`, `    <testcase classname="${xml(r.vaultId)}" name="drill" time="0">`, `      <failure message="${xml(r.error)}" type="${xml(r.outcome)}"/>`, '    </testcase>', '  </testsuite>');
  }
  for (const a of r.apps) {
    const cls = `${r.vaultId}.${a.name}`;
    out.push(`  <testsuite name="${xml(cls)}" tests="${a.steps.length + 2}" failures="${failures(a)}" skipped="${a.steps.filter((s) => s.status === 'skipped').length}" time="${(a.rtoSeconds ?? 0).toFixed(3)}" timestamp="${r.startedAt}">`);
    out.push('    <properties>');
    for (const [k, v] of [['tier', a.tier], ['copy', r.copyId ?? ''], ['rto.objective.seconds', a.rtoObjectiveSeconds], ['rpo.objective.seconds', a.rpoObjectiveSeconds], ['rto.seconds', a.rtoSeconds ?? ''], ['rpo.seconds', a.rpoSeconds]] as const) {
      out.push(`      <property name="${k}" value="${xml(String(v))}"/>`);
    }
    out.push('    </properties>');
    for (const s of a.steps) {
      out.push(`    <testcase classname="${xml(cls)}" name="${xml(`${s.kind === 'check' ? 'check: ' : ''}${s.name}`)}" time="${s.seconds.toFixed(3)}">`);
      if (s.status === 'failed') out.push(`      <failure message="${xml(s.message ?? 'failed')}" type="${s.kind === 'check' ? 'CheckFailed' : 'RecoveryFailed'}">${xml(s.output ?? '')}</failure>`);
      else if (s.status === 'skipped') out.push(`      <skipped message="${xml(s.message ?? 'skipped')}"/>`);
      else if (s.output) out.push(`      <system-out>${xml(s.output)}</system-out>`);
      out.push('    </testcase>');
    }
    const objective = (name: string, met: boolean | undefined, got: number | undefined, want: number) => {
      out.push(`    <testcase classname="${xml(cls)}" name="${name} ${fmtDuration(got)} within ${fmtDuration(want)}" time="0">`);
      if (met === false) out.push(`      <failure message="${name} objective missed: ${fmtDuration(got)} &gt; ${fmtDuration(want)}" type="ObjectiveMissed"/>`);
      if (met === undefined) out.push(`      <skipped message="not measured: the application was not recovered"/>`);
      out.push('    </testcase>');
    };
    objective('RTO', a.rtoMet, a.rtoSeconds, a.rtoObjectiveSeconds);
    objective('RPO', a.rpoMet, a.rpoSeconds, a.rpoObjectiveSeconds);
    out.push('  </testsuite>');
  }
  out.push('</testsuites>');
  return out.join('\n') + '\n';
}

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

export function renderDrillMarkdown(r: DrillResult): string {
  const lines: string[] = [`# Recovery drill ${r.drillId} — vault ${r.vaultId}`, ''];
  lines.push('| | |', '|---|---|');
  lines.push(`| outcome | **${r.outcome}** |`);
  lines.push(`| copy | ${r.copyId ?? '–'} |`);
  lines.push(`| started / ended | ${r.startedAt} / ${r.endedAt ?? '–'} |`);
  lines.push(`| sandbox | ${r.sandbox ? `\`${r.sandbox.path}\` — ${r.sandbox.cleanedAt ? `removed ${r.sandbox.cleanedAt}` : '**not removed**'}` : '–'} |`);
  lines.push('| air gap | not touched (drills never open it) |');
  if (r.abort) lines.push(`| abort | by ${r.abort.by} at ${r.abort.at}: ${cell(r.abort.reason)} |`);
  if (r.error) lines.push(`| error | ${cell(r.error)} |`);
  if (r.apps.length) {
    lines.push('', '## Applications', '', '| application | tier | recovered | restore | RTO (objective) | RPO (objective) | worst-case RPO |', '|---|---|---|---|---|---|---|');
    for (const a of r.apps) {
      const mark = (met: boolean | undefined) => (met === false ? ' ❌' : met ? ' ✅' : '');
      lines.push(
        `| ${a.name} | ${a.tier} | ${a.recovered ? 'yes' : '**no**'} | ${fmtDuration(a.restoreSeconds)} | ${fmtDuration(a.rtoSeconds)} (${fmtDuration(a.rtoObjectiveSeconds)})${mark(a.rtoMet)} | ${fmtDuration(a.rpoSeconds)} (${fmtDuration(a.rpoObjectiveSeconds)})${mark(a.rpoMet)} | ${fmtDuration(a.rpoWorstCaseSeconds)} |`,
      );
    }
    for (const a of r.apps) {
      lines.push('', `### ${a.name}`, '', '| step | status | seconds | detail |', '|---|---|---|---|');
      for (const s of a.steps) lines.push(`| ${s.kind === 'check' ? 'check: ' : ''}${cell(s.name)} | ${s.status === 'failed' ? '**failed**' : s.status} | ${s.seconds.toFixed(2)} | ${cell(s.message ?? '')} |`);
      const failed = a.steps.filter((s) => s.status === 'failed' && s.output);
      for (const s of failed) lines.push('', `<details><summary>${s.name} output</summary>`, '', '```', s.output!.trimEnd(), '```', '', '</details>');
    }
  }
  return lines.join('\n') + '\n';
}
