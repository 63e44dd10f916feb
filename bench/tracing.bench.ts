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
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createDatabaseIfMissing, dropDatabase, withDatabase } from '../server/db/database.ts';
import { startEmbeddedPostgres } from '../server/db/embedded-postgres.ts';
import { createKnex } from '../server/db/knex.ts';
import { migrateToLatest } from '../server/db/migrations.ts';
import { createLogger } from '../server/logger.ts';
import { measure, median, seedProducts, startServer, stopAll, waitForIdleDatabase } from './harness.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const PRODUCTS = Number(process.env.BENCH_PRODUCTS ?? 100_000);
const compareDir = process.env.BENCH_COMPARE_DIR ? path.resolve(process.env.BENCH_COMPARE_DIR) : undefined;

const logger = createLogger({ logLevel: 'warn' });
let tmp: string | undefined;
let adminUrl = process.env.DATABASE_URL;
const embedded = adminUrl ? undefined : await startEmbeddedPostgres({ dataDir: (tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'duality-bench-'))), logger, ephemeral: true });
adminUrl ??= embedded!.adminUrl;
const dbName = `duality_bench_tracing_${process.pid}`;
await createDatabaseIfMissing(adminUrl, dbName);
const url = withDatabase(adminUrl, dbName);
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
  const variants: { name: string; base: string; path: (id: string) => string }[] = [
    { name: 'baseline (node:http + pg)', base: await startServer('bench/baseline-server.ts', env), path: (id) => `/products/${id}` },
    { name: 'app, tracing off (default)', base: await startServer('bench/app-server.ts', env), path: (id) => `/api/v1/products/${id}` },
    { name: 'app, tracing on, 100 % sampled', base: await startServer('bench/app-server.ts', { ...env, ...traced('always_on') }), path: (id) => `/api/v1/products/${id}` },
    { name: 'app, tracing on, 10 % sampled', base: await startServer('bench/app-server.ts', { ...env, ...traced('parentbased_traceidratio', '0.1') }), path: (id) => `/api/v1/products/${id}` },
  ];
  if (compareDir) variants.push({ name: `app at ${path.basename(compareDir)} (BENCH_COMPARE_DIR)`, base: await startServer('bench/app-server.ts', env, compareDir), path: (id) => `/api/v1/products/${id}` });

  console.log(`REST get-by-id: ${ROUNDS} interleaved rounds × ${SECONDS}s per variant\n`);
  for (const v of variants) await measure({ base: v.base, path: () => v.path(pick()) }, 2); // warm-up
  const rps = variants.map(() => [] as number[]);
  const p50 = variants.map(() => [] as number[]);
  for (let round = 0; round < ROUNDS; round++) {
    for (const [i, v] of variants.entries()) {
      await waitForIdleDatabase(db);
      const r = await measure({ base: v.base, path: () => v.path(pick()) }, SECONDS);
      if (r.errors) throw new Error(`${v.name}: ${r.errors} errors`);
      rps[i]!.push(r.rps);
      p50[i]!.push(r.p50);
    }
  }
  const ratio = (i: number, j: number) => median(rps[i]!.map((x, round) => x / rps[j]![round]!));
  console.table(
    variants.map((v, i) => ({
      variant: v.name,
      'req/s (median)': Math.round(median(rps[i]!)),
      'p50 ms': median(p50[i]!),
      'vs tracing off': ratio(i, 1).toFixed(3),
      'vs baseline': ratio(i, 0).toFixed(3),
    })),
  );
  if (compareDir) console.log(`tracing off vs ${path.basename(compareDir)}: ${ratio(1, 4).toFixed(3)} (target ≥ 0.97)`);
} finally {
  await db.destroy();
  await stopAll();
  await dropDatabase(adminUrl, dbName).catch(() => {});
  await embedded?.stop();
  if (tmp) await fs.rm(tmp, { recursive: true, force: true });
}
