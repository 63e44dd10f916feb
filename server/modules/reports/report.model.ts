import { Model, type QueryBuilder } from 'objection';
import { modelColumns } from '../../db/model-columns.ts';
import { defineList } from '../../lib/pagination.ts';

export const REPORT_KINDS = ['product-catalog'] as const;
export type ReportKind = (typeof REPORT_KINDS)[number];

/** pending → processing → ready | failed. */
export const REPORT_STATUSES = ['pending', 'processing', 'ready', 'failed'] as const;
export type ReportStatus = (typeof REPORT_STATUSES)[number];

/** A row of `reports`. `filePath` is the storage key, never shown to clients. */
export class Report extends Model {
  static override tableName = 'reports';

  id!: string;
  ownerId!: string;
  kind!: ReportKind;
  status!: ReportStatus;
  /** 0–100 while processing; 100 once ready. */
  progress!: number;
  /** Generation attempts started so far. */
  attempts!: number;
  errorMessage!: string | null;
  filePath!: string | null;
  /** Bytes; BIGINT arrives from pg as a string. */
  fileSize!: string | number | null;
  /** Set, once, in the transaction that makes the report ready and sends its email. */
  emailSentAt!: Date | null;
  createdAt!: Date;
  startedAt!: Date | null;
  completedAt!: Date | null;

  /** The columns above, for `npm run db:check` (the compiler keeps the two lists equal). */
  static readonly columns = modelColumns<Report>()([
    'id',
    'ownerId',
    'kind',
    'status',
    'progress',
    'attempts',
    'errorMessage',
    'filePath',
    'fileSize',
    'emailSentAt',
    'createdAt',
    'startedAt',
    'completedAt',
  ]);

  /** `reports.list`: one owner's reports, newest first (index `reports_owner_newest`). */
  static readonly list = defineList({
    name: 'reports.list',
    table: 'reports',
    direction: 'desc',
    keys: [
      { column: 'created_at', type: 'timestamptz' },
      { column: 'id', type: 'uuid' },
    ],
  });

  static override modifiers = {
    ownedBy(query: QueryBuilder<Report>, ownerId: string) {
      void query.where('ownerId', ownerId);
    },
  };
}
