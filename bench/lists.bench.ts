/**
 * `npm run bench:lists` (also run by `npm run bench`): products.list at 10k, 100k and 1M
 * rows, each query beside a baseline (bare node:http + pg, bench/baseline-server.ts) that
 * runs the same SQL on the same database in the same run. Per size and query: requests/s,
 * p50 and p99 for the app's REST door and for the baseline, and their ratio; then the
 * issue's targets (p50 at the largest size ≤ 15 ms; p50 there within 2× of the smallest
 * size's; app ≥ 0.7 of the baseline's requests/s).
 *
 * Rows are seeded with generate_series (names like `Product 123 oak`, one of five woods),
 * the table grows from one size to the next, and each size is VACUUM ANALYZEd. Before every
 * measurement the bench waits until no other backend of its database is busy
 * (pg_stat_activity), so autovacuum or the other side's tail does not leak into it.
 *
 * BENCH_SECONDS (5) per run, BENCH_CONNECTIONS (8), BENCH_SIZES (10000,100000,1000000).
 * BENCH_EXPLAIN=1 also prints EXPLAIN (ANALYZE, BUFFERS) of every query at the largest
 * size (the plans in docs/lists.md). DATABASE_URL, when set, names a server to create the
 * benchmark database on; otherwise an embedded PostgreSQL in a temporary directory.
 */
import autocannon from 'autocannon';
import pg from 'pg';
import { createKnex, type Knex } from '../server/db/knex.ts';
import { migrateToLatest } from '../server/db/migrations.ts';
import { MAX_PAGE_DEPTH } from '../server/lib/pagination.ts';
import { openBenchDatabase, startServer, stopAll } from './harness.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 8);
const SIZES = (process.env.BENCH_SIZES ?? '10000,100000,1000000').split(',').map(Number);
const EXPLAIN = process.env.BENCH_EXPLAIN === '1';

const database = await openBenchDatabase('lists');
const { url } = database;

interface Scenario {
  /** The same query at every size (names carry size-dependent detail). */
  key: string;
  name: string;
  /** Query string for both sides; the baseline takes a cursor as `after` + `afterId`. */
  app: string;
  baseline: string;
}

interface Result {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
}

const summary: { size: number; key: string; scenario: string; app: Result; baseline: Result }[] = [];

try {
  const db = createKnex(url, { poolMax: 2 });
  await migrateToLatest(db);
  const baseline = await startServer('bench/baseline-server.ts', { BENCH_DATABASE_URL: url });
  const app = await startServer('bench/app-server.ts', { BENCH_DATABASE_URL: url });

  let seeded = 0;
  for (const size of SIZES) {
    console.log(`\nseeding to ${size.toLocaleString('en')} products…`);
    await seed(db, seeded, size);
    seeded = size;
    const scenarios = await scenariosFor(db, size);
    const refusal = await fetch(`${app}/api/v1/products?page=${MAX_PAGE_DEPTH / 20 + 1}&size=20`);
    console.log(`page ${MAX_PAGE_DEPTH / 20 + 1} at size 20: ${refusal.status} (${((await refusal.json()) as { message: string }).message})`);

    const rows = [];
    for (const s of scenarios) {
      await waitForIdle(db);
      await measure(`${app}/api/v1/products?${s.app}`, 1); // warm up JIT, pools and caches
      await measure(`${baseline}/lists/products?${s.baseline}`, 1);
      await waitForIdle(db);
      const b = await measure(`${baseline}/lists/products?${s.baseline}`, SECONDS);
      await waitForIdle(db);
      const a = await measure(`${app}/api/v1/products?${s.app}`, SECONDS);
      summary.push({ size, key: s.key, scenario: s.name, app: a, baseline: b });
      rows.push({
        query: s.name,
        'req/s': a.rps,
        p50: `${a.p50} ms`,
        p99: `${a.p99} ms`,
        'baseline req/s': b.rps,
        'baseline p50': `${b.p50} ms`,
        'baseline p99': `${b.p99} ms`,
        ratio: (a.rps / b.rps).toFixed(2),
        errors: a.errors + b.errors,
      });
    }
    console.log(`${size.toLocaleString('en')} products · autocannon ${SECONDS}s, ${CONNECTIONS} connections · app = REST GET /api/v1/products, baseline = node:http + pg, same SQL`);
    console.table(rows);
    if (EXPLAIN && size === SIZES.at(-1)) await explainAll(db, scenarios);
  }
  await db.destroy();
  report();
} finally {
  await stopAll();
  await database.close();
}

/** Grows `products` from `from` to `to` rows in one statement, then refreshes statistics and the visibility map. */
async function seed(db: Knex, from: number, to: number) {
  await db.raw(
    `INSERT INTO products (name, price, created_at)
     SELECT 'Product ' || i || ' ' || (ARRAY['oak','pine','ash','elm','teak'])[1 + i % 5],
            ((i::bigint * 7919) % 99999 + 1)::numeric / 100,
            timestamptz '2026-01-01 00:00:00+00' - i * interval '1 second' - (i % 997) * interval '1 microsecond'
     FROM generate_series(?::int + 1, ?::int) AS i`,
    [from, to],
  );
  await db.raw('VACUUM ANALYZE products');
}

