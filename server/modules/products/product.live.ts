import { z } from 'zod';
import { RefetchEventSchema, resumable } from '../../live/live.ts';
import { ProductSchema } from './product.schemas.ts';

/** The live topic every product change is published on (`products.changes`). */
export const PRODUCTS_TOPIC = 'products';

export const ProductChangeSchema = z
  .object({
    type: z.enum(['product.created', 'product.updated', 'product.archived']).meta({ description: 'What happened; `product.updated` also covers a restore (isActive back to true)' }),
    product: ProductSchema,
  })
  .meta({ id: 'ProductChange', description: 'A product was created, changed or archived (as it is after the change)' });

/** What `products.changes` streams: a change, or the signal to refetch the list. */
export const ProductChangesEventSchema = z.union([ProductChangeSchema, RefetchEventSchema]).meta({ id: 'ProductChangesEvent' });

export const ProductChangesInput = z.object({ ...resumable });

export type ProductChange = z.output<typeof ProductChangeSchema>;
