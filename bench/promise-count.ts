/**
 * `npm run bench:promises`: promises created per request on the hot path, counted with
 * async_hooks (every PROMISE init) while the app, built as `npm start` builds it, answers
 * sequential requests made with callback-style node:http (which itself creates none).
 * A count, not a timing: exact on a busy machine. Issue 20's target: ≤ 30 per get-by-id.
 * Beside it, SQL round trips per request: every query a pg client sends (BEGIN and COMMIT
 * included; pg pipelines nothing, so each is one round trip). BENCH_SQL=1 prints the
 * statements of one request per scenario.
 *
 * BENCH_REQUESTS (default 200) per scenario. BENCH_PROMISE_SOURCES=1 also says which
 * package (or app folder) created them: the first stack frame outside Node's core. DATABASE_URL
 * as for the other benchmarks.
 */
import { createHook } from 'node:async_hooks';
import http from 'node:http';
import pg from 'pg';
import { loadConfig } from '../server/config.ts';
import { createKnex } from '../server/db/knex.ts';
import { migrateToLatest } from '../server/db/migrations.ts';
import { createLogger } from '../server/logger.ts';
import { benchAdminToken, openBenchDatabase, seedProducts } from './harness.ts';

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 200);
const database = await openBenchDatabase('promises');
const seed = createKnex(database.url, { poolMax: 2 });
try {
  await migrateToLatest(seed);
  const ids = await seedProducts(seed, 2000);
  const token = await benchAdminToken(seed);
  await seed.destroy();

  const config = loadConfig({ ...process.env, NODE_ENV: 'production', LOG_LEVEL: 'warn', PORT: '0' });
  const { buildApp } = await import('../server/app.ts');
  const app = await buildApp({ config, logger: createLogger(config), databaseUrl: database.url });
  const address = await app.http.listen({ port: 0, host: '127.0.0.1' });
  const port = Number(new URL(address).port);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

  const request = (method: string, path: string, headers: Record<string, string> = {}, body?: string) =>
    new Promise<number>((resolve, reject) => {
      const req = http.request({ port, host: '127.0.0.1', method, path, agent, headers }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode!));
      });
      req.on('error', reject);
      req.end(body);
    });

  let promises = 0;
  // Counted at the driver, under knex and the named statements alike.
  let queries = 0;
  let shown: string[] | undefined;
  const query = pg.Client.prototype.query as (...args: unknown[]) => unknown;
  pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
    queries += 1;
    if (shown) {
      const config = args[0] as string | { text?: string; name?: string };
      const text = typeof config === 'string' ? config : `${config.name ? `[${config.name}] ` : ''}${config.text}`;
      shown.push(text.replace(/\s+/g, ' ').slice(0, 160));
    }
    return query.apply(this, args);
  } as typeof pg.Client.prototype.query;
  const showSql = process.env.BENCH_SQL === '1';
  const traced = process.env.BENCH_PROMISE_SOURCES === '1';
  if (traced) Error.stackTraceLimit = 30;
  const sources = new Map<string, number>();
  const hook = createHook({
    init(_id, type) {
      if (type !== 'PROMISE') return;
      promises += 1;
      if (traced) {
        const frame = new Error().stack!.split('\n').slice(2).find((l) => !l.includes('node:') && !l.includes('<anonymous>') && !l.includes('promise-count.ts')) ?? '(node core)';
        const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(frame) ?? /\/(server\/[^/]+\/[^/:]+)/.exec(frame);
        const source = m ? m[1]! : frame.trim();
        sources.set(source, (sources.get(source) ?? 0) + 1);
      }
    },
  });
  const pick = (i: number) => ids[i % ids.length]!;
  const json = { 'content-type': 'application/json' };
  let keys = 0;
  const scenarios: [string, (i: number) => [string, string, Record<string, string>?, string?]][] = [
    ['REST get-by-id', (i) => ['GET', `/api/v1/products/${pick(i)}`]],
    ['tRPC get-by-id', (i) => ['GET', `/trpc/products.get?input=${encodeURIComponent(JSON.stringify({ json: { id: pick(i) } }))}`]],
    ['REST list page (20 items)', (i) => ['GET', `/api/v1/products?page=${1 + (i % 5)}&size=20`]],
    ['REST create', () => ['POST', '/api/v1/products', { ...json, authorization: `Bearer ${token}` }, JSON.stringify({ name: 'Bench cup', price: '7.50' })]],
    ['REST create, Idempotency-Key', (i) => ['POST', '/api/v1/products', { ...json, authorization: `Bearer ${token}`, 'idempotency-key': `bench-${process.pid}-${i}-${keys++}` }, JSON.stringify({ name: 'Bench cup', price: '7.50' })]],
  ];
  const rows = [];
  for (const [name, make] of scenarios) {
    for (let i = 0; i < 50; i++) await request(...make(i)); // warm-up: pools, caches
    if (showSql) {
      shown = [];
      await request(...make(0));
      console.log(`${name}: ${shown.length} statements\n${shown.map((t, i) => `  ${i + 1}. ${t}`).join('\n')}`);
      shown = undefined;
    }
    promises = 0;
    queries = 0;
    hook.enable();
    // Each awaited request adds the promise of `request` itself: subtracted below.
    for (let i = 0; i < REQUESTS; i++) {
      const status = await request(...make(i));
      if (status >= 300) throw new Error(`${name}: status ${status}`);
    }
    hook.disable();
    rows.push({
      scenario: name,
      'promises per request': Math.round(((promises - REQUESTS) / REQUESTS) * 10) / 10,
      'SQL round trips per request': Math.round((queries / REQUESTS) * 10) / 10,
    });
    if (traced) {
      console.log(name);
      console.table([...sources].sort((a, b) => b[1] - a[1]).slice(0, 15).map(([source, n]) => ({ source, 'per request': Math.round((n / REQUESTS) * 10) / 10 })));
      sources.clear();
    }
  }
  console.table(rows);
  agent.destroy();
  await app.close();
} finally {
  await database.close();
}
