import type { Knex } from 'knex';
import type { Logger } from 'pino';
import { orphanReportFiles } from './report.files.ts';
import type { Report } from './report.model.ts';
import type { ReportStorage } from './report.storage.ts';

/** Deletes the kept copy of a sent mail (the app's Mailer fits it). */
export interface MailForgetter {
  forget(key: string): Promise<boolean>;
}

/** What one run of the retention job did. */
export interface RetentionResult {
  reports: number;
  files: number;
  mails: number;
  /** Stored files whose removal failed: the next run (or `npm run storage:gc`) collects them. */
  fileErrors: number;
  /** Report files no report points at any more (deleted with its owner, failed), removed. */
  orphans: number;
}

/** A file must be this old before it can be taken for an orphan (its report may be turning ready). */
const ORPHAN_GRACE_MS = 3_600_000;

const BATCH = 200;

/**
 * REPORT_RETENTION_DAYS: a report requested longer ago than that is deleted with its
 * stored file (through the storage interface, so on every backend) and the `.eml` copy
 * of its "ready" mail. The rows go first, each batch in one statement, so no client is
 * ever shown a report whose file is already gone; a file whose removal then fails is an
 * orphan. Then, with or without a retention, the orphans older than an hour go too: the
 * files of reports deleted with their owner (the row cascades; the bytes cannot) or left
 * by one of those failures. Reports still pending or processing are left to finish.
 */
export class ReportRetention {
  constructor(private readonly deps: { db: Knex; storage: ReportStorage; mailer: MailForgetter; retentionDays: number }) {}

  async expire(opts: { log: Logger; now?: Date; signal?: AbortSignal }): Promise<RetentionResult> {
    const result: RetentionResult = { reports: 0, files: 0, mails: 0, fileErrors: 0, orphans: 0 };
    const now = opts.now ?? new Date();
    if (this.deps.retentionDays > 0) await this.expireOld(now, result, opts);
    for await (const orphan of orphanReportFiles(this.deps.db, this.deps.storage, new Date(now.getTime() - ORPHAN_GRACE_MS))) {
      opts.signal?.throwIfAborted();
      await this.deps.storage.remove(orphan.key);
      result.orphans += 1;
    }
    if (result.reports > 0 || result.orphans > 0) opts.log.info({ ...result, retentionDays: this.deps.retentionDays }, 'expired old reports and removed orphan report files');
    return result;
  }

  private async expireOld(now: Date, result: RetentionResult, opts: { log: Logger; signal?: AbortSignal }): Promise<void> {
    const cutoff = new Date(now.getTime() - this.deps.retentionDays * 86_400_000);
    for (;;) {
      opts.signal?.throwIfAborted();
      const deleted: Pick<Report, 'id' | 'filePath'>[] = await this.deps.db('reports')
        .whereIn(
          'id',
          this.deps.db('reports').select('id').where('created_at', '<', cutoff).whereIn('status', ['ready', 'failed']).orderBy('created_at').limit(BATCH),
        )
        .delete()
        .returning(['id', 'filePath']);
      for (const report of deleted) {
        if (report.filePath) {
          try {
            await this.deps.storage.remove(report.filePath);
            result.files += 1;
          } catch (error) {
            result.fileErrors += 1;
            opts.log.warn({ err: error, reportId: report.id }, 'could not remove an expired report file; storage:gc collects it');
          }
        }
        if (await this.deps.mailer.forget(`report-ready-${report.id}`).catch(() => false)) result.mails += 1;
      }
      result.reports += deleted.length;
      if (deleted.length < BATCH) break;
    }
  }
}
