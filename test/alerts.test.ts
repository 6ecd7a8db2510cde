/**
 * The alert rules and the Grafana dashboard, checked with the real promtool (Debian's prometheus package; `.ci/run`
 * installs it): the rules load, their unit tests pass, every dashboard query parses as PromQL and names only
 * metrics the worker exports (activities/metrics.ts) or the SDK's temporal_* ones.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { METRICS, HISTOGRAM_BUCKETS } from '../activities/metrics';
import { dashboardExprs, metricNames } from './helpers/dashboard';

const ROOT = resolve(__dirname, '..');
const PROM = join(ROOT, 'stack/prometheus');
const DASHBOARD = join(ROOT, 'stack/grafana/isolated-recovery.json');

function promtool(...args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((res, rej) => {
    execFile('promtool', args, { cwd: PROM, timeout: 60_000 }, (err, stdout, stderr) => {
      if ((err as NodeJS.ErrnoException | null)?.code === 'ENOENT') return rej(new Error('promtool is not installed: apt-get install prometheus'));
      res({ code: err ? ((err as any).code ?? 1) : 0, out: `${stdout}${stderr}` });
    });
  });
}

describe('alert rules (promtool)', () => {
  test('promtool check rules: the rules load', async () => {
    const r = await promtool('check', 'rules', 'alerts.yml');
    expect(r.out).toContain('SUCCESS: 8 rules found');
    expect(r.code).toBe(0);
  });

  test('promtool test rules: each alert fires when it should and stays quiet otherwise', async () => {
    const r = await promtool('test', 'rules', 'alerts.test.yml');
    expect(r.out).toContain('SUCCESS');
    expect(r.code).toBe(0);
  });

  test('every metric an alert reads is one the worker exports', () => {
    const rules = readFileSync(join(PROM, 'alerts.yml'), 'utf8');
    const used = metricNames(rules);
    expect(used.length).toBeGreaterThan(5);
    expect(used.filter((m) => !(m in METRICS))).toEqual([]);
  });
});

describe('Grafana dashboard', () => {
  const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8'));

  test('importable shape: schemaVersion, unique panel ids, targets, the datasource as a variable', () => {
    expect(typeof dashboard.schemaVersion).toBe('number');
    expect(dashboard.uid).toBe('isolated-recovery');
    const ids = dashboard.panels.map((p: any) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    const ds = dashboard.templating.list.find((v: any) => v.type === 'datasource');
    expect(ds).toMatchObject({ name: 'DS_PROMETHEUS', query: 'prometheus' });
    for (const p of dashboard.panels.filter((x: any) => x.type !== 'row')) {
      expect(p.gridPos).toEqual(expect.objectContaining({ w: expect.any(Number), h: expect.any(Number) }));
      expect(p.datasource).toEqual({ type: 'prometheus', uid: '${DS_PROMETHEUS}' });
      expect(p.targets.length).toBeGreaterThan(0);
      for (const t of p.targets) expect(t).toEqual(expect.objectContaining({ refId: expect.any(String), expr: expect.any(String) }));
    }
  });

  test('every query names metrics the worker exports; the SDK ones by their temporal_ prefix', () => {
    const histograms = Object.keys(HISTOGRAM_BUCKETS);
    const known = (name: string) => name in METRICS || histograms.some((h) => [`${h}_bucket`, `${h}_sum`, `${h}_count`].includes(name));
    const unknown = dashboardExprs(dashboard)
      .flatMap(metricNames)
      .filter((m) => !m.startsWith('temporal_') && !known(m));
    expect(unknown).toEqual([]);
    // Every ir_ metric has a panel.
    const shown = new Set(dashboardExprs(dashboard).flatMap(metricNames).map((m) => m.replace(/_(bucket|sum|count)$/, '')));
    expect(Object.keys(METRICS).filter((m) => !shown.has(m) && m !== 'ir_newest_good_copy_age_seconds')).toEqual([]);
  });

  test('every query parses as PromQL (promtool check rules on them as recording rules)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ir-dash-'));
    try {
      const file = join(dir, 'dashboard-queries.yml');
      writeFileSync(file, stringify({ groups: [{ name: 'dashboard', rules: dashboardExprs(dashboard).map((expr, i) => ({ record: `dashboard:query_${i}`, expr })) }] }));
      const r = await promtool('check', 'rules', file);
      expect(r.out).toContain(`SUCCESS: ${dashboardExprs(dashboard).length} rules found`);
      expect(r.code).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
