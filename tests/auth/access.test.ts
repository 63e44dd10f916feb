import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listProcedures, type ProcedureInfo } from '../../server/http/procedure-meta.ts';
import { needsVerifiedEmail } from '../../server/trpc/access.ts';
import { describeApi, PERMISSIONS } from '../../server/app.ts';
import { bearer, signedInUser } from '../helpers/auth.ts';
import { makeRole } from '../helpers/factories.ts';
import { openStream, trpcSubscribe } from '../helpers/sse.ts';
import { startTestApp, type TestApp } from '../helpers/test-app.ts';

/**
 * Walks every procedure of the app's router, and every plain route (binary downloads,
 * REST only), and calls it over HTTP, through both doors where it has both, as nobody, as a plain member and as a user holding every permission but
 * the one required. A procedure that is not declared public and lets any of them
 * through fails here, so a new procedure cannot ship unprotected by accident.
 */
let t: TestApp;
const api = describeApi();
/** Procedures and plain routes alike; `plain` ones are served on the REST door only. */
const procedures: (ProcedureInfo & { plain: boolean })[] = [
  ...listProcedures(api.router).map((p) => ({ ...p, plain: false })),
  ...api.routes.map((r) => ({ path: r.name, type: 'query' as const, meta: r.meta, plain: true })),
];
const SOME_ID = '00000000-0000-4000-8000-000000000000';

beforeAll(async () => {
  t = await startTestApp({ SIGN_IN_LIMIT_PER_MINUTE: '1000' });
});
afterAll(() => t.close());

/** Calls a procedure on the tRPC door with no input: access is checked before the input. */
async function callTrpc(p: ProcedureInfo, headers: Record<string, string>) {
  if (p.type === 'subscription') return subscribeTrpc(p, headers);
  const res =
    p.type === 'query'
      ? await fetch(`${t.url}/trpc/${p.path}`, { headers })
      : await fetch(`${t.url}/trpc/${p.path}`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: '{}' });
  // superjson wraps the error shape in `json`.
  const body = (await res.json()) as { error?: { json: { message: string; data: { code: string } } } };
  return { status: res.status, code: body.error?.json.data.code, message: body.error?.json.message };
}

/**
 * Opens a subscription on the tRPC door (SSE): an error before the stream opens is its
 * status and tRPC's error JSON; a first event means the call got through.
 */
async function subscribeTrpc(p: ProcedureInfo, headers: Record<string, string>) {
  const input = encodeURIComponent(JSON.stringify({ json: { id: SOME_ID } }));
  const r = await trpcSubscribe(`${t.url}/trpc/${p.path}?input=${input}`, headers);
  return { status: r.status, code: r.error?.data.code, message: r.error?.message };
}

/** Calls a procedure on the REST door (when it has one), with placeholder path parameters and an empty body. */
async function callRest(p: ProcedureInfo, headers: Record<string, string>) {
  if (p.meta.stream) {
    const stream = await openStream(`${t.url}/api/v1${p.meta.stream.path.replace(/\{[^}]+\}/g, SOME_ID)}`, { headers });
    stream.close();
    return { status: stream.status, code: stream.error?.code, message: stream.error?.message };
  }
  const { method, path } = p.meta.openapi!;
  const url = path.replace(/\{[^}]+\}/g, SOME_ID);
  const res = await t.rest(method, url, { headers, ...(method === 'GET' || method === 'DELETE' ? {} : { body: {} }) });
  return { status: res.status, code: res.body?.code, message: res.body?.message };
}

/** `headers` is called once per door, so a door can be given a fresh session (sign-out ends one). */
async function callBothDoors(p: ProcedureInfo & { plain: boolean }, headers: () => Record<string, string> | Promise<Record<string, string>>) {
  const results = p.plain ? [] : [{ door: 'trpc', ...(await callTrpc(p, await headers())) }];
  if (p.meta.openapi || p.meta.stream) results.push({ door: 'rest', ...(await callRest(p, await headers())) });
  return results;
}

const anonymous = () => ({});
const asNewUser =
  (roles?: string[], opts: { emailVerified?: boolean } = {}) =>
  async () =>
    bearer((await signedInUser(t, { ...(roles ? { roles } : {}), ...opts })).token);

/** What the seeded `member` role holds (`reports:request`, granted by a migration). */
async function memberHolds(permission: string): Promise<boolean> {
  const row = await t.app.db('role_permissions').join('roles', 'roles.id', 'role_permissions.role_id').where({ 'roles.name': 'member', permission }).first();
  return row !== undefined;
}

/** A role with every permission of the catalog except one, made once per permission. */
const allButRoles = new Map<string, Promise<string>>();
function allBut(permission: string): Promise<string> {
  let role = allButRoles.get(permission);
  if (!role) {
    const name = `all-but-${permission.replace(':', '-')}`;
    role = makeRole(t.app.db, name, PERMISSIONS.filter((x) => x !== permission)).then(() => name);
    allButRoles.set(permission, role);
  }
  return role;
}

/**
 * The procedures anyone may call. Making another one public is a decision, taken
 * by adding it here; a procedure that is public by mistake fails the first test.
 */
