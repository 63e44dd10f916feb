import client from 'prom-client';

/**
 * Prometheus metrics of this process. One registry per process: every server and
 * worker process exposes its own /metrics (see metrics-server.ts); Prometheus adds
 * them up. Names are prefixed `duality_`; docs/operations.md says which metric
 * answers which question.
 */
export const registry = new client.Registry();
client.collectDefaultMetrics({ register: registry, prefix: 'duality_' });

const LATENCY_BUCKETS = [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export const httpRequestDuration = new client.Histogram({
  name: 'duality_http_request_duration_seconds',
  help: 'HTTP request duration by procedure (or route), door (rest, trpc, other) and status code',
  labelNames: ['procedure', 'door', 'status'] as const,
  buckets: LATENCY_BUCKETS,
  registers: [registry],
});

export const httpRequestsInFlight = new client.Gauge({
  name: 'duality_http_requests_in_flight',
  help: 'HTTP requests being handled right now',
  registers: [registry],
});

export const procedureCalls = new client.Counter({
  name: 'duality_procedure_calls_total',
  help: 'Procedure calls by procedure, door and outcome (OK or the error code, e.g. UNAUTHORIZED for a failed sign-in)',
  labelNames: ['procedure', 'door', 'outcome'] as const,
  registers: [registry],
});

export const rateLimitRejections = new client.Counter({
  name: 'duality_rate_limit_rejections_total',
  help: 'Requests answered 429 (a rate limit or quota), by procedure',
  labelNames: ['procedure'] as const,
  registers: [registry],
});

export const jobOutcomes = new client.Counter({
  name: 'duality_jobs_total',
  help: 'Job attempts finished by this process, by task and outcome: completed, retried (failed with attempts left) or failed (no attempts left)',
  labelNames: ['task', 'outcome'] as const,
  registers: [registry],
});

export const jobDuration = new client.Histogram({
  name: 'duality_job_duration_seconds',
  help: 'How long job attempts ran, by task',
  labelNames: ['task'] as const,
  buckets: [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300],
  registers: [registry],
});

export const eventDeliveryLag = new client.Histogram({
  name: 'duality_event_delivery_lag_seconds',
  help: 'From an event being published to a subscriber having handled it, by event and subscriber',
  labelNames: ['event', 'subscriber'] as const,
  buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 1800],
  registers: [registry],
});

/** The knex pool's counters, read at scrape time (tarn's pool as knex exposes it). */
export interface PoolLike {
  numUsed(): number;
  numFree(): number;
  numPendingAcquires(): number;
  numPendingCreates(): number;
}

const pools = new Set<() => PoolLike | undefined>();

new client.Gauge({
  name: 'duality_db_pool_connections',
  help: 'Database pool connections by state: in_use, idle, waiting (requests queued for a connection) and creating',
  labelNames: ['state'] as const,
  registers: [registry],
  collect() {
    const totals = { in_use: 0, idle: 0, waiting: 0, creating: 0 };
    for (const read of pools) {
      const p = read();
      if (!p) continue;
      totals.in_use += p.numUsed();
      totals.idle += p.numFree();
      totals.waiting += p.numPendingAcquires();
      totals.creating += p.numPendingCreates();
    }
    for (const [state, value] of Object.entries(totals)) this.set({ state }, value);
  },
});

/** Reports a connection pool in `duality_db_pool_connections`, read at scrape time. Returns the way to stop. */
export function registerPoolMetrics(pool: () => PoolLike | undefined): () => void {
  pools.add(pool);
  return () => pools.delete(pool);
}

/** One row of the queue snapshot. */
export interface QueueStat {
  task: string;
  /** Jobs due now and not locked by a worker. */
  pending: number;
  /** Seconds since the oldest of them became due; 0 when none. */
  oldestPendingSeconds: number;
  /** Jobs that used every attempt and wait for `npm run jobs:retry`. */
  failed: number;
}

interface QueueSource {
  read: () => Promise<QueueStat[]>;
  minIntervalMs: number;
  last?: { at: number; stats: Promise<QueueStat[]> };
}
const queues = new Set<QueueSource>();

/** Every source's latest snapshot, re-read only when older than its interval. */
async function queueSnapshot(): Promise<QueueStat[]> {
  const now = Date.now();
  const all = [...queues].map((q) => {
    if (!q.last || now - q.last.at >= q.minIntervalMs) q.last = { at: now, stats: q.read().catch(() => []) };
    return q.last.stats;
  });
  return (await Promise.all(all)).flat();
}

function queueGauge(name: string, help: string, value: (s: QueueStat) => number, combine: (a: number, b: number) => number) {
  new client.Gauge({
    name,
    help,
    labelNames: ['task'] as const,
    registers: [registry],
    async collect() {
      const byTask = new Map<string, number>();
      for (const s of await queueSnapshot()) byTask.set(s.task, byTask.has(s.task) ? combine(byTask.get(s.task)!, value(s)) : value(s));
      this.reset();
      for (const [task, v] of byTask) this.set({ task }, v);
    },
  });
}
queueGauge('duality_jobs_pending', 'Jobs due and waiting for a worker, by task (queue depth)', (s) => s.pending, (a, b) => a + b);
queueGauge('duality_jobs_oldest_pending_age_seconds', 'Age in seconds of the oldest job due and waiting for a worker, by task', (s) => s.oldestPendingSeconds, Math.max);
queueGauge('duality_jobs_failed_permanently', 'Jobs that used every attempt (see npm run jobs:failed), by task', (s) => s.failed, (a, b) => a + b);

/**
 * Reports a job queue in the queue gauges. `read` queries graphile-worker's tables;
 * its result is reused for `minIntervalMs`, so however often Prometheus (or several
 * of them) scrape, the database sees at most one such query per interval.
 */
export function registerQueueMetrics(read: () => Promise<QueueStat[]>, minIntervalMs: number): () => void {
  const source: QueueSource = { read, minIntervalMs };
  queues.add(source);
  return () => queues.delete(source);
}

export const metricsContentType = registry.contentType;
