/**
 * The baseline: the same queries the app runs, over bare node:http + pg, with no
 * framework, validation or serialization layers. The app's figures are read as a
 * ratio of this one, measured in the same run on the same database.
 */
import http from 'node:http';
import pg from 'pg';

pg.types.setTypeParser(1700, (v) => v);
const pool = new pg.Pool({ connectionString: process.env.BENCH_DATABASE_URL, max: 10 });
const COLUMNS = 'id, name, price, is_active, created_at, updated_at';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const toJson = (r: any) => ({ id: r.id, name: r.name, price: r.price, isActive: r.is_active, createdAt: r.created_at.toISOString(), updatedAt: r.updated_at.toISOString() });

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
      const { rows } = await pool.query(`SELECT ${COLUMNS} FROM products WHERE id = $1 AND is_active`, [byId[1]]);
      return rows[0] ? send(200, toJson(rows[0])) : send(404, { code: 'NOT_FOUND' });
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
    send(404, { code: 'NOT_FOUND' });
  } catch {
    send(500, { code: 'INTERNAL_SERVER_ERROR' });
  }
});
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`PORT ${typeof address === 'object' && address ? address.port : 0}\n`);
});
