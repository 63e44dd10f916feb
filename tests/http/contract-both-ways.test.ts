import { createGeneratorSync } from 'json-schema-faker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, signedInUser } from '../helpers/auth.ts';
import { contract } from '../helpers/contract.ts';
import { startTestApp, type TestApp } from '../helpers/test-app.ts';

/**
 * Both ways, for every operation in client/openapi.json: inputs the document calls
 * valid (generated from its schemas by json-schema-faker) are accepted, answered 2xx or
 * a documented domain error; the bad inputs the document implies (a required field
 * missing, a wrong type, a value out of its bounds) get a 400 that names the field.
 * Every response also passes the response checker inside `t.rest`.
 */

type Schema = Record<string, any>;
interface Parameter {
  in: 'path' | 'query' | 'header';
  name: string;
  required?: boolean;
  schema: Schema;
}
interface Op {
  method: string;
  path: string;
  operationId: string;
  parameters: Parameter[];
  body?: Schema;
  responses: Record<string, unknown>;
}

const operations: Op[] = Object.entries(contract.paths).flatMap(([path, item]) =>
  Object.entries(item).map(([method, op]: [string, any]) => ({
    method: method.toUpperCase(),
    path,
    operationId: op.operationId,
    parameters: op.parameters ?? [],
    body: op.requestBody?.content?.['application/json']?.schema,
    responses: op.responses,
  })),
);

/**
 * Rules a schema cannot express, stated in the operation's description instead: a valid-looking
 * input may still get the documented 400, naming this field.
 */
const RULES_BEYOND_SCHEMA: Record<string, string[]> = {
  'users-setRoles': ['roles'], // each role must exist
  'products-list': ['minPrice'], // minPrice ≤ maxPrice
  'auth-verifyEmail': ['token'], // a code the server mailed, unused and unexpired
  'auth-resetPassword': ['token'], // likewise
  'auth-changePassword': ['currentPassword'], // the account's current password
};
/** Every list: a cursor must be one a previous page gave, and page × size ≤ MAX_PAGE_DEPTH (docs/lists.md). */
const LIST_RULES = ['cursor', 'page'];

/** Success, or a domain error the document lists that a made-up input can meet. */
const DOMAIN_ERRORS = new Set([404, 409, 401, 429]);

let t: TestApp;
let adminToken: string;
beforeAll(async () => {
  t = await startTestApp();
  adminToken = (await signedInUser(t, { roles: ['admin'] })).token;
});
afterAll(() => t.close());

function resolve(schema: Schema): Schema {
  if (schema.$ref) return resolve(contract.components.schemas[schema.$ref.split('/').pop()] as Schema);
  return schema;
}

function generate(schema: Schema, seed: number): unknown {
  return createGeneratorSync({ seed, optionalsProbability: 0.5, maxItems: 3 }).generate(resolve(schema) as never);
}

function url(op: Op, path: Record<string, unknown>, query: Record<string, unknown>): string {
  let p = op.path;
  for (const [name, value] of Object.entries(path)) p = p.replace(`{${name}}`, encodeURIComponent(String(value)));
  const search = new URLSearchParams(Object.entries(query).map(([k, v]): [string, string] => [k, String(v)])).toString();
  return search ? `${p}?${search}` : p;
}

/**
 * A valid request for `op`: every path parameter, some query parameters, a body. Header
 * parameters (Idempotency-Key, If-Match, If-None-Match) are protocol, not input: left
 * out here, spoiled on their own below, and tested for what they do in tests/retries.
 */
function validRequest(op: Op, seed: number) {
  const path: Record<string, unknown> = {};
  const query: Record<string, unknown> = {};
  const headers: Record<string, string> = {};
  op.parameters.forEach((p, i) => {
    if (p.in === 'path') path[p.name] = generate(p.schema, seed + i);
    else if (p.in === 'query' && (seed + i) % 2 === 0) query[p.name] = generate(p.schema, seed + i);
  });
  return { path, query, headers, body: op.body ? generate(op.body, seed) : undefined };
}

/** A token that may be spent: sign-out ends the session it is called with. */
async function tokenFor(op: Op): Promise<string> {
  return op.operationId === 'auth-signOut' ? (await signedInUser(t)).token : adminToken;
}

async function send(op: Op, req: { path: Record<string, unknown>; query: Record<string, unknown>; headers: Record<string, string>; body: unknown }) {
  return t.rest(op.method, url(op, req.path, req.query), {
    headers: { ...req.headers, ...bearer(await tokenFor(op)) },
    ...(req.body !== undefined ? { body: req.body } : {}),
  });
}

