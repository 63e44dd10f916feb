import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Knex } from 'knex';
import { installJobQueueSchema } from '../jobs/schema.ts';

export const MIGRATIONS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../migrations');

const MIGRATION_FILE = /^\d{14}_[a-z0-9_]+\.ts$/;

/**
 * Lists and loads `migrations/*.ts` itself instead of knex's directory loader: the
 * import then happens in our code, so whichever TypeScript loader runs the process
 * (tsx for the app and CLI, Vite's for the tests) loads the migration.
 */
class TypeScriptMigrationSource implements Knex.MigrationSource<string> {
  async getMigrations(): Promise<string[]> {
    return (await fs.readdir(MIGRATIONS_DIR)).filter((f) => MIGRATION_FILE.test(f)).sort();
  }
  getMigrationName(migration: string): string {
    return migration;
  }
  async getMigration(migration: string): Promise<Knex.Migration> {
    return (await import(pathToFileURL(path.join(MIGRATIONS_DIR, migration)).href)) as Knex.Migration;
  }
}

/** One migrations config for the app, the CLI, the tests and knexfile.ts. */
export const migrationConfig: Knex.MigratorConfig = {
  migrationSource: new TypeScriptMigrationSource(),
  tableName: 'knex_migrations',
};

/**
 * Brings a database up to date: graphile-worker's schema first (publishing an event
 * calls `graphile_worker.add_job`, so it must exist wherever our tables do), then our
 * migrations. Returns the names of the migrations applied.
 */
export async function migrateToLatest(db: Knex): Promise<string[]> {
  await installJobQueueSchema(db);
  const [, applied] = (await db.migrate.latest(migrationConfig)) as [number, string[]];
  return applied;
}
