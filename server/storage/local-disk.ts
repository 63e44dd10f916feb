import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { checkKey, PROBE_KEY, STALE_WRITE_MS, STORAGE_KEY, StorageUnavailableError, type FileStorage, type Leftovers, type StoredEntry, type StoredFile } from './storage.ts';

/** Temporary names start with a dot, so `ls` and a listing by key never show them. */
const TEMP_PREFIX = '.tmp-';

/**
 * Files on the local disk, under one directory (`STORAGE_URL=file:///path`): for a
 * single host, where every process sees the same disk. The temporary file sits in
 * the same directory, so the final rename never crosses a file system and is atomic;
 * a reader that opened the old file keeps reading the old bytes.
 */
export class LocalDiskStorage implements FileStorage {
  readonly kind = 'file' as const;
  constructor(readonly directory: string) {}

  get location(): string {
    return `file://${this.directory}`;
  }

  async put(key: string, body: Readable | Buffer): Promise<{ size: number }> {
    checkKey(key);
    try {
      // Report files are personal data: this OS user only (0700 directories, 0600 files).
      await fs.mkdir(this.directory, { recursive: true, mode: 0o700 });
    } catch (error) {
      throw new StorageUnavailableError(`Storage ${this.directory} is not writable: ${(error as Error).message}`, { cause: error });
    }
    const temp = path.join(this.directory, `${TEMP_PREFIX}${key}-${randomBytes(6).toString('hex')}`);
    const source = Buffer.isBuffer(body) ? Readable.from([body]) : body;
    const out = createWriteStream(temp, { flags: 'wx', mode: 0o600 });
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
    await this.removeTemporaries(new Date(Date.now() - STALE_WRITE_MS), `${TEMP_PREFIX}${key}-`);
    return { size };
  }

  /**
   * A process killed mid-write leaves its temporary file behind. Only old ones are
   * removed, since a fresh one may belong to a write still in progress elsewhere.
   */
  private async removeTemporaries(olderThan: Date, prefix = TEMP_PREFIX): Promise<string[]> {
    const removed: string[] = [];
    for (const name of await fs.readdir(this.directory).catch(() => [] as string[])) {
      if (!name.startsWith(prefix)) continue;
      const file = path.join(this.directory, name);
      const stat = await fs.stat(file).catch(() => undefined);
      if (stat && stat.mtimeMs < olderThan.getTime()) {
        await fs.rm(file, { force: true }).catch(() => {});
        removed.push(`partial write ${name} (${stat.size} bytes, last written ${stat.mtime.toISOString()})`);
      }
    }
    return removed;
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
    try {
      await fs.rm(this.pathOf(key), { force: true });
    } catch (error) {
      throw new StorageUnavailableError(`Could not remove ${key}: ${(error as Error).message}`, { cause: error });
    }
  }

  async *list(): AsyncIterable<StoredEntry> {
    let names: string[];
    try {
      names = await fs.readdir(this.directory);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw new StorageUnavailableError(`Could not list ${this.directory}: ${(error as Error).message}`, { cause: error });
    }
    for (const name of names) {
      if (!STORAGE_KEY.test(name)) continue;
      const stat = await fs.stat(path.join(this.directory, name)).catch(() => undefined);
      if (stat?.isFile()) yield { key: name, size: stat.size, storedAt: stat.mtime };
    }
  }

  async collectLeftovers(olderThan: Date): Promise<Leftovers> {
    return { removed: await this.removeTemporaries(olderThan) };
  }

  async check(opts: { write?: boolean } = {}): Promise<void> {
    try {
      if (!opts.write) {
        await fs.access(this.directory, fs.constants.W_OK).catch(async (error: NodeJS.ErrnoException) => {
          // Not created yet is fine as long as it can be: the first write makes it.
          if (error.code !== 'ENOENT') throw error;
        });
        return;
      }
      await fs.mkdir(this.directory, { recursive: true, mode: 0o700 });
      const probe = path.join(this.directory, `${PROBE_KEY}-${process.pid}`);
      await fs.writeFile(probe, 'ok');
      await fs.rm(probe, { force: true });
    } catch (error) {
      throw new StorageUnavailableError(`${this.directory} cannot be written: ${(error as Error).message}`, { cause: error });
    }
  }

  /** Leftover temporary files (a process killed mid-write), for tests. */
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
