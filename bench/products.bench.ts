/**
 * `npm run bench`: seeds 100,000 products, then measures with autocannon, in one run,
 * the app's REST and tRPC get-by-id and the REST searched list, each beside a
 * baseline (bare node:http + pg, same query, same database). Prints requests/s,
 * p50/p99 latency and the ratio to the baseline.
 *
 * BENCH_SECONDS (default 10) sets each run's length; BENCH_CONNECTIONS (default 10).
 * DATABASE_URL, when set, names a server to create the benchmark database on.
 *
 * Why the doors are hand-wired (server/http/rest.ts, server/http/trpc-door.ts): CPU time
 * per get-by-id, measured by counting the server process's CPU ticks over 10,000 requests
 * (min of 3 rounds; robust to a busy machine, unlike requests/s):
 *   baseline 100 µs · Fastify route calling the service 170 µs ·
 *   trpc-to-openapi's runtime adapter 416 µs → our REST door 230 µs ·
 *   tRPC's official Fastify adapter 474 µs → our tRPC fast path 237 µs.
 * Both packages' adapters convert every request to a fetch Request (and tRPC's back from a
 * Response through web streams), which cost more than the rest of the call.
 */
import autocannon from 'autocannon';
import { createKnex } from '../server/db/knex.ts';
import { migrateToLatest } from '../server/db/migrations.ts';
import { openBenchDatabase, seedProducts, startServer, stopAll } from './harness.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
const PRODUCTS = Number(process.env.BENCH_PRODUCTS ?? 100_000);

const database = await openBenchDatabase('products');
const { url } = database;

try {
  const db = createKnex(url, { poolMax: 2 });
  await migrateToLatest(db);
  console.log(`seeding ${PRODUCTS.toLocaleString('en')} products…`);
  const ids = await seedProducts(db, PRODUCTS);
  await db.destroy();

  const baseline = await startServer('bench/baseline-server.ts', { BENCH_DATABASE_URL: url });
  const app = await startServer('bench/app-server.ts', { BENCH_DATABASE_URL: url });
  const pick = () => ids[Math.floor(Math.random() * ids.length)]!;
  const trpcInput = (id: string) => encodeURIComponent(JSON.stringify({ json: { id } }));
  const searches = ['mug', 'plate', 'ab', 'cup', '7f'];
  const listQuery = () => `search=${searches[Math.floor(Math.random() * searches.length)]}&page=${1 + Math.floor(Math.random() * 5)}&size=20`;

  const scenarios: { name: string; baseline: Target; subject: Target }[] = [
    { name: 'get by id: REST  GET /api/v1/products/{id}', baseline: { base: baseline, path: () => `/products/${pick()}` }, subject: { base: app, path: () => `/api/v1/products/${pick()}` } },
    { name: 'get by id: tRPC  products.get', baseline: { base: baseline, path: () => `/products/${pick()}` }, subject: { base: app, path: () => `/trpc/products.get?input=${trpcInput(pick())}` } },
    { name: 'list: REST  GET /api/v1/products?search=…&page=…', baseline: { base: baseline, path: () => `/products?${listQuery()}` }, subject: { base: app, path: () => `/api/v1/products?${listQuery()}` } },
  ];

  console.log(`autocannon: ${SECONDS}s per run, ${CONNECTIONS} connections; baseline = node:http + pg, same query and database\n`);
  const rows = [];
  for (const s of scenarios) {
    await measure(s.subject, 2); // warm up JIT and pools
    await measure(s.baseline, 2);
    const b = await measure(s.baseline, SECONDS);
    const a = await measure(s.subject, SECONDS);
    rows.push({ scenario: s.name, 'req/s': a.rps, p50: `${a.p50} ms`, p99: `${a.p99} ms`, 'baseline req/s': b.rps, 'baseline p50': `${b.p50} ms`, 'baseline p99': `${b.p99} ms`, ratio: (a.rps / b.rps).toFixed(2), errors: a.errors + b.errors });
  }
  console.table(rows);
  const target = 0.4;
  for (const r of rows.slice(0, 2)) console.log(`${Number(r.ratio) >= target ? 'meets' : 'BELOW'} target ≥ ${target}: ${r.scenario} at ${r.ratio} of baseline`);
} finally {
  await stopAll();
  await database.close();
}

interface Target {
  base: string;
  path: () => string;
}


async function measure(target: Target, seconds: number) {
  const result = await autocannon({
    url: target.base,
    connections: CONNECTIONS,
    duration: seconds,
    requests: [{ setupRequest: (req) => ({ ...req, path: target.path() }) }],
  });
  const errors = result.errors + result.non2xx;
  return { rps: Math.round(result.requests.average), p50: result.latency.p50, p99: result.latency.p99, errors };
}
