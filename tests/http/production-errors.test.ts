import { TRPCClientError } from '@trpc/client';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { makeProduct } from '../helpers/factories.ts';
import { startTestApp, type TestApp } from '../helpers/test-app.ts';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ NODE_ENV: 'production' });
});
afterAll(() => t.close());

it('a real fault is 500 with no stack trace or SQL text in production, on both doors', async () => {
  const product = await makeProduct(t.app.db);
  await t.app.db.raw('ALTER TABLE products RENAME COLUMN name TO title');
  try {
    const rest = await t.rest('GET', `/products/${product.id}`);
    expect(rest.status).toBe(500);
    expect(rest.body).toEqual({ code: 'INTERNAL_SERVER_ERROR', message: 'Internal server error' });

    const raw = await fetch(`${t.url}/trpc/products.get?input=${encodeURIComponent(JSON.stringify({ json: { id: product.id } }))}`);
    expect(raw.status).toBe(500);
    const text = await raw.text();
    expect(text).not.toMatch(/select |column|"name"|stack|at \w+ \(/i);
    expect(JSON.parse(text).error.json.message).toBe('Internal server error');

    const error = await t.client().products.get.query({ id: product.id }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TRPCClientError);
    expect((error as TRPCClientError<never>).message).toBe('Internal server error');
  } finally {
    await t.app.db.raw('ALTER TABLE products RENAME COLUMN title TO name');
  }
});
