import { TRPCClientError } from '@trpc/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { paginate } from '../../client/index.ts';
import { COUNT_CAP, MAX_PAGE_DEPTH } from '../../server/lib/pagination.ts';
import { Product } from '../../server/modules/products/product.model.ts';
import { bearer, signedInUser } from '../helpers/auth.ts';
import { makeProduct, makeUser } from '../helpers/factories.ts';
import { startTestApp, type TestApp } from '../helpers/test-app.ts';

let t: TestApp;
let adminToken: string;
beforeAll(async () => {
  t = await startTestApp();
  ({ token: adminToken } = await signedInUser(t, { roles: ['admin'] }));
});
afterAll(() => t.close());

type Item = { id: string; name: string };
const q = (params: Record<string, string | number | undefined>) =>
  new URLSearchParams(Object.entries(params).filter(([, v]) => v !== undefined) as [string, string][]).toString();

/** Every page of GET /products?…, following nextCursor; the ids in the order served. */
async function walkRest(params: Record<string, string | number>, between?: (pageNo: number, seen: string[]) => Promise<void>): Promise<string[]> {
  const seen: string[] = [];
  let cursor: string | undefined;
  for (let n = 0; n < 1000; n++) {
    const res = await t.rest('GET', `/products?${q({ ...params, cursor })}`);
    expect(res.status).toBe(200);
    seen.push(...res.body.items.map((p: Item) => p.id));
    cursor = res.body.nextCursor ?? undefined;
    if (!cursor) return seen;
    await between?.(n, seen);
  }
  throw new Error('walk did not end');
}

/** The error the typed client sees, in the REST body's terms. */
async function trpcError(call: Promise<unknown>) {
  try {
    await call;
  } catch (error) {
    if (!(error instanceof TRPCClientError)) throw error;
    const data = error.data as { code: string; issues?: { path: string[]; code: string }[]; httpStatus: number };
    return { status: data.httpStatus, code: data.code, message: error.message, issues: data.issues };
  }
  throw new Error('expected the call to fail');
}

describe('cursor walks', () => {
  it('return every match exactly once, in order, with equal timestamps, on both doors', async () => {
    const same = new Date('2026-03-03T00:00:00Z');
    const made = [];
    for (let i = 0; i < 17; i++) made.push(await makeProduct(t.app.db, { name: `walkonce ${i}`, createdAt: i < 10 ? same : new Date(same.getTime() + i) }));
    await makeProduct(t.app.db, { name: 'walkonce archived', isActive: false });

    const rest = await walkRest({ search: 'walkonce', size: 4 });
    expect(rest).toHaveLength(17);
    expect(new Set(rest)).toEqual(new Set(made.map((p) => p.id)));
    const expected = [...made].sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || (a.id < b.id ? 1 : -1)).map((p) => p.id);
    expect(rest).toEqual(expected);

    const viaClient: string[] = [];
    for await (const p of paginate(t.client().products.list, { search: 'walkonce', size: 3 })) viaClient.push(p.id);
    expect(viaClient).toEqual(expected);
  });

  it('keeps microsecond timestamps apart (a Date would round them and repeat rows)', async () => {
    await t.app.db.raw(`INSERT INTO products (name, price, created_at)
      SELECT 'micro ' || i, 1, timestamptz '2026-04-04 00:00:00.000100+00' + (i || ' microseconds')::interval FROM generate_series(1, 9) i`);
    const ids = await walkRest({ search: 'micro ', size: 2 });
    expect(ids).toHaveLength(9);
    expect(new Set(ids).size).toBe(9);
  });

  it('stay exact while rows are inserted and archived during the walk', async () => {
    const base = Date.parse('2026-05-05T00:00:00Z');
    const made: Product[] = [];
    for (let i = 0; i < 30; i++) made.push(await makeProduct(t.app.db, { name: `churn ${i}`, createdAt: new Date(base + i * 1000) }));
    const archived = new Set<string>();
    const inserted: string[] = [];
    const seen = await walkRest({ search: 'churn', size: 5 }, async (n, servedSoFar) => {
      // Newer rows land before the walk's position, older ones after it; archive one not yet served.
      inserted.push((await makeProduct(t.app.db, { name: `churn new ${n}`, createdAt: new Date(base + 100_000 + n) })).id);
      inserted.push((await makeProduct(t.app.db, { name: `churn old ${n}`, createdAt: new Date(base - 100_000 - n) })).id);
      const victim = made.filter((p) => !servedSoFar.includes(p.id) && !archived.has(p.id)).at(-3);
      if (victim) {
        await Product.query(t.app.db).findById(victim.id).patch({ isActive: false });
        archived.add(victim.id);
      }
    });
    expect(new Set(seen).size).toBe(seen.length); // nothing twice
    const survivors = made.filter((p) => !archived.has(p.id)).map((p) => p.id);
    for (const id of survivors) expect(seen).toContain(id); // every row active throughout, once
    for (const id of archived) expect(seen).not.toContain(id); // archived before its page
    expect(archived.size).toBeGreaterThan(2);
    // Rows older than the position when they were inserted are reached too.
    expect(inserted.filter((id) => seen.includes(id)).length).toBeGreaterThan(0);
  });

  it('page numbers and cursors can be mixed: a page-number page gives a cursor onward', async () => {
    for (let i = 0; i < 7; i++) await makeProduct(t.app.db, { name: `mixed ${i}` });
    const page2 = await t.rest('GET', '/products?search=mixed&size=3&page=2');
    expect(page2.body).toMatchObject({ page: 2, total: 7, totalExact: true, pages: 3 });
    const page3 = await t.rest('GET', `/products?${q({ search: 'mixed', size: 3, cursor: page2.body.nextCursor })}`);
    expect(page3.body).toMatchObject({ page: null, total: null, pages: null, nextCursor: null });
    const byNumber = await t.rest('GET', '/products?search=mixed&size=3&page=3');
    expect(page3.body.items).toEqual(byNumber.body.items);
  });
});

