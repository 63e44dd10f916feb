import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, signedInUser } from '../helpers/auth.ts';
import { startTestApp, type TestApp } from '../helpers/test-app.ts';

/** users.phone from the outside, through both doors. */
let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.close());

const INVALID = [
  ['no plus', '14155550123'],
  ['six digits', '+123456'],
  ['sixteen digits', '+1234567890123456'],
  ['spaces inside', '+1 415 555 0123'],
  ['letters', '+1415CALLME'],
  ['empty', ''],
] as const;

describe('PATCH /api/v1/users/me { phone }', () => {
  it('sets a valid phone, which GET /users/me then returns; surrounding spaces are dropped', async () => {
    const { token } = await signedInUser(t);
    const before = await t.rest('GET', '/users/me', { headers: bearer(token) });
    expect(before.body.phone).toBeNull();

    const set = await t.rest('PATCH', '/users/me', { body: { phone: ' +14155550123 ' }, headers: bearer(token) });
    expect(set.status).toBe(200);
    expect(set.body).toMatchObject({ id: before.body.id, name: before.body.name, phone: '+14155550123', permissions: before.body.permissions });
    expect((await t.rest('GET', '/users/me', { headers: bearer(token) })).body.phone).toBe('+14155550123');
    expect(await t.app.db('users').where({ id: before.body.id }).first('phone')).toEqual({ phone: '+14155550123' });

    // The shortest and the longest E.164-like numbers are both accepted.
    for (const phone of ['+1234567', '+123456789012345']) {
      expect((await t.rest('PATCH', '/users/me', { body: { phone }, headers: bearer(token) })).body.phone).toBe(phone);
    }
  });

  it.each(INVALID)('refuses %s with 400 naming the phone field, and keeps the old number', async (_case, phone) => {
    const { token } = await signedInUser(t);
    await t.rest('PATCH', '/users/me', { body: { phone: '+4930123456' }, headers: bearer(token) });
    const res = await t.rest('PATCH', '/users/me', { body: { phone }, headers: bearer(token) });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('BAD_REQUEST');
    expect(res.body.issues).toEqual([expect.objectContaining({ path: ['phone'], message: 'Must be + followed by 7–15 digits (E.164), e.g. +14155550123' })]);
    expect((await t.rest('GET', '/users/me', { headers: bearer(token) })).body.phone).toBe('+4930123456');
  });

  it('clears the phone with null; name can change alone or with it; an empty body is refused', async () => {
    const { token } = await signedInUser(t);
    await t.rest('PATCH', '/users/me', { body: { phone: '+4930123456' }, headers: bearer(token) });
    const cleared = await t.rest('PATCH', '/users/me', { body: { phone: null }, headers: bearer(token) });
    expect(cleared.status).toBe(200);
    expect(cleared.body.phone).toBeNull();
    expect((await t.rest('GET', '/users/me', { headers: bearer(token) })).body.phone).toBeNull();

    const renamed = await t.rest('PATCH', '/users/me', { body: { name: '  Grace Hopper ' }, headers: bearer(token) });
    expect(renamed.body).toMatchObject({ name: 'Grace Hopper', phone: null });

    const empty = await t.rest('PATCH', '/users/me', { body: {}, headers: bearer(token) });
    expect(empty.status).toBe(400);
    expect(empty.body.issues).toEqual([expect.objectContaining({ message: 'Provide at least one of name, phone' })]);
  });

  it('needs a session', async () => {
    const res = await t.rest('PATCH', '/users/me', { body: { phone: '+14155550123' } });
    expect(res.status).toBe(401);
  });

  it('is described in the OpenAPI document with the E.164 pattern', async () => {
    const doc = (await (await fetch(`${t.url}/openapi.json`)).json()) as any;
    const operation = doc.paths['/users/me'].patch;
    const schema = operation.requestBody.content['application/json'].schema;
    expect(schema.properties.phone.anyOf ?? [schema.properties.phone]).toEqual(
      expect.arrayContaining([expect.objectContaining({ type: 'string', pattern: '^\\+[0-9]{7,15}$' })]),
    );
  });
});

describe('users.updateMe and users.me over the typed client', () => {
  it('sets, rejects and clears the phone', async () => {
    const { token } = await signedInUser(t);
    const api = t.client(token);
    expect((await api.users.updateMe.mutate({ phone: '+442071838750' })).phone).toBe('+442071838750');
    expect((await api.users.me.query()).phone).toBe('+442071838750');

    for (const [, phone] of INVALID) {
      await expect(api.users.updateMe.mutate({ phone })).rejects.toMatchObject({
        data: { code: 'BAD_REQUEST', issues: [expect.objectContaining({ path: ['phone'] })] },
      });
    }
    expect((await api.users.me.query()).phone).toBe('+442071838750');

    expect((await api.users.updateMe.mutate({ phone: null })).phone).toBeNull();
    expect((await api.users.me.query()).phone).toBeNull();
  });
});

describe('the database holds the same rule', () => {
  it('refuses an invalid phone written around the API', async () => {
    const { user } = await signedInUser(t);
    await expect(t.app.db('users').where({ id: user.id }).update({ phone: '0800 123' })).rejects.toMatchObject({ code: '23514', constraint: 'users_phone_e164' });
  });
});
