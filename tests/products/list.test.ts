import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeProduct } from '../helpers/factories.ts';
import { startTestApp, type TestApp } from '../helpers/test-app.ts';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.close());

const names = (body: { items: { name: string }[] }) => body.items.map((p) => p.name);

describe('GET /api/v1/products', () => {
  it('defaults to page 1, size 20, newest first, and reports total and pages', async () => {
    const base = Date.parse('2026-01-01T00:00:00Z');
    for (let i = 0; i < 25; i++) await makeProduct(t.app.db, { name: `paged ${String(i).padStart(2, '0')}`, createdAt: new Date(base + i * 1000) });
    const res = await t.rest('GET', '/products?search=paged');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ total: 25, totalExact: true, page: 1, size: 20, pages: 2, nextCursor: expect.any(String) });
    expect(res.body.items).toHaveLength(20);
    expect(res.body.items[0].name).toBe('paged 24');
    const second = await t.rest('GET', '/products?search=paged&page=2');
    expect(names(second.body)).toEqual(['paged 04', 'paged 03', 'paged 02', 'paged 01', 'paged 00']);
  });

  it('walking every page returns each active product exactly once, even with equal timestamps', async () => {
    const same = new Date('2026-02-02T00:00:00Z');
    const made = [];
    for (let i = 0; i < 23; i++) made.push(await makeProduct(t.app.db, { name: `tie ${i}`, createdAt: same }));
    await makeProduct(t.app.db, { name: 'tie archived', createdAt: same, isActive: false });
    const seen: string[] = [];
    for (let page = 1; page <= 5; page++) {
      const res = await t.rest('GET', `/products?search=tie&size=5&page=${page}`);
      expect(res.body.total).toBe(23);
      seen.push(...res.body.items.map((p: { id: string }) => p.id));
    }
    expect(seen).toHaveLength(23);
    expect(new Set(seen)).toEqual(new Set(made.map((p) => p.id)));
  });

  it('a page past the end is empty with the right total', async () => {
    await makeProduct(t.app.db, { name: 'lonely item' });
    const res = await t.rest('GET', '/products?search=lonely&page=9');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ items: [], total: 1, page: 9, size: 20, pages: 1 });
  });

  it('search is a case-insensitive substring', async () => {
    await makeProduct(t.app.db, { name: 'Blue MUG large' });
    await makeProduct(t.app.db, { name: 'red mug' });
    await makeProduct(t.app.db, { name: 'plate' });
    const res = await t.rest('GET', '/products?search=mUg');
    expect(names(res.body).sort()).toEqual(['Blue MUG large', 'red mug']);
  });

  it('search treats %, _ and \\ literally', async () => {
    await makeProduct(t.app.db, { name: '100% cotton' });
    await makeProduct(t.app.db, { name: '1000 cotton' });
    await makeProduct(t.app.db, { name: 'snake_case' });
    await makeProduct(t.app.db, { name: 'snakeXcase' });
    await makeProduct(t.app.db, { name: 'back\\slash' });
    await makeProduct(t.app.db, { name: 'backslash' });
    const q = (s: string) => t.rest('GET', `/products?search=${encodeURIComponent(s)}`).then((r) => names(r.body));
    // From 3 characters a term is a substring (1–2 character terms match word starts: tests/lists).
    expect(await q('00%')).toEqual(['100% cotton']);
    expect(await q('e_c')).toEqual(['snake_case']);
    expect(await q('k\\s')).toEqual(['back\\slash']);
    expect(await q('% c')).toEqual(['100% cotton']);
  });

  it('filters by an inclusive price range, exactly', async () => {
    for (const price of ['9.99', '10.00', '10.01', '20.00', '20.01']) await makeProduct(t.app.db, { name: `priced ${price}`, price });
    const res = await t.rest('GET', '/products?search=priced&minPrice=10&maxPrice=20.00');
    expect(names(res.body).sort()).toEqual(['priced 10.00', 'priced 10.01', 'priced 20.00']);
    const min = await t.rest('GET', '/products?search=priced&minPrice=20.01');
    expect(names(min.body)).toEqual(['priced 20.01']);
    const zero = await t.rest('GET', '/products?search=priced&minPrice=0&maxPrice=9.99');
    expect(names(zero.body)).toEqual(['priced 9.99']);
  });

  it('the typed client takes the same query', async () => {
    await makeProduct(t.app.db, { name: 'typed list item', price: '3.00' });
    const page = await t.client().products.list.query({ search: 'typed list', minPrice: '2.5', size: 1 });
    expect(page).toMatchObject({ total: 1, page: 1, size: 1, pages: 1 });
    expect(page.items[0]?.price).toBe('3.00');
  });

  it.each([
    ['page=0', 'page'],
    ['page=-1', 'page'],
    ['page=1.5', 'page'],
    ['page=abc', 'page'],
    ['size=0', 'size'],
    ['size=101', 'size'],
    [`search=${'x'.repeat(201)}`, 'search'],
    ['minPrice=-1', 'minPrice'],
    ['minPrice=abc', 'minPrice'],
    ['maxPrice=1.234', 'maxPrice'],
    ['minPrice=20&maxPrice=10', 'minPrice'],
  ])('rejects %s with 400 naming %s', async (query, field) => {
    const res = await t.rest('GET', `/products?${query}`);
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('BAD_REQUEST');
    expect(res.body.issues.map((i: { path: string[] }) => i.path.join('.'))).toContain(field);
  });
});
