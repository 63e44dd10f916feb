import type { Knex } from 'knex';
import { Readable } from 'node:stream';
import { checkKey, chunksOf, STALE_WRITE_MS, StorageUnavailableError, type FileStorage, type Leftovers, type StoredEntry, type StoredFile } from './storage.ts';

/** Bytes per row of `stored_file_chunks`: what a writer or a reader holds in memory at a time, about. */
export const PG_CHUNK_BYTES = 1024 * 1024;

interface VersionRow {
  id: string;
  size: string;
  chunks: number;
}

/**
 * Files in PostgreSQL (the default, `STORAGE_URL` unset): every process that reaches
 * the database reaches the files, with nothing else to run or configure.
 *
 * A file is a version row in `stored_files` and its bytes in 1 MiB rows of
 * `stored_file_chunks` (bytea, not large objects: rows go with pg_dump, replication
 * and permissions like any table, are removed by a plain DELETE with no vacuumlo, and
 * need no lo_* grants on managed servers). Each chunk commits on its own, so a write
 * never holds a long transaction; the version becomes `current` in one short
 * transaction at the end, which is what makes it visible. A killed writer leaves a
 * `writing` version nobody reads; `collectLeftovers` (and the next write of the key)
 * removes it once stale. A replaced version stays `replaced` for a few minutes so
 * readers already streaming it finish, then goes the same way.
 */
export class PostgresStorage implements FileStorage {
  readonly kind = 'postgres' as const;
  readonly location = 'postgres (the app database, table stored_files)';

  constructor(private readonly db: Knex) {}

  async put(key: string, body: Readable | Buffer): Promise<{ size: number }> {
    checkKey(key);
    const id = await this.store(() => this.db('stored_files').insert({ key }).returning('id'), `store ${key}`).then((rows) => (rows[0] as { id: string }).id);
    let size = 0;
    let seq = 0;
    const writeChunk = async (data: Buffer) => {
      const result = await this.store(
        () =>
          this.db.raw(
            `WITH chunk AS (INSERT INTO stored_file_chunks (file_id, seq, data) VALUES (?, ?, ?) RETURNING 1)
             UPDATE stored_files SET touched_at = now() WHERE id = ? AND status = 'writing' AND EXISTS (SELECT 1 FROM chunk) RETURNING id`,
            [id, seq, data, id],
          ),
        `store ${key}`,
      );
      if (result.rows.length === 0) throw new StorageUnavailableError(`Could not store ${key}: it was removed while being written`);
      seq += 1;
      size += data.length;
    };
    try {
      let pending: Buffer[] = [];
      let pendingBytes = 0;
      for await (const piece of chunksOf(body)) {
        for (let offset = 0; offset < piece.length; ) {
          const take = piece.subarray(offset, offset + (PG_CHUNK_BYTES - pendingBytes));
          pending.push(take);
          pendingBytes += take.length;
          offset += take.length;
          if (pendingBytes === PG_CHUNK_BYTES) {
            await writeChunk(Buffer.concat(pending, pendingBytes));
            pending = [];
            pendingBytes = 0;
          }
        }
      }
      if (pendingBytes > 0 || seq === 0) await writeChunk(Buffer.concat(pending, pendingBytes));
      await this.store(
        () =>
          this.db.transaction(async (trx) => {
            // Writers of one key take turns here (only here, for milliseconds): the last to finish is current.
            await trx.raw('SELECT pg_advisory_xact_lock(hashtextextended(?, 0))', [`stored_files:${key}`]);
            await trx('stored_files').where({ key, status: 'current' }).update({ status: 'replaced', touchedAt: trx.fn.now() });
            const done = await trx('stored_files').where({ id, status: 'writing' }).update({ status: 'current', size, chunks: seq, touchedAt: trx.fn.now() });
            if (done === 0) throw new StorageUnavailableError(`Could not store ${key}: it was removed while being written`);
          }),
        `store ${key}`,
      );
    } catch (error) {
      // The version is not current, so no reader can see it; remove its chunks now rather than at collection.
      await this.db('stored_files').where({ id }).whereNot('status', 'current').delete().catch(() => {});
      throw error;
    }
    // What killed writers and replaced versions of this key left, once stale.
    await this.db('stored_files')
      .where({ key })
      .whereNot('status', 'current')
      .where('touchedAt', '<', new Date(Date.now() - STALE_WRITE_MS))
      .delete()
      .catch(() => {});
    return { size };
  }