describe('bad cursors are a 400 with the usual error shape, on both doors', () => {
  let cursor: string;
  beforeAll(async () => {
    for (let i = 0; i < 3; i++) await makeProduct(t.app.db, { name: `badcursor ${i}`, price: '5.00' });
    cursor = (await t.rest('GET', '/products?search=badcursor&size=1')).body.nextCursor;
    expect(cursor).toEqual(expect.any(String));
  });

  const cases: [string, () => Record<string, string>, RegExp][] = [
    ['garbage', () => ({ search: 'badcursor', cursor: 'not-a-cursor' }), /Invalid cursor/],
    ['truncated', () => ({ search: 'badcursor', cursor: cursor.slice(0, -3) }), /Invalid cursor/],
    ['cut in the body', () => ({ search: 'badcursor', cursor: cursor.slice(5) }), /Invalid cursor/],
    ['edited', () => ({ search: 'badcursor', cursor: `${cursor[0] === 'A' ? 'B' : 'A'}${cursor.slice(1)}` }), /Invalid cursor/],
    ['for other filters', () => ({ search: 'badcursor 1', cursor }), /other filters/],
    ['without its filters', () => ({ cursor }), /other filters/],
    ['with a filter added', () => ({ search: 'badcursor', minPrice: '1', cursor }), /other filters/],
  ];

  it.each(cases)('%s', async (_name, params, message) => {
    const rest = await t.rest('GET', `/products?${q(params())}`);
    expect(rest.status).toBe(400);
    expect(rest.body).toEqual({ code: 'BAD_REQUEST', message: expect.stringMatching(message), issues: [{ path: ['cursor'], message: rest.body.message, code: 'invalid_cursor' }] });
    const trpc = await trpcError(t.client().products.list.query(params()));
    expect(trpc).toMatchObject({ status: 400, code: 'BAD_REQUEST', message: rest.body.message, issues: [{ path: ['cursor'], code: 'invalid_cursor' }] });
  });

  it("from another list (users.list's cursor on products.list and back)", async () => {
    for (let i = 0; i < 2; i++) await makeUser(t.app.db);
    const usersCursor = (await t.rest('GET', '/users?size=1', { headers: bearer(adminToken) })).body.nextCursor;
    expect(usersCursor).toEqual(expect.any(String));
    const onProducts = await t.rest('GET', `/products?cursor=${encodeURIComponent(usersCursor)}`);
    expect(onProducts.status).toBe(400);
    expect(onProducts.body.message).toBe('This cursor belongs to another list');
    const productsCursor = (await t.rest('GET', '/products?size=1')).body.nextCursor;
    const onUsers = await trpcError(t.client(adminToken).users.list.query({ cursor: productsCursor }));
    expect(onUsers).toMatchObject({ status: 400, message: 'This cursor belongs to another list' });
  });

  it("another user's reports cursor is refused (the owner is part of the filters)", async () => {
    const { user: owner, token } = await signedInUser(t);
    const { token: other } = await signedInUser(t);
    await t.app.db('reports').insert([{ owner_id: owner.id, kind: 'product-catalog' }, { owner_id: owner.id, kind: 'product-catalog' }]);
    const mine = await t.rest('GET', '/reports?size=1', { headers: bearer(token) });
    expect(mine.body).toMatchObject({ total: 2, nextCursor: expect.any(String) });
    const next = await t.rest('GET', `/reports?size=1&cursor=${encodeURIComponent(mine.body.nextCursor)}`, { headers: bearer(token) });
    expect(next.body).toMatchObject({ items: [expect.anything()], nextCursor: null });
    const theirs = await t.rest('GET', `/reports?size=1&cursor=${encodeURIComponent(mine.body.nextCursor)}`, { headers: bearer(other) });
    expect(theirs.status).toBe(400);
    expect(theirs.body.issues[0].path).toEqual(['cursor']);
  });
});

