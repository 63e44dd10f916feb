import fs from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createKnex, type Knex } from '../../server/db/knex.ts';
import { JOB_QUEUE_SCHEMA_PENDING, MigrationError, migrateToLatest, migrationConfig, migrationConfigFor, MIGRATIONS_DIR, MIGRATION_FILE } from '../../server/db/migrations.ts';
import { ROOT, runScript } from '../helpers/processes.ts';
import { createEmptyDatabase, createTestDatabase } from '../helpers/test-app.ts';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function emptyDatabase(): Promise<{ url: string; db: Knex }> {
  const database = await createEmptyDatabase();
  const db = createKnex(database.url, { poolMax: 2 });
  cleanups.push(() => database.drop(), () => db.destroy());
  return { url: database.url, db };
}

async function migratedDatabase(): Promise<{ url: string; db: Knex }> {
  const database = await createTestDatabase();
  const db = createKnex(database.url, { poolMax: 2 });
  cleanups.push(() => database.drop(), () => db.destroy());
  return { url: database.url, db };
}

const migrationFiles = async () => (await fs.readdir(MIGRATIONS_DIR)).filter((f) => MIGRATION_FILE.test(f)).sort();
const tables = async (db: Knex) =>
  (await db.raw<{ rows: { name: string }[] }>(`SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public' ORDER BY 1`)).rows.map((r) => r.name);
const recorded = async (db: Knex) => (await db('knexMigrations').orderBy('id')).map((r: { name: string; batch: number }) => [r.name, r.batch]);

describe('a failing migration', () => {
  it('leaves the database as it was: the migrations before it in the same run are not applied either', async () => {
    const { db } = await emptyDatabase();
    const error = await migrateToLatest(db, { config: migrationConfigFor(path.join(ROOT, 'tests/fixtures/migrations/failing')) }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MigrationError);
    expect(error).toMatchObject({ migration: '20000101000100_fails_halfway.ts', direction: 'up' });
    expect((error as Error).message).toMatch(/^Migration 20000101000100_fails_halfway\.ts failed \(up\): .*division by zero \[SQLSTATE 22012\]/);
    // Only knex's bookkeeping, created before the migrations' transaction, remains.
    expect(await tables(db)).toEqual(['knex_migrations', 'knex_migrations_lock']);
    expect(await recorded(db)).toEqual([]);
    expect(await db('knexMigrationsLock').select('isLocked')).toEqual([{ isLocked: 0 }]);
  });

  it('makes `db:migrate` exit non-zero with the migration name and the database error, and change nothing', async () => {
    const { url, db } = await emptyDatabase();
    await db.raw('CREATE TABLE products (x int)'); // in the way of the first migration
    const run = await runScript('server/cli/db.ts', ['migrate'], { DATABASE_URL: url });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('Migration 20261124000000_create_products.ts failed (up)');
    expect(run.stderr).toContain('relation "products" already exists [SQLSTATE 42P07]');
    // The same migration created an extension and a function before failing: both are gone.
    expect((await db.raw(`SELECT extname FROM pg_extension WHERE extname = 'pg_trgm'`)).rows).toEqual([]);
    expect((await db.raw(`SELECT proname FROM pg_proc WHERE proname = 'set_updated_at'`)).rows).toEqual([]);
    expect((await db.raw(`SELECT column_name FROM information_schema.columns WHERE table_name = 'products'`)).rows).toEqual([{ column_name: 'x' }]);
    expect(await recorded(db)).toEqual([]);
  });
});

describe('knex’s own lock', () => {
  it('when left taken by a run that died, migrating says so and what to run', async () => {
    const { db } = await emptyDatabase();
    await db.migrate.list(migrationConfig); // creates knex's tables
    await db('knexMigrationsLock').update({ isLocked: 1 });
    await expect(migrateToLatest(db)).rejects.toThrow(/knex's migration lock \(knex_migrations_lock\) is taken.*npx knex migrate:unlock/);
    expect(await recorded(db)).toEqual([]);
  });
});

describe('migrate, status and rollback commands', () => {
  it('status lists pending migrations, migrate applies them, rollback undoes the last batch', async () => {
    const { url, db } = await emptyDatabase();
    const files = await migrationFiles();
    const env = { DATABASE_URL: url };

    const before = await runScript('server/cli/db.ts', ['status'], env);
    expect(before.code).toBe(0);
    // graphile-worker's schema is not a knex migration, but the server needs it: pending too.
    const pending = [JOB_QUEUE_SCHEMA_PENDING, ...files];
    expect(before.stdout).toContain(`Pending (${pending.length}):\n${pending.map((f) => `  ${f}`).join('\n')}`);

    const migrate = await runScript('server/cli/db.ts', ['migrate'], env);
    expect(migrate.code).toBe(0);
    expect(migrate.stdout).toBe(`Installed ${JOB_QUEUE_SCHEMA_PENDING}.\nApplied:\n${files.map((f) => `  ${f}`).join('\n')}\n`);
    expect(await recorded(db)).toEqual(files.map((f) => [f, 1]));

    const after = await runScript('server/cli/db.ts', ['status'], env);
    expect(after.stdout).toContain(`Applied (${files.length}):`);
    expect(after.stdout).toContain('Pending (0):');
    expect(after.stdout).toContain('Up to date.');

    const rollback = await runScript('server/cli/db.ts', ['rollback'], env);
    expect(rollback.code).toBe(0);
    expect(rollback.stdout).toBe(`Rolled back:\n${[...files].reverse().map((f) => `  ${f}`).join('\n')}\n`);
    expect(await recorded(db)).toEqual([]);
    expect(await tables(db)).toEqual(['knex_migrations', 'knex_migrations_lock']);
  });

  it('knex’s own CLI works through knexfile.ts', async () => {
    const { url } = await migratedDatabase();
    const run = await runScript('node_modules/knex/bin/cli.js', ['migrate:list'], { DATABASE_URL: url });
    expect(run.code).toBe(0);
    for (const file of await migrationFiles()) expect(run.stdout).toContain(file);
    expect(run.stdout).toContain('No Pending Migration files Found.');
  });
});
