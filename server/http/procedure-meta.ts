import type { AnyTRPCRouter } from '@trpc/server';
import type { Meta } from '../trpc/init.ts';

/** One procedure as the HTTP layer sees it: its tRPC path, type and meta. */
export interface ProcedureInfo {
  path: string;
  type: 'query' | 'mutation' | 'subscription';
  meta: Meta;
}

/** Flat list of every procedure in a router, for the REST door, the OpenAPI document and the access test. */
export function listProcedures(router: AnyTRPCRouter): ProcedureInfo[] {
  const procedures = router._def.procedures as Record<string, { _def: { type: ProcedureInfo['type']; meta?: Meta } }>;
  return Object.entries(procedures).map(([path, p]) => ({ path, type: p._def.type, meta: p._def.meta ?? {} }));
}
