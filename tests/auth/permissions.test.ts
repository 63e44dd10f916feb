import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PERMISSIONS } from '../../server/app.ts';
import { bearer, signedInUser, signIn } from '../helpers/auth.ts';
import { DEFAULT_PASSWORD, makeProduct, makeRole, makeUser } from '../helpers/factories.ts';
import { startTestApp, type TestApp } from '../helpers/test-app.ts';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ SIGN_IN_LIMIT_PER_MINUTE: '1000' });
});
afterAll(() => t.close());

async function permissionsOfRole(name: string): Promise<string[]> {
  const rows = await t.app.db('role_permissions').join('roles', 'roles.id', 'role_permissions.role_id').where('roles.name', name).orderBy('permission');
  return rows.map((r: { permission: string }) => r.permission);
}

describe('seeded roles', () => {
  it('admin holds every permission of the catalog (a new permission needs its migration)', async () => {
    expect(await permissionsOfRole('admin')).toEqual([...PERMISSIONS].sort());
  });

  it('member holds none of the product writes', async () => {
    const member = await permissionsOfRole('member');
    expect(member.filter((p) => p.startsWith('products:'))).toEqual([]);
  });

  it('sign-up gives the member role', async () => {
    const res = await t.rest('POST', '/auth/sign-up', { body: { email: 'new@example.com', name: 'New', password: DEFAULT_PASSWORD } });
    expect(res.status).toBe(202);
    const { id } = await t.app.db('users').where({ email: 'new@example.com' }).first();
    expect((await t.app.services.roles.rolesOf([id])).get(id)).toEqual(['member']);
  });
});

describe('products: list and get are public, writes need their permission', () => {
  it('a member deleting a product gets 403; an admin gets 204', async () => {
    const product = await makeProduct(t.app.db);
    const { token: member } = await signedInUser(t);
    const { token: admin } = await signedInUser(t, { roles: ['admin'] });

    const refused = await t.rest('DELETE', `/products/${product.id}`, { headers: bearer(member) });
    expect(refused.status).toBe(403);
    expect(refused.body).toEqual({ code: 'FORBIDDEN', message: 'Requires permission products:delete' });
    await expect(t.client(member).products.delete.mutate({ id: product.id })).rejects.toMatchObject({
      message: 'Requires permission products:delete',
      data: { code: 'FORBIDDEN', httpStatus: 403 },
    });
    expect((await t.app.db('products').where({ id: product.id }).first()).isActive).toBe(true);

    expect((await t.rest('DELETE', `/products/${product.id}`, { headers: bearer(admin) })).status).toBe(204);
    expect((await t.app.db('products').where({ id: product.id }).first()).isActive).toBe(false);
  });

  it('anonymous: list and get work, writes are 401 with the one error shape on both doors', async () => {
    const product = await makeProduct(t.app.db);
    expect((await t.rest('GET', '/products')).status).toBe(200);
    expect((await t.rest('GET', `/products/${product.id}`)).status).toBe(200);
    const res = await t.rest('POST', '/products', { body: { name: 'x', price: '1' } });
    expect(res.status).toBe(401);
    expect(res.body).toEqual({ code: 'UNAUTHORIZED', message: 'Sign in required' });
    await expect(t.client().products.create.mutate({ name: 'x', price: '1' })).rejects.toMatchObject({
      message: 'Sign in required',
      data: { code: 'UNAUTHORIZED', httpStatus: 401 },
    });
  });

  it('each write needs exactly its own permission', async () => {
    await makeRole(t.app.db, 'product-creator', ['products:create']);
    const { token } = await signedInUser(t, { roles: ['product-creator'] });
    const product = await makeProduct(t.app.db);
    expect((await t.rest('POST', '/products', { body: { name: 'Allowed', price: '1' }, headers: bearer(token) })).status).toBe(201);
    expect((await t.rest('PATCH', `/products/${product.id}`, { body: { name: 'No' }, headers: bearer(token) })).status).toBe(403);
    expect((await t.rest('DELETE', `/products/${product.id}`, { headers: bearer(token) })).status).toBe(403);
  });
});

