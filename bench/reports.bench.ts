/**
 * `npm run bench:reports`: one product-catalog report generated the way the job does it
 * (REPEATABLE READ snapshot, keyset pages from PostgreSQL, pdfkit, temporary file +
 * rename on disk, ready + email in one transaction), beside a baseline measured in the
 * same run: pdfkit rendering the same rows from memory into the same disk storage.
 * The ratio is the cost of reading the catalog from the database and of the
 * bookkeeping; the absolute figures depend on the machine.
 *
 * BENCH_PRODUCTS (20000). DATABASE_URL, when set, names a server to create the
 * benchmark database on; otherwise an embedded PostgreSQL in a temporary directory.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { buildApp } from '../server/app.ts';
import { loadConfig } from '../server/config.ts';
import { createDatabaseIfMissing, dropDatabase, withDatabase } from '../server/db/database.ts';
import { startEmbeddedPostgres } from '../server/db/embedded-postgres.ts';
import { createKnex } from '../server/db/knex.ts';
import { migrateToLatest } from '../server/db/migrations.ts';
import { createLogger } from '../server/logger.ts';
import { renderProductCatalog, type CatalogRow } from '../server/modules/reports/report.pdf.ts';
import { LocalDiskStorage } from '../server/modules/reports/report.storage.ts';

const PRODUCTS = Number(process.env.BENCH_PRODUCTS ?? 20_000);
const logger = createLogger({ logLevel: 'warn' });
const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'duality-bench-reports-'));
let adminUrl = process.env.DATABASE_URL;
const embedded = adminUrl ? undefined : await startEmbeddedPostgres({ dataDir: tmp, logger, ephemeral: true });
adminUrl ??= embedded!.adminUrl;
const dbName = `duality_bench_reports_${process.pid}`;
await createDatabaseIfMissing(adminUrl, dbName);
const url = withDatabase(adminUrl, dbName);

try {
  const migrator = createKnex(url, { poolMax: 1 });
  await migrateToLatest(migrator);
  await migrator.destroy();

  const config = loadConfig({ NODE_ENV: 'production', LOG_LEVEL: 'warn', DATA_DIR: path.join(tmp, 'data') });
  const app = await buildApp({ config, logger, databaseUrl: url });
  const db = app.db;
  console.log(`seeding ${PRODUCTS} products…`);
  await db.raw(`INSERT INTO products (name, price) SELECT 'Product ' || lpad(g::text, 7, '0') || ' ' || md5(g::text), (1 + g % 100000) / 100.0 FROM generate_series(1, ?) g`, [PRODUCTS]);
  await db.raw('ANALYZE products');
  const [owner] = await db('users').insert({ email: 'bench@example.com', name: 'Bench', password_hash: 'x' }).returning('id');
  const ownerId = (owner as { id: string }).id;

  // Baseline: the same rows, already in memory, through the same renderer and storage.
  const rows = (await db('products').where('is_active', true).orderBy([{ column: 'name' }, { column: 'id' }]).select('name', 'price')) as CatalogRow[];
  const { count, total } = await app.services.products.activeSummary();
  const storage = new LocalDiskStorage(path.join(tmp, 'baseline'));
  async function* inMemory() {
    for (let i = 0; i < rows.length; i += 500) yield rows.slice(i, i + 500);
  }
  let started = performance.now();
  const baseline = await storage.put('baseline.pdf', renderProductCatalog({ generatedAt: new Date(), ownerName: 'Bench', productCount: count, totalPrice: total, rows: inMemory() }));
  const baselineMs = performance.now() - started;

  // The job's path.
  const [report] = await db('reports').insert({ owner_id: ownerId, kind: 'product-catalog' }).returning('id');
  const reportId = (report as { id: string }).id;
  started = performance.now();
  await app.services.reportGeneration.run(reportId, { attempt: 1, maxAttempts: 3 }, logger);
  const jobMs = performance.now() - started;
  const done = await db('reports').where({ id: reportId }).first();
  if (done.status !== 'ready') throw new Error(`report ended ${done.status}: ${done.errorMessage}`);

  const fmt = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
  console.log(`products: ${count}, total ${total}`);
  console.log(`baseline (rows in memory → pdfkit → disk): ${fmt(baselineMs)}, ${(baseline.size / 1e6).toFixed(1)} MB, ${Math.round(count / (baselineMs / 1000))} rows/s`);
  console.log(`report job (PostgreSQL keyset pages → pdfkit → disk, ready + email): ${fmt(jobMs)}, ${(Number(done.fileSize) / 1e6).toFixed(1)} MB, ${Math.round(count / (jobMs / 1000))} rows/s`);
  console.log(`ratio job / baseline: ${(jobMs / baselineMs).toFixed(2)}`);
  await app.close();
} finally {
  await dropDatabase(adminUrl, dbName);
  await embedded?.stop();
  await fs.rm(tmp, { recursive: true, force: true });
}
