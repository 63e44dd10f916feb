import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Product } from '../../server/modules/products/product.model.ts';
import { bearer, signedInUser } from '../helpers/auth.ts';
import { makeProduct } from '../helpers/factories.ts';
import { startTestApp, type TestApp } from '../helpers/test-app.ts';

let t: TestApp;
/** Headers of an admin: product writes need products:create/update/delete (tests/auth covers who else may). */
let asAdmin: Record<string, string>;
let adminToken: string;
beforeAll(async () => {
  t = await startTestApp();
  ({ token: adminToken } = await signedInUser(t, { roles: ['admin'] }));
  asAdmin = bearer(adminToken);
});
afterAll(() => t.close());

const MISSING = '00000000-0000-4000-8000-000000000000';

describe('products CRUD over REST', () => {
  it('creates with 201 and reads back camelCase JSON with an exact price', async () => {
    const created = await t.rest('POST', '/products', { body: { name: 'Espresso cup', price: '19.9' }, headers: asAdmin });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      name: 'Espresso cup',
      price: '19.90',
      isActive: true,
      createdAt: expect.any(String),
      updatedAt: created.body.createdAt,
    });
    const fetched = await t.rest('GET', `/products/${created.body.id}`);
    expect(fetched.status).toBe(200);
    expect(fetched.body).toEqual(created.body);
  });

  it('stores the largest price exactly, and refuses a price sent as a JSON number', async () => {
    const asNumber = await t.rest('POST', '/products', { body: { name: 'Max', price: 99999999.99 }, headers: asAdmin });
    expect(asNumber.status).toBe(400);
    expect(asNumber.body.issues).toEqual([expect.objectContaining({ path: ['price'], message: expect.stringContaining('not a number') })]);
    const created = await t.rest('POST', '/products', { body: { name: 'Max', price: '99999999.99' }, headers: asAdmin });
    expect(created.status).toBe(201);
    expect(created.body.price).toBe('99999999.99');
    const row = await t.app.db('products').where({ id: created.body.id }).first();
    expect(row.price).toBe('99999999.99');
  });

  it('updates any of name, price, isActive and maintains updatedAt', async () => {
    const product = await makeProduct(t.app.db, { name: 'Old', price: '5.00' });
    const res = await t.rest('PATCH', `/products/${product.id}`, { body: { name: 'New', price: '6' }, headers: asAdmin });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: product.id, name: 'New', price: '6.00', isActive: true });
    expect(new Date(res.body.updatedAt).getTime()).toBeGreaterThan(product.updatedAt.getTime());
  });

  it('rejects an empty update', async () => {
    const product = await makeProduct(t.app.db);
    const res = await t.rest('PATCH', `/products/${product.id}`, { body: {}, headers: asAdmin });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('BAD_REQUEST');
  });

  it('delete archives: 204, row kept inactive, then get 404 and list omits it', async () => {
    const product = await makeProduct(t.app.db, { name: 'To archive' });
    const del = await t.rest('DELETE', `/products/${product.id}`, { headers: asAdmin });
    expect(del.status).toBe(204);
    expect(del.body).toBeUndefined();
    const row = await Product.query(t.app.db).findById(product.id);
    expect(row?.isActive).toBe(false);
    expect((await t.rest('GET', `/products/${product.id}`)).status).toBe(404);
    const list = await t.rest('GET', '/products?search=To%20archive');
    expect(list.body.items).toEqual([]);
    expect((await t.rest('DELETE', `/products/${product.id}`, { headers: asAdmin })).status).toBe(404);
  });

  it('an archived product can be restored with isActive: true', async () => {
    const product = await makeProduct(t.app.db, { isActive: false });
    const res = await t.rest('PATCH', `/products/${product.id}`, { body: { isActive: true }, headers: asAdmin });
    expect(res.status).toBe(200);
    expect((await t.rest('GET', `/products/${product.id}`)).status).toBe(200);
  });

  it('404 for unknown ids on get, update and delete', async () => {
    for (const [method, body] of [['GET'], ['PATCH', { name: 'x' }], ['DELETE']] as const) {
      const res = await t.rest(method, `/products/${MISSING}`, { ...(body ? { body } : {}), headers: asAdmin });
      expect(res.status, method).toBe(404);
      expect(res.body).toEqual({ code: 'NOT_FOUND', message: `Product ${MISSING} not found` });
    }
  });
});

describe('products CRUD over the typed client', () => {
  it('round-trips create, get, update and delete', async () => {
    const api = t.client(adminToken);
    const created = await api.products.create.mutate({ name: 'Typed', price: '12.5' });
    expect(created.price).toBe('12.50');
    expect(await api.products.get.query({ id: created.id })).toEqual(created);
    const updated = await api.products.update.mutate({ id: created.id, price: '13' });
    expect(updated.price).toBe('13.00');
    await expect(api.products.delete.mutate({ id: created.id })).resolves.toBeUndefined();
    await expect(api.products.get.query({ id: created.id })).rejects.toMatchObject({ data: { code: 'NOT_FOUND', httpStatus: 404 } });
  });
});
