import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import v8 from 'node:v8';
import vm from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StorageUnavailableError, type FileStorage } from '../../server/storage/storage.ts';
import { ROOT } from '../helpers/processes.ts';
import { BACKENDS, type Backend } from './backends.ts';

/**
 * The one contract every file storage keeps (server/storage/storage.ts), run against
 * all three: PostgreSQL (the default), S3 (on s3rver, started here) and the local disk.
 * Same cases, same expectations; a backend that cannot keep one fails here.
 */
const MiB = 1024 * 1024;

// A full collection before each memory sample, so the samples count what is held, not garbage not yet collected.
v8.setFlagsFromString('--expose-gc');
const collectGarbage = vm.runInNewContext('gc') as () => void;

/** A body of `size` bytes in `piece`-sized chunks, optionally pausing between them. */
function body(size: number, opts: { seed?: number; piece?: number; delayMs?: number } = {}): Readable {
  const piece = opts.piece ?? 64 * 1024;
  let sent = 0;
  const byte = opts.seed ?? 1;
  return new Readable({
    read() {
      if (sent >= size) return this.push(null);
      const n = Math.min(piece, size - sent);
      sent += n;
      const chunk = Buffer.alloc(n, byte);
      if (opts.delayMs) setTimeout(() => this.push(chunk), opts.delayMs);
      else this.push(chunk);
    },
  });
}

async function keys(storage: FileStorage): Promise<string[]> {
  const found: string[] = [];
  for await (const entry of storage.list()) found.push(entry.key);
  return found.sort();
}

async function read(storage: FileStorage, key: string): Promise<Buffer | undefined> {
  const file = await storage.open(key);
  if (!file) return undefined;
  const bytes = await buffer(file.stream);
  expect(bytes.length).toBe(file.size);
  return bytes;
}

