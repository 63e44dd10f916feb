/**
 * The closest peer: a minimal oRPC 1.x server (devDependency) serving the same get-by-id
 * through its OpenAPI handler on node:http, with zod input and output validation, on
 * bare pg. It does less per request than the app (no auth context, request id, cookies
 * or logging); the app's target is to beat it with those on.
 *
 * BENCH_NAMED=1 sends the SELECT as a named (prepared) statement, like the bare
 * baseline's variant of the same name.
 */
import http from 'node:http';
import { ORPCError, os } from '@orpc/server';
import { OpenAPIHandler } from '@orpc/openapi/node';
import pg from 'pg';
import { z } from 'zod';

pg.types.setTypeParser(1700, (v) => v);
const pool = new pg.Pool({ connectionString: process.env.BENCH_DATABASE_URL, max: 10 });
const NAMED = process.env.BENCH_NAMED === '1';
const SQL = 'SELECT id, name, price, is_active, version, created_at, updated_at FROM products WHERE id = $1 AND is_active';

const Product = z.object({
  id: z.uuid(),
  name: z.string(),
  price: z.string().regex(/^\d{1,8}\.\d{2}$/),
  isActive: z.boolean(),
  version: z.number().int().min(1),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});

const get = os
  .route({ method: 'GET', path: '/products/{id}' })
  .input(z.object({ id: z.uuid() }))
  .output(Product)
  .handler(async ({ input }) => {
    const { rows } = await pool.query(NAMED ? { name: 'get_product', text: SQL, values: [input.id] } : { text: SQL, values: [input.id] });
    const r = rows[0];
    if (!r) throw new ORPCError('NOT_FOUND');
    return { id: r.id, name: r.name, price: r.price, isActive: r.is_active, version: r.version, createdAt: r.created_at.toISOString(), updatedAt: r.updated_at.toISOString() };
  });

const handler = new OpenAPIHandler({ products: { get } });

const server = http.createServer(async (req, res) => {
  const { matched } = await handler.handle(req, res, { context: {} });
  if (!matched) {
    res.statusCode = 404;
    res.end('{"code":"NOT_FOUND"}');
  }
});

server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`PORT ${typeof address === 'object' && address ? address.port : 0}\n`);
});
