/**
 * `npm run bench:plans`: the query plans of `users.list` and `analytics.list` at a million
 * rows each (products' are printed by `BENCH_EXPLAIN=1 npm run bench:lists`). Seeds the two
 * tables, VACUUM ANALYZEs them, runs each list through its service exactly as a request
 * would, captures the SQL knex sends, and prints EXPLAIN (ANALYZE, BUFFERS) of each
 * statement. The plans in docs/lists.md come from here.
 *
 * BENCH_ROWS (1000000) sets both tables' size. DATABASE_URL, when set, names a server to
 * create the scratch database on; otherwise an embedded PostgreSQL in a temporary directory.
 */
import { createKnex, type Knex } from '../server/db/knex.ts';
import { migrateToLatest } from '../server/db/migrations.ts';
import { encodeCursor } from '../server/lib/pagination.ts';
import { openBenchDatabase } from './harness.ts';

const ROWS = Number(process.env.BENCH_ROWS ?? 1_000_000);
const database = await openBenchDatabase('plans');

try {
  const db = createKnex(database.url, { poolMax: 2 });
  await migrateToLatest(db);
  console.log(`seeding ${ROWS.toLocaleString('en')} users and analytics events…`);
  await seed(db);
  const { UserService } = await import('../server/modules/users/user.service.ts');
  const { ListUsersInput } = await import('../server/modules/users/user.schemas.ts');
  const { User } = await import('../server/modules/users/user.model.ts');
  const { AnalyticsService } = await import('../server/modules/analytics/analytics.service.ts');
  const { ListAnalyticsEventsInput } = await import('../server/modules/analytics/analytics.schemas.ts');
  const { AnalyticsEvent } = await import('../server/modules/analytics/analytics-event.model.ts');
  const users = new UserService({ db, roles: { rolesOf: async () => new Map() } } as never);
  const analytics = new AnalyticsService({ db } as never);

  const half = Math.floor(ROWS / 2);
  const middleUser = await position(db, `SELECT created_at AS ts, id FROM users ORDER BY created_at, id OFFSET ? LIMIT 1`, half);
  const middleEvent = await position(db, `SELECT occurred_at AS ts, id FROM analytics_events ORDER BY occurred_at DESC, id DESC OFFSET ? LIMIT 1`, half);
  const someUser = (await db.raw<{ rows: { user_id: string }[] }>(`SELECT user_id FROM analytics_events WHERE user_id IS NOT NULL LIMIT 1`)).rows[0]!.user_id;

  const scenarios: { name: string; run: () => Promise<unknown> }[] = [
    { name: 'users: first page', run: () => users.list(ListUsersInput.parse({ size: 20 })) },
    { name: `users: cursor page at row ${half.toLocaleString('en')}`, run: () => users.list(ListUsersInput.parse({ size: 20, cursor: encodeCursor(User.list, { search: undefined }, [middleUser.ts, middleUser.id]) })) },
    { name: `users: narrow search "user${half}@"`, run: () => users.list(ListUsersInput.parse({ size: 20, search: `user${half}@` })) },
    { name: 'users: broad search "ada" (a name every 8th user has)', run: () => users.list(ListUsersInput.parse({ size: 20, search: 'ada' })) },
    { name: 'users: 2-character search "gr" (start of a word)', run: () => users.list(ListUsersInput.parse({ size: 20, search: 'gr' })) },
    { name: 'analytics: first page', run: () => analytics.list(ListAnalyticsEventsInput.parse({ size: 20 })) },
    { name: `analytics: cursor page at row ${half.toLocaleString('en')}`, run: () => analytics.list(ListAnalyticsEventsInput.parse({ size: 20, cursor: encodeCursor(AnalyticsEvent.list, { name: undefined, userId: undefined }, [middleEvent.ts, middleEvent.id]) })) },
    { name: 'analytics: name = user.signed_up (1 in 4 events)', run: () => analytics.list(ListAnalyticsEventsInput.parse({ size: 20, name: 'user.signed_up' })) },
    { name: 'analytics: one user (1 in 100 events)', run: () => analytics.list(ListAnalyticsEventsInput.parse({ size: 20, userId: someUser })) },
  ];
  for (const s of scenarios) {
    const captured: { sql: string; bindings: unknown[] }[] = [];
    const onQuery = (q: { sql: string; bindings: unknown[] }) => captured.push(q);
    db.on('query', onQuery);
    await s.run();
    db.off('query', onQuery);
    for (const q of captured) {
      const plan = await db.raw(`EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) ${q.sql.replace(/\$\d+/g, '?')}`, q.bindings as Knex.RawBinding[]);
      console.log(`\n### ${s.name}\n${q.sql}\n${(plan.rows as { 'QUERY PLAN': string }[]).map((r) => r['QUERY PLAN']).join('\n')}`);
    }
  }
  await db.destroy();
} finally {
  await database.close();
}

/** Users named from a pool of first names (so a name term matches a known share), events spread over 100 users. */
async function seed(db: Knex) {
  await db.raw(
    `INSERT INTO users (email, name, password_hash, created_at)
     SELECT 'user' || i || '@example.com',
            (ARRAY['Ada','Grace','Alan','Edsger','Barbara','Donald','Frances','Ken'])[1 + i % 8] || ' ' || (ARRAY['Lovelace','Hopper','Turing','Dijkstra','Liskov','Knuth','Allen','Thompson'])[1 + (i / 8) % 8] || ' ' || i,
            'x',
            timestamptz '2026-01-01 00:00:00+00' + i * interval '1 second'
     FROM generate_series(1, ?::int) AS i`,
    [ROWS],
  );
  await db.raw(
    `INSERT INTO analytics_events (name, user_id, properties, occurred_at)
     SELECT (ARRAY['user.signed_up','product.created','report.ready','user.deactivated'])[1 + i % 4],
            CASE WHEN i % 101 = 0 THEN NULL ELSE u.ids[1 + i % 100] END,
            '{}'::jsonb,
            timestamptz '2026-01-01 00:00:00+00' + i * interval '1 second'
     FROM generate_series(1, ?::int) AS i,
          (SELECT array_agg(id) AS ids FROM (SELECT id FROM users ORDER BY created_at LIMIT 100) first_users) u`,
    [ROWS],
  );
  await db.raw('VACUUM ANALYZE users');
  await db.raw('VACUUM ANALYZE analytics_events');
}

async function position(db: Knex, sql: string, offset: number): Promise<{ ts: string; id: string }> {
  const row = (await db.raw<{ rows: { ts: Date; id: string }[] }>(sql, [offset])).rows[0]!;
  // The cursor carries the timestamp to the microsecond, as the app renders it.
  const { rows } = await db.raw<{ rows: { ts: string }[] }>(`SELECT to_char(?::timestamptz AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS ts`, [row.ts]);
  return { ts: rows[0]!.ts, id: row.id };
}
