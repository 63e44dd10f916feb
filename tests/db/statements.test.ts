import { Model } from 'objection';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createKnex, type Knex } from '../../server/db/knex.ts';
import { positional, runStatement, statementsOf } from '../../server/db/statements.ts';
import { TransactionScope } from '../../server/db/request-transaction.ts';
import { Product } from '../../server/modules/products/product.model.ts';
import { makeProduct } from '../helpers/factories.ts';
import { createTestDatabase } from '../helpers/test-app.ts';

/**
 * Named statements derived from a model (server/db/statements.ts) answer exactly what the
 * query builder answers, on the pool and inside transactions, and are prepared once per
 * connection.
 */
let database: Awaited<ReturnType<typeof createTestDatabase>>;
let db: Knex;
const products = statementsOf(Product);
beforeAll(async () => {
  database = await createTestDatabase();
  // One connection, so pg_prepared_statements (per session) shows what the statements left.
  db = createKnex(database.url, { poolMax: 1 });
});
afterAll(async () => {
  await db.destroy();
  await database.drop();
});

describe('model statements', () => {
  it('findById returns the same model instance the query builder does, and honours equalities', async () => {
    const p = await makeProduct(db, { name: 'Stated', price: '12.30' });
    const built = await Product.query(db).findById(p.id);
    const stated = await products.findById(db, p.id);
    expect(stated).toBeInstanceOf(Product);
    expect(stated).toEqual(built);
    expect(typeof stated!.price).toBe('string');
    expect(stated!.createdAt).toBeInstanceOf(Date);
    expect(await products.findById(db, p.id, { isActive: false })).toBeUndefined();
    expect(await products.findById(db, '00000000-0000-4000-8000-000000000000')).toBeUndefined();
  });

  it('is sent as a named statement, prepared once per connection', async () => {
    const p = await makeProduct(db);
    for (let i = 0; i < 3; i++) await products.findById(db, p.id, { isActive: true });
    const { rows } = await db.raw<{ rows: { name: string; statement: string }[] }>('SELECT name, statement FROM pg_prepared_statements');
    const mine = rows.filter((r) => r.name.startsWith('duality_') && r.statement.includes('FROM "products" WHERE "id" = $1 AND "is_active" = $2'));
    expect(mine).toHaveLength(1);
  });

  it('insert and patchById return the row as the builder would, with column defaults and triggers applied', async () => {
    const made = await products.insert(db, { name: 'Inserted', price: '1.50', isActive: undefined });
    expect(made).toMatchObject({ name: 'Inserted', price: '1.50', isActive: true, version: 1 });
    expect(made).toEqual(await Product.query(db).findById(made.id));
    const patched = await products.patchById(db, made.id, { name: 'Patched' }, { version: 1 });
    expect(patched).toMatchObject({ name: 'Patched', version: 2 });
    expect(await products.patchById(db, made.id, { name: 'Stale' }, { version: 1 })).toBeUndefined();
    expect((await Product.query(db).findById(made.id))!.name).toBe('Patched');
  });

  it('joins the transaction it is given, and the request transaction a scope opens', async () => {
    await expect(
      db.transaction(async (trx) => {
        await products.insert(trx, { name: 'Rolled back', price: '2.00' });
        expect(await Product.query(trx).where('name', 'Rolled back').resultSize()).toBe(1);
        throw new Error('undo');
      }),
    ).rejects.toThrow('undo');
    expect(await Product.query(db).where('name', 'Rolled back').resultSize()).toBe(0);

    const scope = new TransactionScope(db);
    await expect(
      scope.run(async () => {
        await products.insert(scope.db, { name: 'Scoped', price: '2.00' });
        throw new Error('undo');
      }),
    ).rejects.toThrow('undo');
    expect(await Product.query(db).where('name', 'Scoped').resultSize()).toBe(0);

    let done: Knex.Transaction | undefined;
    await db.transaction(async (trx) => {
      done = trx;
    });
    await expect(products.findById(done!, '00000000-0000-4000-8000-000000000000')).rejects.toThrow(/Transaction query already complete/);
  });

  it('a failing statement names its text, and is a database error the error mapping still recognises', async () => {
    const error = await products.findById(db, 'not-a-uuid').catch((e: unknown) => e);
    expect(error).toMatchObject({ code: '22P02' });
    expect((error as Error).message).toMatch(/^SELECT .* FROM "products" WHERE "id" = \$1 - invalid input syntax for type uuid/);
  });

  it('refuses a model whose hooks or schema a statement would skip', () => {
    class Hooked extends Model {
      static override tableName = 'products';
      static readonly columns = ['id'];
      override $beforeInsert() {}
    }
    class Validated extends Model {
      static override tableName = 'products';
      static readonly columns = ['id'];
      static override jsonSchema = { type: 'object' };
    }
    class Undeclared extends Model {
      static override tableName = 'products';
    }
    expect(() => statementsOf(Hooked)).toThrow(/overrides \$beforeInsert/);
    expect(() => statementsOf(Validated)).toThrow(/jsonSchema/);
    expect(() => statementsOf(Undeclared)).toThrow(/columns/);
  });

  it("takes an idle connection from knex's pool without tarn's acquire, gives it back, and queues behind a busy one", async () => {
    const p = await makeProduct(db);
    const pool = (db.client as { pool: { acquire(): unknown; numUsed(): number; numFree(): number; free: { resource: Record<string, unknown> }[] } }).pool;
    const acquire = vi.spyOn(pool, 'acquire');
    try {
      await products.findById(db, p.id);
      expect(acquire).not.toHaveBeenCalled();
      expect([pool.numUsed(), pool.numFree()]).toEqual([0, 1]);
      // Five at once on a pool of one: the first takes the idle connection, the rest wait in tarn.
      const found = await Promise.all(Array.from({ length: 5 }, () => products.findById(db, p.id)));
      expect(found.every((f) => f?.id === p.id)).toBe(true);
      expect(acquire).toHaveBeenCalledTimes(4);
      expect([pool.numUsed(), pool.numFree()]).toEqual([0, 1]);
      // A connection an error disposed of is left to tarn, which validates it away and opens another.
      acquire.mockClear();
      const old = pool.free[0]!.resource;
      old.__knex__disposed = 'broken for the test';
      expect((await products.findById(db, p.id))?.id).toBe(p.id);
      expect(acquire).toHaveBeenCalledTimes(1);
      expect(pool.free[0]!.resource).not.toBe(old);
    } finally {
      acquire.mockRestore();
    }
  });

  it('positional() turns knex placeholders into $n and keeps an escaped ? literal', async () => {
    expect(positional('a = ? and b = ? and c \\? d')).toBe('a = $1 and b = $2 and c ? d');
    expect((await runStatement<{ x: number }>(db, 'SELECT $1::int + 1 AS x', [41])).rows[0]!.x).toBe(42);
  });
});