const PUBLIC_PROCEDURES = ['auth.signIn', 'auth.signUp', 'auth.verifyEmail', 'auth.requestPasswordReset', 'auth.resetPassword', 'products.changes', 'products.get', 'products.list'];

describe('every procedure is protected as it declares', () => {
  it('exactly the listed procedures are public', () => {
    expect(procedures.filter((p) => p.meta.access?.kind === 'public').map((p) => p.path).sort()).toEqual([...PUBLIC_PROCEDURES].sort());
  });

  it('the router has procedures, and every one declares a known access rule', () => {
    expect(procedures.length).toBeGreaterThan(5);
    expect(procedures.filter((p) => p.plain).map((p) => p.path)).toContain('reports.file');
    for (const p of procedures) {
      expect(['public', 'signed-in', 'permission'], p.path).toContain(p.meta.access?.kind);
      if (p.meta.access?.kind === 'permission') expect(PERMISSIONS, p.path).toContain(p.meta.access.permission);
    }
  });

  for (const p of procedures) {
    const access = p.meta.access;
    if (access?.kind === 'public') {
      it(`${p.path} is public: an anonymous caller gets past the access check`, async () => {
        for (const r of await callBothDoors(p, anonymous)) {
          expect([401, 403], `${r.door} ${r.status}`).not.toContain(r.status);
          expect(r.status, `${r.door}: ${r.message}`).toBeLessThan(500);
        }
      });
      continue;
    }

    it(`${p.path} refuses an anonymous caller with 401 on both doors`, async () => {
      for (const r of await callBothDoors(p, anonymous)) {
        expect(r, r.door).toMatchObject({ status: 401, code: 'UNAUTHORIZED', message: 'Sign in required' });
      }
    });

    if (access?.kind === 'permission') {
      it(`${p.path} refuses a plain member with 403 on both doors, unless members hold ${access.permission}`, async () => {
        const held = await memberHolds(access.permission);
        for (const r of await callBothDoors(p, asNewUser())) {
          if (held) expect([401, 403], `${r.door} ${r.status}: ${r.message}`).not.toContain(r.status);
          else expect(r, r.door).toMatchObject({ status: 403, code: 'FORBIDDEN', message: `Requires permission ${access.permission}` });
        }
      });

      if (needsVerifiedEmail(access.permission)) {
        it(`${p.path} needs a verified email: holding ${access.permission} without one is 403 EMAIL_NOT_VERIFIED on both doors`, async () => {
          for (const r of await callBothDoors(p, asNewUser(['admin'], { emailVerified: false }))) {
            expect(r, r.door).toMatchObject({ status: 403, code: 'EMAIL_NOT_VERIFIED' });
          }
        });
      }

      it(`${p.path} refuses a user holding every permission but ${access.permission}`, async () => {
        const role = await allBut(access.permission);
        for (const r of await callBothDoors(p, asNewUser([role]))) expect(r, r.door).toMatchObject({ status: 403, code: 'FORBIDDEN' });
      });
    } else {
      it(`${p.path} lets a plain member in`, async () => {
        for (const r of await callBothDoors(p, asNewUser())) {
          expect([401, 403], `${r.door} ${r.status}`).not.toContain(r.status);
          expect(r.status, `${r.door}: ${r.message}`).toBeLessThan(500);
        }
      });
    }
  }
});

describe('the OpenAPI document states each operation’s access', () => {
  it('declares the bearer and cookie schemes, and per operation its security, x-permissions and 401/403', async () => {
    const doc = (await (await fetch(`${t.url}/openapi.json`)).json()) as any;
    expect(doc.components.securitySchemes).toEqual({
      bearerAuth: expect.objectContaining({ type: 'http', scheme: 'bearer' }),
      sessionCookie: expect.objectContaining({ type: 'apiKey', in: 'cookie', name: 'session' }),
    });
    for (const p of procedures.filter((x) => x.meta.openapi)) {
      const op = doc.paths[p.meta.openapi!.path][p.meta.openapi!.method.toLowerCase()];
      const access = p.meta.access!;
      const label = `${p.meta.openapi!.method} ${p.meta.openapi!.path}`;
      expect(op['x-access'], label).toBe(access.kind);
      if (access.kind === 'public') {
        expect(op.security, label).toEqual([]);
        expect(op['x-permissions'], label).toBeUndefined();
        expect(Object.keys(op.responses), label).not.toContain('403');
        continue;
      }
      const needs = access.kind === 'permission' ? [access.permission] : [];
      expect(op.security, label).toEqual([{ bearerAuth: needs }, { sessionCookie: needs }]);
      expect(op.responses['401'], label).toBeDefined();
      if (access.kind === 'permission') {
        expect(op['x-permissions'], label).toEqual([access.permission]);
        expect(op.responses['403'], label).toBeDefined();
        const verified = needsVerifiedEmail(access.permission);
        expect(op['x-verified-email'], label).toBe(verified ? true : undefined);
        if (verified) expect(op.responses['403'].description, label).toContain('EMAIL_NOT_VERIFIED');
      }
    }
  });
});
