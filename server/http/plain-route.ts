import type { FastifyInstance } from 'fastify';
import type { CreateContext } from '../trpc/context.ts';

/** What a plain route is registered with: the REST prefix and the request context both doors use. */
export interface PlainRouteOptions {
  prefix: string;
  createContext: CreateContext;
  isProduction: boolean;
}

/**
 * A REST route that is not a procedure (a binary download, a stream), declared in
 * a module's manifest (`routes`). Listed in the OpenAPI document beside the
 * procedures, under `path` (relative to the REST prefix, `{param}` style).
 */
export interface PlainRoute {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  /** The route's OpenAPI operation object. */
  operation: Record<string, unknown>;
  register(fastify: FastifyInstance, opts: PlainRouteOptions): void;
}

/** The OpenAPI `paths` entries of some plain routes. */
export function plainRoutePaths(routes: readonly PlainRoute[]): Record<string, Record<string, unknown>> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) (paths[route.path] ??= {})[route.method.toLowerCase()] = route.operation;
  return paths;
}
