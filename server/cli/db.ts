import { migrationConfig } from '../db/migrations.ts';
import { installJobQueueSchema } from '../jobs/schema.ts';
import { CliError, runWithDatabase } from './with-database.ts';

/** `npm run db:migrate` and `npm run db:rollback`. */
const [command] = process.argv.slice(2);

await runWithDatabase(async (db) => {
  switch (command) {
    case 'migrate': {
      await installJobQueueSchema(db);
      const [batch, applied] = (await db.migrate.latest(migrationConfig)) as [number, string[]];
      console.log(applied.length ? `Batch ${batch} applied:\n${applied.map((m) => `  ${m}`).join('\n')}` : 'Already up to date.');
      return;
    }
    case 'rollback': {
      const [batch, undone] = (await db.migrate.rollback(migrationConfig)) as [number, string[]];
      console.log(undone.length ? `Batch ${batch} rolled back:\n${undone.map((m) => `  ${m}`).join('\n')}` : 'Nothing to roll back.');
      return;
    }
    default:
      throw new CliError(`usage: tsx server/cli/db.ts <migrate|rollback>`);
  }
});
