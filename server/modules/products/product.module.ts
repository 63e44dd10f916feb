import type { Knex } from 'knex';
import type { EventPublisher } from '../../events/bus.ts';
import { defineModule } from '../../lib/module.ts';
import type { Live } from '../../live/live.ts';
import { productEvents, type ProductEvents } from './product.events.ts';
import { productPermissions } from './product.permissions.ts';
import { productRouter } from './product.router.ts';
import { ProductService } from './product.service.ts';

/** The product catalog: CRUD with soft delete, `product.created` / `product.archived` events. */
export const productsModule = defineModule({
  name: 'products',
  services: {
    products: ({ db, events, live }: { db: Knex; events: EventPublisher<ProductEvents>; live: Live }) => new ProductService({ db, events, live }),
  },
  router: productRouter,
  events: productEvents,
  permissions: Object.values(productPermissions),
});
