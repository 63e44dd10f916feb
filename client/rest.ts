import createFetchClient, { type Client } from 'openapi-fetch';
import type { components, paths } from './rest-types.ts';

export type { components, operations, paths } from './rest-types.ts';

/** The one error body both doors answer with: `{ code, message, issues? }`. */
export type ApiError = components['schemas']['ApiError'];

export interface RestClientOptions {
  /** Base URL of the server, e.g. http://localhost:3000 (the client adds /api/v1). */
  url: string;
  /** Session token from `POST /auth/sign-in`; sent as `Authorization: Bearer <token>`. */
  token?: string | undefined;
  /** Extra headers for every request. */
  headers?: Record<string, string> | undefined;
  fetch?: ((request: Request) => Promise<Response>) | undefined;
}

/**
 * A REST client typed by the server's OpenAPI document (client/openapi.json through
 * openapi-typescript), on `openapi-fetch`: paths, parameters, bodies, each status's
 * response and the `ApiError` body are checked at compile time.
 *
 * @example
 * const rest = createRestClient({ url: 'http://localhost:3000' });
 * const { data, error } = await rest.GET('/products/{id}', { params: { path: { id } } });
 */
export function createRestClient(opts: RestClientOptions): Client<paths> {
  return createFetchClient<paths>({
    baseUrl: `${opts.url.replace(/\/$/, '')}/api/v1`,
    headers: { ...opts.headers, ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}) },
    ...(opts.fetch ? { fetch: opts.fetch } : {}),
  });
}
