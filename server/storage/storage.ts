import type { Readable } from 'node:stream';

/** A stored file opened for reading. */
export interface StoredFile {
  stream: Readable;
  size: number;
}

/** One stored file, as a listing shows it (for orphan collection and copies). */
export interface StoredEntry {
  key: string;
  size: number;
  /** When the current bytes were stored. */
  storedAt: Date;
}

/** What `collectLeftovers` removed. */
export interface Leftovers {
  removed: string[];
  /** Set when part of the collection was not possible here (and what to do instead). */
  note?: string;
}

/** Which implementation; the readiness check and the logs name it. */
export type StorageKind = 'postgres' | 's3' | 'file';

/**
 * Where files live (report PDFs today). Services speak only this interface; which
 * implementation is behind it is `STORAGE_URL`'s business (see docs/storage.md).
 *
 * Every implementation keeps the same promises, proved by one contract suite
 * (tests/storage/contract.test.ts):
 * - a reader never sees half a file: bytes become visible under `key` only once complete;
 * - a retried (or concurrent) write replaces rather than duplicates: one file per key,
 *   the bytes of exactly one writer;
 * - a killed writer leaves nothing a reader can see, and `collectLeftovers` removes
 *   what it left;
 * - removal is idempotent;
 * - an unreachable store throws StorageUnavailableError, which jobs treat as transient.
 *
 * Keys are flat names such as `<report id>.pdf` (letters, digits, `.`, `_`, `-`).
 */
export interface FileStorage {
  readonly kind: StorageKind;
  /** Where the bytes go, for logs and the readiness check; no secrets. */
  readonly location: string;
  /**
   * Stores `body` under `key`, atomically, streaming (the body is never held whole in
   * memory). When `body` errors (the renderer failed), its own error is passed on and
   * nothing is left visible. Returns the stored size in bytes.
   */
  put(key: string, body: Readable | Buffer): Promise<{ size: number }>;
  /** Opens `key` for streaming; undefined when there is no such file. */
  open(key: string): Promise<StoredFile | undefined>;
  /** The size of `key` in bytes; undefined when there is no such file. */
  size(key: string): Promise<number | undefined>;
  /** Removes `key`; no error when it is already gone. */
  remove(key: string): Promise<void>;
  /** Every complete file, in no particular order. */
  list(): AsyncIterable<StoredEntry>;
  /**
   * Removes what writers that never finished left behind (temporary files, partial
   * uploads, superseded versions) when older than `olderThan`. Returns one line per
   * thing removed, for `npm run storage:gc` to print, and a note when the store could
   * not look for some kind of leftover.
   */
  collectLeftovers(olderThan: Date): Promise<Leftovers>;
  /**
   * Throws StorageUnavailableError when the store cannot be reached, or, with
   * `write`, cannot be written (a probe file is written and removed).
   */
  check(opts?: { write?: boolean; signal?: AbortSignal }): Promise<void>;
  /**
   * A short-lived URL the client can download `key` from directly (S3 presigned GET);
   * only stores that can hand out such URLs have it.
   */
  presignedUrl?(key: string, opts: { expiresInSeconds: number; fileName: string; contentType: string }): Promise<string>;
}

/**
 * Thrown when the store cannot be reached or written for a reason that may go away
 * (disk full, permissions being fixed, a network store down). The report job treats
 * it as transient and retries; a download answers 503.
 */
export class StorageUnavailableError extends Error {
  override name = 'StorageUnavailableError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The keys a store accepts: flat names that can never climb out of a directory or prefix. */
export const STORAGE_KEY = /^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$/;

export function checkKey(key: string): void {
  if (!STORAGE_KEY.test(key) || key.includes('..')) throw new Error(`Invalid storage key ${JSON.stringify(key)}`);
}

/** A write or a superseded version untouched this long belongs to a writer that is gone. */
export const STALE_WRITE_MS = 10 * 60_000;

/** The probe `check({ write: true })` writes and removes. */
export const PROBE_KEY = '.duality-write-check';

/** A Buffer body as a stream, so every store reads one kind of body. */
export async function* chunksOf(body: Readable | Buffer): AsyncIterable<Buffer> {
  if (Buffer.isBuffer(body)) {
    yield body;
    return;
  }
  for await (const chunk of body) yield Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string);
}
