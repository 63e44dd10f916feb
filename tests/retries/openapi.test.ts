import { describe, expect, it } from 'vitest';
import { buildOpenApiDocument } from '../../server/http/openapi.ts';
import { describeApi } from '../../server/app.ts';

type Op = { parameters?: { name: string; in: string; required?: boolean }[]; responses: Record<string, { headers?: Record<string, unknown> }>; requestBody?: any };
const api = describeApi();
const doc = buildOpenApiDocument(api.router, { plainRoutes: api.routes });
const operations = Object.entries(doc.paths ?? {}).flatMap(([path, item]) =>
  Object.entries(item as Record<string, Op>).map(([method, op]) => ({ id: `${method.toUpperCase()} ${path}`, op })),
);
const headerParams = (op: Op) => (op.parameters ?? []).filter((p) => p.in === 'header').map((p) => p.name);
const withParam = (name: string) => operations.filter(({ op }) => headerParams(op).includes(name)).map((o) => o.id).sort();

describe('retries and concurrent edits in the OpenAPI document', () => {
  it('Idempotency-Key on every mutation but sign-in, with 409 (Retry-After) and 422, and on no read', () => {
    const mutations = operations.filter((o) => !o.id.startsWith('GET ')).map((o) => o.id);
    expect(withParam('Idempotency-Key')).toEqual(mutations.filter((id) => id !== 'POST /auth/sign-in').sort());
    for (const { id, op } of operations.filter((o) => headerParams(o.op).includes('Idempotency-Key'))) {
      expect(Object.keys(op.responses), id).toEqual(expect.arrayContaining(['400', '409', '422']));
      expect(op.responses['409']!.headers, id).toHaveProperty('Retry-After');
      const success = Object.entries(op.responses).find(([s]) => s.startsWith('2'))![1];
      expect(success.headers, id).toHaveProperty('Idempotent-Replayed');
    }
  });

  it('If-None-Match, 304 and ETag exactly on the single-resource reads', () => {
    const reads = ['GET /products/{id}', 'GET /reports/{id}', 'GET /users/me', 'GET /users/{id}'];
    expect(withParam('If-None-Match')).toEqual(reads);
    expect(operations.filter(({ op }) => op.responses['304']).map((o) => o.id).sort()).toEqual(reads);
    for (const { id, op } of operations.filter((o) => reads.includes(o.id))) expect(op.responses['200']!.headers, id).toHaveProperty('ETag');
  });

  it('If-Match, 412 (with ETag) on the PATCH and DELETE that take it; ifVersion is not part of the REST contract', () => {
    const writes = ['DELETE /products/{id}', 'PATCH /products/{id}', 'PATCH /users/me'];
    expect(withParam('If-Match')).toEqual(writes);
    expect(operations.filter(({ op }) => op.responses['412']).map((o) => o.id).sort()).toEqual(writes);
    // No operation requires it today, so none answers 428.
    expect(operations.filter(({ op }) => op.responses['428'])).toEqual([]);
    for (const { id, op } of operations.filter((o) => writes.includes(o.id))) {
      expect(op.responses['412']!.headers, id).toHaveProperty('ETag');
      expect(JSON.stringify(op.requestBody ?? {}), id).not.toContain('ifVersion');
      expect((op.parameters ?? []).map((p) => p.name), id).not.toContain('ifVersion');
    }
  });
});
