import type { Knex } from 'knex';
import type { Logger } from 'pino';
import { ConflictError, NotFoundError, RateLimitedError, ServiceUnavailableError } from '../../errors.ts';
import type { RateLimit, RateLimiter } from '../../lib/rate-limiter.ts';
import { fetchPage } from '../../lib/pagination.ts';
import type { Actor } from '../../trpc/access.ts';
import type { ProductService } from '../products/product.service.ts';
import type { UserService } from '../users/user.service.ts';
import { Report } from './report.model.ts';
import { renderReadyEmail } from './report.email.ts';
import { renderProductCatalog } from './report.pdf.ts';
import { reportPermissions } from './report.permissions.ts';
import type { GenerateReportInput, ListReportsInput, ReportAcceptedDto, ReportDto, ReportPage } from './report.schemas.ts';
import { StorageUnavailableError, type ReportStorage, type StoredFile } from './report.storage.ts';

/** The one mail the reports module sends; the app's Mailer fits it. */
export interface ReportMailer {
  send(message: { to: string; subject: string; text: string; html: string; key?: string }): Promise<unknown>;
}

/** Adds the generation job for a report inside the caller's transaction. */
export type EnqueueReport = (trx: Knex.Transaction, reportId: string) => Promise<void>;

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

/** The path of a report's file under the REST prefix; the email and `fileUrl` link to it. */
export const reportFilePath = (id: string) => `/reports/${id}/file`;

/**
 * Reports: a request writes the report row and its job in one
 * transaction and answers 202 at once; the job (`run`) renders the PDF into storage,
 * makes the report ready and emails the owner, retried on transient failures.
 *
 * Visibility: the owner, or a holder of `reports:read-all`. Anyone else gets the same
 * 404 as for an id that does not exist, so report ids cannot be probed.
 */
export class ReportService {
  constructor(
    private readonly deps: {
      db: Knex;
      products: ProductService;
      users: UserService;
      storage: ReportStorage;
      mailer: ReportMailer;
      enqueue: EnqueueReport;
      /** Absolute base of the REST API (PUBLIC_URL + /api/v1), for links in emails. */
      apiBaseUrl: string;
      /** Report requests per user (REPORT_LIMIT_PER_HOUR) and the cap on unfinished ones (MAX_PENDING_REPORTS). */
      limiter?: RateLimiter;
      limits?: { perUser: RateLimit; maxPending: number };
    },
  ) {}

  /**
   * Queues a report: the row and its job commit together, or neither does. Each request
   * counts against the owner's hourly limit, and a user with MAX_PENDING_REPORTS reports
   * still pending or processing gets a 429 until one finishes: one member cannot fill
   * the disk, the outbox and the shared worker.
   */
  async generate(actor: Actor, input: GenerateReportInput): Promise<ReportAcceptedDto> {
    const { limiter, limits } = this.deps;
    if (limiter && limits) await limiter.consume(limits.perUser, actor.userId);
    const report = await this.deps.db.transaction(async (trx) => {
      if (limiter?.enabled && limits) {
        // Serializes one owner's concurrent requests, so two cannot both see room for one more.
        await trx.raw('SELECT pg_advisory_xact_lock(hashtext(?))', [`reports:pending:${actor.userId}`]);
        const unfinished = await Report.query(trx).modify('ownedBy', actor.userId).whereIn('status', ['pending', 'processing']).resultSize();
        if (unfinished >= limits.maxPending) {
          throw new RateLimitedError(30, `You already have ${unfinished} reports queued or in progress (at most ${limits.maxPending}); wait for one to finish`);
        }
      }
      const created = await Report.query(trx).insert({ ownerId: actor.userId, kind: input.kind }).returning('*');
      await this.deps.enqueue(trx, created.id);
      return created;
    });
    return { id: report.id, status: 'pending' };
  }

  async get(id: string, actor: Actor): Promise<ReportDto> {
    return toReportDto(await this.findVisible(id, actor));
  }

  /** The caller's own reports, newest first. */
  async list(actor: Actor, query: ListReportsInput): Promise<ReportPage> {
    // The owner is a filter like any other: another user's cursor is refused, not reinterpreted.
    const page = await fetchPage(Report.list, Report.query(this.deps.db).modify('ownedBy', actor.userId), query, { ownerId: actor.userId });
    return { ...page, items: page.items.map(toReportDto) };
  }