/** The queries at this size; the deep cursor starts halfway down the list. */
async function scenariosFor(db: Knex, size: number): Promise<Scenario[]> {
  const { encodeCursor } = await import('../server/lib/pagination.ts');
  const { Product } = await import('../server/modules/products/product.model.ts');
  const middle = (
    await db.raw<{ rows: { ts: string; id: string }[] }>(
      `SELECT to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS ts, id::text AS id FROM products WHERE is_active ORDER BY created_at DESC, id DESC OFFSET ? LIMIT 1`,
      [Math.floor(size / 2)],
    )
  ).rows[0]!;
  const cursor = encodeCursor(Product.list, {}, [middle.ts, middle.id]);
  const narrow = `Product ${Math.floor(size / 2)} `;
  const same = (qs: string) => ({ app: qs, baseline: qs });
  return [
    { key: 'first', name: 'first page', ...same('size=20') },
    { key: 'cursor', name: `cursor page at row ${Math.floor(size / 2).toLocaleString('en')}`, app: `size=20&cursor=${cursor}`, baseline: `size=20&after=${middle.ts}&afterId=${middle.id}` },
    { key: 'page', name: `page ${MAX_PAGE_DEPTH / 20} (deepest page number)`, ...same(`size=20&page=${MAX_PAGE_DEPTH / 20}`) },
    { key: 'narrow', name: `narrow search "${narrow}"`, ...same(`size=20&search=${encodeURIComponent(narrow)}`) },
    { key: 'broad', name: 'broad search "oak" (20%)', ...same('size=20&search=oak') },
    { key: 'short', name: '2-character search "oa"', ...same('size=20&search=oa') },
    { key: 'price', name: 'price 10.00–20.00', ...same('size=20&minPrice=10.00&maxPrice=20.00') },
  ];
}

/** Waits until no other backend of this database is running a statement (up to 30 s). */
async function waitForIdle(db: Knex) {
  const deadline = Date.now() + 30_000;
  let quietChecks = 0;
  while (Date.now() < deadline && quietChecks < 3) {
    const { rows } = await db.raw<{ rows: { busy: number }[] }>(
      `SELECT count(*)::int AS busy FROM pg_stat_activity
       WHERE pid <> pg_backend_pid() AND (datname = current_database() OR backend_type = 'autovacuum worker')
         AND state IS DISTINCT FROM 'idle' AND backend_type IN ('client backend', 'autovacuum worker')`,
    );
    quietChecks = rows[0]!.busy === 0 ? quietChecks + 1 : 0;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * EXPLAIN (ANALYZE, BUFFERS) of the SQL the app runs for each scenario, captured from pg:
 * the list's statements are named ones (server/db/statements.ts), which knex's query event
 * does not see.
 */
async function explainAll(db: Knex, scenarios: Scenario[]) {
  const { ProductService } = await import('../server/modules/products/product.service.ts');
  const { ListProductsInput } = await import('../server/modules/products/product.schemas.ts');
  const service = new ProductService({ db, events: undefined as never, live: undefined as never });
  const clientQuery = pg.Client.prototype.query;
  for (const s of scenarios) {
    const captured: { sql: string; bindings: unknown[] }[] = [];
    pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
      const q = args[0] as { text?: string; values?: unknown[] };
      if (typeof q === 'object' && q?.text) captured.push({ sql: q.text, bindings: q.values ?? [] });
      return (clientQuery as (...a: unknown[]) => unknown).apply(this, args);
    } as typeof clientQuery;
    try {
      await service.list(ListProductsInput.parse(Object.fromEntries([...new URLSearchParams(s.app).entries()].map(([k, v]) => [k, k === 'size' || k === 'page' ? Number(v) : v]))));
    } finally {
      pg.Client.prototype.query = clientQuery;
    }
    for (const q of captured) {
      const plan = await db.raw(`EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) ${q.sql.replace(/\$\d+/g, '?')}`, q.bindings as Knex.RawBinding[]);
      console.log(`\n### ${s.name}\n${q.sql}\n${JSON.stringify(q.bindings)}\n${(plan.rows as { 'QUERY PLAN': string }[]).map((r) => r['QUERY PLAN']).join('\n')}`);
    }
  }
}

function report() {
  const largest = SIZES.at(-1)!;
  const smallest = SIZES[0]!;
  console.log(`\nTargets (at ${largest.toLocaleString('en')} rows; machine shared, figures noisy; ratios are same-run):`);
  const rows = summary
    .filter((r) => r.size === largest)
    .map((r) => {
      const small = summary.find((s) => s.size === smallest && s.key === r.key);
      const growth = small ? r.app.p50 / Math.max(small.app.p50, 1) : NaN;
      const ratio = r.app.rps / r.baseline.rps;
      return {
        query: r.scenario,
        'p50 ≤ 15 ms': `${r.app.p50} ms ${r.app.p50 <= 15 ? 'meets' : 'BELOW'}`,
        [`p50 vs ${smallest.toLocaleString('en')} rows ≤ 2×`]: `${growth.toFixed(2)}× ${growth <= 2 ? 'meets' : 'BELOW'}`,
        'app/baseline req/s ≥ 0.7': `${ratio.toFixed(2)} ${ratio >= 0.7 ? 'meets' : 'BELOW'}`,
      };
    });
  console.table(rows);
  console.log('\nMarkdown (docs/benchmarks.md):\n');
  console.log('| rows | query | app req/s | app p50 / p99 | baseline req/s | baseline p50 / p99 | ratio |\n|---|---|---|---|---|---|---|');
  for (const r of summary) {
    console.log(`| ${r.size.toLocaleString('en')} | ${r.scenario} | ${r.app.rps} | ${r.app.p50} / ${r.app.p99} ms | ${r.baseline.rps} | ${r.baseline.p50} / ${r.baseline.p99} ms | ${(r.app.rps / r.baseline.rps).toFixed(2)} |`);
  }
}


async function measure(target: string, seconds: number): Promise<Result> {
  const result = await autocannon({ url: target, connections: CONNECTIONS, duration: seconds });
  return { rps: Math.round(result.requests.average), p50: result.latency.p50, p99: result.latency.p99, errors: result.errors + result.non2xx };
}
