import { analyticsRouter } from './modules/analytics/analytics.router.ts';
import { authRouter } from './modules/auth/auth.router.ts';
import { productRouter } from './modules/products/product.router.ts';
import { REPORT_FILE_PATH, reportFileOperation } from './modules/reports/report.file-route.ts';
import { reportRouter } from './modules/reports/report.router.ts';
import { userRouter } from './modules/users/user.router.ts';
import { router } from './trpc/init.ts';

/** Every module's router, one line each. The tRPC name is the key; REST paths are in each procedure's meta. */
export const appRouter = router({
  products: productRouter,
  auth: authRouter,
  users: userRouter,
  analytics: analyticsRouter,
  reports: reportRouter,
});

/**
 * REST routes that are not procedures (binary downloads), by path under /api/v1, with
 * their OpenAPI operations, so the document lists them beside the procedures.
 */
export const plainRestPaths: Record<string, Record<string, unknown>> = {
  [REPORT_FILE_PATH]: reportFileOperation,
};

/** The type the typed client is built from (client/index.ts). */
export type AppRouter = typeof appRouter;
