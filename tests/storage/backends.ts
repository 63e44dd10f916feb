import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Knex } from 'knex';
import { createKnex } from '../../server/db/knex.ts';
import { LocalDiskStorage } from '../../server/storage/local-disk.ts';
import { PostgresStorage } from '../../server/storage/postgres.ts';
import { S3Storage, type S3Settings } from '../../server/storage/s3.ts';
import type { FileStorage } from '../../server/storage/storage.ts';
import { startLocalS3, type LocalS3 } from '../helpers/s3.ts';
import { createTestDatabase } from '../helpers/test-app.ts';

/** How a child process (the killed writer) builds the same storage. */
export type BackendSpec = { kind: 'postgres'; databaseUrl: string } | { kind: 'file'; directory: string } | { kind: 's3'; s3: S3Settings };

export interface Backend {
  name: string;
  storage: FileStorage;
  spec: BackendSpec;
  /** A storage of the same kind that cannot be reached. */
  unreachable(): FileStorage;
  /** Whatever the store holds for `key` besides its current file: partial writes, replaced versions. */
  leftovers(key: string): Promise<number>;
  close(): Promise<void>;
}

/** The three backends, each on a fresh place of its own: a test database, a temp dir, a bucket prefix on s3rver. */
export const BACKENDS: Record<'postgres' | 'file' | 's3', () => Promise<Backend>> = {
  async postgres() {
    const database = await createTestDatabase();
    const db: Knex = createKnex(database.url, { poolMax: 6 });
    return {
      name: 'postgres',
      storage: new PostgresStorage(db),
      spec: { kind: 'postgres', databaseUrl: database.url },
      unreachable: () => new PostgresStorage(createKnex('postgres://nobody@127.0.0.1:9/none', { poolMax: 1 })),
      leftovers: async (key) => Number((await db('stored_files').where({ key }).whereNot('status', 'current').count({ n: '*' }))[0]!.n),
      async close() {
        await db.destroy();
        await database.drop();
      },
    };
  },
  async file() {
    const directory = await fs.mkdtemp(path.join(os.tmpdir(), 'duality-storage-'));
    const storage = new LocalDiskStorage(directory);
    const blocker = path.join(directory, 'not-a-directory');
    await fs.writeFile(blocker, 'x');
    return {
      name: 'file',
      storage,
      spec: { kind: 'file', directory },
      unreachable: () => new LocalDiskStorage(path.join(blocker, 'reports')),
      leftovers: async (key) => (await storage.temporaryFiles()).filter((f) => f.startsWith(`.tmp-${key}-`)).length,
      close: () => fs.rm(directory, { recursive: true, force: true }),
    };
  },
  async s3() {
    const server: LocalS3 = await startLocalS3();
    const settings = server.settings('contract/');
    return {
      name: 's3',
      storage: new S3Storage(settings),
      spec: { kind: 's3', s3: settings },
      unreachable: () => new S3Storage({ ...settings, endpoint: 'http://127.0.0.1:9' }),
      // s3rver cannot list multipart uploads; the contract of their collection is tested on its own.
      leftovers: async () => 0,
      close: () => server.stop(),
    };
  },
};
