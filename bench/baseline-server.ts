/**
 * The baseline: the same queries the app runs, over bare node:http + pg, with no
 * framework, validation or serialization layers. The app's figures are read as a
 * ratio of this one, measured in the same run on the same database.
 *
 * BENCH_NAMED=1 sends get-by-id, the list page and the insert as named (prepared)
 * statements, as any tuned server does: PostgreSQL then parses and plans each once per
 * connection. bench/hot.bench.ts measures both variants.
 */
import http from 'node:http';
import pg from 'pg';

pg.types.setTypeParser(1700, (v) => v);
const pool = new pg.Pool({ connectionString: process.env.BENCH_DATABASE_URL, max: 10 });
const COLUMNS = 'id, name, price, is_active, version, created_at, updated_at';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const NAMED = process.env.BENCH_NAMED === '1';
/** A plain query, or with BENCH_NAMED a named statement (its name is derived from the text). */
const names = new Map<string, string>();
const query = (text: string, values: unknown[]) => {
  if (!NAMED) return pool.query(text, values);
  let name = names.get(text);
  if (!name) names.set(text, (name = `b${names.size}`));
  return pool.query({ name, text, values });
};

const toJson = (r: any) => ({ id: r.id, name: r.name, price: r.price, isActive: r.is_active, version: r.version, createdAt: r.created_at.toISOString(), updatedAt: r.updated_at.toISOString() });

const server = http.createServer(async (req, res) => {
  const url = new URL(req.url ?? '/', 'http://x');
  const send = (status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  try {
    const byId = /^\/products\/([^/]+)$/.exec(url.pathname);
    if (byId) {
      if (!UUID.test(byId[1]!)) return send(400, { code: 'BAD_REQUEST' });
      const { rows } = await query(`SELECT ${COLUMNS} FROM products WHERE id = $1 AND is_active`, [byId[1]]);
      return rows[0] ? send(200, toJson(rows[0])) : send(404, { code: 'NOT_FOUND' });
    }
    if (url.pathname === '/products' && req.method === 'POST') {
      let text = '';
      for await (const chunk of req) text += chunk;
      const input = JSON.parse(text) as { name?: unknown; price?: unknown };
      if (typeof input.name !== 'string' || typeof input.price !== 'string') return send(400, { code: 'BAD_REQUEST' });
      const { rows } = await query(`INSERT INTO products (name, price) VALUES ($1, $2) RETURNING ${COLUMNS}`, [input.name.trim(), input.price]);
      return send(201, toJson(rows[0]));
    }
    if (url.pathname === '/products') {
      const page = Number(url.searchParams.get('page') ?? 1);
      const size = Number(url.searchParams.get('size') ?? 20);
      const search = (url.searchParams.get('search') ?? '').replace(/[\\%_]/g, (c) => `\\${c}`);
      const where = `is_active AND name ILIKE '%' || $1 || '%' ESCAPE '\\'`;
      const [items, count] = await Promise.all([
        pool.query(`SELECT ${COLUMNS} FROM products WHERE ${where} ORDER BY created_at DESC, id DESC OFFSET $2 LIMIT $3`, [search, (page - 1) * size, size]),
        pool.query(`SELECT count(*) AS total FROM products WHERE ${where}`, [search]),
      ]);
      const total = Number(count.rows[0].total);
      return send(200, { items: items.rows.map(toJson), total, page, size, pages: Math.ceil(total / size) });
    }
    if (url.pathname === '/lists/products') return send(200, await productList(url.searchParams));
    send(404, { code: 'NOT_FOUND' });
  } catch {
    send(500, { code: 'INTERNAL_SERVER_ERROR' });
  }
});
/**
 * products.list as the app runs it (server/lib/pagination.ts, lib/text-search.ts), the same
 * SQL text: the keys of the page in a subquery, joined back to the rows, and the count capped
 * at 1,001 when there is no cursor. The cursor arrives as plain `after` + `afterId`.
 */
async function productList(q: URLSearchParams) {
  const size = Number(q.get('size') ?? 20);
  const page = q.get('after') ? null : Number(q.get('page') ?? 1);
  const params: unknown[] = [true];
  const where = ['"products"."is_active" = $1'];
  const search = q.get('search');
  const words = search ? [...new Set(search.split(' ').slice(1, -1).filter((w) => /^[a-z0-9]+$/i.test(w)).map((w) => w.toLowerCase()))] : [];
  if (search && [...search].length >= 3 && words.length) {
    params.push(words.map((w) => `'${w}'`).join(' & '), `%${search.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
    where.push(`to_tsvector('simple', "products"."name") @@ $${params.length - 1}::tsquery AND ("products"."name" || '') ILIKE $${params.length} ESCAPE '\\'`);
  } else if (search && [...search].length >= 3) {
    params.push(`%${search.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
    where.push(`"products"."name" ILIKE $${params.length} ESCAPE '\\'`);
  } else if (search) {
    const literal = search.replace(/[\\%_]/g, (c) => `\\${c}`);
    params.push(`% ${literal}%`, `${literal}%`);
    where.push(`("products"."name" ILIKE $${params.length - 1} ESCAPE '\\' OR "products"."name" ILIKE $${params.length} ESCAPE '\\')`);
  }
  for (const [key, op] of [['minPrice', '>='], ['maxPrice', '<=']] as const) {
    const v = q.get(key);
    if (v !== null) {
      params.push(v);
      where.push(`"price" ${op} $${params.length}`);
    }
  }
  const filters = where.join(' and ');
  const filterParams = [...params];
  if (page === null) {
    params.push(q.get('after'), q.get('afterId'));
    where.push(`("products"."created_at", "products"."id") < ($${params.length - 1}::timestamptz, $${params.length}::uuid)`);
  }
  params.push(size + 1);
  let limit = `limit $${params.length}`;
  if (page !== null && page > 1) {
    params.push((page - 1) * size);
    limit += ` offset $${params.length}`;
  }
  const order = 'order by "products"."created_at" desc, "products"."id" desc';
  const itemsSql = `select "products".*, to_char("products"."created_at" AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS ck0, "products"."id"::text AS ck1 from "products" inner join (select "products".id AS pk from "products" where ${where.join(' and ')} ${order} ${limit}) as "page" on "products"."id" = "page"."pk" ${order}`;
  const countSql = `select count(*) as "n" from (select 1 from "products" where ${filters} limit $${filterParams.length + 1}) as "matches"`;
  const [items, count] = await Promise.all([query(itemsSql, params), page === null ? undefined : query(countSql, [...filterParams, 1001])]);
  const rows = items.rows.slice(0, size);
  const last = rows.at(-1);
  const nextCursor = items.rows.length > size && last ? Buffer.from(JSON.stringify([last.ck0, last.ck1])).toString('base64url') : null;
  const n = count ? Number(count.rows[0].n) : null;
  const total = n === null ? null : Math.min(n, 1000);
  return { items: rows.map(toJson), size, nextCursor, page, total, totalExact: n !== null && n <= 1000, pages: total === null ? null : Math.ceil(total / size) };
}

server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`PORT ${typeof address === 'object' && address ? address.port : 0}\n`);
});
