/**
 * Report files live in the app's file storage (server/storage: PostgreSQL by default,
 * S3 or a local directory by STORAGE_URL). The report module speaks only this
 * interface; its keys are `<report id>.pdf`.
 */
export { StorageUnavailableError, type FileStorage as ReportStorage, type StoredFile } from '../../storage/storage.ts';
export { LocalDiskStorage } from '../../storage/local-disk.ts';

/** The storage key of a report's PDF. */
export const reportFileKey = (reportId: string) => `${reportId}.pdf`;

/** Keys that are report files, and the report id each names. */
export const REPORT_FILE_KEY = /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.pdf$/;
