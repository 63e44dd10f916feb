import fs from 'node:fs/promises';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { createKnex, type Knex } from '../../server/db/knex.ts';
import { MIGRATION_FILE, MIGRATION_LOCK_KEY, MIGRATIONS_DIR } from '../../server/db/migrations.ts';
import { startServerProcess, type ServerProcess } from '../helpers/processes.ts';
import { createEmptyDatabase, createTestDatabase } from '../helpers/test-app.ts';

const cleanups: (() => Promise<unknown>)[] = [];
const servers: ServerProcess[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.stop()));
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function database(kind: 'empty' | 'migrated'): Promise<{ url: string; db: Knex }> {
  const created = kind === 'empty' ? await createEmptyDatabase() : await createTestDatabase();
  const db = createKnex(created.url, { poolMax: 2 });
  cleanups.push(() => created.drop(), () => db.destroy());
  return { url: created.url, db };
}

const migrationFiles = async () => (await fs.readdir(MIGRATIONS_DIR)).filter((f) => MIGRATION_FILE.test(f)).sort();
const tables = async (db: Knex) =>
  (await db.raw<{ rows: { name: string }[] }>(`SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public' ORDER BY 1`)).rows.map((r) => r.name);
const recorded = async (db: Knex) => (await db('knexMigrations').orderBy('id')).map((r: { name: string; batch: number }) => [r.name, r.batch]);

describe('npm start and the schema', () => {
  it('two instances started together on an empty database migrate it once, one after the other', async () => {
    const { url, db } = await database('empty');
    // Hold the migration lock, so both instances are certainly waiting at the same time.
    const holder = new pg.Client({ connectionString: url });
    await holder.connect();
    cleanups.push(() => holder.end());
    await holder.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);

    const a = startServerProcess({ DATABASE_URL: url });
    const b = startServerProcess({ DATABASE_URL: url });
    servers.push(a, b);
    await Promise.all([a.waitFor('another instance is migrating the database'), b.waitFor('another instance is migrating the database')]);
    await holder.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);
    await Promise.all([a.waitFor('"msg":"listening'), b.waitFor('"msg":"listening')]);

    const files = await migrationFiles();
    expect(await recorded(db)).toEqual(files.map((f) => [f, 1]));
    const migrators = [a, b].filter((s) => s.output().includes('"msg":"applied migrations"'));
    expect(migrators).toHaveLength(1);
    expect(await Promise.all([a.stop(), b.stop()])).toEqual([0, 0]);
  });

  it('refuses to start on a database migrated by newer code, naming the unknown migration', async () => {
    const { url, db } = await database('migrated');
    await db('knexMigrations').insert({ name: '29991231000000_from_newer_code.ts', batch: 2, migrationTime: new Date() });
    for (const migrateOnStart of ['true', 'false']) {
      const server = startServerProcess({ DATABASE_URL: url, MIGRATE_ON_START: migrateOnStart });
      servers.push(server);
      expect(await server.exited).toBe(1);
      expect(server.output()).toContain('The database has 1 migration(s) applied that this code does not know:\n  29991231000000_from_newer_code.ts (batch 2)');
      expect(server.output()).not.toContain('listening');
    }
  });

  it('with MIGRATE_ON_START=false, refuses to start while migrations are pending, and applies none', async () => {
    const { url, db } = await database('empty');
    const server = startServerProcess({ DATABASE_URL: url, MIGRATE_ON_START: 'false' });
    servers.push(server);
    expect(await server.exited).toBe(1);
    const pending = [...(await migrationFiles()), "graphile-worker's job queue schema (graphile_worker)"];
    expect(server.output()).toContain(`The database is behind this code: ${pending.length} migration(s) pending:\n${pending.map((f) => `  ${f}`).join('\n')}`);
    expect(server.output()).toContain('Run `npm run db:migrate`, or start with MIGRATE_ON_START=true.');
    expect(await tables(db)).toEqual([]);
    expect((await db.raw(`SELECT to_regnamespace('graphile_worker') AS schema`)).rows).toEqual([{ schema: null }]);
  });
});
