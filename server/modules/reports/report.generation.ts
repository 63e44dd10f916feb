import type { Knex } from 'knex';
import type { Logger } from 'pino';
import type { ProductService } from '../products/product.service.ts';
import type { UserService } from '../users/user.service.ts';
import { Report } from './report.model.ts';
import { renderReadyEmail } from './report.email.ts';
import { renderProductCatalog } from './report.pdf.ts';
import { reportFilePath, toReportDto } from './report.service.ts';
import type { LivePublisher } from '../../live/live.ts';
import type { UserNotifications } from '../users/user.notifications.ts';
import { reportTopic, type ReportUpdate } from './report.live.ts';
import { StorageUnavailableError, type ReportStorage } from './report.storage.ts';

/** The one mail the reports module sends; the app's Mailer fits it. */
export interface ReportMailer {
  send(message: { to: string; subject: string; text: string; html: string; key?: string }): Promise<unknown>;
}

/** The attempt being run, as the job runner describes it. */
export interface ReportAttempt {
  /** 1 for the first attempt. */
  attempt: number;
  maxAttempts: number;
  /** Aborted when the worker shuts down: rendering stops and the attempt fails (retried later). */
  signal?: AbortSignal;
}

/** The mail server did not take the "ready" email; transient, so the attempt is retried. */
export class MailUnavailableError extends Error {
  override name = 'MailUnavailableError';
  constructor(cause: unknown) {
    super(`The report email could not be sent: ${(cause as Error)?.message ?? String(cause)}`, { cause });
  }
}

/** Progress is written at most every this many points, so rendering is not paced by writes. */
const PROGRESS_STEP = 5;


/**
 * Reports, the generation side: what the `report.generate` job does (render the PDF
 * into storage, make the report ready, email the owner), and how a report whose job
 * failed or was lost is settled. Retried on transient failures.
 */
export class ReportGeneration {
  constructor(
    private readonly deps: {
      db: Knex;
      products: ProductService;
      users: UserService;
      storage: ReportStorage;
      mailer: ReportMailer;
      /** Absolute base of the REST API (PUBLIC_URL + /api/v1), for links in emails. */
      apiBaseUrl: string;
      /** Each status and progress change is announced to `reports.watch` in its own transaction. */
      live: LivePublisher;
      /** "Your report is ready" / "failed" for the owner's `users.notifications`. */
      notifications: Pick<UserNotifications, 'notify'>;
    },
  ) {}

  /** Patches the report and announces its new state in one transaction; false when no row matched. */
  private async patchAndAnnounce(reportId: string, where: (q: ReturnType<typeof Report.query>) => unknown, patch: Partial<Report>, trx?: Knex.Transaction): Promise<Report | undefined> {
    const run = async (t: Knex.Transaction) => {
      const query = Report.query(t).where('id', reportId);
      where(query as unknown as ReturnType<typeof Report.query>);
      const [row] = (await query.patch(patch).returning('*')) as unknown as Report[];
      if (row) await this.deps.live.publish(t, reportTopic(reportId), { type: 'report', report: toReportDto(row) } satisfies ReportUpdate);
      return row;
    };
    return trx ? run(trx) : this.deps.db.transaction(run);
  }

  /**
   * One attempt of the generation job. Safe to run again after any failure or crash:
   * the file is written under a temporary name and renamed over `<id>.pdf`, and the
   * email is sent inside the transaction that makes the report ready, which also sets
   * `email_sent_at`; an attempt that finds that mark does nothing.
   *
   * Throws to have the attempt retried (with graphile-worker's backoff). On the last
   * attempt a failure is recorded on the report instead (`failed`, a readable reason),
   * the partial file is removed and no email is sent.
   */
  async run(reportId: string, attempt: ReportAttempt, log: Logger): Promise<void> {
    const report = await Report.query(this.deps.db).findById(reportId);
    if (!report) {
      log.warn({ reportId }, 'report no longer exists (owner deleted); nothing to generate');
      return;
    }
    if (report.status === 'failed' || report.emailSentAt) {
      log.info({ reportId, status: report.status }, 'report already settled; nothing to do');
      return;
    }
    const key = `${report.id}.pdf`;
    try {
      await this.patchAndAnnounce(report.id, (q) => q.whereIn('status', ['pending', 'processing']), {
        status: 'processing',
        attempts: attempt.attempt,
        progress: 0,
        startedAt: Report.raw('coalesce(started_at, now())') as unknown as Date,
      });
      const owner = await this.deps.users.get(report.ownerId);
      const { size } = await this.renderCatalog(report.id, owner.name, key, attempt.signal);
      await this.completeAndNotify(report.id, { key, size, to: owner.email, name: owner.name });
      log.info({ reportId, size, attempt: attempt.attempt }, 'report ready and owner notified');
    } catch (error) {
      if (attempt.attempt < attempt.maxAttempts) {
        log.warn({ err: error, reportId, attempt: attempt.attempt, maxAttempts: attempt.maxAttempts }, 'report attempt failed; it will be retried');
        throw error;
      }
      const message = `${describeFailure(error)} Gave up after ${attempt.attempt} attempt${attempt.attempt === 1 ? '' : 's'}.`;
      log.error({ err: error, reportId, attempt: attempt.attempt }, 'report failed on its last attempt');
      await this.markFailed(report.id, message);
      await this.deps.storage.remove(key).catch(() => {});
    }
  }

