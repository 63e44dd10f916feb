/**
 * The typed client in use; type-checked in CI so it cannot drift from the server.
 * Run against a started server: `npx tsx client/example.ts`.
 */
import { createClient, TRPCClientError } from './index.ts';

const api = createClient({ url: process.env.API_URL ?? 'http://localhost:3000' });

const created = await api.products.create.mutate({ name: 'Espresso cup', price: '7.50' });
console.log('created', created.id, created.price); // price is the exact string "7.50"

const page = await api.products.list.query({ search: 'espresso', size: 10 });
console.log(`${page.total} matching, page ${page.page} of ${page.pages}`);

try {
  await api.products.get.query({ id: '00000000-0000-4000-8000-000000000000' });
} catch (error) {
  if (error instanceof TRPCClientError) console.log('expected:', error.data?.code, error.message);
}
