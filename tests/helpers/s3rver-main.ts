// A local S3-protocol server for the tests (s3rver), in a process of its own so it can run
// under --openssl-legacy-provider, without which s3rver answers paged listings with 500.
// Usage: node --openssl-legacy-provider --import tsx tests/helpers/s3rver-main.ts <directory> <bucket>…
// Prints {"port":N} once listening; stops on SIGTERM or when its parent goes away.
import crypto from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pipeline, Transform } from 'node:stream';

// s3rver is CommonJS without types.
const require = createRequire(import.meta.url);
const S3rver = require('s3rver');
const FilesystemStore = require('s3rver/lib/stores/filesystem');

// s3rver writes an object in place as its bytes arrive, so a reader could see half of it;
// S3 (and MinIO) make a new version visible only when complete. Written to a temporary
// name and renamed instead, s3rver keeps S3's promise, which the storage contract tests.
FilesystemStore.prototype.putObject = async function putObject(this: any, object: any) {
  const objectPath = this.getResourcePath(object.bucket, object.key, 'object');
  await fs.promises.mkdir(path.dirname(objectPath), { recursive: true });
  const temp = `${objectPath}.partial-${crypto.randomBytes(6).toString('hex')}`;
  const md5 = crypto.createHash('md5');
  let size = 0;
  try {
    if (Buffer.isBuffer(object.content)) {
      await fs.promises.writeFile(temp, object.content);
      md5.update(object.content);
      size = object.content.length;
    } else {
      await new Promise<void>((resolve, reject) =>
        pipeline(
          object.content,
          new Transform({
            transform(chunk: Buffer, _encoding, callback) {
              md5.update(chunk);
              size += chunk.length;
              callback(null, chunk);
            },
          }),
          fs.createWriteStream(temp),
          (error) => (error ? reject(error) : resolve()),
        ),
      );
    }
    await fs.promises.rename(temp, objectPath);
  } catch (error) {
    await fs.promises.rm(temp, { force: true });
    throw error;
  }
  const digest = md5.digest('hex');
  await this.putMetadata(object.bucket, object.key, object.metadata, digest);
  return { size, md5: digest };
};

const [directory, ...buckets] = process.argv.slice(2);
const server = new S3rver({
  address: '127.0.0.1',
  port: 0,
  directory,
  silent: true,
  configureBuckets: buckets.map((name) => ({ name })),
});
server.run().then(
  (address: { port: number }) => process.stdout.write(`${JSON.stringify({ port: address.port })}\n`),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
const stop = () => server.close().finally(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('disconnect', stop);
