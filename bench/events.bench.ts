/**
 * `npm run bench:events` (also run by `npm run bench`): the event bus beside a baseline
 * measured in the same run, on the same database and the same worker:
 *   bus      EventBus.publish(trx, 'product.created', …) in a committed transaction →
 *            a subscriber's no-op handler (envelope check + idempotency claim included);
 *   baseline graphile_worker.add_job in a committed transaction → a no-op task.
 * "Handled" is graphile-worker's job:success (the task returned; for the bus, after the
 * delivery's transaction committed). Latency: one event at a time, from the start of the
 * publishing transaction to handled, p50/p99. Throughput: events published by parallel
 * publishers, from the first publish to the last handled.
 *
 * BENCH_LATENCY_SAMPLES (300), BENCH_EVENTS (3000), BENCH_PUBLISHERS (8),
 * WORKER_CONCURRENCY (5). DATABASE_URL, when set, names a server to create the
 * benchmark database on; otherwise an embedded PostgreSQL in a temporary directory.
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { createKnex } from '../server/db/knex.ts';
import { migrateToLatest } from '../server/db/migrations.ts';
import { EventBus } from '../server/events/bus.ts';
import { productEvents } from '../server/modules/products/product.events.ts';
import { JobQueue } from '../server/jobs/queue.ts';
import { startWorker } from '../server/jobs/worker.ts';
import { createLogger } from '../server/logger.ts';
import { openBenchDatabase } from './harness.ts';

const LATENCY_SAMPLES = Number(process.env.BENCH_LATENCY_SAMPLES ?? 300);
const EVENTS = Number(process.env.BENCH_EVENTS ?? 3000);
const PUBLISHERS = Number(process.env.BENCH_PUBLISHERS ?? 8);
const CONCURRENCY = Number(process.env.WORKER_CONCURRENCY ?? 5);

const logger = createLogger({ logLevel: 'warn' });
const database = await openBenchDatabase('events');
const { url } = database;

/** Resolvers waiting for a job, by the key its payload carries. */
const waiting = new Map<string, () => void>();
const handled = (key: string) =>
  new Promise<void>((resolve) => {
    waiting.set(key, resolve);
  });

const db = createKnex(url, { poolMax: PUBLISHERS + CONCURRENCY + 2 });
try {
  await migrateToLatest(db);
  const jobs = new JobQueue({ logger });
  const events = new EventBus({ db, jobs, catalog: productEvents });
  // Only the bench subscriber: the app's own subscribers would add their jobs to each publish.
  events.subscribe('product.created', 'bench.noop', async () => {});
  jobs.register('bench.raw-noop', { maxAttempts: 1, run: async () => {} });

  const worker = await startWorker({ databaseUrl: url, taskList: jobs.taskList(), concurrency: CONCURRENCY, pollIntervalMs: 2000, logger });
  worker.events.on('job:success', ({ job }) => {
    const p = job.payload as { key?: string; payload?: { productId?: string } };
    const key = p.key ?? p.payload?.productId;
    if (key) {
      waiting.get(key)?.();
      waiting.delete(key);
    }
  });

  const scenarios = {
    'bus: publish → subscriber': async (key: string) => {
      await db.transaction((trx) => events.publish(trx, 'product.created', { productId: key, name: 'Bench', price: '1.00' }));
    },
    'baseline: add_job → no-op task': async (key: string) => {
      await db.transaction((trx) => trx.raw(`SELECT graphile_worker.add_job('bench.raw-noop', ?::json)`, [JSON.stringify({ key })]));
    },
  };

  const latency = async (publish: (key: string) => Promise<void>, n: number) => {
    const samples: number[] = [];
    for (let i = 0; i < n; i++) {
      const key = randomUUID();
      const done = handled(key);
      const t0 = performance.now();
      await publish(key);
      await done;
      samples.push(performance.now() - t0);
    }
    samples.sort((a, b) => a - b);
    const at = (q: number) => samples[Math.min(samples.length - 1, Math.floor(q * samples.length))]!;
    return { p50: at(0.5), p99: at(0.99) };
  };

  const throughput = async (publish: (key: string) => Promise<void>, n: number) => {
    const keys = Array.from({ length: n }, () => randomUUID());
    const done = Promise.all(keys.map(handled));
    const t0 = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: PUBLISHERS }, async () => {
        while (next < keys.length) await publish(keys[next++]!);
      }),
    );
    const published = performance.now();
    await done;
    const end = performance.now();
    return { perSecond: n / ((end - t0) / 1000), publishPerSecond: n / ((published - t0) / 1000) };
  };

  console.log(`events: ${LATENCY_SAMPLES} one at a time, then ${EVENTS} from ${PUBLISHERS} publishers; worker concurrency ${CONCURRENCY}; same process, same database\n`);
  for (const publish of Object.values(scenarios)) await latency(publish, 30); // warm up JIT, pools, prepared statements
  const rows: Record<string, string | number>[] = [];
  for (const [name, publish] of Object.entries(scenarios)) {
    const l = await latency(publish, LATENCY_SAMPLES);
    const t = await throughput(publish, EVENTS);
    rows.push({ scenario: name, 'p50 ms': l.p50.toFixed(2), 'p99 ms': l.p99.toFixed(2), 'handled/s': Math.round(t.perSecond), 'published/s': Math.round(t.publishPerSecond) });
  }
  console.table(rows);
  const [bus, base] = rows as [Record<string, number>, Record<string, number>];
  console.log(`bus throughput is ${(Number(bus['handled/s']) / Number(base['handled/s'])).toFixed(2)} of the baseline's; p50 latency ${(Number(bus['p50 ms']) / Number(base['p50 ms'])).toFixed(2)}×`);
  await worker.stop();
} finally {
  await db.destroy();
  await database.close();
}
