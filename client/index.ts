import { createTRPCClient, httpBatchLink, type TRPCClient } from '@trpc/client';
import superjson from 'superjson';
import type { AppRouter } from '../server/router.ts';

export interface ClientOptions {
  /** Base URL of the server, e.g. http://localhost:3000 (the client adds /trpc). */
  url: string;
  /** Session token from `auth.signIn`; sent as `Authorization: Bearer <token>`. */
  token?: string;
  /** Extra headers for every request. */
  headers?: Record<string, string>;
  fetch?: typeof fetch;
}

/**
 * A tRPC client typed by the server's AppRouter: every procedure, its input and its
 * output are checked at compile time. Calls made in the same tick share one request.
 */
export function createClient(opts: ClientOptions): TRPCClient<AppRouter> {
  return createTRPCClient<AppRouter>({
    links: [
      httpBatchLink({
        url: `${opts.url.replace(/\/$/, '')}/trpc`,
        transformer: superjson,
        headers: () => ({ ...opts.headers, ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}) }),
        ...(opts.fetch ? { fetch: opts.fetch } : {}),
      }),
    ],
  });
}

export type { AppRouter };
export { TRPCClientError } from '@trpc/client';
export { paginate, type ListInput, type ListPage } from './paginate.ts';
