import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { Report, type ReportStatus } from './report.model.ts';

/**
 * Test factory: inserts a report row straight into the database, in any status. A `ready` one
 * points at `<id>.pdf`; put a file there with the app's storage when the test
 * downloads it.
 */
export async function makeReport(db: Knex, ownerId: string, opts: { status?: ReportStatus; fileSize?: number; createdAt?: Date } = {}): Promise<Report> {
  const id = randomUUID();
  const status = opts.status ?? 'pending';
  const settled = status === 'ready' || status === 'failed' ? { completedAt: new Date() } : {};
  return Report.query(db)
    .insert({
      id,
      ownerId,
      kind: 'product-catalog',
      status,
      ...settled,
      ...(status === 'ready' ? { filePath: `${id}.pdf`, fileSize: opts.fileSize ?? 0, progress: 100 } : {}),
      ...(status === 'failed' ? { errorMessage: 'It broke.' } : {}),
      ...(opts.createdAt ? { createdAt: opts.createdAt } : {}),
    })
    .returning('*');
}
