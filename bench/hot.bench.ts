/**
 * `npm run bench:hot` (first part of `npm run bench`): the hot path beside its baselines
 * and the closest peer, all interleaved in one run on one database (issue 20's targets):
 *   - bare node:http + pg sending plain queries, and the same with named (prepared)
 *     statements (bench/baseline-server.ts, BENCH_NAMED=1);
 *   - oRPC 1.x's OpenAPI handler with zod output validation, plain and prepared
 *     (bench/peers/orpc-server.ts);
 *   - the app as `npm start` builds it: REST and tRPC get-by-id, a 20-item list page,
 *     and a create (signed in as an admin, event published in the same transaction).
 * Each round measures every variant of every scenario once, in a rotated order, after
 * waiting for the database to be idle (pg_stat_activity), so a slow leftover query
 * cannot depress the next measurement. Reported: the median req/s, the server's CPU µs
 * per request (from /proc, readable on a busy machine), and the median of the
 * per-round ratios to the bare server using named statements (the target's
 * denominator) and to the bare server sending plain queries.
 *
 * BENCH_COMPARE_DIR (another checkout with its node_modules, e.g. the commit before issue
 * 20) adds that checkout's app to every scenario, to read "after" against "before".
 *
 * BENCH_SECONDS (default 5), BENCH_ROUNDS (default 5), BENCH_CONNECTIONS (default 32),
 * BENCH_PRODUCTS (default 100,000), BENCH_ONLY (a comma list of scenario names:
 * get,list,create). DATABASE_URL, when set, names a server to create the database on.
 */
import path from 'node:path';
import { createKnex } from '../server/db/knex.ts';
import { migrateToLatest } from '../server/db/migrations.ts';
import { benchAdminToken, cpuSeconds, measure, median, openBenchDatabase, seedProducts, startServerProcess, stopAll, waitForIdleDatabase, type Target } from './harness.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const PRODUCTS = Number(process.env.BENCH_PRODUCTS ?? 100_000);
const ONLY = process.env.BENCH_ONLY?.split(',');
const compareDir = process.env.BENCH_COMPARE_DIR ? path.resolve(process.env.BENCH_COMPARE_DIR) : undefined;

const database = await openBenchDatabase('hot');
const { url } = database;
const db = createKnex(url, { poolMax: 2 });

interface Variant {
  name: string;
  server: { base: string; pid: number };
  target: Omit<Target, 'base'>;
}
interface Scenario {
  name: string;
  /** What the issue asks of the app's variants, as a ratio to `denominator`. */
  target: number;
  denominator: string;
  variants: Variant[];
}

