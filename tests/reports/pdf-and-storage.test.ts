import fs from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderProductCatalog, type ProductCatalogInput } from '../../server/modules/reports/report.pdf.ts';
import { LocalDiskStorage, StorageUnavailableError } from '../../server/modules/reports/report.storage.ts';
import { makeProduct } from '../helpers/factories.ts';
import { pdfText, sumMoney } from '../helpers/pdf.ts';
import { startTestApp, type TestApp } from '../helpers/test-app.ts';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.close());

/** The catalog input for the database's active products, read the way the report job reads them. */
async function catalogInput(overrides: Partial<ProductCatalogInput> = {}): Promise<ProductCatalogInput> {
  const { count, total } = await t.app.services.products.activeSummary();
  return {
    generatedAt: new Date('2026-11-24T09:30:00Z'),
    ownerName: 'Ada Lovelace',
    productCount: count,
    totalPrice: total,
    rows: t.app.services.products.activeByName(t.app.db, 50),
    ...overrides,
  };
}

describe('the product catalog PDF', () => {
  it('is an empty catalog with a zero total when there are no products', async () => {
    const pdf = await buffer(renderProductCatalog(await catalogInput()));
    expect(pdf.subarray(0, 5).toString()).toBe('%PDF-');
    const { text, total } = await pdfText(pdf);
    expect(total).toBe(1);
    expect(text).toContain('Product catalog');
    expect(text).toContain('Active products: 0');
    expect(text).toMatch(/Total of prices\s+0\.00/);
  });

  it('lists every active product across pages with the exact count and total', async () => {
    const prices: string[] = [];
    const names: string[] = [];
    for (let i = 0; i < 130; i++) {
      // Prices whose float sum drifts (0.1 + 0.2 …) and a long name that wraps.
      const price = i % 3 === 0 ? '0.10' : i % 3 === 1 ? '0.20' : `${99_999_800 + i}.99`;
      const name = i === 7 ? `Long ${'very '.repeat(30)}name ${i}` : `Catalog item ${String(i).padStart(3, '0')}`;
      await makeProduct(t.app.db, { name, price });
      prices.push(price);
      names.push(name);
    }
    await makeProduct(t.app.db, { name: 'Archived teapot', price: '5.00', isActive: false });

    const progress: number[] = [];
    const input = await catalogInput({ onProgress: (p) => void progress.push(p) });
    expect(input.totalPrice).toBe(sumMoney(prices));
    const pdf = await buffer(renderProductCatalog(input));
    const { text, pages, total } = await pdfText(pdf);

    expect(total).toBeGreaterThan(2);
    expect(text).toContain('Generated: 2026-11-24 09:30:00 UTC');
    expect(text).toContain('Prepared for: Ada Lovelace');
    expect(text).toContain('Products: 130');
    expect(text).toMatch(new RegExp(`Total of prices\\s+${sumMoney(prices).replace('.', '\\.')}`));
    const flat = text.replace(/\s+/g, ' ');
    for (const name of names) expect(flat).toContain(name.replace(/\s+/g, ' '));
    expect(text).not.toContain('Archived teapot');
    // The header is repeated and every page is numbered.
    pages.forEach((page, i) => {
      expect(page).toContain('Price');
      expect(page).toContain(`Page ${i + 1}`);
    });
    // Progress only grows, in whole points, and ends at 100.
    expect(progress.length).toBeGreaterThan(1);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
    expect(new Set(progress).size).toBe(progress.length);
    expect(progress.at(-1)).toBe(100);
  });

  it('errors the stream when reading the rows fails, and when aborted', async () => {
    async function* failing() {
      yield [{ name: 'First', price: '1.00' }];
      throw new Error('connection lost');
    }
    await expect(buffer(renderProductCatalog(await catalogInput({ rows: failing() })))).rejects.toThrow('connection lost');

    const controller = new AbortController();
    controller.abort(new Error('worker shutting down'));
    await expect(buffer(renderProductCatalog(await catalogInput({ signal: controller.signal })))).rejects.toThrow('worker shutting down');
  });
});

describe('local disk report storage', () => {
  const storage = () => new LocalDiskStorage(path.join(t.dataDir, 'reports-storage-test'));

  it('stores a stream under its key, reads it back with its size, and leaves no temporary file', async () => {
    const s = storage();
    const { size } = await s.put('a.pdf', Readable.from([Buffer.from('hello '), Buffer.from('world')]));
    expect(size).toBe(11);
    expect(await s.size('a.pdf')).toBe(11);
    const opened = await s.open('a.pdf');
    expect(opened?.size).toBe(11);
    expect((await buffer(opened!.stream)).toString()).toBe('hello world');
    expect(await s.temporaryFiles()).toEqual([]);
    expect(await s.open('missing.pdf')).toBeUndefined();
    expect(await s.size('missing.pdf')).toBeUndefined();
  });

  it('a second put of the same key replaces the file: one file, the new content', async () => {
    const s = storage();
    await s.put('twice.pdf', Buffer.from('first attempt, longer'));
    await s.put('twice.pdf', Buffer.from('second'));
    const files = (await fs.readdir(s.directory)).filter((f) => f.includes('twice'));
    expect(files).toEqual(['twice.pdf']);
    expect((await fs.readFile(path.join(s.directory, 'twice.pdf'))).toString()).toBe('second');
  });

  it('a write removes the temporary files a killed writer left for the same key, once they are stale', async () => {
    const s = storage();
    await fs.mkdir(s.directory, { recursive: true });
    const stale = path.join(s.directory, '.tmp-killed.pdf-aaaaaaaaaaaa');
    const fresh = path.join(s.directory, '.tmp-killed.pdf-bbbbbbbbbbbb');
    const other = path.join(s.directory, '.tmp-other.pdf-cccccccccccc');
    for (const f of [stale, fresh, other]) await fs.writeFile(f, 'partial');
    const hourAgo = new Date(Date.now() - 3_600_000);
    await fs.utimes(stale, hourAgo, hourAgo);
    await fs.utimes(other, hourAgo, hourAgo);
    await s.put('killed.pdf', Buffer.from('complete'));
    expect((await s.temporaryFiles()).sort()).toEqual(['.tmp-killed.pdf-bbbbbbbbbbbb', '.tmp-other.pdf-cccccccccccc']);
    for (const f of [fresh, other]) await fs.rm(f);
  });

  it('a body that fails leaves nothing behind and passes its own error on', async () => {
    const s = storage();
    async function* body() {
      yield Buffer.from('half a ');
      throw new Error('renderer failed');
    }
    const error = await s.put('broken.pdf', Readable.from(body())).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(StorageUnavailableError);
    expect(await s.size('broken.pdf')).toBeUndefined();
    expect(await s.temporaryFiles()).toEqual([]);
  });

  it('a store that cannot be written is StorageUnavailableError (transient, so the job retries)', async () => {
    const blocker = path.join(t.dataDir, 'not-a-directory');
    await fs.writeFile(blocker, 'x');
    const s = new LocalDiskStorage(path.join(blocker, 'reports'));
    await expect(s.put('x.pdf', Buffer.from('x'))).rejects.toBeInstanceOf(StorageUnavailableError);
  });

  it('refuses keys that could leave its directory', async () => {
    const s = storage();
    for (const key of ['../escape.pdf', 'a/b.pdf', '', '.hidden']) await expect(s.put(key, Buffer.from('x')), key).rejects.toThrow('Invalid storage key');
  });
});
