import fs from 'node:fs';
import { ProductIdInput, ProductSchema } from '../../server/modules/products/product.schemas.ts';
import { appRouter } from '../../server/router.ts';
import { createKnex } from '../../server/db/knex.ts';
import { ProductService } from '../../server/modules/products/product.service.ts';
const { url, ids } = JSON.parse(fs.readFileSync('/tmp/prof-ids.json', 'utf8'));
const db = createKnex(url);
const products = new ProductService({ db });
const proc = (appRouter._def.procedures as any)['products.get'];
const ctx: any = { services: { products }, isProduction: true };
const sample = await products.get(ids[0]);
async function time(name: string, fn: (id: string) => unknown, n = 20000) {
  for (let i = 0; i < 2000; i++) await fn(ids[i % ids.length]);
  const c0 = process.cpuUsage();
  for (let i = 0; i < n; i += 10) await Promise.all(Array.from({ length: 10 }, (_, j) => fn(ids[(i + j) % ids.length])));
  const c = process.cpuUsage(c0);
  console.log(name.padEnd(24), ((c.user + c.system) / n).toFixed(1), 'µs/call');
}
for (let r = 0; r < 2; r++) {
  await time('zod input', (id) => ProductIdInput.parseAsync({ id }));
  await time('zod output', () => ProductSchema.parseAsync(sample));
  await time('service.get', (id) => products.get(id), 5000);
  await time('procedure (svc stub)', (id) => proc({ ctx: { ...ctx, services: { products: { get: async () => sample } } }, path: 'products.get', type: 'query', getRawInput: async () => ({ id }), signal: undefined, batchIndex: 0 }));
  await time('procedure (real)', (id) => proc({ ctx, path: 'products.get', type: 'query', getRawInput: async () => ({ id }), signal: undefined, batchIndex: 0 }), 5000);
}
process.exit(0);
