/** Reading the Grafana dashboard's queries (stack/grafana/isolated-recovery.json) for the tests. */

/** Every query of the dashboard, with Grafana's variables replaced by what Grafana would put there. */
export function dashboardExprs(dashboard: any): string[] {
  const exprs: string[] = [];
  for (const p of dashboard.panels) for (const t of p.targets ?? []) exprs.push(t.expr);
  for (const v of dashboard.templating.list) if (v.type === 'query') exprs.push(v.definition.replace(/^label_values\((\w+), \w+\)$/, '$1'));
  return exprs.map((e) => e.replace(/\$__rate_interval|\$__range/g, '5m').replace(/\$vault/g, '.*'));
}

/** Metric names a query reads (histogram series named by their base metric). */
export function metricNames(expr: string): string[] {
  return [...new Set([...expr.matchAll(/\b((?:ir|temporal)_[a-z0-9_]+)\b/g)].map((m) => m[1]))];
}
