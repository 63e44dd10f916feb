import { z } from 'zod';
import { defineEvents } from '../../events/catalog.ts';
import { MoneyString } from '../../lib/decimal.ts';

/** What the products module publishes. */
export const productEvents = defineEvents({
  /** A product was created. */
  'product.created': z.object({
    productId: z.uuid(),
    name: z.string(),
    price: MoneyString,
  }),
  /** An active product was archived (soft-deleted). */
  'product.archived': z.object({
    productId: z.uuid(),
  }),
});

export type ProductEvents = typeof productEvents;
