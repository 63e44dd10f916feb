import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TransactionScope } from '../../server/db/request-transaction.ts';
import { bearer, signedInUser } from '../helpers/auth.ts';
import { startTestApp, type TestApp } from '../helpers/test-app.ts';

let t: TestApp;
let admin: string;

beforeAll(async () => {
  t = await startTestApp();
  admin = (await signedInUser(t, { roles: ['admin'] })).token;
});
afterAll(() => t.close());

/** The SQL statements the app sends while `fn` runs (knex's query events, transaction control included). */
async function statementsDuring(fn: () => Promise<unknown>): Promise<string[]> {
  const seen: string[] = [];
  const listener = (q: { sql: string }) => seen.push(q.sql.trim().split(/\s+/)[0]!.replace(/;$/, '').toUpperCase());
  t.app.db.on('query', listener);
  try {
    await fn();
  } finally {
    t.app.db.removeListener('query', listener);
  }
  return seen;
}

describe('keyed mutations run their service transactions without savepoints', () => {
  it('a keyed create sends no SAVEPOINT: one BEGIN, the claim, the writes, the record, one COMMIT', async () => {
    const statements = await statementsDuring(() =>
      t.rest('POST', '/products', { body: { name: `Flat ${randomUUID()}`, price: '3.00' }, headers: { ...bearer(admin), 'idempotency-key': randomUUID() } }),
    );
    expect(statements.filter((s) => s === 'SAVEPOINT' || s === 'RELEASE')).toEqual([]);
    expect(statements.filter((s) => s === 'BEGIN')).toHaveLength(1);
    expect(statements.filter((s) => s === 'COMMIT')).toHaveLength(1);
  });

  it('a service transaction that fails inside a keyed call: rolled back, run again with savepoints, and the 412 stored and replayed', async () => {
    const product = (await t.rest('POST', '/products', { body: { name: `Stale ${randomUUID()}`, price: '3.00' }, headers: bearer(admin) })).body;
    const key = randomUUID();
    const stale = () => t.rest('PATCH', `/products/${product.id}`, { body: { price: '9.00' }, headers: { ...bearer(admin), 'idempotency-key': key, 'if-match': '"999"' } });
    let first: Awaited<ReturnType<typeof stale>> | undefined;
    const statements = await statementsDuring(async () => {
      first = await stale();
    });
    expect(first!.status).toBe(412);
    // The flattened attempt rolled back, the careful one made its savepoint and committed the record.
    expect(statements.filter((s) => s === 'ROLLBACK')).toHaveLength(2);
    expect(statements).toContain('SAVEPOINT');
    expect(statements.filter((s) => s === 'COMMIT')).toHaveLength(1);
    const retry = await stale();
    expect(retry.status).toBe(412);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(retry.body).toEqual(first!.body);
    expect((await t.rest('GET', `/products/${product.id}`)).body.price).toBe('3.00');
  });
});

describe('TransactionScope with flattenNested', () => {
  it('runs the callback form on the scope transaction and reports a nested failure, even one the caller swallowed', async () => {
    const scope = new TransactionScope(t.app.db);
    const name = `Swallowed ${randomUUID()}`;
    const outcome = await scope
      .run(
        async (_trx, state) => {
          try {
            await scope.db.transaction(async (trx) => {
              await trx('products').insert({ name, price: '1.00' });
              throw new Error('the service changes its mind');
            });
          } catch {
            // A service that catches its own transaction's failure and carries on.
          }
          if (state.nestedFailed) throw new Error('rolled back');
          return 'committed';
        },
        { flattenNested: true },
      )
      .catch((e: Error) => e.message);
    expect(outcome).toBe('rolled back');
    expect(await t.app.db('products').where({ name }).first()).toBeUndefined();
  });

  it('keeps savepoints for the forms it cannot flatten (no callback, or a config)', async () => {
    const scope = new TransactionScope(t.app.db);
    const statements = await statementsDuring(() =>
      scope.run(
        async () => {
          const trx = await scope.db.transaction();
          await trx.commit();
          await scope.db.transaction(async () => {}, { isolationLevel: 'read committed' }).catch(() => {});
        },
        { flattenNested: true },
      ),
    );
    expect(statements.filter((s) => s === 'SAVEPOINT').length).toBeGreaterThanOrEqual(1);
  });
});
