import fs from 'node:fs/promises';
import path from 'node:path';
import { redactUrl } from '../db/database.ts';
import { JOB_QUEUE_SCHEMA_PENDING, jobQueueSchemaInstalled, migrateToLatest, migrationStatus, rollbackLastBatch, strayMigrationFiles } from '../db/migrations.ts';
import { createMigration } from '../db/new-migration.ts';
import { runSchemaChecks, SCHEMA_FILE, schemaFromMigrations, type CheckResult } from '../db/schema-check.ts';
import { CliError, runWithDatabase } from './with-database.ts';

/**
 * `npm run db:<command>`: migrate, rollback, status, make <name>, schema, check.
 * Each works with DATABASE_URL and with the embedded database (also while `npm start`
 * runs on it); any failure prints what went wrong and exits 1.
 */
const [command, ...args] = process.argv.slice(2);
const USAGE = 'usage: tsx server/cli/db.ts <migrate|rollback|status|make <name>|schema|check>';
const waiting = () => console.log('Another process is migrating this database; waiting for it to finish…');
const list = (names: string[]) => names.map((n) => `  ${n}`).join('\n');

if (command === 'make') {
  try {
    const file = await createMigration(args.join(' '));
    console.log(`Created ${path.relative(process.cwd(), file)}\nWrite its up and down, then: npm run db:migrate && npm run db:schema`);
  } catch (error) {
    console.error(`error: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  }
  process.exit(0);
}

await runWithDatabase(async (db, { url }) => {
  switch (command) {
    case 'migrate': {
      const hadQueue = await jobQueueSchemaInstalled(db);
      const applied = await migrateToLatest(db, { onWait: waiting });
      if (!hadQueue) console.log(`Installed ${JOB_QUEUE_SCHEMA_PENDING}.`);
      console.log(applied.length ? `Applied:\n${list(applied)}` : hadQueue ? 'Already up to date.' : 'No migration was pending.');
      return;
    }
    case 'rollback': {
      const undone = await rollbackLastBatch(db, { onWait: waiting });
      console.log(undone.length ? `Rolled back:\n${list(undone)}` : 'Nothing to roll back.');
      return;
    }
    case 'status': {
      const status = await migrationStatus(db);
      // Not a knex migration, but the server refuses to start without it (see prepareSchema).
      if (!(await jobQueueSchemaInstalled(db))) status.pending.unshift(JOB_QUEUE_SCHEMA_PENDING);
      console.log(`Database: ${redactUrl(url)}`);
      console.log(`Applied (${status.applied.length}):`);
      for (const m of status.applied) console.log(`  batch ${String(m.batch).padStart(3)}  ${m.migratedAt.toISOString()}  ${m.name}`);
      console.log(`Pending (${status.pending.length}):${status.pending.length ? `\n${list(status.pending)}` : ''}`);
      if (status.unknown.length) {
        console.log(`Applied, but unknown to this code (${status.unknown.length}): the database was migrated by newer code`);
        for (const m of status.unknown) console.log(`  batch ${String(m.batch).padStart(3)}  ${m.migratedAt.toISOString()}  ${m.name}`);
      }
      console.log(status.pending.length ? 'Run `npm run db:migrate` to apply the pending migrations.' : status.unknown.length ? '' : 'Up to date.');
      return;
    }
    case 'schema': {
      const schema = await schemaFromMigrations(url);
      const current = await fs.readFile(SCHEMA_FILE, 'utf8').catch(() => '');
      await fs.writeFile(SCHEMA_FILE, schema.text);
      const file = path.relative(process.cwd(), SCHEMA_FILE);
      console.log(current === schema.text ? `${file} is up to date.` : `Wrote ${file}: review its diff (git diff ${file}) and commit it with the migration.`);
      return;
    }
    case 'check': {
      const stray = await strayMigrationFiles();
      if (stray.length) {
        printResult({
          status: 'fail',
          title: `${stray.length} file(s) in migrations/ would never run: ${stray.join(', ')}`,
          details: 'A migration is migrations/<14-digit timestamp>_<name>.ts (npm run db:make -- <name>). Rename it, or move it out of migrations/.',
        });
      }
      const results = await runSchemaChecks({ url, liveUrl: url });
      for (const r of results) printResult(r);
      const failed = results.filter((r) => r.status === 'fail').length + (stray.length ? 1 : 0);
      if (failed) throw new CliError(`\ndb:check: ${failed} problem(s).`);
      console.log('\ndb:check: all good.');
      return;
    }
    default:
      throw new CliError(USAGE);
  }
});

function printResult(r: CheckResult): void {
  const mark = { pass: '✓', fail: '✗', skip: '-' }[r.status];
  console.log(`${mark} ${r.title}`);
  if (r.details) console.log(r.details.replace(/\n$/, '').replace(/^/gm, '    '));
}
