import { analyticsRouter } from './modules/analytics/analytics.router.ts';
import { authRouter } from './modules/auth/auth.router.ts';
import { productRouter } from './modules/products/product.router.ts';
import { userRouter } from './modules/users/user.router.ts';
import { router } from './trpc/init.ts';

/** Every module's router, one line each. The tRPC name is the key; REST paths are in each procedure's meta. */
export const appRouter = router({
  products: productRouter,
  auth: authRouter,
  users: userRouter,
  analytics: analyticsRouter,
});

/** The type the typed client is built from (client/index.ts). */
export type AppRouter = typeof appRouter;