  async open(key: string): Promise<StoredFile | undefined> {
    checkKey(key);
    const version = await this.current(key);
    if (!version) return undefined;
    const size = Number(version.size);
    const db = this.db;
    async function* chunks() {
      let read = 0;
      for (let seq = 0; seq < version!.chunks; seq++) {
        let row: { data: Buffer } | undefined;
        try {
          row = await db('stored_file_chunks').where({ fileId: version!.id, seq }).first('data');
        } catch (error) {
          throw new StorageUnavailableError(`Could not read ${key}: ${(error as Error).message}`, { cause: error });
        }
        if (!row) throw new StorageUnavailableError(`Could not read ${key}: it was removed while being read`);
        read += row.data.length;
        yield row.data;
      }
      if (read !== size) throw new StorageUnavailableError(`Could not read ${key}: ${read} bytes stored, ${size} expected`);
    }
    // One chunk in hand, one being fetched: a reader never holds the file, nor a connection between chunks.
    return { stream: Readable.from(chunks(), { objectMode: false, highWaterMark: PG_CHUNK_BYTES }), size };
  }

  async size(key: string): Promise<number | undefined> {
    checkKey(key);
    const version = await this.current(key);
    return version ? Number(version.size) : undefined;
  }

  async remove(key: string): Promise<void> {
    checkKey(key);
    await this.store(() => this.db('stored_files').where({ key }).delete(), `remove ${key}`);
  }

  async *list(): AsyncIterable<StoredEntry> {
    let after = '';
    for (;;) {
      const rows = (await this.store(
        () => this.db('stored_files').where({ status: 'current' }).where('key', '>', after).orderBy('key').limit(500).select('key', 'size', 'touchedAt'),
        'list files',
      )) as { key: string; size: string; touchedAt: Date }[];
      for (const row of rows) yield { key: row.key, size: Number(row.size), storedAt: row.touchedAt };
      if (rows.length < 500) return;
      after = rows.at(-1)!.key;
    }
  }

  async collectLeftovers(olderThan: Date): Promise<Leftovers> {
    const rows = (await this.store(
      () => this.db('stored_files').whereNot('status', 'current').where('touchedAt', '<', olderThan).delete().returning(['key', 'status', 'size', 'touchedAt']),
      'collect leftovers',
    )) as { key: string; status: string; size: string | null; touchedAt: Date }[];
    return {
      removed: rows.map((r) =>
        r.status === 'writing'
          ? `partial write of ${r.key} (last written ${r.touchedAt.toISOString()})`
          : `replaced version of ${r.key} (${r.size} bytes, replaced ${r.touchedAt.toISOString()})`,
      ),
    };
  }

  async check(opts: { write?: boolean } = {}): Promise<void> {
    await this.store(async () => {
      await this.db.raw('SELECT 1 FROM stored_files LIMIT 1').timeout(2000, { cancel: true });
      if (opts.write) {
        // A write probe that leaves nothing: inserted, then rolled back.
        const probe = new Error('probe');
        await this.db
          .transaction(async (trx) => {
            await trx('stored_files').insert({ key: '.duality-write-check' });
            throw probe;
          })
          .catch((error: unknown) => {
            if (error !== probe) throw error;
          });
      }
    }, 'check');
  }

  private async current(key: string): Promise<VersionRow | undefined> {
    return this.store(
      () => this.db('stored_files').where({ key, status: 'current' }).first('id', 'size', 'chunks') as Promise<VersionRow | undefined>,
      `read ${key}`,
    );
  }

  /** Runs a query, turning any database failure into the transient storage error. */
  private async store<T>(query: () => Promise<T> | Knex.QueryBuilder | Knex.Raw, what: string): Promise<T> {
    try {
      return (await query()) as T;
    } catch (error) {
      if (error instanceof StorageUnavailableError) throw error;
      throw new StorageUnavailableError(`Could not ${what}: ${(error as Error).message}`, { cause: error });
    }
  }
}