describe('page numbers', () => {
  it(`reach the first ${MAX_PAGE_DEPTH} items; deeper pages are a 400 that points to cursor`, async () => {
    const deepest = await t.rest('GET', `/products?page=${MAX_PAGE_DEPTH / 100}&size=100`);
    expect(deepest.status).toBe(200);
    const tooDeep = await t.rest('GET', `/products?page=${MAX_PAGE_DEPTH / 20 + 1}&size=20`);
    expect(tooDeep.status).toBe(400);
    expect(tooDeep.body).toMatchObject({ code: 'BAD_REQUEST', issues: [{ path: ['page'], code: 'page_too_deep' }] });
    expect(tooDeep.body.message).toMatch(/nextCursor/);
    // Past 10000 even at size 1, the input schema refuses it (the bound is in the OpenAPI document), with the same advice.
    const trpc = await trpcError(t.client().products.list.query({ page: 25_000 }));
    expect(trpc).toMatchObject({ status: 400, issues: [{ path: ['page'], message: tooDeep.body.message }] });
    const viaTrpc = await trpcError(t.client().products.list.query({ page: 101, size: 100 }));
    expect(viaTrpc).toMatchObject({ status: 400, message: tooDeep.body.message, issues: [{ path: ['page'], code: 'page_too_deep' }] });
  });

  it('cannot be combined with a cursor', async () => {
    await makeProduct(t.app.db, { name: 'combo 1' });
    await makeProduct(t.app.db, { name: 'combo 2' });
    const { nextCursor } = (await t.rest('GET', '/products?search=combo&size=1')).body;
    const res = await t.rest('GET', `/products?search=combo&page=1&cursor=${encodeURIComponent(nextCursor)}`);
    expect(res.status).toBe(400);
    expect(res.body.issues).toEqual([{ path: ['page'], code: 'page_with_cursor', message: 'Send either cursor or page, not both' }]);
  });
});

describe('counts', () => {
  it(`are exact up to ${COUNT_CAP}, then a flagged lower bound`, async () => {
    await t.app.db.raw(`INSERT INTO products (name, price) SELECT 'capped ' || i, 2 FROM generate_series(1, ?) i`, [COUNT_CAP + 5]);
    const over = await t.rest('GET', '/products?search=capped&size=50');
    expect(over.body).toMatchObject({ total: COUNT_CAP, totalExact: false, pages: COUNT_CAP / 50, page: 1 });
    await t.app.db('products').where('name', 'like', 'capped %').whereIn('name', ['capped 1', 'capped 2', 'capped 3', 'capped 4', 'capped 5']).update({ is_active: false });
    const exact = await t.rest('GET', '/products?search=capped&size=50');
    expect(exact.body).toMatchObject({ total: COUNT_CAP, totalExact: true, pages: COUNT_CAP / 50 });
    await t.app.db('products').where('name', 'capped 6').update({ is_active: false });
    expect((await t.rest('GET', '/products?search=capped&size=50')).body).toMatchObject({ total: COUNT_CAP - 1, totalExact: true, pages: 20 });
    // The walk still reaches every row past the cap.
    const ids = await walkRest({ search: 'capped', size: 100 });
    expect(ids).toHaveLength(COUNT_CAP - 1);
  });
});