  /**
   * Marks a report failed unless it already settled; used by the job's last attempt
   * and by recovery when the job was lost with the worker that ran it.
   */
  async markFailed(reportId: string, message: string): Promise<boolean> {
    return this.deps.db.transaction(async (trx) => {
      const row = await this.patchAndAnnounce(reportId, (q) => q.whereIn('status', ['pending', 'processing']), { status: 'failed', errorMessage: message, completedAt: Report.fn.now() as unknown as Date }, trx);
      if (row) await this.deps.notifications.notify(trx, row.ownerId, { kind: 'report.failed', message: `Your ${row.kind} report failed: ${message}`, resourceId: row.id, link: null });
      return row !== undefined;
    });
  }

  /**
   * Settles a report whose job was lost with its worker on the last attempt: failed,
   * with the reason, and no file left behind (it may have been stored just before).
   */
  async abandon(reportId: string, attempts: number): Promise<void> {
    const message = `The worker generating the report stopped unexpectedly. Gave up after ${attempts} attempt${attempts === 1 ? '' : 's'}.`;
    if (await this.markFailed(reportId, message)) await this.deps.storage.remove(`${reportId}.pdf`).catch(() => {});
  }

  /**
   * Renders the catalog into storage from one REPEATABLE READ snapshot, so the rows,
   * their count and their total agree even while products change.
   */
  private async renderCatalog(reportId: string, ownerName: string, key: string, signal?: AbortSignal): Promise<{ size: number }> {
    let written = 0;
    const onProgress = async (percent: number) => {
      // 100 is set with the ready status; the file is not stored yet.
      if (percent >= 100 || percent < written + PROGRESS_STEP) return;
      written = percent;
      await this.patchAndAnnounce(reportId, (q) => q.where('status', 'processing').where('progress', '<', percent), { progress: percent });
    };
    return this.deps.db.transaction(
      async (trx) => {
        const { count, total } = await this.deps.products.activeSummary(trx);
        const pdf = renderProductCatalog({
          generatedAt: new Date(),
          ownerName,
          productCount: count,
          totalPrice: total,
          rows: this.deps.products.activeByName(trx),
          onProgress,
          ...(signal ? { signal } : {}),
        });
        return this.deps.storage.put(key, pdf);
      },
      { isolationLevel: 'repeatable read', readOnly: true },
    );
  }

  /**
   * Makes the report ready and sends its email as one unit: the row is locked, the
   * email sent, and the ready status with `email_sent_at` committed only once the
   * mail server took it. A failed send rolls back (the report stays processing and
   * the attempt is retried); a concurrent duplicate attempt waits on the lock, then
   * sees the mark and sends nothing. Only a crash between the send and the commit
   * can repeat the email, and the mail's key (its Message-ID) stays the same then.
   */
  private async completeAndNotify(reportId: string, file: { key: string; size: number; to: string; name: string }): Promise<void> {
    await this.deps.db.transaction(async (trx) => {
      const locked = await Report.query(trx).findById(reportId).forUpdate();
      if (!locked || locked.emailSentAt || locked.status === 'failed') return;
      const ready = await this.patchAndAnnounce(
        reportId,
        () => {},
        {
          status: 'ready',
          progress: 100,
          filePath: file.key,
          fileSize: file.size,
          errorMessage: null,
          completedAt: Report.fn.now() as unknown as Date,
          emailSentAt: Report.fn.now() as unknown as Date,
        },
        trx,
      );
      if (ready) {
        await this.deps.notifications.notify(trx, ready.ownerId, {
          kind: 'report.ready',
          message: `Your ${ready.kind} report is ready`,
          resourceId: ready.id,
          link: `/api/v1${reportFilePath(ready.id)}`,
        });
      }
      const email = renderReadyEmail({ name: file.name, fileUrl: `${this.deps.apiBaseUrl}${reportFilePath(reportId)}`, size: file.size });
      try {
        await this.deps.mailer.send({ to: file.to, ...email, key: `report-ready-${reportId}` });
      } catch (error) {
        throw new MailUnavailableError(error);
      }
    });
  }
}

/** The reason shown to the owner: what went wrong in words, no paths or stack. */
function describeFailure(error: unknown): string {
  if (error instanceof StorageUnavailableError) return 'The report file could not be stored (storage unavailable).';
  if (error instanceof MailUnavailableError) return 'The report was generated but the email could not be sent (mail server unavailable).';
  if (error instanceof Error && error.name === 'AbortError') return 'Generation was interrupted by a worker shutdown.';
  return 'Generation failed because of an unexpected error.';
}
