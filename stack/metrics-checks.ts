/**
 * stack:test's checks of the cycle's metrics as an operator sees them: through Prometheus's HTTP API after a
 * cycle (the worker's ir_* series and a Temporal server series), and the scrape config through promtool.
 */
import { PROMETHEUS_CONFIG, PROMETHEUS_URL } from './prometheus';
import { assert, run, sleep } from './run';

interface Sample {
  metric: Record<string, string>;
  value: [number, string];
}

export async function promQuery(expr: string): Promise<Sample[]> {
  const res = await fetch(`${PROMETHEUS_URL}/api/v1/query?query=${encodeURIComponent(expr)}`);
  const body = (await res.json()) as { status: string; error?: string; data?: { result: Sample[] } };
  assert(body.status === 'success', `Prometheus query ${expr}: ${body.error ?? res.status}`);
  return body.data!.result;
}

/** The value of a query that must return one series, waiting up to `ms` (a scrape every 5 s) for `ok` to hold. */
async function valueOf(expr: string, ok: (v: number) => boolean, ms = 20000): Promise<number> {
  const deadline = Date.now() + ms;
  let last: Sample[] = [];
  for (;;) {
    last = await promQuery(expr);
    if (last.length === 1 && ok(Number(last[0].value[1]))) return Number(last[0].value[1]);
    if (Date.now() > deadline) break;
    await sleep(1000);
  }
  throw new Error(`${expr}: ${last.length ? last.map((s) => `${JSON.stringify(s.metric)} = ${s.value[1]}`).join('; ') : 'no series'}`);
}

/** After a validated cycle: the gap reads closed, a validated outcome and an exposure were counted, the server reports. */
export async function cycleMetricsInPrometheus(): Promise<string> {
  const gap = await valueOf('ir_gap_open{vault="lab-vault"}', (v) => v === 0);
  const validated = await valueOf('sum(ir_cycle_outcomes{vault="lab-vault",outcome="validated"})', (v) => v >= 1);
  const exposures = await valueOf('sum(ir_exposure_seconds_count{vault="lab-vault"})', (v) => v >= 1);
  const requests = await valueOf('sum(service_requests)', (v) => v > 0);
  const down = (await promQuery('up == 0')).map((s) => `${s.metric.job}/${s.metric.instance}`);
  assert(!down.length, `targets down: ${down.join(', ')}`);
  return `ir_gap_open{vault="lab-vault"} ${gap}; ir_cycle_outcomes validated ${validated}; ir_exposure_seconds_count ${exposures}; sum(service_requests) ${requests}; no target down`;
}

/** `promtool check config` on the stack's prometheus.yml (with its rule files and target files). */
export async function promtoolChecksConfig(): Promise<string> {
  const r = await run(process.env.PROMTOOL_BIN ?? 'promtool', ['check', 'config', PROMETHEUS_CONFIG], { timeoutMs: 60000 });
  assert(r.code === 0, `promtool check config ${PROMETHEUS_CONFIG} exited ${r.code}:\n${(r.out + r.err).trim()}`);
  return (r.out + r.err).trim().split('\n').filter((l) => /SUCCESS|rules found/.test(l)).join('; ');
}
