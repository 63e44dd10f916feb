import type { Knex } from 'knex';
import { Report } from './report.model.ts';
import { REPORT_FILE_KEY, type ReportStorage } from './report.storage.ts';

/** A stored report file that no report needs any more. */
export interface OrphanFile {
  key: string;
  size: number;
  storedAt: Date;
  reason: string;
}

/**
 * Report files in storage that no report points at: the report was deleted (with its
 * owner, or by retention) or failed, and the removal of its bytes did not happen or
 * did not finish. Only files stored before `olderThan` count, so a file written a
 * moment before its report turns ready is never taken for an orphan. Files whose
 * names are not report files (`<uuid>.pdf`) are not this module's and are left alone.
 */
export async function* orphanReportFiles(db: Knex, storage: ReportStorage, olderThan: Date): AsyncIterable<OrphanFile> {
  let batch: { key: string; size: number; storedAt: Date; id: string }[] = [];
  const settle = async function* () {
    const rows = await Report.query(db)
      .whereIn(
        'id',
        batch.map((b) => b.id),
      )
      .select('id', 'status', 'filePath');
    const byId = new Map(rows.map((r) => [r.id, r]));
    for (const file of batch) {
      const report = byId.get(file.id);
      const reason = !report
        ? 'its report no longer exists'
        : report.status === 'failed'
          ? 'its report failed'
          : report.status === 'ready' && report.filePath !== file.key
            ? 'its report points at another file'
            : undefined;
      if (reason) yield { key: file.key, size: file.size, storedAt: file.storedAt, reason };
    }
    batch = [];
  };
  for await (const entry of storage.list()) {
    const match = REPORT_FILE_KEY.exec(entry.key);
    if (!match || entry.storedAt >= olderThan) continue;
    batch.push({ ...entry, id: match[1]! });
    if (batch.length >= 500) yield* settle();
  }
  if (batch.length) yield* settle();
}
