import { createTRPCClient, httpBatchLink, httpLink, httpSubscriptionLink, splitLink, TRPCClientError, type TRPCClient } from '@trpc/client';
import { EventSource } from 'eventsource';
import superjson from 'superjson';
import type { AppRouter } from './router.ts';

export interface ClientOptions {
  /** Base URL of the server, e.g. http://localhost:3000 (the client adds /trpc). */
  url: string;
  /** Session token from `auth.signIn`; sent as `Authorization: Bearer <token>`. */
  token?: string | undefined;
  /** Extra headers for every request. */
  headers?: Record<string, string> | undefined;
  fetch?: typeof fetch | undefined;
}

type LinkFetch = NonNullable<Parameters<typeof httpBatchLink>[0]['fetch']>;

/** The operation context `withIdempotency` sets: the key travels as the Idempotency-Key header. */
interface IdempotencyContext {
  idempotencyKey?: string;
  [key: string]: unknown;
}

/**
 * A tRPC client typed by the server's AppRouter: every procedure, its input and its
 * output are checked at compile time. Calls made in the same tick share one request,
 * except keyed mutations (`withIdempotency`): an Idempotency-Key covers one call, so
 * those go alone.
 */
export function createClient(opts: ClientOptions): TRPCClient<AppRouter> {
  const url = `${opts.url.replace(/\/$/, '')}/trpc`;
  const auth = () => ({ ...opts.headers, ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}) });
  const userFetch = opts.fetch;
  // tRPC types its fetch loosely (a `signal` that may be undefined), which a standard
  // `fetch` refuses under exactOptionalPropertyTypes; the values are the same.
  const fetchOption: { fetch?: LinkFetch } = userFetch ? { fetch: (input, init) => userFetch(input as Parameters<typeof fetch>[0], init as Parameters<typeof fetch>[1]) } : {};
  const baseFetch: typeof fetch = opts.fetch ?? fetch;
  return createTRPCClient<AppRouter>({
    links: [
      splitLink({
        // Subscriptions (`api.reports.watch.subscribe(...)`) are Server-Sent Events; the
        // link reconnects on its own, sending the last event id it got, so nothing is missed.
        condition: (op) => op.type === 'subscription',
        true: httpSubscriptionLink({
          url,
          transformer: superjson,
          EventSource,
          // The same credentials as every call (a browser with the session cookie can pass none).
          eventSourceOptions: () => ({
            withCredentials: true,
            fetch: async (input: string | URL | Request, init?: RequestInit) =>
              errorAsEvent(await baseFetch(input, { ...init, headers: { ...(init?.headers as Record<string, string>), ...auth() } })),
          }),
        }),
        false: splitLink({
          condition: (op) => typeof (op.context as IdempotencyContext).idempotencyKey === 'string',
          true: httpLink({
            url,
            transformer: superjson,
            headers: ({ op }) => ({ ...auth(), 'idempotency-key': (op.context as IdempotencyContext).idempotencyKey! }),
            ...fetchOption,
          }),
          false: httpBatchLink({ url, transformer: superjson, headers: auth, ...fetchOption }),
        }),
      }),
    ],
  });
}

/**
 * The server refuses a subscription before its stream opens with a real status (401,
 * 404, 400, 503) and tRPC's error JSON, which an EventSource cannot read: it would only
 * report "non-200 status". Handed to the link as the one `serialized-error` event that
 * body stands for, the error reaches `onError` as a TRPCClientError with its `data.code`
 * and `data.httpStatus`. tRPC's link gives up on a 4xx and reconnects after a 5xx, then
 * after Retry-After when the server sent one (the connection cap, a server shutting down).
 */
async function errorAsEvent(response: Response): Promise<Response> {
  if (response.ok || !(response.headers.get('content-type') ?? '').startsWith('application/json')) return response;
  const body = (await response
    .clone()
    .json()
    .catch(() => undefined)) as { error?: unknown } | undefined;
  if (body?.error === undefined) return response;
  const retryAfter = Number(response.headers.get('retry-after'));
  const retry = Number.isFinite(retryAfter) && retryAfter > 0 ? `retry: ${retryAfter * 1000}\n` : '';
  return new Response(`${retry}event: serialized-error\ndata: ${JSON.stringify(body.error)}\n\n`, { status: 200, headers: { 'content-type': 'text/event-stream' } });
}

export interface IdempotencyOptions {
  /** Retries after the first attempt (default 3). */
  retries?: number;
  /** Wait before the first retry, doubled each time; a Retry-After from the server wins (default 200 ms). */
  delayMs?: number;
  /** The key for this logical call; default a new random UUID per call of the wrapper. */
  key?: () => string;
}

/**
 * Wraps a mutation so each call of the wrapper is one logical operation with one
 * Idempotency-Key, reused across its retries: a response lost on the way back, a 5xx,
 * or a 409 "still being processed" is retried, and the server answers a retry of a call
 * that already ran from its stored outcome instead of running it twice
 * (docs/retries.md). Other errors (4xx) are thrown at once: retrying cannot change them.
 *
 * @example
 * const createProduct = withIdempotency(api.products.create);
 * const product = await createProduct({ name: 'Espresso cup', price: '7.50' });
 */
export function withIdempotency<TInput, TOutput>(
  procedure: { mutate(input: TInput, opts?: { context?: Record<string, unknown>; signal?: AbortSignal }): Promise<TOutput> },
  options: IdempotencyOptions = {},
): (input: TInput, opts?: { signal?: AbortSignal }) => Promise<TOutput> {
  const retries = options.retries ?? 3;
  const delayMs = options.delayMs ?? 200;
  return async (input, callOpts = {}) => {
    const key = options.key?.() ?? crypto.randomUUID();
    for (let attempt = 0; ; attempt++) {
      try {
        return await procedure.mutate(input, { context: { idempotencyKey: key }, ...(callOpts.signal ? { signal: callOpts.signal } : {}) });
      } catch (error) {
        const wait = retryDelay(error, delayMs * 2 ** attempt);
        if (attempt >= retries || wait === undefined || callOpts.signal?.aborted) throw error;
        await new Promise((resolve) => setTimeout(resolve, wait));
      }
    }
  };
}

/** How long to wait before retrying `error`, or undefined when a retry cannot help. */
function retryDelay(error: unknown, backoffMs: number): number | undefined {
  if (!(error instanceof TRPCClientError)) return undefined;
  const response = (error.meta as { response?: Response } | undefined)?.response;
  const status = (error.data as { httpStatus?: number } | undefined)?.httpStatus ?? response?.status;
  if (status === undefined) return backoffMs; // no answer at all: the network lost it
  const retryAfter = Number(response?.headers.get('retry-after'));
  if (status === 409 && Number.isFinite(retryAfter) && retryAfter > 0) return retryAfter * 1000; // the first attempt is still running
  if (status >= 500) return Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : backoffMs;
  return undefined;
}

export type { AppRouter };
export { TRPCClientError } from '@trpc/client';
export { paginate, type ListInput, type ListPage } from './paginate.ts';
