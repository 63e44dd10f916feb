import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Knex } from 'knex';
import type pg from 'pg';
import { installJobQueueSchema } from '../jobs/schema.ts';

export const MIGRATIONS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../migrations');

/**
 * `<14-digit UTC timestamp>_<name>.ts`. `npm run db:make` snake-cases the name; knex's
 * own `migrate:make addOther` keeps its case, and that runs too. Any other file in
 * migrations/ (a `.js` from `migrate:make -x js`, a name without a timestamp) is not run,
 * and `npm run db:check` fails naming it (`strayMigrationFiles`).
 */
export const MIGRATION_FILE = /^\d{14}_[A-Za-z0-9_-]+\.ts$/;

/** Files in migrations/ that are not migrations on purpose. */
const NOT_MIGRATIONS = new Set(['_template.ts', 'schema.sql']);

/** Files in `dir` the runner will never run that look like they were meant to be migrations. */
export async function strayMigrationFiles(dir: string = MIGRATIONS_DIR): Promise<string[]> {
  const entries = await fs.readdir(dir, { withFileTypes: true });
  return entries
    .filter((e) => e.isFile() && !NOT_MIGRATIONS.has(e.name) && !e.name.startsWith('.') && !MIGRATION_FILE.test(e.name))
    .map((e) => e.name)
    .sort();
}

/** True when graphile-worker's schema is installed in the database `db` points at. */
export async function jobQueueSchemaInstalled(db: Knex): Promise<boolean> {
  const { rows } = await db.raw<{ rows: { installed: boolean }[] }>(`SELECT to_regnamespace('graphile_worker') IS NOT NULL AS installed`);
  return rows[0]?.installed ?? false;
}

/**
 * The migrations config for knex's own CLI (knexfile.ts): the same migrations, each of
 * whose \`up\` first installs graphile-worker's schema when it is missing, so
 * \`npx knex migrate:latest\` leaves the database as \`npm run db:migrate\` does.
 */
export function knexCliMigrationConfig(config: Knex.MigratorConfig = migrationConfig): Knex.MigratorConfig {
  const source = config.migrationSource!;
  return {
    ...config,
    migrationSource: {
      getMigrations: (exts) => source.getMigrations(exts),
      getMigrationName: (m) => source.getMigrationName(m),
      async getMigration(m) {
        const loaded = await source.getMigration(m);
        const up = loaded.up;
        return {
          ...loaded,
          up: async (knex: Knex) => {
            if (!(await jobQueueSchemaInstalled(knex))) await installJobQueueSchema(knex);
            return up(knex);
          },
        } as Knex.Migration;
      },
    },
  };
}

/** knex's bookkeeping table; its lock table is `<name>_lock`. */
export const MIGRATIONS_TABLE = 'knex_migrations';

/** A migration file, by name; shaped like knex's own so `npx knex migrate:list` prints it. */
export interface MigrationFile {
  file: string;
}

/**
 * Lists and loads `migrations/*.ts` itself instead of knex's directory loader: the
 * import then happens in our code, so whichever TypeScript loader runs the process
 * (tsx for the app and CLI, Vite's for the tests) loads the migration.
 *
 * Each loaded migration's `up` and `down` are wrapped so that a failure names the
 * migration: knex itself only rethrows the database's error.
 */
class TypeScriptMigrationSource implements Knex.MigrationSource<MigrationFile> {
  constructor(private readonly dir: string) {}

  async getMigrations(): Promise<MigrationFile[]> {
    return (await fs.readdir(this.dir))
      .filter((f) => MIGRATION_FILE.test(f))
      .sort()
      .map((file) => ({ file }));
  }
  getMigrationName(migration: MigrationFile): string {
    return migration.file;
  }
  async getMigration({ file }: MigrationFile): Promise<Knex.Migration> {
    const loaded = (await import(pathToFileURL(path.join(this.dir, file)).href)) as Knex.Migration;
    const step = (direction: 'up' | 'down') => {
      const run = loaded[direction];
      if (typeof run !== 'function') return run;
      return async (knex: Knex) => {
        try {
          await run(knex);
        } catch (error) {
          throw new MigrationError(file, direction, error);
        }
      };
    };
    return { ...loaded, up: step('up'), down: step('down') } as Knex.Migration;
  }
}

/** The migrations config for the migrations in `dir` (tests point it at fixtures). */
export function migrationConfigFor(dir: string): Knex.MigratorConfig {
  return { migrationSource: new TypeScriptMigrationSource(dir), tableName: MIGRATIONS_TABLE };
}

