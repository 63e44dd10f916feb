/**
 * `npm run bench:tracing`: what tracing costs on the hot path. Seeds 100,000 products,
 * then measures REST get-by-id, interleaved over BENCH_ROUNDS rounds, on:
 *   - the bare baseline (node:http + pg, same query);
 *   - the app with tracing off (no OTEL_* variables: the default);
 *   - the app tracing 100 % of requests, exporting OTLP/HTTP to a local sink;
 *   - the app tracing 10 % (parentbased_traceidratio 0.1);
 *   - optionally the app of another checkout (BENCH_COMPARE_DIR, e.g. the previous
 *     release with its own node_modules), to read "tracing off" against "before".
 * Between measurements it waits for the database to be idle (pg_stat_activity), so one
 * variant's leftovers never slow the next. Reports the median req/s of each variant and
 * the median of the per-round ratios to "tracing off" and to the baseline.
 *
 * BENCH_SECONDS (default 5), BENCH_CONNECTIONS (default 10), BENCH_ROUNDS (default 3).
 */
import path from 'node:path';
import { createKnex } from '../server/db/knex.ts';
import { migrateToLatest } from '../server/db/migrations.ts';
import { cpuSeconds, measure, median, openBenchDatabase, seedProducts, startServer, startServerProcess, stopAll, waitForIdleDatabase } from './harness.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const PRODUCTS = Number(process.env.BENCH_PRODUCTS ?? 100_000);
const compareDir = process.env.BENCH_COMPARE_DIR ? path.resolve(process.env.BENCH_COMPARE_DIR) : undefined;

const database = await openBenchDatabase('tracing');
const { url } = database;
const db = createKnex(url, { poolMax: 2 });

try {
  await migrateToLatest(db);
  console.log(`seeding ${PRODUCTS.toLocaleString('en')} products…`);
  const ids = await seedProducts(db, PRODUCTS);
  const pick = () => ids[Math.floor(Math.random() * ids.length)]!;

  const sink = await startServer('bench/otlp-sink.ts', {});
  const traced = (sampler: string, arg?: string) => ({
    OTEL_EXPORTER_OTLP_ENDPOINT: sink,
    OTEL_TRACES_SAMPLER: sampler,
    ...(arg ? { OTEL_TRACES_SAMPLER_ARG: arg } : {}),
  });
  const env = { BENCH_DATABASE_URL: url };
  const rest = (id: string) => `/api/v1/products/${id}`;
  const variants: { name: string; base: string; pid: number; path: (id: string) => string }[] = [
    { name: 'baseline (node:http + pg)', ...(await startServerProcess('bench/baseline-server.ts', env)), path: (id) => `/products/${id}` },
    { name: 'app, tracing off (default)', ...(await startServerProcess('bench/app-server.ts', env)), path: rest },
    { name: 'app, tracing on, 100 % sampled', ...(await startServerProcess('bench/app-server.ts', { ...env, ...traced('always_on') })), path: rest },
    { name: 'app, tracing on, 10 % sampled', ...(await startServerProcess('bench/app-server.ts', { ...env, ...traced('parentbased_traceidratio', '0.1') })), path: rest },
  ];
  if (compareDir) variants.push({ name: `app at ${path.basename(compareDir)} (BENCH_COMPARE_DIR)`, ...(await startServerProcess('bench/app-server.ts', env, compareDir)), path: rest });

  console.log(`REST get-by-id: ${ROUNDS} interleaved rounds × ${SECONDS}s per variant\n`);
  for (const v of variants) await measure({ base: v.base, path: () => v.path(pick()) }, 2); // warm-up
  const rps = variants.map(() => [] as number[]);
  const p50 = variants.map(() => [] as number[]);
  const cpu = variants.map(() => [] as number[]); // µs of server CPU per request
  for (let round = 0; round < ROUNDS; round++) {
    for (const [i, v] of variants.entries()) {
      await waitForIdleDatabase(db);
      const before = await cpuSeconds(v.pid);
      const r = await measure({ base: v.base, path: () => v.path(pick()) }, SECONDS);
      const used = (await cpuSeconds(v.pid)) - before;
      if (r.errors) throw new Error(`${v.name}: ${r.errors} errors`);
      rps[i]!.push(r.rps);
      p50[i]!.push(r.p50);
      cpu[i]!.push((used / r.requests) * 1e6);
    }
  }
  // Per-round ratios, then their median: a round that the machine slowed slows both sides.
  const ratio = (series: number[][], i: number, j: number) => median(series[i]!.map((x, round) => x / series[j]![round]!));
  console.table(
    variants.map((v, i) => ({
      variant: v.name,
      'req/s (median)': Math.round(median(rps[i]!)),
      'p50 ms': median(p50[i]!),
      'CPU µs/req': Math.round(median(cpu[i]!)),
      'req/s vs tracing off': ratio(rps, i, 1).toFixed(3),
      'CPU vs tracing off': ratio(cpu, i, 1).toFixed(3),
      'req/s vs baseline': ratio(rps, i, 0).toFixed(3),
    })),
  );
  if (compareDir) {
    console.log(`tracing off vs ${path.basename(compareDir)}: req/s ${ratio(rps, 1, 4).toFixed(3)} (target ≥ 0.97), CPU per request ${ratio(cpu, 1, 4).toFixed(3)} (target ≤ 1.03)`);
  }
} finally {
  await db.destroy();
  await stopAll();
  await database.close();
}
