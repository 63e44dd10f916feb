/**
 * The worked example of docs/testing.md, run as part of `npm test` so the page cannot
 * show a test that does not pass. The regions between `#region` markers are copied
 * into the page by `npm run docs`.
 */
// #region example
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, signedInUser } from '../helpers/auth.ts';
import { makeProduct } from '../helpers/factories.ts';
import { startTestApp, type TestApp } from '../helpers/test-app.ts';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp(); // the real app, on its own database cloned from the migrated template
});
afterAll(() => t.close());

describe('archiving a product', () => {
  it('needs products:delete, and hides the product from both doors', async () => {
    const product = await makeProduct(t.app.db, { name: 'Old mug' });
    const member = await signedInUser(t); // roles: ['member'], which may not delete
    const admin = await signedInUser(t, { roles: ['admin'] });

    const refused = await t.rest('DELETE', `/products/${product.id}`, { headers: bearer(member.token) });
    expect(refused.status).toBe(403);
    expect(refused.body.code).toBe('FORBIDDEN');

    await t.client(admin.token).products.delete.mutate({ id: product.id }); // the tRPC door
    expect((await t.rest('GET', `/products/${product.id}`)).status).toBe(404); // the REST door
  });
});
// #endregion example