describe.each(['postgres', 's3', 'file'] as const)('%s storage', (kind) => {
  let b: Backend;
  let s: FileStorage;
  beforeAll(async () => {
    b = await BACKENDS[kind]();
    s = b.storage;
  }, 60_000);
  afterAll(() => b?.close());

  it('passes its own write check, and stores a stream readable back with its size', async () => {
    await s.check({ write: true });
    const { size } = await s.put('a.pdf', Readable.from([Buffer.from('hello '), Buffer.from('world')]));
    expect(size).toBe(11);
    expect(await s.size('a.pdf')).toBe(11);
    expect((await read(s, 'a.pdf'))?.toString()).toBe('hello world');
    expect(await s.open('missing.pdf')).toBeUndefined();
    expect(await s.size('missing.pdf')).toBeUndefined();
    expect(await keys(s)).toContain('a.pdf');
    // The write probe is never listed.
    expect((await keys(s)).some((k) => k.includes('write-check'))).toBe(false);
  });

  it('stores an empty file and a Buffer body', async () => {
    expect(await s.put('empty.pdf', Buffer.alloc(0))).toEqual({ size: 0 });
    expect((await read(s, 'empty.pdf'))?.length).toBe(0);
    const bytes = randomBytes(3 * MiB + 17);
    expect(await s.put('buffer.pdf', bytes)).toEqual({ size: bytes.length });
    expect((await read(s, 'buffer.pdf'))?.equals(bytes)).toBe(true);
  });

  it('a retried write replaces the file: one file under the key, the new bytes', async () => {
    await s.put('twice.pdf', Buffer.from('first attempt, longer'));
    await s.put('twice.pdf', Buffer.from('second'));
    expect((await keys(s)).filter((k) => k.startsWith('twice'))).toEqual(['twice.pdf']);
    expect((await read(s, 'twice.pdf'))?.toString()).toBe('second');
    // Whatever the first version left is collected.
    await s.collectLeftovers(new Date(Date.now() + 1000));
    expect(await b.leftovers('twice.pdf')).toBe(0);
  });

  it('a reader never sees a file being written, and one that opened the old version reads it whole', async () => {
    const old = randomBytes(3 * MiB);
    await s.put('growing.pdf', old);
    const reader = await s.open('growing.pdf');
    let finished = false;
    // Larger than one S3 part, so the S3 leg covers the multipart path (a smaller file is one PutObject).
    const writing = s.put('growing.pdf', body(7 * MiB, { seed: 9, delayMs: 1 })).finally(() => (finished = true));
    const seen: number[] = [];
    while (!finished) {
      // Mid-write, the key names the complete old file (or, the moment it lands, the complete new one).
      const size = await s.size('growing.pdf');
      expect([old.length, 7 * MiB]).toContain(size);
      seen.push(size!);
      await new Promise((r) => setTimeout(r, 20));
    }
    await writing;
    expect(seen.filter((n) => n === old.length).length).toBeGreaterThan(1);
    expect((await buffer(reader!.stream)).equals(old)).toBe(true);
    const now = await read(s, 'growing.pdf');
    expect(now?.length).toBe(7 * MiB);
    expect(now?.every((x) => x === 9)).toBe(true);
  });

  it('concurrent writers of one key: afterwards the key holds exactly one writer’s complete bytes', async () => {
    const sizes = [2 * MiB + 1, 1 * MiB + 3, 3 * MiB + 5, 512 * 1024 + 7];
    const results = await Promise.all(sizes.map((size, i) => s.put('contended.pdf', body(size, { seed: 10 + i, delayMs: 1 }))));
    expect(results.map((r) => r.size)).toEqual(sizes);
    const bytes = (await read(s, 'contended.pdf'))!;
    const writer = sizes.indexOf(bytes.length);
    expect(writer).toBeGreaterThanOrEqual(0);
    expect(bytes.every((x) => x === 10 + writer)).toBe(true);
    expect((await keys(s)).filter((k) => k.startsWith('contended'))).toEqual(['contended.pdf']);
    await s.collectLeftovers(new Date(Date.now() + 1000));
    expect(await b.leftovers('contended.pdf')).toBe(0);
  });

  it('a body that fails passes its own error on and leaves nothing visible', async () => {
    async function* failing() {
      yield Buffer.alloc(2 * MiB, 1);
      yield Buffer.alloc(4 * MiB, 2);
      throw new Error('renderer failed');
    }
    const error = await s.put('broken.pdf', Readable.from(failing())).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(StorageUnavailableError);
    expect((error as Error).message).toBe('renderer failed');
    expect(await s.size('broken.pdf')).toBeUndefined();
    expect(await keys(s)).not.toContain('broken.pdf');
    expect(await b.leftovers('broken.pdf')).toBe(0);
  });

  it('a killed writer leaves nothing a reader can see, and its leftovers are collected', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'tests/storage/killed-writer.ts', JSON.stringify(b.spec), 'killed.pdf'], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
      env: process.env,
    });
    // Killed once it has handed the store 7 MiB: past s3's first part, several chunks into PostgreSQL.
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        if (/stored 7\b/.test(d.toString())) resolve();
      });
      child.once('exit', (code) => reject(new Error(`writer exited (${code}) before it was killed`)));
    });
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    expect(await s.open('killed.pdf')).toBeUndefined();
    expect(await keys(s)).not.toContain('killed.pdf');
    if (kind !== 's3') {
      expect(await b.leftovers('killed.pdf')).toBeGreaterThan(0);
      // Fresh leftovers may belong to a writer still at work: only stale ones go.
      expect((await s.collectLeftovers(new Date(Date.now() - 60_000))).removed).toEqual([]);
      const { removed } = await s.collectLeftovers(new Date(Date.now() + 1000));
      expect(removed.join('\n')).toContain('killed.pdf');
      expect(await b.leftovers('killed.pdf')).toBe(0);
    }
  }, 60_000);

  it('removal is idempotent', async () => {
    await s.put('gone.pdf', Buffer.from('x'));
    await s.remove('gone.pdf');
    await s.remove('gone.pdf');
    await s.remove('never-there.pdf');
    expect(await s.open('gone.pdf')).toBeUndefined();
    expect(await keys(s)).not.toContain('gone.pdf');
  });

  it('refuses keys outside the allowed pattern', async () => {
    for (const key of ['../escape.pdf', 'a/b.pdf', '', '.hidden', 'x'.repeat(300)]) {
      await expect(s.put(key, Buffer.from('x')), key).rejects.toThrow('Invalid storage key');
      await expect(s.open(key), key).rejects.toThrow('Invalid storage key');
    }
  });

  it('an unreachable store is StorageUnavailableError (transient, so the job retries), on every call', async () => {
    const down = b.unreachable();
    await expect(down.put('x.pdf', Buffer.from('x'))).rejects.toBeInstanceOf(StorageUnavailableError);
    await expect(down.put('x.pdf', body(MiB))).rejects.toBeInstanceOf(StorageUnavailableError);
    await expect(down.check({ write: true })).rejects.toBeInstanceOf(StorageUnavailableError);
    if (kind !== 'file') {
      // A missing directory reads as "no such file"; a store that is down cannot say.
      await expect(down.open('x.pdf')).rejects.toBeInstanceOf(StorageUnavailableError);
      await expect(down.size('x.pdf')).rejects.toBeInstanceOf(StorageUnavailableError);
      await expect(down.remove('x.pdf')).rejects.toBeInstanceOf(StorageUnavailableError);
    }
  }, 60_000);

  it('streams a 50 MB file in and out without holding it in memory', async () => {
    const size = 50 * MiB;
    const written = createHash('sha256');
    let peak = 0;
    collectGarbage();
    const base = process.memoryUsage();
    const held = () => {
      const m = process.memoryUsage();
      return m.heapUsed - base.heapUsed + (m.arrayBuffers - base.arrayBuffers);
    };
    // Cheap samples; one over 20 MiB is taken again after a full collection, so
    // garbage not yet collected does not count as held.
    const sample = () => {
      let now = held();
      if (now >= 20 * MiB) {
        collectGarbage();
        now = held();
      }
      peak = Math.max(peak, now);
    };
    const timer = setInterval(sample, 10);
    try {
      // Random bytes, so no store can make the file smaller than it is.
      let sent = 0;
      const source = new Readable({
        read() {
          if (sent >= size) return this.push(null);
          const chunk = randomBytes(Math.min(256 * 1024, size - sent));
          sent += chunk.length;
          written.update(chunk);
          this.push(chunk);
        },
      });
      expect((await s.put('large.pdf', source)).size).toBe(size);
      const file = (await s.open('large.pdf'))!;
      expect(file.size).toBe(size);
      const readBack = createHash('sha256');
      let length = 0;
      for await (const chunk of file.stream) {
        readBack.update(chunk as Buffer);
        length += (chunk as Buffer).length;
      }
      expect(length).toBe(size);
      expect(readBack.digest('hex')).toBe(written.digest('hex'));
    } finally {
      clearInterval(timer);
    }
    // Whole-file buffering would hold 50 MB or more; streaming holds a chunk or, on S3, three 5 MiB parts.
    console.info(`${kind}: 50 MB in and out, peak memory above the start ${(peak / MiB).toFixed(1)} MiB`);
    expect(peak).toBeLessThan(40 * MiB);
    await s.remove('large.pdf');
  }, 120_000);
});