  /** The PDF of a ready report, opened for streaming, with a download name. */
  async openFile(id: string, actor: Actor): Promise<StoredFile & { fileName: string }> {
    const { key, fileName } = await this.readyFile(id, actor);
    const file = await this.fromStorage(() => this.deps.storage.open(key));
    if (!file) throw new NotFoundError('Report file', id);
    return { ...file, fileName };
  }

  /**
   * A short-lived URL to download a ready report's PDF straight from the storage
   * (S3_PRESIGN), after the same checks as `openFile`; undefined when the storage
   * cannot hand out such URLs.
   */
  async presignedFileUrl(id: string, actor: Actor, opts: { expiresInSeconds: number }): Promise<string | undefined> {
    const storage = this.deps.storage;
    if (!storage.presignedUrl) return undefined;
    const { key, fileName } = await this.readyFile(id, actor);
    // A missing object answers our 404, not the store's own error page after the redirect.
    if ((await this.fromStorage(() => storage.size(key))) === undefined) throw new NotFoundError('Report file', id);
    return this.fromStorage(() => storage.presignedUrl!(key, { ...opts, fileName, contentType: 'application/pdf' }));
  }

  private async readyFile(id: string, actor: Actor): Promise<{ key: string; fileName: string }> {
    const report = await this.findVisible(id, actor);
    if (report.status !== 'ready' || !report.filePath) throw new ConflictError(`Report ${id} is ${report.status}; its file is available once it is ready`);
    return { key: report.filePath, fileName: `${report.kind}-${report.createdAt.toISOString().slice(0, 10)}-${report.id.slice(0, 8)}.pdf` };
  }

  /** A store that is down answers 503 (try again), not 500. */
  private async fromStorage<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      if (error instanceof StorageUnavailableError) throw new ServiceUnavailableError('Report storage is unavailable; try again shortly');
      throw error;
    }
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
      await Report.query(this.deps.db)
        .findById(report.id)
        .whereIn('status', ['pending', 'processing'])
        .patch({
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
    const changed = await Report.query(this.deps.db)
      .findById(reportId)
      .whereIn('status', ['pending', 'processing'])
      .patch({ status: 'failed', errorMessage: message, completedAt: Report.fn.now() as unknown as Date });
    return changed > 0;
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
      await Report.query(this.deps.db).findById(reportId).where('status', 'processing').where('progress', '<', percent).patch({ progress: percent });
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
      await Report.query(trx)
        .findById(reportId)
        .patch({
          status: 'ready',
          progress: 100,
          filePath: file.key,
          fileSize: file.size,
          errorMessage: null,
          completedAt: Report.fn.now() as unknown as Date,
          emailSentAt: Report.fn.now() as unknown as Date,
        });
      const email = renderReadyEmail({ name: file.name, fileUrl: `${this.deps.apiBaseUrl}${reportFilePath(reportId)}`, size: file.size });
      try {
        await this.deps.mailer.send({ to: file.to, ...email, key: `report-ready-${reportId}` });
      } catch (error) {
        throw new MailUnavailableError(error);
      }
    });
  }

  private async findVisible(id: string, actor: Actor): Promise<Report> {
    const report = await Report.query(this.deps.db).findById(id);
    if (!report || (report.ownerId !== actor.userId && !actor.permissions.has(reportPermissions.readAll))) throw new NotFoundError('Report', id);
    return report;
  }
}

/** The reason shown to the owner: what went wrong in words, no paths or stack. */
function describeFailure(error: unknown): string {
  if (error instanceof StorageUnavailableError) return 'The report file could not be stored (storage unavailable).';
  if (error instanceof MailUnavailableError) return 'The report was generated but the email could not be sent (mail server unavailable).';
  if (error instanceof Error && error.name === 'AbortError') return 'Generation was interrupted by a worker shutdown.';
  return 'Generation failed because of an unexpected error.';
}

export function toReportDto(r: Report): ReportDto {
  const ready = r.status === 'ready';
  return {
    id: r.id,
    ownerId: r.ownerId,
    kind: r.kind,
    status: r.status,
    progress: r.progress,
    attempts: r.attempts,
    errorMessage: r.errorMessage,
    fileSize: ready && r.fileSize !== null ? Number(r.fileSize) : null,
    fileUrl: ready ? `/api/v1${reportFilePath(r.id)}` : null,
    createdAt: r.createdAt.toISOString(),
    startedAt: r.startedAt?.toISOString() ?? null,
    completedAt: r.completedAt?.toISOString() ?? null,
  };
}