describe('short search terms (1–2 characters) match the start of a word', () => {
  beforeAll(async () => {
    for (const name of ['Short oak table', 'short boat', 'OAk', 'Zq 7 shelf', 'q7 lamp', 'x-oak']) await makeProduct(t.app.db, { name });
  });
  const names = async (search: string) => {
    const found: string[] = [];
    for await (const p of paginate(t.client().products.list, { search, size: 100 })) if (/oak|boat|OAk|Zq|q7/.test(p.name)) found.push(p.name);
    return found.sort();
  };

  it('case-insensitively, at the start of the name or after a space', async () => {
    expect(await names('oa')).toEqual(['OAk', 'Short oak table']);
    expect(await names('Zq')).toEqual(['Zq 7 shelf']);
    expect(await names('7')).toEqual(['Zq 7 shelf']);
    expect(await names('q')).toEqual(['q7 lamp']);
  });

  it('from 3 characters a term is a substring again', async () => {
    expect(await names('oak')).toEqual(['OAk', 'Short oak table', 'x-oak']);
    expect(await names('boa')).toEqual(['short boat']);
  });

  it('a term with whole words (as "Widget 12 ") is looked up by them and still matches as a substring', async () => {
    for (const name of ['Widget 12 oak', 'Widget 123 oak', 'xWidget 12 pine', 'Widget 12', 'widget 12 OAK shelf', 'Widget 5% 12 oak']) await makeProduct(t.app.db, { name });
    const found = async (search: string) => {
      const all: string[] = [];
      for await (const p of paginate(t.client().products.list, { search, size: 100 })) all.push(p.name);
      return all.sort();
    };
    expect(await found('Widget 12 ')).toEqual(['Widget 12 oak', 'widget 12 OAK shelf', 'xWidget 12 pine']);
    expect(await found('dget 12 OAK s')).toEqual(['widget 12 OAK shelf']);
    expect(await found(' 12 oak ')).toEqual(['widget 12 OAK shelf']);
    expect(await found('5% 12 ')).toEqual(['Widget 5% 12 oak']);
    expect((await t.rest('GET', `/products?${q({ search: 'Widget 12 ' })}`)).body).toMatchObject({ total: 3, totalExact: true });
  });

  it('must be letters or digits (400 otherwise)', async () => {
    for (const search of ['%', 'a%', '_', 'a_', '\\', ' a', '-']) {
      const res = await t.rest('GET', `/products?${q({ search })}`);
      expect(res.status).toBe(400);
      expect(res.body.issues[0].path).toEqual(['search']);
    }
  });

  it('are matched literally even by a caller that skips the schema (LIKE wildcards escaped)', async () => {
    for (const name of ['Widget _x', 'Widget ax', 'Widget %y', 'Widget by']) await makeProduct(t.app.db, { name });
    const matching = async (term: string) =>
      (await Product.query(t.app.db).modify('active').modify('nameMatches', term).where('name', 'like', 'Widget %'))
        .map((p) => p.name)
        .sort();
    expect(await matching('_')).toEqual(['Widget _x']);
    expect(await matching('%')).toEqual(['Widget %y']);
    expect(await matching('_x')).toEqual(['Widget _x']);
  });

  it("apply to users' search too (name or email)", async () => {
    await makeUser(t.app.db, { name: 'Ada Lovelace', email: 'countess@analytical.example' });
    await makeUser(t.app.db, { name: 'Grace Hopper', email: 'navy@cobol.example' });
    const api = t.client(adminToken);
    const names = async (search: string) => (await api.users.list.query({ search, size: 100 })).items.map((u) => u.name).sort();
    expect(await names('lo')).toEqual(['Ada Lovelace']);
    expect(await names('ov')).toEqual([]);
    expect(await names('na')).toEqual(['Grace Hopper']);
    expect(await names('ovel')).toEqual(['Ada Lovelace']);
  });
});

describe('the typed client iterator', () => {
  it('walks users, analytics and reports lists too, and stops requesting when the loop breaks', async () => {
    for (let i = 0; i < 5; i++) await makeUser(t.app.db, { name: `iter user ${i}` });
    const api = t.client(adminToken);
    const users: string[] = [];
    for await (const u of paginate(api.users.list, { search: 'iter user', size: 2 })) users.push(u.name);
    expect(users).toEqual(['iter user 0', 'iter user 1', 'iter user 2', 'iter user 3', 'iter user 4']);

    let calls = 0;
    const counting = { query: (input: Parameters<typeof api.users.list.query>[0]) => (calls++, api.users.list.query(input)) };
    for await (const u of paginate(counting, { search: 'iter user', size: 2 })) if (u.name === 'iter user 1') break;
    expect(calls).toBe(1);

    const events = [];
    for await (const e of paginate(api.analytics.list, { size: 100 })) events.push(e);
    expect(Array.isArray(events)).toBe(true);
  });
});
