import type { Model, QueryBuilder } from 'objection';
import { z } from 'zod';

/** `page` and `size` as every list takes them; spread into a list's input schema. */
export const pageQueryFields = {
  page: z.number().int().min(1).default(1).meta({ description: 'Page number, from 1' }),
  size: z.number().int().min(1).max(100).default(20).meta({ description: 'Items per page, 1–100' }),
};

export interface PageQuery {
  page: number;
  size: number;
}

/** One page of a list, as every list answers: `{ items, total, page, size, pages }`. */
export interface Page<T> extends PageQuery {
  items: T[];
  total: number;
  pages: number;
}

/** The output schema of a page of `item`, registered in the OpenAPI document as `id`. */
export function pageSchema<T extends z.ZodType>(item: T, id: string, noun: string) {
  return z
    .object({
      items: z.array(item),
      total: z.number().int().min(0).meta({ description: `Matching ${noun} across all pages` }),
      page: z.number().int().min(1),
      size: z.number().int().min(1).max(100),
      pages: z.number().int().min(0).meta({ description: 'Number of pages at this size' }),
    })
    .meta({ id });
}

/**
 * Runs a filtered query as one page: the rows (in the order `ordered` applies) and the
 * count of all matches, in parallel. A page past the end has no items and the right total.
 */
export async function fetchPage<M extends Model>(
  filtered: QueryBuilder<M, M[]>,
  query: PageQuery,
  ordered: (q: QueryBuilder<M, M[]>) => QueryBuilder<M, M[]>,
): Promise<Page<M>> {
  const [items, counted] = await Promise.all([
    ordered(filtered.clone()).offset((query.page - 1) * query.size).limit(query.size),
    filtered.clone().resultSize(),
  ]);
  return { items, total: counted, page: query.page, size: query.size, pages: Math.ceil(counted / query.size) };
}
