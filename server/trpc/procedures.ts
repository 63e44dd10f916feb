import { baseProcedure } from './init.ts';

/**
 * Procedure builders, one per kind of access. A procedure is built from exactly
 * one of them, and the builder writes its access rule into the procedure's meta,
 * where the OpenAPI document and the access test read it.
 */
export const publicProcedure = baseProcedure.meta({ access: { kind: 'public' } });
