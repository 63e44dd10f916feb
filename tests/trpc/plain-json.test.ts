import superjson from 'superjson';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { describeApi } from '../../server/app.ts';
import { ProductSchema } from '../../server/modules/products/product.schemas.ts';
import { outputIsPlainJson } from '../../server/trpc/plain-json.ts';

/**
 * The tRPC door writes `JSON.stringify(data)` into the envelope, skipping superjson, only
 * for outputs superjson would pass through untouched (server/trpc/plain-json.ts).
 */
describe('outputIsPlainJson', () => {
  it('says yes for the product, whose every value superjson leaves alone', () => {
    expect(outputIsPlainJson(ProductSchema)).toBe(true);
    const sample = ProductSchema.parse({ id: '6f1c2d3e-0000-4000-8000-000000000000', name: 'Cup', price: '1.00', isActive: true, version: 3, createdAt: '2026-01-01T00:00:00.000Z', updatedAt: '2026-01-01T00:00:00.000Z' });
    expect(superjson.serialize(sample)).toEqual({ json: sample });
  });

  it('says no wherever superjson would add meta: undefined, -0, dates, bigints, maps, transforms, unknown', () => {
    expect(superjson.serialize({ a: undefined }).meta).toBeDefined();
    expect(superjson.serialize({ a: -0 }).meta).toBeDefined();
    for (const schema of [
      z.object({ a: z.string().optional() }),
      z.object({ n: z.number().min(0) }),
      z.object({ n: z.number() }),
      z.date(),
      z.bigint(),
      z.map(z.string(), z.string()),
      z.string().transform((s) => s.length),
      z.unknown(),
      z.void(),
      z.looseObject({ a: z.string() }),
      z.record(z.string(), z.string()),
      z.array(z.object({ when: z.date() })),
    ]) {
      expect(outputIsPlainJson(schema), JSON.stringify(schema._zod.def.type)).toBe(false);
    }
    expect(outputIsPlainJson(z.object({ n: z.number().int().min(1), s: z.enum(['a', 'b']).nullable(), l: z.array(z.union([z.literal('x'), z.boolean()])) }))).toBe(true);
  });

  it('finds plain-JSON outputs in the app (products.get among them)', () => {
    const procedures = describeApi().router._def.procedures as unknown as Record<string, { _def: { output?: unknown } }>;
    const plain = Object.keys(procedures).filter((p) => outputIsPlainJson(procedures[p]!._def.output));
    expect(plain).toContain('products.get');
  });
});
