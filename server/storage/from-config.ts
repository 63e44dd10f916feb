import type { Knex } from 'knex';
import type { StorageConfig } from '../config.ts';
import { LocalDiskStorage } from './local-disk.ts';
import { PostgresStorage } from './postgres.ts';
import { S3Storage } from './s3.ts';
import type { FileStorage } from './storage.ts';

/** The storage `STORAGE_URL` names (server/config.ts parses it). */
export function createStorage(config: StorageConfig, deps: { db: Knex }): FileStorage {
  switch (config.kind) {
    case 'postgres':
      return new PostgresStorage(deps.db);
    case 'file':
      return new LocalDiskStorage(config.directory);
    case 's3':
      return new S3Storage(config.s3);
  }
}