/** One migrations config for the app, the CLI, the tests and knexfile.ts. */
export const migrationConfig: Knex.MigratorConfig = migrationConfigFor(MIGRATIONS_DIR);

/** A migration's `up` or `down` threw; the message names it and carries the database's error. */
export class MigrationError extends Error {
  override name = 'MigrationError';
  constructor(
    readonly migration: string,
    readonly direction: 'up' | 'down',
    cause: unknown,
  ) {
    super(`Migration ${migration} failed (${direction}): ${describeDatabaseError(cause)}`, { cause });
  }
}

/** The database and the code disagree about which migrations exist; starting would serve errors. */
export class SchemaMismatchError extends Error {
  override name = 'SchemaMismatchError';
}

/** PostgreSQL's message plus the parts of its error that help (code, detail, hint, where). */
export function describeDatabaseError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const e = error as Error & Partial<pg.DatabaseError>;
  const parts = [e.message];
  if (e.code) parts.push(`[SQLSTATE ${e.code}]`);
  if (e.detail) parts.push(`\n  detail: ${e.detail}`);
  if (e.hint) parts.push(`\n  hint: ${e.hint}`);
  if (e.where) parts.push(`\n  where: ${e.where}`);
  return parts.join(' ');
}

/** How a missing graphile-worker schema is listed among pending migrations. */
export const JOB_QUEUE_SCHEMA_PENDING = "graphile-worker's job queue schema (graphile_worker)";

export interface AppliedMigration {
  name: string;
  batch: number;
  migratedAt: Date;
}

/** Where the database stands against the migration files. */
export interface MigrationStatus {
  /** Recorded in the database and present as files, oldest first. */
  applied: AppliedMigration[];
  /** Files not yet applied, in the order they will run. */
  pending: string[];
  /** Recorded in the database without a file: applied by newer code. */
  unknown: AppliedMigration[];
}

/** Reads the status without creating knex's tables, so it is safe on any database. */
export async function migrationStatus(db: Knex, config: Knex.MigratorConfig = migrationConfig): Promise<MigrationStatus> {
  const files = await config.migrationSource!.getMigrations([]);
  const names = files.map((f) => config.migrationSource!.getMigrationName(f));
  const { rows } = await db.raw<{ rows: { exists: boolean }[] }>(`SELECT to_regclass(?) IS NOT NULL AS "exists"`, [MIGRATIONS_TABLE]);
  const recorded: AppliedMigration[] = rows[0]?.exists
    ? (await db.raw<{ rows: { name: string; batch: number; migration_time: Date }[] }>(`SELECT name, batch, migration_time FROM ?? ORDER BY id`, [MIGRATIONS_TABLE])).rows.map(
        (r) => ({ name: r.name, batch: r.batch, migratedAt: r.migration_time }),
      )
    : [];
  const known = new Set(names);
  const done = new Set(recorded.map((r) => r.name));
  return {
    applied: recorded.filter((r) => known.has(r.name)),
    pending: names.filter((n) => !done.has(n)),
    unknown: recorded.filter((r) => !known.has(r.name)),
  };
}

/**
 * Key of the session-level advisory lock every migrating process of ours holds.
 * knex's own lock (a row in `knex_migrations_lock`) makes a second migrator fail
 * instead of wait, and it cannot cover the creation of knex's tables on an empty
 * database, where two processes would both try to create them. This lock makes
 * the second process wait, then find nothing left to do.
 */
export const MIGRATION_LOCK_KEY = 4_711_202_611;
const LOCK_POLL_MS = 200;

/**
 * Runs `fn` while holding the migration advisory lock on a connection of its own
 * (outside the pool, so a pool of one still has a connection for the migrations).
 * The lock dies with the connection if the process does.
 */
export async function withMigrationLock<T>(db: Knex, fn: () => Promise<T>, opts: { onWait?: () => void } = {}): Promise<T> {
  const connection = (await db.client.acquireRawConnection()) as pg.Client;
  try {
    const tryLock = async () => (await connection.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [MIGRATION_LOCK_KEY])).rows[0]?.locked;
    if (!(await tryLock())) {
      opts.onWait?.();
      // Poll rather than block in pg_advisory_lock: a statement waiting there holds a
      // snapshot, and CREATE INDEX CONCURRENTLY in the migrator waits for every older
      // snapshot to go away, so both would wait for each other forever.
      while (!(await tryLock())) await new Promise((resolve) => setTimeout(resolve, LOCK_POLL_MS));
    }
    try {
      return await fn();
    } catch (error) {
      throw explainStaleKnexLock(error);
    } finally {
      await connection.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);
    }
  } finally {
    await db.client.destroyRawConnection(connection);
  }
}

