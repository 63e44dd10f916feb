/**
 * `npm run bench:retries` (part of `npm run bench`): what retries and concurrent edits
 * cost, each as a ratio measured in the same run against the same app process:
 * - create: POST /api/v1/products with an Idempotency-Key (a new key per request, so
 *   every call runs and stores its outcome) against the same create without one.
 *   Target: keyed ≥ 0.87 of unkeyed requests/s (≤ 15 % more cost).
 * - get by id: GET /api/v1/products/{id} with a matching If-None-Match (304, no body)
 *   against the plain 200. Target: 304 ≥ 1.0 of 200.
 * Each pair runs A B B A and the two runs of each side are averaged, so drift of a busy
 * machine falls on both sides alike.
 *
 * BENCH_SECONDS (default 5) sets each run's length; BENCH_CONNECTIONS (default 10).
 * DATABASE_URL, when set, names a server to create the benchmark database on.
 */
import { randomUUID } from 'node:crypto';
import autocannon from 'autocannon';
import { createKnex } from '../server/db/knex.ts';
import { migrateToLatest } from '../server/db/migrations.ts';
import { openBenchDatabase, startServer, stopAll } from './harness.ts';
import { SessionService } from '../server/modules/auth/session.service.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);

const database = await openBenchDatabase('retries');
const { url } = database;

try {
  const db = createKnex(url, { poolMax: 2 });
  await migrateToLatest(db);
  await db.raw(`INSERT INTO products (name, price) SELECT 'Product ' || i, 10.00 FROM generate_series(1, 10000) AS i`);
  await db.raw('ANALYZE products');
  const ids: string[] = (await db('products').select('id').orderByRaw('random()').limit(1000)).map((r: { id: string }) => r.id);
  const [admin] = await db('users').insert({ email: 'bench@example.com', name: 'Bench', passwordHash: 'x' }).returning('id');
  const adminRole = await db('roles').where({ name: 'admin' }).first();
  await db('user_roles').insert({ userId: admin.id, roleId: adminRole.id });
  const { token } = await new SessionService({ db }).create(admin.id);
  await db.destroy();

  const app = await startServer('bench/app-server.ts', { BENCH_DATABASE_URL: url });
  const pick = () => ids[Math.floor(Math.random() * ids.length)]!;
  const auth = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  const body = JSON.stringify({ name: 'Bench cup', price: '7.50' });

  const pairs: { name: string; target: string; a: Target; b: Target; bLabel: string }[] = [
    {
      name: 'create: REST POST /api/v1/products',
      target: 'keyed ≥ 0.87 of unkeyed',
      bLabel: 'with Idempotency-Key',
      a: { method: 'POST', path: () => '/api/v1/products', headers: () => auth, body },
      b: { method: 'POST', path: () => '/api/v1/products', headers: () => ({ ...auth, 'idempotency-key': randomUUID() }), body },
    },
    {
      name: 'get by id: REST GET /api/v1/products/{id}',
      target: '304 ≥ 1.00 of 200',
      bLabel: 'If-None-Match → 304',
      a: { method: 'GET', path: () => `/api/v1/products/${pick()}`, headers: () => ({}) },
      b: { method: 'GET', path: () => `/api/v1/products/${pick()}`, headers: () => ({ 'if-none-match': '"1"' }), expect: 304 },
    },
  ];

  console.log(`autocannon: ${SECONDS}s per run (A B B A), ${CONNECTIONS} connections, one app process; the machine may be shared\n`);
  const rows = [];
  for (const p of pairs) {
    await measure(app, p.a, 2);
    await measure(app, p.b, 2);
    const a1 = await measure(app, p.a, SECONDS);
    const b1 = await measure(app, p.b, SECONDS);
    const b2 = await measure(app, p.b, SECONDS);
    const a2 = await measure(app, p.a, SECONDS);
    const a = (a1.rps + a2.rps) / 2;
    const b = (b1.rps + b2.rps) / 2;
    rows.push({
      scenario: p.name,
      'plain req/s': Math.round(a),
      'plain p50': `${a1.p50} ms`,
      variant: p.bLabel,
      'variant req/s': Math.round(b),
      'variant p50': `${b1.p50} ms`,
      ratio: (b / a).toFixed(2),
      target: p.target,
      errors: a1.errors + a2.errors + b1.errors + b2.errors,
    });
  }
  console.table(rows);
} finally {
  await stopAll();
  await database.close();
}

interface Target {
  method: 'GET' | 'POST';
  path: () => string;
  headers: () => Record<string, string>;
  body?: string;
  /** The status every response should have (default: any 2xx). */
  expect?: number;
}


async function measure(base: string, target: Target, seconds: number) {
  let unexpected = 0;
  const result = await autocannon({
    url: base,
    connections: CONNECTIONS,
    duration: seconds,
    requests: [
      {
        method: target.method,
        setupRequest: (req) => ({ ...req, path: target.path(), headers: { ...req.headers, ...target.headers() }, ...(target.body ? { body: target.body } : {}) }),
        onResponse: (status) => {
          if (target.expect ? status !== target.expect : status >= 300) unexpected += 1;
        },
      },
    ],
  });
  return { rps: result.requests.average, p50: result.latency.p50, errors: result.errors + unexpected };
}
