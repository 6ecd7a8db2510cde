/**
 * RECORD: the cycle's report (JSON for machines, Markdown for people), chained into the vault's evidence with
 * the manifests and validation details, and its catalog entry. Returns the seal that goes into history.
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Context } from '@temporalio/activity';
import type { ActivityDeps } from './deps';
import type { CycleResult, EvidenceSeal, ManifestRef } from '../workflows/cycle-messages';
import type { Decision, DecisionSignature } from '../workflows/operator-messages';
import { operatorsForVault } from '../config/schema';
import { recordInCatalog, type CatalogEntry } from './catalog';
import { appendRecord, copyDir, openIncidents, recordEvidence, vaultFolder, type Incident } from './evidence';
import { headerPath } from './hashing';
import { cycleMetrics } from './metrics';

export function reportActivities(deps: ActivityDeps) {
  return {
    async recordReport(
      vaultId: string,
      copyId: string,
      result: CycleResult,
    ): Promise<{ path: string; digest: string; markdownPath: string; evidence: EvidenceSeal }> {
      const evidenceDir = deps.config.evidenceDir;
      // The report is written even for a vault id the config does not know (the cycle failed in PREFLIGHT),
      // but an id that is not a safe path segment never becomes a path.
      const folder = vaultFolder(vaultId);
      const dir = copyDir(evidenceDir, folder, copyId);
      await mkdir(dir, { recursive: true });
      // The cycle's evidence goes into the vault's chain before its report, which then names the head before it.
      const v = result.validation;
      for (const m of [v?.source, v?.copy]) {
        if (m && existsSync(headerPath(m.path))) await appendRecord(evidenceDir, folder, { kind: 'manifest', key: `manifest:${copyId}:${m.side}`, path: headerPath(m.path) });
      }
      if (v && existsSync(v.detailPath)) await appendRecord(evidenceDir, folder, { kind: 'validation', key: `validation:${copyId}`, path: v.detailPath });
      // Each question put to people and its answer is a record of its own (who, when, why), not only a report line.
      for (const d of result.decisions ?? []) {
        // With the operators' keys as configured now, so `irctl evidence verify` checks each signature against the keys
        // of the time, whatever the configuration says later.
        const signing = result.decisionSigning ?? 'unsigned';
        const operators = signing === 'signed' ? operatorsForVault(deps.config.operators, vaultId) : undefined;
        if (d.state !== 'pending') await recordEvidence(evidenceDir, folder, 'decision', `${copyId}.${d.stage}`, { vaultId, copyId, signing, ...d, ...(operators ? { operators } : {}) });
      }
      const incidents = await openIncidents(evidenceDir, folder);
      const path = join(dir, 'report.json');
      const markdownPath = join(dir, 'report.md');
      const entry = await appendRecord(evidenceDir, folder, {
        kind: 'report',
        key: `report:${copyId}`,
        path,
        json: { format: 'ir-report/1', ...result, report: undefined, openIncidents: incidents },
      });
      const md = await appendRecord(evidenceDir, folder, { kind: 'report', key: `report-md:${copyId}`, path: markdownPath, text: renderMarkdown(result, incidents) });
      const info = Context.current().info;
      await recordInCatalog(evidenceDir, folder, {
        copyId,
        recordedAt: new Date().toISOString(),
        outcome: result.outcome,
        verdict: result.verdict,
        copy: result.copy,
        validation: result.validation,
        exposureSeconds: result.exposure.seconds,
        report: path,
        ...decisionEntry(result),
        workflow: info.workflowExecution ? { workflowId: info.workflowExecution.workflowId, runId: info.workflowExecution.runId } : undefined,
      });
      await cycleMetrics().cycleRecorded(vaultId, result);
      // A copy people approved was already looked at; everything else that is not clean is someone's to see.
      if (result.outcome !== 'validated' && result.outcome !== 'approved') {
        await deps.alert({
          severity: result.outcome === 'suspect' || result.outcome === 'rejected' ? 'critical' : 'warning',
          vaultId,
          summary: `cycle ${copyId} of vault ${vaultId} ended ${result.outcome}${result.lastError ? `: ${result.lastError}` : ''}`,
          detail: path,
        });
      }
      const evidence: EvidenceSeal = {
        chain: { seq: md.seq, head: md.hash },
        copyManifest: v ? { path: v.copy.path, root: v.copy.root, digest: v.copy.digest, algorithm: v.copy.algorithm } : undefined,
        openIncidents: incidents.length,
      };
      return { path, digest: entry.digest, markdownPath, evidence };
    },
  };
}

const fmtDuration = (s: number) => (s % 3600 === 0 ? `${s / 3600}h` : s % 60 === 0 ? `${s / 60}m` : `${s}s`);

function decisionEntry(r: CycleResult): { decision?: CatalogEntry['decision'] } {
  const d = r.decisions?.at(-1);
  if (!d) return {};
  return { decision: { state: d.state, by: d.by, at: d.decidedAt, reason: d.reason, ticket: d.ticket, timedOut: d.timedOut } };
}

function renderDecision(d: Decision): string[] {
  const cell = (t: string) => t.replace(/\|/g, '\\|').replace(/\n/g, ' ');
  const lines = ['', `## Decision (${d.stage === 'before-open' ? 'before the gap opened' : 'after validation, gap closed'})`, '', '| | |', '|---|---|'];
  lines.push(`| decision | **${d.state}**${d.timedOut ? ' (timeout)' : ''} |`);
  lines.push(`| asked because | ${cell(d.why)} |`);
  lines.push(`| asked at | ${d.askedAt} |`);
  lines.push(`| timeout | ${fmtDuration(d.timeoutSeconds)} (deadline ${d.deadline}); without a decision: ${d.onTimeout} |`);
  lines.push(`| rule | quorum ${d.quorum}${d.approvers ? `, approvers ${d.approvers.join(', ')}` : ', any approver'} |`);
  if (d.by) lines.push(`| decided by | ${cell(d.by)} at ${d.decidedAt ?? '–'} |`);
  if (d.reason) lines.push(`| why | ${cell(d.reason)} |`);
  if (d.ticket) lines.push(`| ticket | ${cell(d.ticket)} |`);
  for (const a of d.approvals) lines.push(`| approval | ${cell(a.by)} at ${a.at}: ${cell(a.reason)}${a.ticket ? ` (${cell(a.ticket)})` : ''}${a.signed ? `; ${signedBy(a.signed)}` : ''} |`);
  if (d.signed) lines.push(`| signature | ${signedBy(d.signed)} |`);
  return lines;
}

const signedBy = (s: DecisionSignature) => `signed by ${s.operator}, key ${s.fingerprint}, issued ${s.statement.issuedAt}, nonce ${s.statement.nonce}`;

const fmtSeconds = (s?: number) => (s === undefined ? '–' : s < 120 ? `${s.toFixed(1)} s` : `${(s / 60).toFixed(1)} min`);

function renderBackup(b: NonNullable<CycleResult['backup']>): string {
  const held = b.items.filter((i) => i.held).map((i) => `${i.kind} ${i.name}`);
  const left = b.items.filter((i) => !i.held).map((i) => `${i.kind} ${i.name}`);
  const waited = b.waitedFor.length ? `waited ${b.waitedSeconds} s for ${b.waitedFor.map((j) => `${j.name} #${j.id}`).join(', ')}; ` : '';
  return (
    `${b.software}: ${waited}held ${held.join(', ') || 'nothing'} at ${b.heldAt ?? '–'}, released ${b.releasedAt ?? '**not released**'}` +
    (left.length ? `; already disabled, left alone: ${left.join(', ')}` : '') +
    (b.reasserted?.length ? `; hold re-asserted ${b.reasserted.length}× (${b.reasserted.map((x) => `${x.item} at ${x.at}`).join(', ')})` : '')
  );
}

/** A hash that a retry continued from its checkpoint after a lost worker: how much it did not hash again. */
function resumedNote(m: ManifestRef): string {
  const x = m.resumed;
  return x ? `; attempt ${x.attempt} resumed after a lost worker: ${x.files} files (${x.bytes} bytes) from the checkpoint, ${x.hashedFiles} hashed by this attempt` : '';
}

