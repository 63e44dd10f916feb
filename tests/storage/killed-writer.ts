/**
 * A writer to be killed: stores an endless body under the key given, through the
 * storage the JSON argument describes, and prints "stored N" each time another chunk
 * of the body has been taken by the store, until the test SIGKILLs it.
 * Usage: tsx tests/storage/killed-writer.ts '<backend json>' <key>
 */
import { Readable } from 'node:stream';
import { createKnex } from '../../server/db/knex.ts';
import { LocalDiskStorage } from '../../server/storage/local-disk.ts';
import { PostgresStorage } from '../../server/storage/postgres.ts';
import { S3Storage } from '../../server/storage/s3.ts';
import type { FileStorage } from '../../server/storage/storage.ts';
import type { BackendSpec } from './backends.ts';

const spec = JSON.parse(process.argv[2]!) as BackendSpec;
const key = process.argv[3]!;
const storage: FileStorage =
  spec.kind === 'postgres' ? new PostgresStorage(createKnex(spec.databaseUrl)) : spec.kind === 'file' ? new LocalDiskStorage(spec.directory) : new S3Storage(spec.s3);

const piece = Buffer.alloc(256 * 1024, 7);
let taken = 0;
const body = new Readable({
  read() {
    taken += 1;
    // Every 4 pieces is 1 MiB: enough for the store to have written something.
    if (taken % 4 === 0) process.stdout.write(`stored ${taken / 4}\n`);
    setTimeout(() => this.push(piece), 5);
  },
});
await storage.put(key, body);
