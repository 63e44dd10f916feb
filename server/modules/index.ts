import { analyticsModule } from './analytics/analytics.module.ts';
import { authModule } from './auth/auth.module.ts';
import { notificationsModule } from './notifications/notification.module.ts';
import { productsModule } from './products/product.module.ts';
import { reportsModule } from './reports/report.module.ts';
import { usersModule } from './users/user.module.ts';

/**
 * Every module of the app, one line each. The root router (in this order: it is the
 * order of the OpenAPI document), the services, the event and permission catalogs,
 * the subscribers, tasks and plain routes are all derived from this list
 * (server/app.ts). Adding a module: `npm run make:module -- <name>`, or write its
 * folder by hand and add its line here.
 */
export const modules = [
  productsModule,
  authModule,
  usersModule,
  analyticsModule,
  reportsModule,
  notificationsModule,
] as const;
