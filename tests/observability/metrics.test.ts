import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_PASSWORD, makeUser } from '../helpers/factories.ts';
import { fastForwardRetries, waitFor, waitForIdleQueue } from '../helpers/jobs.ts';
import { loggedLine, startRoleProcess } from '../helpers/processes.ts';
import { startTestApp, type TestApp } from '../helpers/test-app.ts';

const TOKEN = 'metrics-token-for-tests-0123456789';

interface Sample {
  labels: Record<string, string>;
  value: number;
}
interface Family {
  name: string;
  type: string;
  /** Every sample line of the family (for a histogram: its _bucket, _sum and _count lines, by `series`). */
  metrics: (Sample & { series: string })[];
}

const SAMPLE_LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/**
 * The exposition is checked by a Prometheus text-format parser (it throws on a bad
 * line, and gives each family's type); sample values are then read line by line,
 * since that parser folds a labelled histogram's series into one.
 */
function parseExposition(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  for (const f of parsePrometheusTextFormat(text) as { name: string; type: string }[]) families.set(f.name, { name: f.name, type: f.type, metrics: [] });
  for (const line of text.split('\n')) {
    const m = SAMPLE_LINE.exec(line);
    if (!m) continue;
    const series = m[1]!;
    const family = families.get(series) ?? families.get(series.replace(/_(bucket|sum|count)$/, ''));
    if (!family) continue;
    const labels = Object.fromEntries([...(m[2] ?? '').matchAll(LABEL)].map((l) => [l[1]!, l[2]!]));
    family.metrics.push({ series, labels, value: Number(m[3]) });
  }
  return families;
}

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ METRICS_TOKEN: TOKEN, SIGN_IN_LIMIT_PER_MINUTE: '2', METRICS_QUEUE_REFRESH_MS: '1000' }, { worker: true });
});
afterAll(() => t.close());

async function scrape(url = `${t.url}/metrics`): Promise<Map<string, Family>> {
  const res = await fetch(url, { headers: { authorization: `Bearer ${TOKEN}` } });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return parseExposition(await res.text());
}

