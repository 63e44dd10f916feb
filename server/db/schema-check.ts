import fs from 'node:fs/promises';
import path from 'node:path';
import type { Knex } from 'knex';
import { installJobQueueSchema } from '../jobs/schema.ts';
import { unifiedDiff } from '../lib/text-diff.ts';
import { redactUrl, withScratchDatabase } from './database.ts';
import { createKnex } from './knex.ts';
import { findModels, type ModelInfo } from './model-columns.ts';
import { describeDatabaseError, MIGRATIONS_DIR, migrateToLatest, migrationConfig, migrationStatus } from './migrations.ts';
import { dumpSchema, type SchemaSnapshot } from './schema-dump.ts';

/** The committed schema: what the migrations produce, reviewed as a diff with every change. */
export const SCHEMA_FILE = path.join(MIGRATIONS_DIR, 'schema.sql');

/** The migrations' schema, built on a scratch database on the server of `url`. */
export async function schemaFromMigrations(url: string, config: Knex.MigratorConfig = migrationConfig): Promise<SchemaSnapshot> {
  return withScratchDatabase(url, 'schema', async (scratchUrl) => {
    const db = createKnex(scratchUrl, { poolMax: 2, applicationName: 'duality-schema' });
    try {
      await migrateToLatest(db, { config });
      return await dumpSchema(scratchUrl);
    } finally {
      await db.destroy();
    }
  });
}

/** One line of the `db:check` report. */
export interface CheckResult {
  status: 'pass' | 'fail' | 'skip';
  title: string;
  /** What is wrong and what to run, when it failed or was skipped. */
  details?: string;
}

export interface CheckOptions {
  /** A database on the server to use; scratch databases are created next to it. */
  url: string;
  config?: Knex.MigratorConfig;
  /** The committed schema text; defaults to the contents of migrations/schema.sql. */
  expectedSchema?: string;
  models?: ModelInfo[];
  /** Also compare this database (the app's) with the schema, when it is fully migrated. */
  liveUrl?: string;
}

const REGENERATE = 'Run `npm run db:schema` and commit migrations/schema.sql with the migration that changed it.';

/**
 * `npm run db:check`: applies every migration, one by one, to an empty database and
 * compares the result with migrations/schema.sql; checks that every model's declared
 * columns exist; migrates all the way down, checking after each `down` that the
 * schema is what it was before that migration's `up`, and up again; and, given
 * `liveUrl`, compares the app's database with the schema to catch changes made by hand.
 */
export async function runSchemaChecks(opts: CheckOptions): Promise<CheckResult[]> {
  const config = opts.config ?? migrationConfig;
  const results: CheckResult[] = [];
  const expected = opts.expectedSchema ?? (await fs.readFile(SCHEMA_FILE, 'utf8').catch(() => undefined));

  const final = await withScratchDatabase(opts.url, 'check', async (scratchUrl) => {
    const db = createKnex(scratchUrl, { poolMax: 2, applicationName: 'duality-check' });
    try {
      return await checkOnScratch(db, scratchUrl, config, expected, opts.models ?? (await findModels()), results);
    } finally {
      await db.destroy();
    }
  });

  if (opts.liveUrl && final) results.push(await checkLive(opts.liveUrl, config, final));
  return results;
}

async function checkOnScratch(
  db: Knex,
  scratchUrl: string,
  config: Knex.MigratorConfig,
  expected: string | undefined,
  models: ModelInfo[],
  results: CheckResult[],
): Promise<SchemaSnapshot | undefined> {
  // What migrateToLatest puts in place before any migration: graphile-worker's schema
  // (left out of every snapshot) and knex's tables, so the empty snapshot is comparable.
  await installJobQueueSchema(db);
  await db.migrate.list(config);
  const names = (await migrationStatus(db, config)).pending;
  const steps: { name: string; snapshot: SchemaSnapshot }[] = [{ name: '(empty database)', snapshot: await dumpSchema(scratchUrl) }];

  for (const name of names) {
    try {
      await db.migrate.up(config);
    } catch (error) {
      results.push({ status: 'fail', title: `migration ${name} fails on a database migrated up to the one before it`, details: describeDatabaseError(error) });
      return undefined;
    }
    steps.push({ name, snapshot: await dumpSchema(scratchUrl) });
  }
  const final = steps.at(-1)!.snapshot;
  results.push({ status: 'pass', title: `${names.length} migration(s) apply, one by one, to an empty database` });

  if (expected === undefined) {
    results.push({ status: 'fail', title: 'migrations/schema.sql is missing', details: REGENERATE });
  } else if (expected !== final.text) {
    results.push({
      status: 'fail',
      title: 'migrations/schema.sql differs from the schema the migrations produce',
      details: `${unifiedDiff(expected, final.text, { before: 'migrations/schema.sql (committed)', after: 'schema the migrations produce' })}${REGENERATE}`,
    });
  } else {
    results.push({ status: 'pass', title: 'migrations/schema.sql matches the schema the migrations produce' });
  }

  results.push(checkModels(models, final));

  // All the way down, one migration at a time, so a `down` that leaves something behind is named.
  for (let i = steps.length - 1; i >= 1; i--) {
    const { name } = steps[i]!;
    const before = steps[i - 1]!.snapshot;
    try {
      await db.migrate.down(config);
    } catch (error) {
      results.push({ status: 'fail', title: `the down of ${name} fails`, details: describeDatabaseError(error) });
      return final;
    }
    const after = await dumpSchema(scratchUrl);
    if (after.text !== before.text) {
      results.push({
        status: 'fail',
        title: `the down of ${name} does not undo its up`,
        details: differences(before, after, { before: `schema before ${name}`, after: `schema after its up and down` }),
      });
      return final;
    }
  }
  try {
    await db.migrate.latest(config);
  } catch (error) {
    results.push({ status: 'fail', title: 'migrating up again after migrating all the way down fails', details: describeDatabaseError(error) });
    return final;
  }
  const again = await dumpSchema(scratchUrl);
  if (again.text !== final.text) {
    results.push({
      status: 'fail',
      title: 'the schema after migrating all the way down and up again differs from the first time',
      details: differences(final, again, { before: 'first migration up', after: 'after down and up again' }),
    });
  } else {
    results.push({ status: 'pass', title: `every down undoes its up (${names.length} migration(s) down one by one, then up again)` });
  }
  return final;
}

