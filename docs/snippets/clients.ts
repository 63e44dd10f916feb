/**
 * The client code docs/clients.md shows, compiled by `npm run typecheck` against the real
 * router and REST types (it is never run: client/example.ts is the runnable example).
 */
// #region typed-client
import { createClient, TRPCClientError } from '../../client/index.ts';

const api = createClient({ url: 'http://localhost:3000', token: process.env.API_TOKEN });
const cup = await api.products.create.mutate({ name: 'Espresso cup', price: '7.50' });
const page = await api.products.list.query({ search: 'cup', size: 10 });
//    ^ typed: { items: Product[]; nextCursor: string | null; total: number | null; totalExact: boolean; … }

try {
  await api.products.get.query({ id: cup.id });
} catch (error) {
  if (error instanceof TRPCClientError) console.log(error.data?.code, error.message); // e.g. NOT_FOUND
}
// #endregion typed-client

// #region openapi-fetch
import createFetchClient from 'openapi-fetch';
import type { paths } from '../../client/rest-types.ts';

const rest = createFetchClient<paths>({ baseUrl: 'http://localhost:3000/api/v1' });
const { data, error } = await rest.GET('/products/{id}', { params: { path: { id: cup.id } } });
// data: the product (typed from client/openapi.json); error: the { code, message, issues? } body
// #endregion openapi-fetch

console.log(page.total, data?.name, error?.code);
