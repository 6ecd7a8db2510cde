/**
 * Drill logic without Temporal: the business impact config (every wrong field named), which copies may be
 * drilled, coverage, the drill schedule, the JUnit renderer; and the lab's ReaR recovery host through the real
 * OpenSSH client (commands, exit codes, output shape).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { pickCopy } from '../activities/drill-copies';
import { renderJUnit } from '../activities/drill-report';
import type { CatalogEntry } from '../activities/catalog';
import { coverageOf } from '../clients/compliance';
import { desiredSchedules } from '../clients/schedules';
import { parseConfig } from '../config/load';
import { startLab, type Lab } from '../lab';
import type { DrillResult } from '../workflows/drill-messages';

const run = promisify(execFile);
const now = new Date('2026-11-23T12:00:00Z');
const hoursAgo = (h: number) => new Date(now.getTime() - h * 3600_000).toISOString();

function entry(copyId: string, over: Partial<CatalogEntry> & Record<string, unknown> = {}): CatalogEntry {
  return {
    copyId,
    recordedAt: hoursAgo(1),
    outcome: 'validated',
    verdict: 'clean',
    copy: { copyId, mtreePath: `/data/col1/ir-copies/${copyId}`, files: 3, bytes: 10, lockedUntil: hoursAgo(-24), lockMode: 'governance' },
    validation: { copy: { path: `/ev/${copyId}/copy.sha256sums`, algorithm: 'sha256', files: 3 } } as CatalogEntry['validation'],
    report: `/ev/${copyId}/report.json`,
    ...over,
  } as CatalogEntry;
}

function rawConfig(extra: Record<string, unknown>) {
  const pin = { fingerprint: 'SHA256:' + 'A'.repeat(43) };
  const dd = { host: 'h', username: 'u', password: { env: 'X' }, hostKey: pin };
  return {
    vaults: [
      {
        id: 'v1',
        switch: { platform: 'cisco-ios', host: 'h', username: 'u', password: { env: 'X' }, hostKey: pin, ports: ['Gi1/0/1'] },
        source: { dd, mtree: '/data/col1/prod', mountPath: '/mnt/prod' },
        vault: { dd, replicaMtree: '/data/col1/vault-prod', replicaMountPath: '/mnt/r', copiesMtree: '/data/col1/ir-copies', copiesMountPath: '/mnt/c' },
        replication: { contexts: ['mtree://vault-dd/data/col1/vault-prod'] },
        ...extra,
      },
    ],
  };
}

describe('business impact analysis in the config', () => {
  const drill = { sandbox: { method: 'fastcopy', mtree: '/data/col1/drill-sandbox', mountPath: '/mnt/sandbox' } };
  test('applications with tier, rto, rpo, paths and checks load with durations in seconds', () => {
    const c = parseConfig(rawConfig({ drill, applications: [{ name: 'crm', tier: 1, rto: '15m', rpo: '24h', paths: ['apps/crm'], checks: [{ name: 'rows', kind: 'sqlite', database: 'apps/crm/crm.sqlite', rows: { customers: 5 } }] }] }), 't', '/');
    expect(c.vaults[0].applications[0]).toMatchObject({ rto: 900, rpo: 86400, checks: [{ kind: 'sqlite', timeout: 120 }] });
  });
  test('every wrong field is named by its path', () => {
    const bad = rawConfig({
      drill,
      applications: [{ name: 'CRM!', tier: 9, rto: 'soon', rpo: '1h', paths: ['../etc'], checks: [{ name: 'x', kind: 'sqlite', rows: {} }, { name: 'y', kind: 'ping' }] }],
    });
    let message = '';
    try {
      parseConfig(bad, 'bad.yaml', '/');
    } catch (err) {
      message = (err as Error).message;
    }
    for (const path of ['vaults[0].applications[0].name', 'vaults[0].applications[0].tier', 'vaults[0].applications[0].rto', 'vaults[0].applications[0].paths[0]', 'vaults[0].applications[0].checks[0].database', 'vaults[0].applications[0].checks[1]']) {
      expect(message).toContain(path);
    }
  });
  test('a sandbox overlapping the copies MTree, a recovery-host check without a host, and duplicate names are refused', () => {
    const app = { name: 'a', tier: 1, rto: '1h', rpo: '1h', paths: ['x'], checks: [{ name: 'rear', kind: 'command', on: 'recovery-host', run: 'rear checklayout' }] };
    expect(() => parseConfig(rawConfig({ drill: { sandbox: { method: 'fastcopy', mtree: '/data/col1/ir-copies/sandbox', mountPath: '/m' } }, applications: [app, app] }), 't', '/')).toThrow(
      /drill\.sandbox\.mtree: .* overlaps vault\.copiesMtree[\s\S]*applications\[0\]\.checks\[0\]\.on[\s\S]*applications\[1\]\.name: "a" is used twice|applications\[1\]\.name: "a" is used twice/,
    );
  });
});

describe('which copy a drill may restore', () => {
  test('the newest good copy; suspect, rejected, unlocked and expired copies are refused with the reason', () => {
    const entries = [entry('c1'), entry('c2', { outcome: 'suspect', verdict: 'suspect', validation: { reasons: ['12 files encrypted'], copy: { path: '/x', algorithm: 'sha256', files: 1 } } as never })];
    expect(pickCopy(entries, undefined, now)).toEqual({ entry: entries[0] });
    expect(pickCopy(entries, 'c2', now)).toEqual({ refused: 'copy c2 is suspect (12 files encrypted) and was not approved' });
    expect(pickCopy([entry('c3', { copy: undefined })], 'c3', now)).toEqual({ refused: 'copy c3 is not retention-locked' });
    expect(pickCopy([entry('c4', { copy: { ...entry('c4').copy!, lockedUntil: hoursAgo(1) } })], 'c4', now)).toMatchObject({ refused: expect.stringContaining('retention lock expired') });
    expect(pickCopy([entry('c5', { outcome: 'rejected', decision: { state: 'rejected', by: 'ops' } })], undefined, now)).toMatchObject({ refused: expect.stringContaining('rejected') });
    expect(pickCopy([], undefined, now)).toEqual({ refused: 'no copy in the catalog yet: run a cycle first' });
    expect(pickCopy(entries, 'nope', now)).toEqual({ refused: "copy nope is not in the vault's catalog" });
  });
  test('a suspect copy with an approval decision counts as good', () => {
    const approved = entry('c2', { outcome: 'approved', verdict: 'suspect', decision: { state: 'approved', by: 'ops' } });
    expect(pickCopy([entry('c1'), approved], undefined, now)).toEqual({ entry: approved });
    expect(pickCopy([entry('c9', { outcome: 'suspect', decision: { state: 'pending' } })], 'c9', now)).toMatchObject({ refused: expect.stringContaining('not approved') });
  });
});

describe('coverage and schedule', () => {
  const vault = parseConfig(
    rawConfig({ drill: { sandbox: { method: 'copy', dir: '/sb' }, schedule: { every: '24h', jitter: '2h' }, coverage: { newestWithin: '24h', everyCopyWithin: '7d' } } }),
    't',
    '/',
  ).vaults[0];
  test('never-drilled copies and overdue drills are reported; a passing drill covers its copy', () => {
    const catalog = [entry('old', { recordedAt: hoursAgo(24 * 8) }), entry('mid', { recordedAt: hoursAgo(48) }), entry('new', { recordedAt: hoursAgo(30) })];
    const c = coverageOf(vault, catalog, [{ drillId: 'd1', copyId: 'mid', startedAt: hoursAgo(40), outcome: 'passed', apps: [] }], now);
    expect(c.neverDrilled).toEqual(['old', 'new']);
    expect(c.broken).toHaveLength(2);
    expect(c.broken[0]).toMatch(/newest good copy new is 30\.0 h old and was never drilled/);
    expect(c.broken[1]).toMatch(/copy old is 8\.0 d old/);
    const ok = coverageOf(vault, catalog.slice(1), [{ drillId: 'd2', copyId: 'new', startedAt: hoursAgo(1), outcome: 'passed', apps: [] }], now);
    expect(ok.broken).toEqual([]);
  });
  test('irctl schedule apply wants a drill schedule per vault with drill.schedule', () => {
    const config = parseConfig(rawConfig({ drill: { sandbox: { method: 'copy', dir: '/sb' }, schedule: { every: '24h', jitter: '2h' } } }), 't', '/');
    const drill = desiredSchedules(config, 'q').find((d) => d.kind === 'drill');
    expect(drill).toMatchObject({ scheduleId: 'ir-drill-schedule-v1', fields: { every: 86400, jitter: 7200, workflowType: 'recoveryDrill', workflowId: 'ir-drill-v1', args: JSON.stringify(['v1', { by: 'schedule' }]) } });
  });
});

test('JUnit: XML-escaped output, a failure per failed check, objectives as test cases', () => {
  const r: DrillResult = {
    drillId: 'd', vaultId: 'v', copyId: 'c', startedAt: now.toISOString(), phase: 'DONE', outcome: 'recovery-failed',
    apps: [{ name: 'a', tier: 1, rtoObjectiveSeconds: 60, rpoObjectiveSeconds: 60, rpoSeconds: 120, rpoMet: false, recovered: false, steps: [{ name: 'x', kind: 'check', status: 'failed', seconds: 1.5, message: 'bad <&> "quote"', output: 'line\x01 & <tag>' }] }],
  };
  const xml = renderJUnit(r);
  expect(xml).toContain('<failure message="bad &lt;&amp;&gt; &quot;quote&quot;" type="CheckFailed">line? &amp; &lt;tag&gt;</failure>');
  expect(xml).toContain('name="RPO 2.0 min within 60.0 s"');
  expect(xml).toContain('failures="2"');
});

describe('the lab recovery host answers ReaR commands over SSH (OpenSSH client)', () => {
  let lab: Lab;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ir-rear-'));
    lab = await startLab({ dir, ports: { switch: 0, sourceDd: 0, vaultDd: 0, control: 0 }, seed: { files: 5, totalBytes: 10_000 } });
  });
  afterAll(async () => {
    await lab.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const ssh = async (command: string) => {
    const e = lab.endpoints;
    const args = ['-i', e.recoveryHost.privateKeyFile, '-p', String(e.recoveryHost.port), '-o', `UserKnownHostsFile=${e.knownHostsFile}`, '-o', 'StrictHostKeyChecking=yes', '-o', 'BatchMode=yes', `root@${e.host}`, command];
    return run('ssh', args).then(
      (r) => ({ code: 0, out: r.stdout }),
      (err: { code: number; stdout: string }) => ({ code: err.code, out: err.stdout }),
    );
  };
  test('version, checklayout, unattended recover, unknown workflow, injected fault', async () => {
    expect(await ssh('rear -V')).toEqual({ code: 0, out: 'Relax-and-Recover 2.7 / 2022-07-13\n' });
    const check = await ssh('rear -v checklayout');
    expect(check.code).toBe(0);
    expect(check.out).toMatch(/^Relax-and-Recover 2\.7[\s\S]*Running rear checklayout \(PID \d+[\s\S]*Disk layout is identical/);
    const recover = await ssh('rear -v recover');
    expect(recover.code).toBe(0);
    expect(recover.out).toContain("Finished 'recover'. The target system is mounted at '/mnt/local'.");
    expect(await ssh('rear frobnicate')).toMatchObject({ code: 1, out: expect.stringContaining("ERROR: The specified command 'frobnicate' does not exist!") });
    lab.addFault({ device: 'recovery-host', match: 'checklayout', output: 'Disk layout has changed', exitCode: 1, times: 1 });
    expect(await ssh('rear checklayout')).toEqual({ code: 1, out: 'Disk layout has changed\n' });
  });
});