describe('user administration (users:manage)', () => {
  it('lists users with their roles, and never a hash', async () => {
    const { token } = await signedInUser(t, { roles: ['admin'] });
    const target = await makeUser(t.app.db, { name: 'Findable Person' });
    const res = await t.rest('GET', '/users?search=findable', { headers: bearer(token) });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ items: [expect.objectContaining({ id: target.id, roles: ['member'] })], total: 1, totalExact: true, page: 1, size: 20, pages: 1, nextCursor: null });
    expect(Object.keys(res.body.items[0]).sort()).toEqual(['createdAt', 'email', 'emailVerified', 'id', 'isActive', 'name', 'phone', 'roles', 'updatedAt', 'version']);
  });

  it('setRoles takes effect on the next request', async () => {
    const { token: admin } = await signedInUser(t, { roles: ['admin'] });
    const { user, token } = await signedInUser(t);
    const product = await makeProduct(t.app.db);
    expect((await t.rest('DELETE', `/products/${product.id}`, { headers: bearer(token) })).status).toBe(403);

    const granted = await t.rest('PUT', `/users/${user.id}/roles`, { body: { roles: ['member', 'admin'] }, headers: bearer(admin) });
    expect(granted.status).toBe(200);
    expect(granted.body.roles).toEqual(['admin', 'member']);
    expect((await t.rest('DELETE', `/products/${product.id}`, { headers: bearer(token) })).status).toBe(204);

    await t.client(admin).users.setRoles.mutate({ id: user.id, roles: ['member'] });
    expect((await t.rest('PATCH', `/products/${product.id}`, { body: { isActive: true }, headers: bearer(token) })).status).toBe(403);
  });

  it('setRoles refuses an unknown role (400, nothing changed) and an unknown user (404)', async () => {
    const { token: admin } = await signedInUser(t, { roles: ['admin'] });
    const user = await makeUser(t.app.db);
    const res = await t.rest('PUT', `/users/${user.id}/roles`, { body: { roles: ['member', 'superuser'] }, headers: bearer(admin) });
    expect(res.status).toBe(400);
    expect(res.body.issues).toEqual([{ path: ['roles', 1], message: 'No role named superuser', code: 'unknown_role' }]);
    const me = await t.rest('GET', '/users/me', { headers: bearer(await signIn(t, user)) });
    expect(me.body.roles).toEqual(['member']);
    const missing = await t.rest('PUT', '/users/00000000-0000-4000-8000-000000000000/roles', { body: { roles: [] }, headers: bearer(admin) });
    expect(missing.status).toBe(404);
  });

  it('deactivate ends every session of the user at once and blocks sign-in', async () => {
    const { user: adminUser, token: admin } = await signedInUser(t, { roles: ['admin'] });
    const user = await makeUser(t.app.db);
    const tokens = [await signIn(t, user), await signIn(t, user)];

    const res = await t.rest('POST', `/users/${user.id}/deactivate`, { headers: bearer(admin) });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: user.id, isActive: false });
    for (const token of tokens) expect((await t.rest('GET', '/users/me', { headers: bearer(token) })).status).toBe(401);
    expect(await t.app.db('sessions').where({ userId: user.id })).toEqual([]);
    const signInAgain = await t.rest('POST', '/auth/sign-in', { body: { email: user.email, password: DEFAULT_PASSWORD } });
    expect(signInAgain.status).toBe(401);

    const self = await t.rest('POST', `/users/${adminUser.id}/deactivate`, { headers: bearer(admin) });
    expect(self.status).toBe(409);
  });

  it('a member gets 403 on every administration procedure', async () => {
    const { user, token } = await signedInUser(t);
    expect((await t.rest('GET', '/users', { headers: bearer(token) })).status).toBe(403);
    expect((await t.rest('PUT', `/users/${user.id}/roles`, { body: { roles: ['admin'] }, headers: bearer(token) })).status).toBe(403);
    expect((await t.rest('POST', `/users/${user.id}/deactivate`, { headers: bearer(token) })).status).toBe(403);
  });
});
