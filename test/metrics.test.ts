/**
 * The worker process as the stack runs it (workers/main.ts with IR_METRICS_BIND and temporal.encryption) on the
 * dev server, one real cycle against the lab:
 * - curl scrapes /metrics while it runs and after: the gap gauge goes to 1 and back to 0, the outcome, exposure,
 *   objectives and newest good copy are there, and every metric the dashboard and the alerts read exists;
 * - its history holds none of the cycle's data in clear (copy id, MTree paths, manifest paths, hashes): the vault
 *   id only where Temporal never runs a codec (search attributes, the sentinel's workflow id).
 */
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { Client } from '@temporalio/client';
import { dataConverterFor } from '../codec/data-converter';
import { generateKeyFile } from '../codec/keys';
import { isolatedRecoveryCycle } from '../workflows';
import type { CycleResult } from '../workflows/cycle-messages';
import { sentinelWorkflowId } from '../workflows/sentinel-messages';
import { connectTemporal, describeTemporal, temporalAddress } from './helpers/temporal';
import { startTestLab, VAULT, type TestLab } from './helpers/lab';
import { spawnWorker, type WorkerProcess } from './helpers/worker-process';
import { dashboardExprs, metricNames } from './helpers/dashboard';

jest.setTimeout(180_000);

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The Prometheus text format, samples only. */
function parseMetrics(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m || line.startsWith('#')) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    out.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return out;
}

function curl(url: string): Promise<string> {
  return new Promise((res, rej) => execFile('curl', ['-sS', '--fail', url], { timeout: 10_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => (err ? rej(new Error(`curl ${url}: ${stderr || err.message}`)) : res(stdout))));
}

function freePort(): Promise<number> {
  return new Promise((res) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => res(port));
    });
  });
}

/** Every string in a history (bytes read as UTF-8) with the path it sits at, array indexes dropped. */
function placesOf(node: unknown, needle: string, path = '', out = new Set<string>()): string[] {
  if (node instanceof Uint8Array) {
    if (Buffer.from(node).toString('utf8').includes(needle)) out.add(path);
  } else if (typeof node === 'string') {
    if (node.includes(needle)) out.add(path);
  } else if (Array.isArray(node)) node.forEach((n) => placesOf(n, needle, `${path}[]`, out));
  else if (node && typeof node === 'object') for (const [k, v] of Object.entries(node)) placesOf(v, needle, path ? `${path}.${k}` : k, out);
  return [...out].sort();
}