export function checkModels(models: ModelInfo[], schema: SchemaSnapshot): CheckResult {
  const undeclared: string[] = [];
  const lacking: string[] = [];
  for (const model of models) {
    const table = model.table.includes('.') ? model.table : `public.${model.table}`;
    const where = `${model.name} (${model.file})`;
    if (!model.columns) undeclared.push(`${where} does not declare its columns: add \`static readonly columns = modelColumns<${model.name}>()([...])\`.`);
    else if (!schema.objects.has(`table ${table}`)) lacking.push(`${where} maps table ${table}, which the schema lacks.`);
    else {
      for (const column of model.columns) {
        if (!schema.objects.has(`column ${table}.${column}`)) lacking.push(`${where} declares column ${table}.${column}, which the schema lacks.`);
      }
    }
  }
  if (!undeclared.length && !lacking.length) {
    return { status: 'pass', title: `every model's columns exist (${models.map((m) => m.name).join(', ') || 'no models'})` };
  }
  const details = [...undeclared, ...lacking, ...(lacking.length ? ['Add a migration for it, or correct the model.'] : [])];
  return { status: 'fail', title: "the models' columns do not match the schema", details: details.join('\n') };
}

async function checkLive(liveUrl: string, config: Knex.MigratorConfig, expected: SchemaSnapshot): Promise<CheckResult> {
  const where = `the database ${redactUrl(liveUrl)}`;
  const db = createKnex(liveUrl, { poolMax: 1, applicationName: 'duality-check' });
  let status;
  try {
    status = await migrationStatus(db, config);
  } finally {
    await db.destroy();
  }
  if (!status.applied.length && !status.unknown.length) return { status: 'skip', title: `${where} is not migrated yet; not compared` };
  if (status.unknown.length) {
    return { status: 'skip', title: `${where} has migrations this code does not know (${status.unknown.map((m) => m.name).join(', ')}); not compared` };
  }
  if (status.pending.length) {
    return { status: 'skip', title: `${where} has ${status.pending.length} pending migration(s); not compared`, details: 'Run `npm run db:migrate` to bring it up to date.' };
  }
  const actual = await dumpSchema(liveUrl);
  if (actual.text === expected.text) return { status: 'pass', title: `${where} matches migrations/schema.sql` };
  return {
    status: 'fail',
    title: `${where} differs from migrations/schema.sql: it was changed outside the migrations`,
    details: `${differences(expected, actual, { before: 'migrations/schema.sql', after: 'the database' })}Put the change in a migration, or undo it by hand.`,
  };
}

/** Object by object (what is only on one side, what differs), then the full diff. */
export function differences(before: SchemaSnapshot, after: SchemaSnapshot, labels: { before: string; after: string }): string {
  const lines: string[] = [];
  for (const [key, sql] of after.objects) {
    const old = before.objects.get(key);
    if (old === undefined) lines.push(`only in ${labels.after}: ${key}: ${sql}`);
    else if (old !== sql) lines.push(`changed: ${key}\n  was: ${old}\n  now: ${sql}`);
  }
  for (const [key, sql] of before.objects) {
    if (!after.objects.has(key)) lines.push(`only in ${labels.before}: ${key}: ${sql}`);
  }
  return `${lines.join('\n')}\n${unifiedDiff(before.text, after.text, labels)}`;
}
