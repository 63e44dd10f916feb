import type { Knex } from 'knex';
import { ConflictError, NotFoundError, RateLimitedError, ServiceUnavailableError } from '../../errors.ts';
import { fetchPage } from '../../lib/pagination.ts';
import type { RateLimit, RateLimiter } from '../../lib/rate-limiter.ts';
import type { Actor } from '../../trpc/access.ts';
import { Report } from './report.model.ts';
import { reportPermissions } from './report.permissions.ts';
import type { GenerateReportInput, ListReportsInput, ReportAcceptedDto, ReportDto, ReportPage } from './report.schemas.ts';
import { StorageUnavailableError, type ReportStorage, type StoredFile } from './report.storage.ts';
import type { Live } from '../../live/live.ts';
import { isSettled, reportTopic, type ReportUpdate, type WatchReportInput } from './report.live.ts';

/** Adds the generation job for a report inside the caller's transaction. */
export type EnqueueReport = (trx: Knex.Transaction, reportId: string) => Promise<void>;

/** The path of a report's file under the REST prefix; the email and `fileUrl` link to it. */
export const reportFilePath = (id: string) => `/reports/${id}/file`;

/**
 * Reports, the request side: a request writes the report row and its job in one
 * transaction and answers 202 at once; the job (report.generation.ts) renders the PDF
 * into storage, makes the report ready and emails the owner.
 *
 * Visibility: the owner, or a holder of `reports:read-all`. Anyone else gets the same
 * 404 as for an id that does not exist, so report ids cannot be probed.
 */
export class ReportService {
  constructor(
    private readonly deps: {
      db: Knex;
      /** Where ready reports' files are read from. */
      storage: ReportStorage;
      enqueue: EnqueueReport;
      /** Report requests per user (REPORT_LIMIT_PER_HOUR) and the cap on unfinished ones (MAX_PENDING_REPORTS). */
      limiter?: RateLimiter;
      limits?: { perUser: RateLimit; maxPending: number };
      live: Pick<Live, 'stream'>;
    },
  ) {}

  /**
   * The report's state now, then each change until it is ready or failed (the stream
   * ends there). Checked before the stream opens: someone else's report is a 404.
   */
  async watch(actor: Actor, input: WatchReportInput, signal?: AbortSignal) {
    await this.findVisible(input.id, actor);
    return this.deps.live.stream<ReportUpdate>({
      topic: reportTopic(input.id),
      lastEventId: input.lastEventId,
      signal,
      snapshot: async (trx) => {
        const report = await Report.query(trx).findById(input.id);
        return report ? { type: 'report', report: toReportDto(report) } : undefined;
      },
      isFinal: isSettled,
    });
  }

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

  private async findVisible(id: string, actor: Actor): Promise<Report> {
    const report = await Report.query(this.deps.db).findById(id);
    if (!report || (report.ownerId !== actor.userId && !actor.permissions.has(reportPermissions.readAll))) throw new NotFoundError('Report', id);
    return report;
  }
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
    version: r.version,
    createdAt: r.createdAt.toISOString(),
    startedAt: r.startedAt?.toISOString() ?? null,
    completedAt: r.completedAt?.toISOString() ?? null,
  };
}
