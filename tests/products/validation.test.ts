import { TRPCClientError } from '@trpc/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, signedInUser } from '../helpers/auth.ts';
import { makeProduct } from '../helpers/factories.ts';
import { startTestApp, type TestApp } from '../helpers/test-app.ts';

let t: TestApp;
/** Writes need their permission (tests/auth); validation is checked for a caller who holds it. */
let adminToken: string;
let asAdmin: Record<string, string>;
beforeAll(async () => {
  t = await startTestApp();
  ({ token: adminToken } = await signedInUser(t, { roles: ['admin'] }));
  asAdmin = bearer(adminToken);
});
afterAll(() => t.close());

/** The error as the typed client sees it, in the REST body's terms. */
async function trpcError(call: Promise<unknown>) {
  try {
    await call;
  } catch (error) {
    if (!(error instanceof TRPCClientError)) throw error;
    const data = error.data as { code: string; issues?: unknown; httpStatus: number };
    return { status: data.httpStatus, body: { code: data.code, message: error.message, ...(data.issues ? { issues: data.issues } : {}) } };
  }
  throw new Error('expected the call to fail');
}

const invalidCreates: [string, unknown, string][] = [
  ['empty name', { name: '', price: '1.00' }, 'name'],
  ['blank name', { name: '   ', price: '1.00' }, 'name'],
  ['201-character name', { name: 'x'.repeat(201), price: '1.00' }, 'name'],
  ['missing name', { price: '1.00' }, 'name'],
  ['price "abc"', { name: 'a', price: 'abc' }, 'price'],
  ['price "1.234"', { name: 'a', price: '1.234' }, 'price'],
  ['price 1.234 as a number', { name: 'a', price: 1.234 }, 'price'],
  ['price 0', { name: 'a', price: 0 }, 'price'],
  ['price "0.00"', { name: 'a', price: '0.00' }, 'price'],
  ['price -1', { name: 'a', price: -1 }, 'price'],
  ['price "1e3"', { name: 'a', price: '1e3' }, 'price'],
  ['price above 99999999.99', { name: 'a', price: '100000000.00' }, 'price'],
  ['price as a float artefact', { name: 'a', price: 0.1 + 0.2 }, 'price'],
  ['price null', { name: 'a', price: null }, 'price'],
];

describe('bad input gets the same clear error on both doors', () => {
  it.each(invalidCreates)('create with %s → 400 naming the field', async (_label, input, field) => {
    const rest = await t.rest('POST', '/products', { body: input, headers: asAdmin });
    expect(rest.status).toBe(400);
    expect(rest.body.code).toBe('BAD_REQUEST');
    expect(rest.body.message).toBe('Input validation failed');
    expect(rest.body.issues.map((i: { path: string[] }) => i.path.join('.'))).toContain(field);
    for (const issue of rest.body.issues) expect(Object.keys(issue).sort()).toEqual(['code', 'message', 'path']);

    const trpc = await trpcError(t.client(adminToken).products.create.mutate(input as never));
    expect(trpc).toEqual({ status: 400, body: rest.body });
  });

  it('a bad uuid is 400 on both doors, with the same body', async () => {
    const rest = await t.rest('GET', '/products/not-a-uuid');
    expect(rest.status).toBe(400);
    expect(rest.body.issues[0].path).toEqual(['id']);
    expect(await trpcError(t.client().products.get.query({ id: 'not-a-uuid' }))).toEqual({ status: 400, body: rest.body });
  });

  it('an unknown id is 404 on both doors, with the same body', async () => {
    const id = '7d0c7b1e-8f1a-4c55-9a53-2c6a4b1f0e11';
    const rest = await t.rest('PATCH', `/products/${id}`, { body: { name: 'x' }, headers: asAdmin });
    expect(rest.status).toBe(404);
    expect(await trpcError(t.client(adminToken).products.update.mutate({ id, name: 'x' }))).toEqual({ status: 404, body: rest.body });
  });

  it('minPrice greater than maxPrice is 400 on both doors', async () => {
    const rest = await t.rest('GET', '/products?minPrice=5&maxPrice=4.99');
    expect(rest.status).toBe(400);
    expect(await trpcError(t.client().products.list.query({ minPrice: '5', maxPrice: '4.99' }))).toEqual({ status: 400, body: rest.body });
  });

  it('a non-JSON body is 415', async () => {
    for (const type of ['text/plain', 'application/xml', 'application/x-www-form-urlencoded']) {
      const res = await t.rest('POST', '/products', { rawBody: 'name=a&price=1', headers: { 'content-type': type } });
      expect(res.status, type).toBe(415);
      expect(res.body).toEqual({ code: 'UNSUPPORTED_MEDIA_TYPE', message: expect.any(String) });
    }
  });

  it('malformed JSON is 400', async () => {
    const res = await t.rest('POST', '/products', { rawBody: '{"name":', headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ code: 'BAD_REQUEST', message: 'Request body is not valid JSON' });
  });

  it('a body over the limit is 413', async () => {
    const res = await t.rest('POST', '/products', { body: { name: 'a', price: '1.00', padding: 'x'.repeat(1_100_000) } });
    expect(res.status).toBe(413);
    expect(res.body).toEqual({ code: 'PAYLOAD_TOO_LARGE', message: 'Request body is larger than the limit' });
  });

  it('an unknown route is 404 with the same shape', async () => {
    const res = await t.rest('GET', '/nothing-here');
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ code: 'NOT_FOUND', message: expect.any(String) });
  });

  it('every response carries a request id the server made (a client id is only logged beside it)', async () => {
    const product = await makeProduct(t.app.db);
    const res = await t.rest('GET', `/products/${product.id}`, { headers: { 'x-request-id': 'trace-me' } });
    expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });
});
