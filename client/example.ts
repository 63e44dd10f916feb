/**
 * The typed client in use; type-checked in CI so it cannot drift from the server.
 * Run against a started server with an account allowed to create products, e.g. one
 * made by `npm run user:create -- --email admin@example.com --name Admin --password '…' --role admin`:
 * `API_EMAIL=admin@example.com API_PASSWORD='…' npx tsx client/example.ts`.
 */
import { createClient, paginate, TRPCClientError, withIdempotency } from './index.ts';

const url = process.env.API_URL ?? 'http://localhost:3000';
const { token, user } = await createClient({ url }).auth.signIn.mutate({
  email: process.env.API_EMAIL ?? 'admin@example.com',
  password: process.env.API_PASSWORD ?? '',
});
console.log('signed in as', user.email, 'with roles', user.roles.join(', '));

// #region typed-client
// Every call from this client sends `Authorization: Bearer <token>`.
const api = createClient({ url, token });

const created = await api.products.create.mutate({ name: 'Espresso cup', price: '7.50' });
console.log('created', created.id, created.price); // price is the exact string "7.50"

// A retry that cannot duplicate: withIdempotency sends one Idempotency-Key per call and
// reuses it on every retry. Here the network "loses" the first response after the
// server has created the product; the retry gets the stored response back.
let lost = false;
const flakyFetch: typeof fetch = async (input, init) => {
  const response = await fetch(input, init);
  if (!lost && new Headers(init?.headers).has('idempotency-key')) {
    lost = true;
    throw new TypeError('network error: response lost');
  }
  return response;
};
const flakyApi = createClient({ url, token, fetch: flakyFetch });
const jug = await withIdempotency(flakyApi.products.create)({ name: 'Milk jug', price: '3.20' });
const jugs = await api.products.list.query({ search: 'Milk jug', size: 10 });
console.log('created once despite the lost response:', jug.id, `(${jugs.items.filter((p) => p.id === jug.id).length} row)`);

// Concurrent edits: the update applies only to the version we read (412 otherwise).
const updated = await api.products.update.mutate({ id: jug.id, price: '3.40', ifVersion: jug.version });
try {
  await api.products.update.mutate({ id: jug.id, price: '3.60', ifVersion: jug.version }); // stale now
} catch (error) {
  if (error instanceof TRPCClientError) console.log('expected:', error.data?.code, '- now at version', updated.version);
}

const page = await api.products.list.query({ search: 'espresso', size: 10 });
//    ^ typed: { items: Product[]; total: number | null; totalExact: boolean; nextCursor: string | null; … }
console.log(`${page.total}${page.totalExact ? '' : '+'} matching, page ${page.page} of ${page.pages}`);

// Every match, page after page by cursor; at any depth each page costs the same.
for await (const product of paginate(api.products.list, { search: 'espresso' })) console.log(product.name, product.price);
// #endregion typed-client

try {
  await api.products.get.query({ id: '00000000-0000-4000-8000-000000000000' });
} catch (error) {
  if (error instanceof TRPCClientError) console.log('expected:', error.data?.code, error.message);
}

// #region live-progress
// A report, watched live: a progress bar in the terminal until it is ready (or failed).
const { id: reportId } = await api.reports.generate.mutate({ kind: 'product-catalog' });
await new Promise<void>((resolve, reject) => {
  const sub = api.reports.watch.subscribe(
    { id: reportId },
    {
      onData: ({ data }) => {
        if (data.type === 'refetch') return; // missed events are gone: the next event is the current state
        const { status, progress } = data.report;
        const bar = '#'.repeat(Math.round(progress / 5)).padEnd(20, '.');
        process.stdout.write(`\rreport [${bar}] ${String(progress).padStart(3)}% ${status}   `);
      },
      onComplete: () => {
        process.stdout.write('\n');
        resolve(); // the stream ends after ready or failed
      },
      onError: (error) => {
        sub.unsubscribe();
        reject(error);
      },
    },
  );
});
// #endregion live-progress

await api.auth.signOut.mutate(); // the token stops working everywhere
