import fs from 'node:fs/promises';
import createFetchClient from 'openapi-fetch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { paths } from '../../client/rest-types.ts';
import { bearer, signedInUser } from '../helpers/auth.ts';
import { makeProduct } from '../helpers/factories.ts';
import { startTestApp, type TestApp } from '../helpers/test-app.ts';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.close());

describe('the OpenAPI document', () => {
  it('is served at /openapi.json and matches the committed client/openapi.json', async () => {
    const served: any = await (await fetch(`${t.url}/openapi.json`)).json();
    const committed = JSON.parse(await fs.readFile(new URL('../../client/openapi.json', import.meta.url), 'utf8'));
    expect(served).toEqual(committed);
  });

  it('describes error responses with the shared ApiError schema, not only successes', async () => {
    const doc: any = await (await fetch(`${t.url}/openapi.json`)).json();
    const errorRef = { $ref: '#/components/schemas/ApiError' };
    const create = doc.paths['/products'].post;
    expect(Object.keys(create.responses).sort()).toEqual(['201', '400', '401', '403', '413', '415', '500']);
    expect(create.responses['400'].content['application/json'].schema).toEqual(errorRef);
    const del = doc.paths['/products/{id}'].delete;
    expect(del.responses['204']).toEqual({ description: 'Done; no content' });
    expect(del.responses['404'].content['application/json'].schema).toEqual(errorRef);
    expect(doc.components.schemas.ApiError.required).toEqual(['code', 'message']);
  });

  it('is browsable at /docs from local files only', async () => {
    const res = await fetch(`${t.url}/docs/`);
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('swagger-ui');
    expect(html).not.toMatch(/src="https?:\/\//);
  });
});

describe('REST through openapi-fetch with the generated types', () => {
  it('creates, reads and lists products', async () => {
    const { token } = await signedInUser(t, { roles: ['admin'] });
    const api = createFetchClient<paths>({ baseUrl: `${t.url}/api/v1`, headers: bearer(token) });
    const created = await api.POST('/products', { body: { name: 'Typed REST mug', price: '4.20' } });
    expect(created.response.status).toBe(201);
    const id = created.data!.id;
    const got = await api.GET('/products/{id}', { params: { path: { id } } });
    expect(got.data?.price).toBe('4.20');
    await makeProduct(t.app.db, { name: 'Typed REST plate' });
    const list = await api.GET('/products', { params: { query: { search: 'Typed REST', size: 10 } } });
    expect(list.data?.total).toBe(2);
    const missing = await api.GET('/products/{id}', { params: { path: { id: '5a2d3f1e-0000-4000-8000-000000000000' } } });
    expect(missing.response.status).toBe(404);
    expect(missing.error).toEqual({ code: 'NOT_FOUND', message: expect.any(String) });
  });
});
