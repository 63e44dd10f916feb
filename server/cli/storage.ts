import path from 'node:path';
import { parseArgs } from 'node:util';
import { orphanReportFiles } from '../modules/reports/report.files.ts';
import { Report } from '../modules/reports/report.model.ts';
import { REPORT_FILE_KEY } from '../modules/reports/report.storage.ts';
import { createStorage } from '../storage/from-config.ts';
import { LocalDiskStorage } from '../storage/local-disk.ts';
import { CliError, runWithDatabase } from './with-database.ts';

/**
 * `npm run storage:gc -- [--grace-minutes 60] [--dry-run]`: removes report files no
 * report needs (deleted or failed reports) and what killed writers left (partial
 * writes, incomplete multipart uploads, replaced versions), when older than the grace
 * period; prints each removal and the totals.
 *
 * `npm run storage:import -- [--from DIR]`: copies report files from the local disk
 * (default DATA_DIR/reports, where they lived before STORAGE_URL) into the configured
 * storage. Safe to re-run: a file already there with the same size is skipped.
 */
const [command, ...rest] = process.argv.slice(2);
const USAGE = 'usage: npm run storage:gc -- [--grace-minutes N] [--dry-run] | npm run storage:import -- [--from DIR]';

let options: { 'grace-minutes'?: string; 'dry-run'?: boolean; from?: string };
try {
  ({ values: options } = parseArgs({
    args: rest,
    options: { 'grace-minutes': { type: 'string' }, 'dry-run': { type: 'boolean' }, from: { type: 'string' } },
  }));
} catch (error) {
  console.error(`${(error as Error).message}\n${USAGE}`);
  process.exit(2);
}

const bytes = (n: number) => (n >= 1e6 ? `${(n / 1e6).toFixed(1)} MB` : n >= 1e3 ? `${(n / 1e3).toFixed(1)} kB` : `${n} B`);

await runWithDatabase(async (db, { config }) => {
  const storage = createStorage(config.storage, { db });
  await storage.check().catch((error: unknown) => {
    throw new CliError(`STORAGE_URL: ${(error as Error).message}`);
  });
  switch (command) {
    case 'gc': {
      const minutes = Number(options['grace-minutes'] ?? 60);
      if (!Number.isFinite(minutes) || minutes < 0) throw new CliError(`--grace-minutes must be a number of minutes (got "${options['grace-minutes']}")\n${USAGE}`);
      const dryRun = Boolean(options['dry-run']);
      const olderThan = new Date(Date.now() - minutes * 60_000);
      console.log(`${dryRun ? 'Would collect' : 'Collecting'} in ${storage.location}: what is older than ${olderThan.toISOString()} (${minutes} min)`);
      let orphans = 0;
      let orphanBytes = 0;
      for await (const orphan of orphanReportFiles(db, storage, olderThan)) {
        if (!dryRun) await storage.remove(orphan.key);
        orphans += 1;
        orphanBytes += orphan.size;
        console.log(`  ${dryRun ? 'would remove' : 'removed'} ${orphan.key} (${bytes(orphan.size)}, stored ${orphan.storedAt.toISOString()}): ${orphan.reason}`);
      }
      let leftovers = 0;
      if (!dryRun) {
        const collected = await storage.collectLeftovers(olderThan);
        for (const line of collected.removed) console.log(`  removed ${line}`);
        leftovers = collected.removed.length;
        if (collected.note) console.log(`  note: ${collected.note}`);
      }
      console.log(`${dryRun ? 'Would remove' : 'Removed'} ${orphans} orphan report file(s) (${bytes(orphanBytes)})${dryRun ? '' : ` and ${leftovers} leftover(s) of unfinished writes`}.`);
      return;
    }
    case 'import': {
      const from = path.resolve(options.from ?? path.join(config.dataDir, 'reports'));
      if (config.storage.kind === 'file' && path.resolve(config.storage.directory) === from) {
        console.log(`STORAGE_URL is ${from} itself: nothing to copy.`);
        return;
      }
      const source = new LocalDiskStorage(from);
      console.log(`Copying report files from ${from} into ${storage.location}`);
      const counts = { copied: 0, present: 0, notReports: 0, failed: 0 };
      let copiedBytes = 0;
      for await (const file of source.list()) {
        if (!REPORT_FILE_KEY.test(file.key) || !(await Report.query(db).where('filePath', file.key).first())) {
          counts.notReports += 1;
          continue;
        }
        if ((await storage.size(file.key)) === file.size) {
          counts.present += 1;
          continue;
        }
        const opened = await source.open(file.key);
        if (!opened) continue; // removed meanwhile
        try {
          await storage.put(file.key, opened.stream);
          counts.copied += 1;
          copiedBytes += file.size;
        } catch (error) {
          counts.failed += 1;
          console.error(`  could not copy ${file.key}: ${(error as Error).message}`);
        }
      }
      console.log(
        `Copied ${counts.copied} file(s) (${bytes(copiedBytes)}); ${counts.present} already there; ${counts.notReports} not a report's file (left alone); ${counts.failed} failed.`,
      );
      if (counts.copied + counts.present > 0) console.log(`The files under ${from} can be deleted once you are satisfied (the app no longer reads them).`);
      if (counts.failed) throw new CliError(`${counts.failed} file(s) not copied; run the command again to retry them`);
      return;
    }
    default:
      throw new CliError(USAGE);
  }
});