/**
 * Holding our lock, knex's lock row can only be held by a run that died without
 * releasing it (a crash during a migration without a transaction) or by a plain
 * `npx knex` run, which does not take our lock.
 */
function explainStaleKnexLock(error: unknown): unknown {
  if (!(error instanceof Error) || error.name !== 'MigrationLocked') return error;
  return new Error(
    `knex's migration lock (${MIGRATIONS_TABLE}_lock) is taken, yet no \`npm run db:*\` or \`npm start\` is migrating: ` +
      'an earlier run died holding it, or a plain `npx knex` command is running. ' +
      'If none is, release it with `npx knex migrate:unlock`, check `npm run db:status`, and migrate again.',
    { cause: error },
  );
}

export interface MigrateOptions {
  config?: Knex.MigratorConfig;
  /** Called once when another process holds the migration lock and this one waits. */
  onWait?: () => void;
}

function refuseUnknown(status: MigrationStatus): void {
  if (!status.unknown.length) return;
  throw new SchemaMismatchError(
    `The database has ${status.unknown.length} migration(s) applied that this code does not know:\n` +
      status.unknown.map((m) => `  ${m.name} (batch ${m.batch})`).join('\n') +
      `\nIt was migrated by a newer version of the code. Run that version, or roll back with it (\`npm run db:rollback\`) before running this one.`,
  );
}

/**
 * Brings a database up to date, under the migration lock: graphile-worker's schema
 * first (publishing an event calls `graphile_worker.add_job`, so it must exist
 * wherever our tables do), then every pending migration. knex runs those in one
 * transaction together with its bookkeeping, so when one fails none is applied and
 * the MigrationError names the one that failed. (A migration that exports
 * `config = { transaction: false }` makes knex give each migration of that run its
 * own transaction instead; see docs/migrations.md.) Returns the migrations applied.
 */
export async function migrateToLatest(db: Knex, opts: MigrateOptions = {}): Promise<string[]> {
  const config = opts.config ?? migrationConfig;
  return withMigrationLock(
    db,
    async () => {
      refuseUnknown(await migrationStatus(db, config));
      await installJobQueueSchema(db);
      const [, applied] = (await db.migrate.latest(config)) as [number, string[]];
      return applied;
    },
    opts,
  );
}

/**
 * Undoes the last batch (what one `migrateToLatest` applied), newest first, under the
 * migration lock. It runs in one transaction unless a migration of the batch opts
 * out, so a failing `down` leaves the batch applied and recorded as it was.
 */
export async function rollbackLastBatch(db: Knex, opts: MigrateOptions = {}): Promise<string[]> {
  const config = opts.config ?? migrationConfig;
  return withMigrationLock(
    db,
    async () => {
      const status = await migrationStatus(db, config);
      refuseUnknown(status);
      const lastBatch = Math.max(0, ...status.applied.map((m) => m.batch));
      const batch = status.applied.filter((m) => m.batch === lastBatch);
      const modules = await Promise.all(batch.map((m) => config.migrationSource!.getMigration({ file: m.name })));
      const transactional = modules.every((m) => (m as { config?: { transaction?: boolean } }).config?.transaction !== false);
      // knex gives each `down` its own transaction and deletes the bookkeeping row
      // outside it; running the whole rollback inside one transaction closes that gap.
      const rollback = (k: Knex) => k.migrate.rollback(config) as Promise<[number, string[]]>;
      const [, undone] = transactional ? await db.transaction((trx) => rollback(trx)) : await rollback(db);
      return undone;
    },
    opts,
  );
}

/**
 * What `npm start` does before serving: refuse a database migrated by newer code,
 * then apply pending migrations (`migrate: true`) or refuse when any are pending.
 * Returns the migrations it applied.
 */
export async function prepareSchema(db: Knex, opts: MigrateOptions & { migrate: boolean }): Promise<string[]> {
  const config = opts.config ?? migrationConfig;
  if (opts.migrate) return migrateToLatest(db, opts);
  const status = await migrationStatus(db, config);
  refuseUnknown(status);
  const missing = [...status.pending, ...((await jobQueueSchemaInstalled(db)) ? [] : [JOB_QUEUE_SCHEMA_PENDING])];
  if (missing.length) {
    throw new SchemaMismatchError(
      `The database is behind this code: ${missing.length} migration(s) pending:\n` +
        missing.map((m) => `  ${m}`).join('\n') +
        `\nMIGRATE_ON_START is false, so they were not applied. Run \`npm run db:migrate\`, or start with MIGRATE_ON_START=true.`,
    );
  }
  return [];
}