describe.each(operations.map((op) => [`${op.method} ${op.path}`, op] as const))('%s', (_name, op) => {
  it('accepts inputs the document calls valid', async () => {
    for (let seed = 1; seed <= 6; seed++) {
      const req = validRequest(op, seed * 7);
      const res = await send(op, req);
      const context = `${op.operationId} with ${JSON.stringify(req)} → ${res.status} ${JSON.stringify(res.body)}`;
      if (res.status >= 200 && res.status < 300) continue;
      if (DOMAIN_ERRORS.has(res.status)) {
        expect(op.responses[String(res.status)], context).toBeDefined();
        continue;
      }
      const beyond = [...(RULES_BEYOND_SCHEMA[op.operationId] ?? []), ...(op.parameters.some((p) => p.name === 'cursor') ? LIST_RULES : [])];
      expect(res.status, context).toBe(400);
      const named = (res.body.issues ?? []).map((i: { path: unknown[] }) => i.path[0]);
      expect(named.length > 0 && named.every((f: string) => beyond.includes(f)), `${context}: a 400 for a valid input is allowed only for rules the description states`).toBe(true);
    }
  });

  const fields = op.body ? Object.entries((resolve(op.body).properties ?? {}) as Record<string, Schema>) : [];
  const required: string[] = op.body ? (resolve(op.body).required ?? []) : [];
  const badBodies: [string, string, (body: Record<string, unknown>) => void][] = [];
  for (const name of required) badBodies.push([`without ${name}`, name, (b) => delete b[name]]);
  for (const [name, schema] of fields) {
    const type = Array.isArray(schema.type) ? schema.type : [schema.type];
    if (!type.includes('number') && !type.includes('integer')) badBodies.push([`${name} as a number`, name, (b) => (b[name] = 12345)]);
    if (!type.includes('string')) badBodies.push([`${name} as a string`, name, (b) => (b[name] = 'not-that')]);
    if (schema.maxLength !== undefined) badBodies.push([`${name} too long`, name, (b) => (b[name] = 'x'.repeat(schema.maxLength + 1))]);
    if (schema.pattern !== undefined && !new RegExp(schema.pattern).test('{}')) badBodies.push([`${name} off its pattern`, name, (b) => (b[name] = '{}')]);
    if (schema.maxItems !== undefined) badBodies.push([`${name} too many items`, name, (b) => (b[name] = Array.from({ length: schema.maxItems + 1 }, (_, i) => `r${i}`))]);
  }
  const badParams: [string, string, (path: Record<string, unknown>, query: Record<string, unknown>, headers: Record<string, unknown>) => void][] = [];
  for (const p of op.parameters) {
    const target = (path: Record<string, unknown>, query: Record<string, unknown>, headers: Record<string, unknown>) => (p.in === 'path' ? path : p.in === 'header' ? headers : query);
    if (p.schema.format === 'uuid') badParams.push([`${p.name} not a uuid`, p.name, (a, b, c) => (target(a, b, c)[p.name] = 'not-a-uuid')]);
    if (p.schema.type === 'integer') {
      badParams.push([`${p.name} not an integer`, p.name, (a, b, c) => (target(a, b, c)[p.name] = 'abc')]);
      if (p.schema.minimum !== undefined) badParams.push([`${p.name} below its minimum`, p.name, (a, b, c) => (target(a, b, c)[p.name] = p.schema.minimum - 1)]);
      if (p.schema.maximum !== undefined) badParams.push([`${p.name} above its maximum`, p.name, (a, b, c) => (target(a, b, c)[p.name] = p.schema.maximum + 1)]);
    }
    if (p.schema.maxLength !== undefined) badParams.push([`${p.name} too long`, p.name, (a, b, c) => (target(a, b, c)[p.name] = 'x'.repeat(p.schema.maxLength + 1))]);
    const offPattern = p.schema.pattern === undefined ? undefined : ['-1e3', 'has space'].find((v) => !new RegExp(p.schema.pattern).test(v));
    if (offPattern !== undefined && p.schema.format !== 'uuid') badParams.push([`${p.name} off its pattern`, p.name, (a, b, c) => (target(a, b, c)[p.name] = offPattern)]);
  }

  if (badBodies.length || badParams.length) {
    it.each([...badBodies.map(([label, field, spoil]) => ({ label, field, spoilBody: spoil })), ...badParams.map(([label, field, spoil]) => ({ label, field, spoilParams: spoil }))])(
      'answers 400 naming the field: $label',
      async ({ field, spoilBody, spoilParams }: { field: string; spoilBody?: (b: Record<string, unknown>) => void; spoilParams?: (a: Record<string, unknown>, b: Record<string, unknown>, c: Record<string, unknown>) => void }) => {
        const req = validRequest(op, 3);
        // A complete body (every optional field too), so the spoiled field is the only fault.
        if (op.body) req.body = createGeneratorSync({ seed: 3, alwaysFakeOptionals: true, maxItems: 3 }).generate(resolve(op.body) as never);
        if (spoilBody) spoilBody(req.body as Record<string, unknown>);
        if (spoilParams) spoilParams(req.path, req.query, req.headers);
        const res = await send(op, req);
        expect(res.status, JSON.stringify({ req, body: res.body })).toBe(400);
        expect(res.body.issues.map((i: { path: unknown[] }) => i.path[0])).toContain(field);
      },
    );
  }
});
