/**
 * The list code docs/lists.md shows, compiled by `npm run typecheck` against the real
 * pagination helper, search helper and typed client.
 */
import type { Knex } from 'knex';
import { Model } from 'objection';
import { z } from 'zod';
import { createClient, paginate } from '../../client/index.ts';
import { defineList, fetchPage, listPageSchema, listQueryFields } from '../../server/lib/pagination.ts';
import { searchCondition, searchTermSchema } from '../../server/lib/text-search.ts';

export async function walkExample(token: string): Promise<void> {
  // #region paginate
  const api = createClient({ url: 'http://localhost:3000', token });
  for await (const product of paginate(api.products.list, { search: 'cup' })) console.log(product.name);
  for await (const user of paginate(api.users.list, { search: 'ada', size: 100 })) console.log(user.email);
  // #endregion paginate
}

// #region model
// thing.model.ts: the list's identity and order, declared once
export class Thing extends Model {
  static override tableName = 'things';
  id!: string;
  name!: string;
  createdAt!: Date;

  static readonly list = defineList({
    name: 'things.list',
    table: 'things',
    direction: 'desc',
    keys: [
      { column: 'created_at', type: 'timestamptz' },
      { column: 'id', type: 'uuid' },
    ],
  });
}
// #endregion model

// #region schemas
// thing.schemas.ts: the shared paging fields, the list's own filters, the page shape
export const ThingSchema = z.object({ id: z.uuid(), name: z.string() }).meta({ id: 'Thing' });
export const ListThingsInput = z.object({ ...listQueryFields, search: searchTermSchema('the name') });
export const ThingPageSchema = listPageSchema(ThingSchema, 'ThingPage', 'things');
// #endregion schemas

export class ThingService {
  constructor(private readonly deps: { db: Knex }) {}

  // #region service
  // thing.service.ts: WHERE clauses only, then one call; the cursor is bound to the filter values
  async list(query: z.output<typeof ListThingsInput>) {
    const filtered = Thing.query(this.deps.db);
    if (query.search) filtered.whereRaw(...searchCondition('things.name', query.search));
    const page = await fetchPage(Thing.list, filtered, query, { search: query.search });
    return { ...page, items: page.items.map((t) => ({ id: t.id, name: t.name })) };
  }
  // #endregion service
}
