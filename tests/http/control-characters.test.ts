import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { listProcedures } from '../../server/http/procedure-meta.ts';
import { trpcSubscribe } from '../helpers/sse.ts';
import { describeApi } from '../../server/app.ts';
import { bearer, signedInUser } from '../helpers/auth.ts';
import { startTestApp, type TestApp } from '../helpers/test-app.ts';

/**
 * Walks every procedure of the real appRouter, finds every string field of its input
 * schema, and sends a NUL and a bell in it through both doors, as an admin (so access
 * passes). Each must be a 400 naming that field, never a 500 or a success: a new input
 * field built from bare `z.string()` instead of `text()` (server/lib/text.ts) fails here.
 */
let t: TestApp;
let asAdmin: Record<string, string>;
beforeAll(async () => {
  t = await startTestApp({ RATE_LIMITS: 'off' });
  asAdmin = bearer((await signedInUser(t, { roles: ['admin'] })).token);
});
afterAll(() => t.close());

type Path = (string | number)[];

/** Paths of every string leaf of a zod schema (objects, arrays, optionals, pipes, unions). */
function stringPaths(schema: z.core.$ZodType | undefined, at: Path = []): Path[] {
  if (!schema) return [];
  const def = schema._zod.def as unknown as Record<string, any> & { type: string };
  switch (def.type) {
    case 'string':
      return [at];
    case 'object':
      return Object.entries(def.shape as Record<string, z.core.$ZodType>).flatMap(([key, s]) => stringPaths(s, [...at, key]));
    case 'array':
      return stringPaths(def.element, [...at, 0]);
    case 'optional':
    case 'nullable':
    case 'default':
    case 'prefault':
    case 'readonly':
      return stringPaths(def.innerType, at);
    case 'pipe':
      return stringPaths(def.in, at);
    case 'union': {
      const found = (def.options as z.core.$ZodType[]).flatMap((o) => stringPaths(o, at));
      return found.length ? [at] : [];
    }
    default:
      return [];
  }
}

function inputWith(path: Path, value: string): unknown {
  if (!path.length) return value;
  const [head, ...rest] = path;
  if (typeof head === 'number') return [inputWith(rest, value)];
  return { [head!]: inputWith(rest, value) };
}

const appRouter = describeApi().router;
const procedures = listProcedures(appRouter).map((p) => ({
  ...p,
  fields: stringPaths((appRouter._def.procedures as unknown as Record<string, { _def: { inputs: z.core.$ZodType[] } }>)[p.path]!._def.inputs[0]),
}));
const BAD = { NUL: 'x\u0000y', BEL: 'x\u0007y' };

describe('NUL and control characters in any string input are a 400, on both doors', () => {
  it('the walk finds string fields across the router', () => {
    const count = procedures.reduce((n, p) => n + p.fields.length, 0);
    expect(count).toBeGreaterThan(10);
    expect(procedures.find((p) => p.path === 'products.list')!.fields).toContainEqual(['search']);
  });

  for (const p of procedures) {
    for (const field of p.fields) {
      for (const [label, value] of Object.entries(BAD)) {
        it(`${p.path} ${field.join('.')} with ${label}`, async () => {
          const input = inputWith(field, value);
          const trpcUrl = `${t.url}/trpc/${p.path}`;
          if (p.type === 'subscription') {
            // Refused before the stream opens: the usual 400 on both doors (tRPC's error JSON on /trpc).
            const sub = await trpcSubscribe(`${trpcUrl}?input=${encodeURIComponent(JSON.stringify({ json: { id: '00000000-0000-4000-8000-000000000000', ...(input as object) } }))}`, asAdmin);
            expect(sub.status, JSON.stringify(sub)).toBe(400);
            expect(sub.error?.data.issues?.map((i) => i.path)).toContainEqual(field);
            let url: string = p.meta.stream!.path;
            const params = [...url.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!);
            for (const name of params) url = url.replace(`{${name}}`, encodeURIComponent(field[0] === name ? value : '00000000-0000-4000-8000-000000000000'));
            const query = params.includes(String(field[0])) ? '' : `?${field[0]}=${encodeURIComponent(value)}`;
            const res = await t.rest('GET', `${url}${query}`, { headers: asAdmin });
            expect(res.status, JSON.stringify(res.body)).toBe(400);
            return;
          }
          const trpc =
            p.type === 'query'
              ? await fetch(`${trpcUrl}?input=${encodeURIComponent(JSON.stringify({ json: input }))}`, { headers: asAdmin })
              : await fetch(trpcUrl, { method: 'POST', headers: { ...asAdmin, 'content-type': 'application/json' }, body: JSON.stringify({ json: input }) });
          const trpcBody = (await trpc.json()) as { error?: { json: { data: { code: string; issues?: { path: Path; code: string }[] } } } };
          expect(trpc.status, JSON.stringify(trpcBody)).toBe(400);
          expect(trpcBody.error?.json.data.issues?.map((i) => i.path)).toContainEqual(field);

          const openapi = p.meta.openapi;
          if (!openapi) return;
          let url: string = openapi.path;
          const params = [...url.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!);
          for (const name of params) url = url.replace(`{${name}}`, encodeURIComponent(field[0] === name ? value : '00000000-0000-4000-8000-000000000000'));
          const inBody = ['POST', 'PUT', 'PATCH'].includes(openapi.method);
          const topLevel = !params.includes(String(field[0])) && field.length === 1 && !inBody ? `?${field[0]}=${encodeURIComponent(value)}` : '';
          const res = await t.rest(openapi.method, `${url}${topLevel}`, { headers: asAdmin, ...(inBody && !params.includes(String(field[0])) ? { body: input } : inBody ? { body: {} } : {}) });
          expect(res.status, JSON.stringify(res.body)).toBe(400);
          expect(res.body.code).toBe('BAD_REQUEST');
          if (!params.includes(String(field[0]))) expect(res.body.issues?.map((i: { path: Path }) => i.path)).toContainEqual(field);
        });
      }
    }
  }

  it('a name field says why, with its own issue code', async () => {
    const res = await t.rest('PATCH', '/users/me', { headers: asAdmin, body: { name: 'x\u0000y' } });
    expect(res.body.issues).toEqual([{ path: ['name'], message: 'Must not contain control characters', code: 'control_character' }]);
  });

  it('the findings from review: search=%00 on products, users and analytics events', async () => {
    for (const url of ['/products?search=%00', '/users?search=%00', '/analytics/events?name=%00']) {
      expect((await t.rest('GET', url, { headers: asAdmin })).status, url).toBe(400);
    }
  });
});
