import http from 'node:http';
import { Validator } from '@seriousme/openapi-schema-validator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HTTP_STATUS } from '../../server/errors.ts';
import { bearer, cookie, signedInUser } from '../helpers/auth.ts';
import { checkingTrpcFetch, checkResponse, checkTrpcOutcome, contract } from '../helpers/contract.ts';
import { createClient } from '../../client/index.ts';
import { makeProduct } from '../helpers/factories.ts';
import { startTestApp, type TestApp } from '../helpers/test-app.ts';

let t: TestApp;
let asAdmin: Record<string, string>;
beforeAll(async () => {
  t = await startTestApp();
  asAdmin = bearer((await signedInUser(t, { roles: ['admin'] })).token);
});
afterAll(() => t.close());

const statuses = (path: string, method: string) => Object.keys(contract.paths[path]![method]!.responses);

/** A raw request, for methods fetch refuses to send (TRACE) or does not know (QUERY). */
function raw(method: string, path: string, headers: Record<string, string> = {}, body?: string) {
  return new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: any }>((resolve, reject) => {
    const req = http.request(`${t.url}${path}`, { method, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: text ? JSON.parse(text) : undefined }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('the document lists every status the server answers', () => {
  it('documents the 400s an id or body check gives (the response checker in t.rest enforces it)', async () => {
    const product = await makeProduct(t.app.db);
    expect((await t.rest('GET', '/products/not-a-uuid')).status).toBe(400);
    expect((await t.rest('PATCH', `/products/${product.id}`, { body: { price: 'abc' }, headers: asAdmin })).status).toBe(400);
    expect((await t.rest('PATCH', `/products/${product.id}`, { body: {}, headers: asAdmin })).status).toBe(400);
    expect((await t.rest('DELETE', '/products/not-a-uuid', { headers: asAdmin })).status).toBe(400);
    expect((await t.rest('GET', '/reports/not-a-uuid', { headers: asAdmin })).status).toBe(400);
    expect(statuses('/products/{id}', 'patch')).toEqual(expect.arrayContaining(['400', '401', '403', '404', '413', '415', '500']));
  });

  it('lists 404 only where a resource can be missing', () => {
    expect(statuses('/products', 'get')).not.toContain('404');
    expect(statuses('/users', 'get')).not.toContain('404');
    expect(statuses('/users/me', 'get')).not.toContain('404');
    expect(statuses('/products/{id}', 'get')).toContain('404');
  });

  it('documents the cross-site 403 on signed-in changes, and says what each 403 means', async () => {
    const { token } = await signedInUser(t);
    const res = await t.rest('PATCH', '/users/me', { body: { name: 'Forged' }, headers: { ...cookie(token), origin: 'https://evil.example' } });
    expect(res.status).toBe(403);
    const signOut = contract.paths['/auth/sign-out']!.post!.responses['403'] as { description: string };
    expect(signOut.description).toMatch(/another site/);
    expect(signOut.description).not.toMatch(/permission/);
    const create = contract.paths['/products']!.post!.responses['403'] as { description: string };
    expect(create.description).toMatch(/products:create/);
  });

  it('per-operation additions extend the derived statuses', () => {
    expect(statuses('/auth/sign-in', 'post')).toEqual(['200', '400', '401', '413', '415', '429', '500']);
    expect(statuses('/users/{id}/deactivate', 'post')).toEqual(['200', '400', '401', '403', '404', '409', '413', '415', '422', '500']);
  });

  it('every operation documents 500 and the same error schema for every error', () => {
    for (const [path, item] of Object.entries(contract.paths)) {
      for (const [method, op] of Object.entries(item)) {
        expect(op.responses['500'], `${method} ${path}`).toBeDefined();
        for (const [status, response] of Object.entries(op.responses)) {
          if (Number(status) >= 400) expect(response.content?.['application/json']?.schema, `${method} ${path} ${status}`).toEqual({ $ref: '#/components/schemas/ApiError' });
        }
      }
    }
  });
});

describe('the document itself', () => {
  it('is valid OpenAPI 3.1', async () => {
    const result = await new Validator().validate(structuredClone(contract) as never);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect((contract as unknown as { openapi: string }).openapi).toBe('3.1.0');
  });

  it('has no unreferenced components, and an error schema that shadows no global', () => {
    const text = JSON.stringify(contract.paths);
    const refs = new Set([...JSON.stringify(contract).matchAll(/#\/components\/schemas\/([\w.-]+)/g)].map((m) => m[1]));
    expect(Object.keys(contract.components.schemas).sort()).toEqual([...refs].sort());
    expect(contract.components.schemas).not.toHaveProperty('Error');
    expect(Object.keys(contract.components.schemas).filter((n) => n.startsWith('error.'))).toEqual([]);
    expect(text).toContain('#/components/schemas/ApiError');
  });

  it("gives the error code as an enum of the server's codes", () => {
    const schema = contract.components.schemas.ApiError as { properties: { code: { enum: string[] } } };
    expect(schema.properties.code.enum.sort()).toEqual(Object.keys(HTTP_STATUS).sort());
  });

  it('carries no ±2^53 bounds', () => {
    expect(JSON.stringify(contract)).not.toMatch(/9007199254740991/);
  });

  it('asks for what the server enforces: decimal strings with a pattern, email format, at least one field on updates', () => {
    const body = (path: string, method: string) => (contract.paths[path]![method] as any).requestBody.content['application/json'].schema;
    const price = body('/products', 'post').properties.price;
    expect(price.type).toBe('string');
    const pattern = new RegExp(price.pattern);
    for (const ok of ['0.01', '0.1', '1', '19.9', '19.90', '99999999.99']) expect(ok).toMatch(pattern);
    for (const bad of ['0', '0.00', '0.001', '1e3', '100000000', '-1', '1.234']) expect(bad).not.toMatch(pattern);
    expect(body('/auth/sign-up', 'post').properties.email.format).toBe('email');
    expect(body('/products/{id}', 'patch').minProperties).toBe(1);
    expect(body('/users/me', 'patch').minProperties).toBe(1);
    const list = contract.paths['/products']!.get as any;
    expect(list.parameters.find((p: any) => p.name === 'maxPrice').schema.pattern).toBeDefined();
    expect(list.description).toMatch(/minPrice must not be greater than maxPrice/);
  });

  it('names the server relatively unless PUBLIC_URL is set', async () => {
    expect((contract as any).servers).toEqual([{ url: '/api/v1' }]);
    expect(((await (await fetch(`${t.url}/openapi.json`)).json()) as any).servers).toEqual([{ url: '/api/v1' }]);
    const withPublicUrl = await startTestApp({ PUBLIC_URL: 'https://api.example.com' });
    try {
      expect(((await (await fetch(`${withPublicUrl.url}/openapi.json`)).json()) as any).servers).toEqual([{ url: 'https://api.example.com/api/v1' }]);
    } finally {
      await withPublicUrl.close();
    }
  });
});

describe('methods a known path does not support', () => {
  it('answers 405 with Allow and the shared body', async () => {
    const del = await t.rest('DELETE', '/products', { headers: asAdmin });
    expect(del.status).toBe(405);
    expect(del.headers.get('allow')).toBe('GET, HEAD, POST');
    expect(del.body).toEqual({ code: 'METHOD_NOT_SUPPORTED', message: expect.stringContaining('DELETE') });
    const trace = await raw('TRACE', '/api/v1/products');
    expect(trace.status).toBe(405);
    expect(trace.headers.allow).toBe('GET, HEAD, POST');
    expect(trace.body.code).toBe('METHOD_NOT_SUPPORTED');
    const put = await t.rest('PUT', '/products/5a2d3f1e-0000-4000-8000-000000000000', { body: {}, headers: asAdmin });
    expect(put.status).toBe(405);
    expect(put.headers.get('allow')).toBe('DELETE, GET, HEAD, PATCH');
  });

  it('still answers 404 for a path nobody serves', async () => {
    const res = await t.rest('DELETE', '/nothing-here');
    expect(res.status).toBe(404);
    expect(res.body.code).toBe('NOT_FOUND');
  });

  it('answers a method HTTP does not define for the path with 405 too', async () => {
    const query = await raw('QUERY', '/api/v1/products');
    expect(query.status).toBe(405);
    expect(query.headers.allow).toBe('GET, HEAD, POST');
  });
});

describe('an empty JSON body is no body', () => {
  it('DELETE and sign-out with Content-Type: application/json and nothing else succeed on REST', async () => {
    const product = await makeProduct(t.app.db);
    const del = await t.rest('DELETE', `/products/${product.id}`, { headers: { ...asAdmin, 'content-type': 'application/json' }, rawBody: '' });
    expect(del.status).toBe(204);
    const { token } = await signedInUser(t);
    const out = await t.rest('POST', '/auth/sign-out', { headers: { ...bearer(token), 'content-type': 'application/json' }, rawBody: '' });
    expect(out.status).toBe(204);
    // Without even a Content-Length (what some clients send for DELETE).
    const other = await makeProduct(t.app.db);
    const bare = await raw('DELETE', `/api/v1/products/${other.id}`, { ...asAdmin, 'content-type': 'application/json' });
    expect(bare.status).toBe(204);
  });

  it('and on the tRPC door', async () => {
    const { token } = await signedInUser(t);
    const res = await fetch(`${t.url}/trpc/auth.signOut`, { method: 'POST', headers: { ...bearer(token), 'content-type': 'application/json' }, body: '' });
    expect(res.status).toBe(200);
  });

  it('a body that is needed is still asked for by name', async () => {
    const res = await t.rest('POST', '/products', { headers: { ...asAdmin, 'content-type': 'application/json' }, rawBody: '' });
    expect(res.status).toBe(400);
    expect(res.body.issues.map((i: { path: string[] }) => i.path[0]).sort()).toEqual(['name', 'price']);
  });
});

describe('the response checker in the tests’ HTTP helper', () => {
  const json = (body: unknown) => ({ headers: new Headers({ 'content-type': 'application/json; charset=utf-8' }), body, text: JSON.stringify(body) });

  it('refuses a status the operation does not document', () => {
    expect(() => checkResponse({ method: 'GET', path: '/products', status: 404, ...json({ code: 'NOT_FOUND', message: 'x' }) })).toThrow(/documents only/);
  });

  it('refuses a body that does not match the schema of its status', () => {
    expect(() => checkResponse({ method: 'GET', path: '/products', status: 200, ...json({ items: 'none' }) })).toThrow(/does not match/);
    expect(() => checkResponse({ method: 'GET', path: '/products', status: 400, ...json({ code: 'OOPS', message: 'x' }) })).toThrow(/does not match/);
  });

  it('refuses a wrong content type, and a 405 without Allow', () => {
    expect(() =>
      checkResponse({ method: 'GET', path: '/products', status: 500, headers: new Headers({ 'content-type': 'text/html' }), body: '<h1>', text: '<h1>' }),
    ).toThrow(/content type/);
    expect(() => checkResponse({ method: 'DELETE', path: '/products', status: 405, ...json({ code: 'METHOD_NOT_SUPPORTED', message: 'x' }) })).toThrow(/Allow/);
  });
});

describe('the same checker on the typed tRPC client (t.client)', () => {
  const product = { id: '00000000-0000-4000-8000-000000000001', name: 'Cup', price: '7.50', isActive: true, version: 1, createdAt: '2026-12-01T00:00:00.000Z', updatedAt: '2026-12-01T00:00:00.000Z' };
  const failure = (httpStatus: number, code: string) => ({ error: { json: { message: 'x', code: -32600, data: { code, httpStatus, path: 'products.get' } } } });

  it("holds a result to its REST operation's success schema, and an error to its documented statuses and ApiError", () => {
    expect(() => checkTrpcOutcome('products.get', { result: { data: { json: product } } })).not.toThrow();
    expect(() => checkTrpcOutcome('products.get', { result: { data: { json: { ...product, price: 7.5 } } } })).toThrow(/does not match products-get/);
    expect(() => checkTrpcOutcome('products.get', failure(404, 'NOT_FOUND'))).not.toThrow();
    expect(() => checkTrpcOutcome('products.list', failure(404, 'NOT_FOUND'))).toThrow(/documents only/);
    expect(() => checkTrpcOutcome('products.get', failure(404, 'LOST'))).toThrow(/not an ApiError/);
    expect(() => checkTrpcOutcome('products.delete', { result: { data: { json: { deleted: true } } } })).toThrow(/without a body/);
  });

  it('runs on every answer the tests’ typed client gets: a drifted answer fails the call', async () => {
    const created = await t.client(asAdmin.authorization!.replace('Bearer ', '')).products.create.mutate({ name: 'Checked cup', price: '7.50' });
    expect(await t.client().products.get.query({ id: created.id })).toMatchObject({ name: 'Checked cup' });
    // A server that drifted: the same answer with the price as a number.
    const drifted: typeof fetch = async (input, init) => {
      const res = await fetch(input, init);
      const text = (await res.text()).replace('"price":"7.50"', '"price":7.5');
      return new Response(text, { status: res.status, headers: res.headers });
    };
    const api = createClient({ url: t.url, fetch: checkingTrpcFetch(drifted) });
    await expect(api.products.get.query({ id: created.id })).rejects.toThrow(/products\.get: result does not match products-get/);
  });
});
