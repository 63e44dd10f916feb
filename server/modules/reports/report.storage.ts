import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/** A stored file opened for reading. */
export interface StoredFile {
  stream: Readable;
  size: number;
}

/**
 * Where report files live. The report service only speaks this interface, so an
 * S3-style store is one more implementation (put = a multipart upload that becomes
 * visible when it completes, open = a GET stream, size = a HEAD).
 *
 * Keys are flat names such as `<report id>.pdf`.
 */
export interface ReportStorage {
  /**
   * Stores `body` under `key`, atomically: the bytes go to a temporary name first and
   * are renamed to `key` only once complete, so a reader never sees half a file, and a
   * retried write replaces the file instead of leaving a second one. When `body` errors
   * (the renderer failed), nothing is left behind. Returns the stored size in bytes.
   */
  put(key: string, body: Readable | Buffer): Promise<{ size: number }>;
  /** Opens `key` for streaming; undefined when there is no such file. */
  open(key: string): Promise<StoredFile | undefined>;
  /** The size of `key` in bytes; undefined when there is no such file. */
  size(key: string): Promise<number | undefined>;
  /** Removes `key`; no error when it is already gone. */
  remove(key: string): Promise<void>;
}

/**
 * Thrown when the store cannot be reached or written for a reason that may go away
 * (disk full, permissions being fixed, a network store down). The report job treats
 * it as transient and retries.
 */
export class StorageUnavailableError extends Error {
  override name = 'StorageUnavailableError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

const KEY = /^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$/;

function checkKey(key: string): void {
  // Keys come from our own ids, but a key must never climb out of the directory.
  if (!KEY.test(key) || key.includes('..')) throw new Error(`Invalid storage key ${JSON.stringify(key)}`);
}

/** Temporary names start with a dot, so `ls` and a listing by key never show them. */
const TEMP_PREFIX = '.tmp-';

/** A temporary file untouched this long belongs to a writer that is gone. */
const STALE_TEMP_MS = 10 * 60_000;

/**
 * Files on the local disk, under one directory (`DATA_DIR/reports`). The temporary
 * file sits in the same directory, so the final rename never crosses a file system
 * and is atomic.
 */
export class LocalDiskStorage implements ReportStorage {
  constructor(readonly directory: string) {}

  async put(key: string, body: Readable | Buffer): Promise<{ size: number }> {
    checkKey(key);
    try {
      await fs.mkdir(this.directory, { recursive: true });
    } catch (error) {
      throw new StorageUnavailableError(`Report storage ${this.directory} is not writable: ${(error as Error).message}`, { cause: error });
    }
    const temp = path.join(this.directory, `${TEMP_PREFIX}${key}-${randomBytes(6).toString('hex')}`);
    const source = Buffer.isBuffer(body) ? Readable.from([body]) : body;
    const out = createWriteStream(temp, { flags: 'wx' });
    // pipeline destroys both streams with the first error, so remember which side failed first.
    let failedSide: 'body' | 'store' | undefined;
    source.once('error', () => (failedSide ??= 'body'));
    out.once('error', () => (failedSide ??= 'store'));
    try {
      await pipeline(source, out);
    } catch (error) {
      await fs.rm(temp, { force: true }).catch(() => {});
      // Only the write side is the store's fault; an error of the body (the renderer) is passed on as it is.
      if (failedSide === 'store') throw new StorageUnavailableError(`Could not store ${key}: ${(error as Error).message}`, { cause: error });
      throw error;
    }
    let size: number;
    try {
      ({ size } = await fs.stat(temp));
      await fs.rename(temp, this.pathOf(key));
    } catch (error) {
      await fs.rm(temp, { force: true }).catch(() => {});
      throw new StorageUnavailableError(`Could not store ${key}: ${(error as Error).message}`, { cause: error });
    }
    await this.removeStaleTemporaries(key);
    return { size };
  }

  /**
   * A process killed mid-write leaves its temporary file behind. The next successful
   * write of the same key removes those; only old ones, since a fresh one may belong to
   * a write still in progress elsewhere.
   */
  private async removeStaleTemporaries(key: string): Promise<void> {
    const prefix = `${TEMP_PREFIX}${key}-`;
    const cutoff = Date.now() - STALE_TEMP_MS;
    for (const name of await fs.readdir(this.directory).catch(() => [] as string[])) {
      if (!name.startsWith(prefix)) continue;
      const file = path.join(this.directory, name);
      const stat = await fs.stat(file).catch(() => undefined);
      if (stat && stat.mtimeMs < cutoff) await fs.rm(file, { force: true }).catch(() => {});
    }
  }

  async open(key: string): Promise<StoredFile | undefined> {
    checkKey(key);
    let handle: fs.FileHandle;
    try {
      handle = await fs.open(this.pathOf(key), 'r');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new StorageUnavailableError(`Could not open ${key}: ${(error as Error).message}`, { cause: error });
    }
    // Size and stream come from one open file, so a concurrent replace cannot make them disagree.
    let size: number;
    try {
      ({ size } = await handle.stat());
    } catch (error) {
      await handle.close().catch(() => {});
      throw new StorageUnavailableError(`Could not read ${key}: ${(error as Error).message}`, { cause: error });
    }
    return { stream: handle.createReadStream({ autoClose: true }), size };
  }

  async size(key: string): Promise<number | undefined> {
    checkKey(key);
    try {
      return (await fs.stat(this.pathOf(key))).size;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new StorageUnavailableError(`Could not read ${key}: ${(error as Error).message}`, { cause: error });
    }
  }

  async remove(key: string): Promise<void> {
    checkKey(key);
    await fs.rm(this.pathOf(key), { force: true });
  }

  /** Leftover temporary files (a process killed mid-write), for cleanup and tests. */
  async temporaryFiles(): Promise<string[]> {
    try {
      return (await fs.readdir(this.directory)).filter((f) => f.startsWith(TEMP_PREFIX));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
  }

  private pathOf(key: string): string {
    return path.join(this.directory, key);
  }
}