export function renderMarkdown(r: CycleResult, incidents: Incident[] = []): string {
  const lines: string[] = [];
  lines.push(`# Isolated recovery cycle ${r.copyId} — vault ${r.vaultId}`, '');
  lines.push(`| | |`, `|---|---|`);
  lines.push(`| outcome | **${r.outcome}** |`);
  lines.push(`| verdict | ${r.verdict} |`);
  lines.push(`| gap at end | ${r.gap} |`);
  lines.push(`| exposure window | ${fmtSeconds(r.exposure.seconds)} (opened ${r.exposure.openedAt ?? '–'}, verified closed ${r.exposure.closedAt ?? '–'}; maxOpen ${fmtSeconds(r.exposure.maxOpenSeconds)}) |`);
  if (r.abort) lines.push(`| abort | by ${r.abort.by} at ${r.abort.at}: ${r.abort.reason}${r.abort.signed ? ` (${signedBy(r.abort.signed)})` : ''} |`);
  if (r.decisionSigning) lines.push(`| decisions | ${r.decisionSigning === 'signed' ? 'signed: each one verified against the configured operators\' SSH keys' : '**unsigned**: no operators configured, the names are what the senders wrote (not proof)'} |`);
  if (r.inheritedGap) {
    const g = r.inheritedGap;
    lines.push(`| gap found open at start | ${g.found.replace(/\|/g, '\\|')}; open since ${g.openSinceAtLatest ?? 'an unknown time'} at the latest; closed by ${g.closedBy} |`);
  }
  if (r.lastError) lines.push(`| error | ${r.lastError.replace(/\|/g, '\\|').replace(/\n/g, ' ')} |`);
  if (r.copy) {
    lines.push(`| copy | ${r.copy.mtreePath}: ${r.copy.files} files, ${r.copy.bytes} bytes |`);
    lines.push(`| retention lock | ${r.copy.lockMode} until ${r.copy.lockedUntil}${r.copy.lockMethod === 'rest' ? ' (set through the DD REST API)' : ''}${r.copy.retentionAdjusted ? ` (${r.copy.retentionAdjusted})` : ''} |`);
    const c = r.copy.resumed;
    if (c) lines.push(`| lock resumed | attempt ${c.attempt} continued after a lost worker: fastcopy ${c.fastcopySkipped ? 'already landed, not repeated' : 'done by this attempt'}; ${c.fromCheckpoint} files settled before (from the checkpoint) and ${c.alreadyLocked} found locked to the same time, not redone; lock time ${c.untilKept ? 'kept from the first attempt' : 'taken anew (later: locks only grow)'} |`);
  }
  if (r.backup) lines.push(`| backup hold | ${renderBackup(r.backup)} |`);
  if (r.replication) lines.push(`| replication | sync point ${r.replication.syncPoint}, synced as of ${r.replication.syncedAsOf ?? '–'} |`);
  const x = r.exposure.split;
  if (x) {
    lines.push(`| gap closed after | ${x.order === 'converge' ? 'CONVERGE (LOCK and VALIDATE isolated)' : 'VALIDATE (seeds\' order)'} |`);
    lines.push(`| exposure split | replication ${fmtSeconds(x.replicationSeconds)}, source hashing ${fmtSeconds(x.sourceHashSeconds)} (side by side), orchestration overhead ${fmtSeconds(x.overheadSeconds)} (OPEN ${fmtSeconds(x.openSeconds)}, CLOSE ${fmtSeconds(x.closeSeconds)}) |`);
  }
  if (r.snapshot) lines.push(`| snapshot | ${r.snapshot.name} of ${r.snapshot.sourceMtree || '–'} taken ${r.snapshot.createdAt ?? '–'}, on the replica ${r.snapshot.replicatedAt ?? '–'}; expired: source ${r.snapshot.expired?.source ?? '–'}, replica ${r.snapshot.expired?.replica ?? '–'} |`);
  lines.push('', '## Phases', '', '| phase | started | seconds |', '|---|---|---|');
  for (const p of r.phases) lines.push(`| ${p.phase} | ${p.startedAt} | ${fmtSeconds(p.seconds)} |`);
  if (r.validation) {
    const v = r.validation;
    lines.push('', '## Validation', '');
    lines.push(`- source manifest: \`${v.source.path}\` (${v.source.files} files, root ${v.source.root.slice(0, 16)}…)${resumedNote(v.source)}`);
    lines.push(`- copy manifest: \`${v.copy.path}\` (${v.copy.files} files, root ${v.copy.root.slice(0, 16)}…)${resumedNote(v.copy)}`);
    lines.push(`- source and copy ${v.equal ? 'are identical (equal Merkle roots)' : 'DIFFER'}`);
    if (v.previousCopyId) lines.push(`- compared with previous copy ${v.previousCopyId}`);
    for (const reason of v.reasons) lines.push(`- **${reason}**`);
    lines.push(`- full findings: \`${v.detailPath}\``);
  }
  if (r.findings.length) {
    lines.push('', '## Findings (worst first)', '', '| severity | class | path | detail |', '|---|---|---|---|');
    for (const f of r.findings) lines.push(`| ${f.severity} | ${f.class} | \`${f.path}\` | ${f.detail ?? ''} |`);
  }
  for (const d of r.decisions ?? []) lines.push(...renderDecision(d));
  if (r.probe) {
    lines.push('', '## Immutability probe', '');
    lines.push(`- canary \`${r.probe.canary}\`${r.probe.lockedUntil ? ` locked until ${r.probe.lockedUntil}` : ''}: ${r.probe.worm ? 'every attempt refused (WORM)' : '**NOT WORM**'}`);
    for (const a of r.probe.attempts) lines.push(`- ${a.action}: ${a.refused ? 'refused' : '**accepted**'} (${a.detail})`);
    if (r.probe.error) lines.push(`- probe error: ${r.probe.error}`);
  }
  if (incidents.length) {
    lines.push('', `## Open incidents of vault ${r.vaultId} (${incidents.length})`, '', '| at | severity | kind | copy | summary |', '|---|---|---|---|---|');
    for (const i of incidents) lines.push(`| ${i.at} | ${i.severity} | ${i.kind} | ${i.copyId ?? '–'} | ${i.summary.replace(/\|/g, '\\|')} |`);
  }
  if (r.rejectedMessages.length) {
    lines.push('', '## Rejected operator messages', '');
    for (const m of r.rejectedMessages) lines.push(`- ${m}`);
  }
  return lines.join('\n') + '\n';
}
