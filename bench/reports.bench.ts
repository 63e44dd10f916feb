/**
 * `npm run bench:reports`: one product-catalog report generated the way the job does it
 * (REPEATABLE READ snapshot, keyset pages from PostgreSQL, pdfkit, temporary file +
 * rename on disk, ready + email in one transaction), beside a baseline measured in the
 * same run: pdfkit rendering the same rows from memory into the same disk storage.
 * The ratio is the cost of reading the catalog from the database and of the
 * bookkeeping; the absolute figures depend on the machine.
 *
 * Then one row per file store (PostgreSQL bytea, file://, S3 on a local s3rver) for the
 * PDF just made: time to store it, to stream it back, and download throughput with
 * BENCH_READERS (8) concurrent readers, each beside file:// in the same run. Rounds are
 * interleaved (every store once per round), medians of BENCH_ROUNDS (5).
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
import { createKnex } from '../server/db/knex.ts';
import { migrateToLatest } from '../server/db/migrations.ts';
import { createLogger } from '../server/logger.ts';
import { renderProductCatalog, type CatalogRow } from '../server/modules/reports/report.pdf.ts';
import { LocalDiskStorage } from '../server/modules/reports/report.storage.ts';
import { PostgresStorage } from '../server/storage/postgres.ts';
import { S3Storage } from '../server/storage/s3.ts';
import type { FileStorage } from '../server/storage/storage.ts';
import { startLocalS3 } from '../tests/helpers/s3.ts';
import { median, openBenchDatabase } from './harness.ts';

const PRODUCTS = Number(process.env.BENCH_PRODUCTS ?? 20_000);
const logger = createLogger({ logLevel: 'warn' });
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const READERS = Number(process.env.BENCH_READERS ?? 8);
const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'duality-bench-reports-'));
const database = await openBenchDatabase('reports');
const url = database.url;

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

  // The stores, on the PDF the job just made.
  const pdf = await readAll(app.storage, done.filePath);
  const s3 = await startLocalS3('duality-bench');
  try {
    const stores: [string, FileStorage][] = [
      ['file://', new LocalDiskStorage(path.join(tmp, 'files'))],
      ['PostgreSQL (bytea)', new PostgresStorage(db)],
      ['S3 (s3rver)', new S3Storage(s3.settings('bench/'))],
    ];
    const results = new Map(stores.map(([name]) => [name, { put: [] as number[], read: [] as number[], concurrent: [] as number[] }]));
    for (let round = 0; round < ROUNDS; round++) {
      for (const [name, store] of stores) {
        const r = results.get(name)!;
        let t0 = performance.now();
        await store.put('bench.pdf', pdf);
        r.put.push(performance.now() - t0);
        t0 = performance.now();
        if ((await readAll(store, 'bench.pdf')).length !== pdf.length) throw new Error(`${name} returned other bytes`);
        r.read.push(performance.now() - t0);
        t0 = performance.now();
        await Promise.all(Array.from({ length: READERS }, () => readAll(store, 'bench.pdf')));
        r.concurrent.push((READERS * pdf.length) / 1e6 / ((performance.now() - t0) / 1000));
      }
    }
    const base = results.get('file://')!;
    const ms = (values: number[]) => `${median(values).toFixed(1)} ms`;
    const ratio = (a: number[], b: number[]) => (median(a) / median(b)).toFixed(2);
    console.log(`\nfile stores, a ${(pdf.length / 1e6).toFixed(2)} MB PDF (${count} products); medians of ${ROUNDS} interleaved rounds; ratios against file:// in this run`);
    console.log('| store | store | stream back | ' + `${READERS} concurrent readers | store ÷ file | read ÷ file | throughput ÷ file |`);
    console.log('|---|---|---|---|---|---|---|');
    for (const [name] of stores) {
      const r = results.get(name)!;
      console.log(`| ${name} | ${ms(r.put)} | ${ms(r.read)} | ${median(r.concurrent).toFixed(0)} MB/s | ${ratio(r.put, base.put)} | ${ratio(r.read, base.read)} | ${ratio(r.concurrent, base.concurrent)} |`);
    }
  } finally {
    await s3.stop();
  }
  await app.close();
} finally {
  await database.close();
  await fs.rm(tmp, { recursive: true, force: true });
}

async function readAll(store: FileStorage, key: string): Promise<Buffer> {
  const file = await store.open(key);
  if (!file) throw new Error(`${key} is not in ${store.location}`);
  const chunks: Buffer[] = [];
  for await (const chunk of file.stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