try {
  await migrateToLatest(db);
  console.log(`seeding ${PRODUCTS.toLocaleString('en')} products…`);
  const ids = await seedProducts(db, PRODUCTS);
  const token = await benchAdminToken(db);
  const pick = () => ids[Math.floor(Math.random() * ids.length)]!;
  const page = () => 1 + Math.floor(Math.random() * 5);

  const env = { BENCH_DATABASE_URL: url };
  const bare = await startServerProcess('bench/baseline-server.ts', env);
  const bareNamed = await startServerProcess('bench/baseline-server.ts', { ...env, BENCH_NAMED: '1' });
  const orpc = await startServerProcess('bench/peers/orpc-server.ts', env);
  const orpcNamed = await startServerProcess('bench/peers/orpc-server.ts', { ...env, BENCH_NAMED: '1' });
  const app = await startServerProcess('bench/app-server.ts', env);
  const before = compareDir ? await startServerProcess('bench/app-server.ts', env, compareDir) : undefined;
  const tag = compareDir ? ` (${path.basename(compareDir)})` : '';

  const json = { 'content-type': 'application/json' };
  const create = JSON.stringify({ name: 'Bench cup', price: '7.50' });
  const all: Scenario[] = [
    {
      name: 'get',
      target: 0.85,
      denominator: 'bare, named statement',
      variants: [
        { name: 'bare, named statement', server: bareNamed, target: { path: () => `/products/${pick()}` } },
        { name: 'bare, plain query', server: bare, target: { path: () => `/products/${pick()}` } },
        { name: 'oRPC OpenAPI, named statement', server: orpcNamed, target: { path: () => `/products/${pick()}` } },
        { name: 'oRPC OpenAPI, plain query', server: orpc, target: { path: () => `/products/${pick()}` } },
        { name: 'app REST GET /api/v1/products/{id}', server: app, target: { path: () => `/api/v1/products/${pick()}` } },
        { name: 'app tRPC products.get', server: app, target: { path: () => `/trpc/products.get?input=${encodeURIComponent(JSON.stringify({ json: { id: pick() } }))}` } },
        ...(before
          ? [
              { name: `app REST${tag}`, server: before, target: { path: () => `/api/v1/products/${pick()}` } },
              { name: `app tRPC${tag}`, server: before, target: { path: () => `/trpc/products.get?input=${encodeURIComponent(JSON.stringify({ json: { id: pick() } }))}` } },
            ]
          : []),
      ],
    },
    {
      name: 'list',
      target: 0.9,
      denominator: 'bare, named statement',
      variants: [
        { name: 'bare, named statement', server: bareNamed, target: { path: () => `/lists/products?page=${page()}&size=20` } },
        { name: 'bare, plain query', server: bare, target: { path: () => `/lists/products?page=${page()}&size=20` } },
        { name: 'app REST GET /api/v1/products?page=…&size=20', server: app, target: { path: () => `/api/v1/products?page=${page()}&size=20` } },
        ...(before ? [{ name: `app REST list${tag}`, server: before, target: { path: () => `/api/v1/products?page=${page()}&size=20` } }] : []),
      ],
    },
    {
      name: 'create',
      target: 0.8,
      denominator: 'bare, named statement',
      variants: [
        { name: 'bare, named statement', server: bareNamed, target: { method: 'POST', path: () => '/products', headers: json, body: create } },
        { name: 'bare, plain query', server: bare, target: { method: 'POST', path: () => '/products', headers: json, body: create } },
        { name: 'app REST POST /api/v1/products', server: app, target: { method: 'POST', path: () => '/api/v1/products', headers: { ...json, authorization: `Bearer ${token}` }, body: create } },
        ...(before
          ? [{ name: `app REST create${tag}`, server: before, target: { method: 'POST' as const, path: () => '/api/v1/products', headers: { ...json, authorization: `Bearer ${token}` }, body: create } }]
          : []),
      ],
    },
  ];
  const scenarios = all.filter((s) => !ONLY || ONLY.includes(s.name));

  console.log(`autocannon ${CONNECTIONS} connections, ${SECONDS}s per measurement, ${ROUNDS} interleaved rounds, idle-database wait between measurements; machine may be shared\n`);
  const variants = scenarios.flatMap((s) => s.variants);
  for (const v of variants) await measure({ base: v.server.base, ...v.target }, 1, CONNECTIONS); // warm-up: JIT, pools, prepared statements
  const rps = new Map<Variant, number[]>(variants.map((v) => [v, []]));
  const cpu = new Map<Variant, number[]>(variants.map((v) => [v, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const s of scenarios) {
      const order = s.variants.map((_, i) => s.variants[(i + round) % s.variants.length]!);
      for (const v of order) {
        await waitForIdleDatabase(db);
        const before = await cpuSeconds(v.server.pid);
        const r = await measure({ base: v.server.base, ...v.target }, SECONDS, CONNECTIONS);
        const used = (await cpuSeconds(v.server.pid)) - before;
        if (r.errors) throw new Error(`${s.name} / ${v.name}: ${r.errors} errors`);
        rps.get(v)!.push(r.rps);
        cpu.get(v)!.push((used / r.requests) * 1e6);
      }
    }
  }
  const ratio = (a: Variant, b: Variant) => median(rps.get(a)!.map((x, round) => x / rps.get(b)![round]!));
  for (const s of scenarios) {
    const named = s.variants[0]!;
    const plain = s.variants[1]!;
    console.log(`\n${s.name}: target for the app ≥ ${s.target} of ${s.denominator}`);
    console.table(
      s.variants.map((v) => ({
        variant: v.name,
        'req/s (median)': Math.round(median(rps.get(v)!)),
        'CPU µs/req': Math.round(median(cpu.get(v)!)),
        'vs bare named': ratio(v, named).toFixed(2),
        'vs bare plain': ratio(v, plain).toFixed(2),
        'per-round vs bare named': rps.get(v)!.map((x, i) => (x / rps.get(named)![i]!).toFixed(2)).join(' '),
      })),
    );
    for (const v of s.variants.filter((x) => x.server === app || x.server === before)) {
      const r = ratio(v, named);
      console.log(`${r >= s.target ? 'meets' : 'BELOW'} target ≥ ${s.target}: ${v.name} at ${r.toFixed(2)}`);
    }
  }
} finally {
  await db.destroy();
  await stopAll();
  await database.close();
}
