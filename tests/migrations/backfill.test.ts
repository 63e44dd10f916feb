import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backfillInBatches } from '../../server/db/backfill.ts';
import type { Knex } from '../../server/db/knex.ts';
import { migrationConfig } from '../../server/db/migrations.ts';
import { bearer, signedInUser } from '../helpers/auth.ts';
import { startTestApp, type TestApp } from '../helpers/test-app.ts';

const TRIM_MIGRATION = '20261124165455_products_name_trimmed.ts';

let t: TestApp;
let db: Knex;
beforeAll(async () => {
  t = await startTestApp();
  db = t.app.db;
});
afterAll(() => t.close());

/** Inserts `count` products straight into the table, bypassing the API's trimming. */
const insertProducts = (count: number, name: string, price: string) =>
  db.raw(`INSERT INTO products (name, price) SELECT ? || n, ? FROM generate_series(1, ?) AS n`, [name, price, count]);

describe('the batched backfill (products_name_trimmed)', () => {
  it('trims existing names in batches that each commit, then enforces trimmed names', async () => {
    await db.migrate.down({ ...migrationConfig, name: TRIM_MIGRATION });
    await insertProducts(2500, '  Untrimmed ', '1.11');
    await insertProducts(10, 'Tidy ', '2.22');
    await db.raw(`UPDATE products SET name = name || '  ' WHERE price = 1.11`);

    await db.migrate.up({ ...migrationConfig, name: TRIM_MIGRATION });

    const { rows } = await db.raw(`SELECT count(*)::int AS untrimmed FROM products WHERE name <> btrim(name)`);
    expect(rows).toEqual([{ untrimmed: 0 }]);
    expect((await db.raw(`SELECT name FROM products WHERE price = 1.11 ORDER BY name LIMIT 1`)).rows).toEqual([{ name: 'Untrimmed 1' }]);
    // Each batch of 1000 committed in a transaction of its own: three transaction ids.
    const { rows: transactions } = await db.raw(`SELECT count(DISTINCT xmin::text)::int AS n FROM products WHERE price = 1.11`);
    expect(transactions).toEqual([{ n: 3 }]);
    const { rows: constraint } = await db.raw(`SELECT convalidated FROM pg_constraint WHERE conname = 'products_name_trimmed'`);
    expect(constraint).toEqual([{ convalidated: true }]);
  });

  it('leaves PostgreSQL refusing an untrimmed name, while the API keeps trimming', async () => {
    await expect(db.raw(`INSERT INTO products (name, price) VALUES (' Cup', 1)`)).rejects.toMatchObject({ code: '23514', constraint: 'products_name_trimmed' });
    const { token } = await signedInUser(t, { roles: ['admin'] });
    const created = await t.rest('POST', '/products', { body: { name: '  Cup  ', price: '1.00' }, headers: bearer(token) });
    expect(created.status).toBe(201);
    expect(created.body.name).toBe('Cup');
  });
});

describe('backfillInBatches', () => {
  it('walks the key in batches of the given size and ends even when every row matches again', async () => {
    // This file's database is its own, so a table of its own is no one's concern.
    await db.raw('CREATE TABLE numbers (id int PRIMARY KEY, n int NOT NULL)');
    await db.raw('INSERT INTO numbers SELECT i, 0 FROM generate_series(1, 25) AS i');
    const run = (where: string) => backfillInBatches(db, { table: 'numbers', set: 'n = n + 1', where, batchSize: 10 });
    expect(await run('n = 0')).toEqual({ rows: 25, batches: 3 });
    // Nothing left to do: a second run changes nothing.
    expect(await run('n = 0')).toEqual({ rows: 0, batches: 0 });
    // A `set` that leaves `where` true still ends: the walk never goes back.
    expect(await run('true')).toEqual({ rows: 25, batches: 3 });
    expect((await db.raw('SELECT sum(n)::int AS total FROM numbers')).rows).toEqual([{ total: 50 }]);
  });
});
