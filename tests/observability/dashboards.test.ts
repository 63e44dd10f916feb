import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { registry } from '../../server/observability/metrics.ts';
import { ROOT } from '../helpers/processes.ts';

const read = (file: string) => parse(fs.readFileSync(path.join(ROOT, file), 'utf8'));

/** Every metric name the app exposes (histograms also as their _bucket, _sum and _count series). */
async function exposed(): Promise<Set<string>> {
  const names = new Set<string>();
  for (const m of await registry.getMetricsAsJSON()) {
    names.add(m.name);
    if (String(m.type) === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(m.name + suffix);
  }
  return names;
}

describe('the local dashboards cannot drift from the metrics', () => {
  it('every alert rule in docker/alerts.yml uses only metrics the app exposes', async () => {
    const names = await exposed();
    const rules = (read('docker/alerts.yml') as { groups: { rules: { alert: string; expr: string }[] }[] }).groups.flatMap((g) => g.rules);
    expect(rules.length).toBeGreaterThanOrEqual(4);
    for (const rule of rules) {
      const used = rule.expr.match(/duality_[a-z_]+/g) ?? [];
      expect(used.length, rule.alert).toBeGreaterThan(0);
      for (const metric of used) expect(names.has(metric), `${rule.alert} uses ${metric}`).toBe(true);
    }
  });

  it('Prometheus scrapes the port compose gives METRICS_PORT, and the collector sends traces to Jaeger', () => {
    const compose = read('compose.yaml') as { 'x-app-env': Record<string, string>; services: Record<string, { profiles?: string[] }> };
    const port = Number(compose['x-app-env'].METRICS_PORT);
    const prometheus = read('docker/prometheus.yml') as { scrape_configs: { dns_sd_configs: { names: string[]; port: number }[] }[] };
    const targets = prometheus.scrape_configs.flatMap((c) => c.dns_sd_configs);
    expect(targets.map((t) => t.names[0]).sort()).toEqual(['serve', 'worker']);
    for (const t of targets) expect(t.port).toBe(port);
    const collector = read('docker/otel-collector.yaml') as { service: { pipelines: { traces: { exporters: string[] } } }; exporters: Record<string, { endpoint: string }> };
    expect(collector.exporters[collector.service.pipelines.traces.exporters[0]!]!.endpoint).toMatch(/^jaeger:/);
    expect(compose['x-app-env'].OTEL_EXPORTER_OTLP_ENDPOINT).toBe('http://otel-collector:4318');
    for (const s of ['otel-collector', 'jaeger', 'prometheus']) expect(compose.services[s]?.profiles).toEqual(['observability']);
  });
});
