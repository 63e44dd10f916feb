/**
 * Each module keeps its test factory in its own folder (`server/modules/<name>/<entity>.factory.ts`,
 * rows inserted straight into the database, every field defaulted); this file only
 * gathers them for tests that need several.
 */
export { makeRole } from '../../server/modules/auth/role.factory.ts';
export { makeProduct } from '../../server/modules/products/product.factory.ts';
export { makeReport } from '../../server/modules/reports/report.factory.ts';
export { DEFAULT_PASSWORD, makeUser, type MadeUser } from '../../server/modules/users/user.factory.ts';