/** The sum of the samples of `name` whose labels include `labels` (for a histogram, of its _count series; 0 when absent). */
function value(families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number {
  const family = families.get(name);
  const series = family?.type === 'HISTOGRAM' ? `${name}_count` : name;
  const samples = family?.metrics.filter((m) => m.series === series && Object.entries(labels).every(([k, v]) => m.labels[k] === v)) ?? [];
  return samples.reduce((sum, m) => sum + m.value, 0);
}

describe('/metrics', () => {
  it('is not on the public API port without METRICS_TOKEN', async () => {
    const plain = await startTestApp();
    try {
      const res = await fetch(`${plain.url}/metrics`);
      expect(res.status).toBe(404);
    } finally {
      await plain.close();
    }
  });

  it('on the API port, needs the bearer token', async () => {
    expect((await fetch(`${t.url}/metrics`)).status).toBe(401);
    expect((await fetch(`${t.url}/metrics`, { headers: { authorization: 'Bearer wrong-token-wrong-token-000000' } })).status).toBe(401);
  });

  it('moves after known traffic: requests by procedure, door and status; procedure outcomes; rate limits; pool', async () => {
    const before = await scrape();
    const user = await makeUser(t.app.db, { email: 'metrics@example.com' });
    await t.rest('GET', '/products/00000000-0000-4000-8000-000000000000');
    await t.client().products.list.query({});
    for (let i = 0; i < 3; i++) await t.rest('POST', '/auth/sign-in', { body: { email: user.email, password: 'wrong password, surely' } });
    // A request is recorded once its response has gone out, which can be just after the client has it.
    const after = await waitFor(async () => {
      const f = await scrape();
      return value(f, 'duality_rate_limit_rejections_total', { procedure: 'auth.signIn' }) > value(before, 'duality_rate_limit_rejections_total', { procedure: 'auth.signIn' }) ? f : undefined;
    }, 'the 429 in the metrics');

    const duration = 'duality_http_request_duration_seconds';
    expect(after.get(duration)?.type).toBe('HISTOGRAM');
    expect(value(after, duration, { procedure: 'products.get', door: 'rest', status: '404' }) - value(before, duration, { procedure: 'products.get', door: 'rest', status: '404' })).toBe(1);
    expect(value(after, duration, { procedure: 'products.list', door: 'trpc', status: '200' })).toBeGreaterThanOrEqual(1);

    const calls = 'duality_procedure_calls_total';
    expect(value(after, calls, { procedure: 'auth.signIn', outcome: 'UNAUTHORIZED' }) - value(before, calls, { procedure: 'auth.signIn', outcome: 'UNAUTHORIZED' })).toBe(2);
    expect(value(after, calls, { procedure: 'auth.signIn', outcome: 'TOO_MANY_REQUESTS' }) - value(before, calls, { procedure: 'auth.signIn', outcome: 'TOO_MANY_REQUESTS' })).toBe(1);
    expect(value(after, 'duality_rate_limit_rejections_total', { procedure: 'auth.signIn' }) - value(before, 'duality_rate_limit_rejections_total', { procedure: 'auth.signIn' })).toBe(1);

    expect(after.get('duality_http_requests_in_flight')?.type).toBe('GAUGE');
    for (const state of ['in_use', 'idle', 'waiting']) expect(after.get('duality_db_pool_connections')?.metrics.some((m) => m.labels.state === state)).toBe(true);
    expect(value(after, 'duality_db_pool_connections', { state: 'idle' })).toBeGreaterThan(0);
  });

  it('jobs by task and outcome, event delivery lag by subscriber', async () => {
    const res = await t.rest('POST', '/auth/sign-up', { body: { email: 'lag@example.com', name: 'Lag', password: DEFAULT_PASSWORD } });
    expect(res.status).toBe(202);
    await waitForIdleQueue(t.app.db);
    const families = await waitFor(async () => {
      const f = await scrape();
      return value(f, 'duality_jobs_total', { outcome: 'completed' }) >= 2 ? f : undefined;
    }, 'completed jobs in the metrics');
    const completed = families.get('duality_jobs_total')!.metrics.filter((m) => m.labels.outcome === 'completed').map((m) => m.labels.task ?? '');
    expect(completed.some((task) => task.startsWith('event:user.created:'))).toBe(true);
    expect(families.get('duality_event_delivery_lag_seconds')?.type).toBe('HISTOGRAM');
    expect(value(families, 'duality_event_delivery_lag_seconds', { event: 'user.created' })).toBeGreaterThanOrEqual(1);
  });

  it('a delivery that fails once, then succeeds, counts as retried then completed; one out of attempts as failed', async () => {
    const flaky = await startTestApp({ METRICS_TOKEN: TOKEN });
    try {
      let calls = 0;
      flaky.app.events.subscribe('user.created', 'test.flaky', async () => {
        calls += 1;
        if (calls === 1) throw new Error('first attempt fails');
      });
      flaky.app.events.subscribe('user.created', 'test.hopeless', async () => {
        throw new Error('always fails');
      }, { maxAttempts: 1 });
      await flaky.app.startWorker();
      const task = 'event:user.created:test.flaky';
      const before = await scrape(`${flaky.url}/metrics`);
      await makeUser(flaky.app.db, { email: 'flaky@example.com' }).then((u) =>
        flaky.app.db.transaction((trx) => flaky.app.events.publish(trx, 'user.created', { userId: u.id, email: u.email, name: u.name })),
      );
      await waitFor(async () => (await fastForwardRetries(flaky.app.db)) > 0 || calls >= 2, 'the retry to be scheduled');
      const after = await waitFor(async () => {
        const f = await scrape(`${flaky.url}/metrics`);
        return value(f, 'duality_jobs_total', { task, outcome: 'completed' }) > value(before, 'duality_jobs_total', { task, outcome: 'completed' }) &&
          value(f, 'duality_jobs_total', { task: 'event:user.created:test.hopeless', outcome: 'failed' }) >= 1
          ? f
          : undefined;
      }, 'the retried delivery to complete');
      expect(value(after, 'duality_jobs_total', { task, outcome: 'retried' }) - value(before, 'duality_jobs_total', { task, outcome: 'retried' })).toBe(1);
      expect(value(after, 'duality_job_duration_seconds', { task })).toBeGreaterThanOrEqual(2);
    } finally {
      await flaky.close();
    }
  });

  it('queue depth and the age of the oldest pending job, from graphile-worker tables', async () => {
    // A job for a task no worker knows stays pending.
    await t.app.db.raw(`SELECT graphile_worker.add_job('metrics.orphan', '{}'::json, run_at => now() - interval '5 seconds')`);
    const families = await waitFor(async () => {
      const f = await scrape();
      return value(f, 'duality_jobs_pending', { task: 'metrics.orphan' }) === 1 ? f : undefined;
    }, 'the pending job in the metrics');
    expect(value(families, 'duality_jobs_oldest_pending_age_seconds', { task: 'metrics.orphan' })).toBeGreaterThanOrEqual(5);
    await t.app.db.raw(`DELETE FROM graphile_worker._private_jobs WHERE task_id IN (SELECT id FROM graphile_worker._private_tasks WHERE identifier = 'metrics.orphan')`);
  });

  it('a worker-only process serves its own /metrics on METRICS_PORT', async () => {
    const worker = startRoleProcess('worker', { DATABASE_URL: t.databaseUrl, METRICS_PORT: '0', DATA_DIR: t.dataDir });
    try {
      const line = await waitFor(() => loggedLine(worker, 'metrics at'), 'the metrics line', 30_000);
      const families = await scrape(line.metrics as string);
      expect(families.has('duality_jobs_total')).toBe(true);
      expect(families.has('duality_process_cpu_seconds_total')).toBe(true);
      expect((await fetch(String(line.metrics).replace('/metrics', '/other'))).status).toBe(404);
    } finally {
      worker.child.kill('SIGTERM');
      await worker.exit;
    }
  });
});