describeTemporal('the worker process with metrics and encryption, on a real cycle', () => {
  let temporal: Awaited<ReturnType<typeof connectTemporal>>;
  let t: TestLab;
  let worker: WorkerProcess | undefined;
  const taskQueue = `metrics-${process.pid}-${Date.now()}`;

  beforeAll(async () => {
    temporal = await connectTemporal();
    t = await startTestLab({ bandwidthBytesPerSec: 1024 * 1024 });
  });
  afterAll(async () => {
    await worker?.kill();
    await temporal?.client.workflow.getHandle(sentinelWorkflowId(VAULT, taskQueue)).terminate('test done').catch(() => undefined);
    await temporal?.close();
    await t?.close();
  });

  let result: CycleResult;
  let workflowId: string;
  let client: Client;

  test('a cycle on a worker with IR_METRICS_BIND: curl finds the cycle\'s series and the SDK\'s', async () => {
    generateKeyFile(join(t.dir, 'payload.key'));
    const encryption = { keys: [{ id: 'test-1', file: join(t.dir, 'payload.key') }] };
    const config = { ...t.config, vaults: [{ ...t.config.vaults[0], rpo: 3600 }], temporal: { encryption } };
    client = new Client({ connection: temporal.connection, dataConverter: dataConverterFor(config) });
    const configPath = join(t.dir, 'config.yaml');
    writeFileSync(configPath, stringify(config));
    const bind = `127.0.0.1:${await freePort()}`;
    const url = `http://${bind}/metrics`;
    worker = spawnWorker({ configPath, address: temporalAddress!, taskQueue, extra: { IR_METRICS_BIND: bind } });
    await worker.ready;
    expect(worker.output()).toContain(`metrics on ${url}`);

    const vault = (s: Sample) => s.labels.vault === VAULT;
    const find = (samples: Sample[], name: string, labels: Record<string, string> = {}) =>
      samples.filter((s) => s.name === name && vault(s) && Object.entries(labels).every(([k, v]) => s.labels[k] === v));

    // Before any cycle: the vault's objectives, and the counters the alerts take increase() of, at 0.
    const before = parseMetrics(await curl(url));
    expect(find(before, 'ir_vault_max_open_seconds').map((s) => s.value)).toEqual([600]);
    expect(find(before, 'ir_vault_rpo_seconds').map((s) => s.value)).toEqual([3600]);
    expect(find(before, 'ir_close_retries').map((s) => s.value)).toEqual([0]);
    expect(find(before, 'ir_cycle_outcomes', { outcome: 'validated' }).map((s) => s.value)).toEqual([0]);
    expect(find(before, 'ir_newest_good_copy_timestamp_seconds').map((s) => s.value)).toEqual([0]);
    // The worker's own memory, as the kernel sees the same process (VmRSS) give or take what moved between the reads.
    const heap = before.filter((s) => s.name === 'ir_worker_heap_used_bytes');
    const rss = before.filter((s) => s.name === 'ir_worker_resident_bytes');
    expect(heap).toHaveLength(1);
    expect(rss).toHaveLength(1);
    const vmRss = Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${worker.pid}/status`, 'utf8'))![1]) * 1024;
    expect(rss[0].value).toBeGreaterThan(vmRss * 0.5);
    expect(rss[0].value).toBeLessThan(vmRss * 1.5);
    expect(heap[0].value).toBeGreaterThan(10 * 1024 * 1024);
    expect(heap[0].value).toBeLessThan(rss[0].value);

    const startedAt = Date.now() / 1000;
    workflowId = `metrics-cycle-${Date.now()}`;
    const handle = await client.workflow.start(isolatedRecoveryCycle, { taskQueue, workflowId, args: [VAULT, {}] });
    // While the data moves (4 MiB at 1 MiB/s) the gauge says open, since when the open was asked for.
    let seenOpen: Sample[] = [];
    let done = false;
    const result$ = handle.result().finally(() => (done = true));
    while (!done && !seenOpen.length) {
      const now = parseMetrics(await curl(url));
      if (find(now, 'ir_gap_open')[0]?.value === 1) seenOpen = now;
      else await new Promise((r) => setTimeout(r, 100));
    }
    result = await result$;
    expect(result.outcome).toBe('validated');
    expect(seenOpen.length).toBeGreaterThan(0);
    const since = find(seenOpen, 'ir_gap_open_since_timestamp_seconds')[0].value;
    expect(since).toBeGreaterThanOrEqual(startedAt);
    expect(since).toBeLessThanOrEqual(Date.parse(result.exposure.openedAt!) / 1000 + 1);

    const after = parseMetrics(await curl(url));
    expect(find(after, 'ir_gap_open').map((s) => s.value)).toEqual([0]);
    expect(find(after, 'ir_gap_open_since_timestamp_seconds').map((s) => s.value)).toEqual([0]);
    expect(find(after, 'ir_gap_state_timestamp_seconds')[0].value).toBeGreaterThanOrEqual(Date.parse(result.exposure.closedAt!) / 1000 - 1);
    expect(find(after, 'ir_cycle_outcomes', { outcome: 'validated' }).map((s) => s.value)).toEqual([1]);
    expect(find(after, 'ir_exposure_seconds_count').map((s) => s.value)).toEqual([1]);
    expect(find(after, 'ir_exposure_seconds_sum')[0].value).toBeCloseTo(result.exposure.seconds!, 3);
    expect(find(after, 'ir_exposure_seconds_bucket', { le: '60' }).map((s) => s.value)).toEqual([1]); // seconds buckets, not the SDK's ms
    // The newest good copy is this one, as of its sync point (the achieved RPO is measured from there).
    const copyAt = find(after, 'ir_newest_good_copy_timestamp_seconds')[0].value;
    expect(copyAt).toBeCloseTo(Date.parse(result.replication!.syncedAsOf ?? result.replication!.syncPoint) / 1000, 3);
    expect(find(after, 'ir_close_retries').map((s) => s.value)).toEqual([0]);

    // Every metric the dashboard and the alerts read is exported (the SDK's after a cycle, ours from the start),
    // except the ones only an event creates (drills, scrub findings, RTO).
    const exported = new Set(after.map((s) => s.name));
    const dashboard = JSON.parse(readFileSync(resolve(__dirname, '../stack/grafana/isolated-recovery.json'), 'utf8'));
    const alerts = readFileSync(resolve(__dirname, '../stack/prometheus/alerts.yml'), 'utf8');
    const eventOnly = /^ir_(drill_rto_seconds|scrub_findings)/;
    const read = [...new Set([...dashboardExprs(dashboard).flatMap(metricNames), ...metricNames(alerts)])].filter((m) => !eventOnly.test(m));
    expect(read.filter((m) => !exported.has(m))).toEqual([]);
    expect(exported.has('temporal_workflow_completed')).toBe(true);
  });

  test('the encrypted cycle\'s history holds no copy id, path or hash in clear', async () => {
    expect(result?.outcome).toBe('validated');
    const history = await client.workflow.getHandle(workflowId).fetchHistory();
    const v = result.validation!;
    const secrets = [result.copyId, result.copy!.mtreePath, '/data/col1/', v.copy.root, v.source.root, v.copy.path, v.detailPath, result.report!.digest];
    for (const s of secrets) expect([s, placesOf(history, s)]).toEqual([s, []]);
    // The vault id stays readable where no codec runs: the IrVault search attribute and the sentinel's workflow id
    // (the vault hold's answer comes as a signal from ir-sentinel-<vault>).
    expect(placesOf(history, VAULT)).toEqual([
      'events[].upsertWorkflowSearchAttributesEventAttributes.searchAttributes.indexedFields.IrVault.data',
      'events[].workflowExecutionSignaledEventAttributes.externalWorkflowExecution.workflowId',
    ]);
  });
});
