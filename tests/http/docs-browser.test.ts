import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeProduct } from '../helpers/factories.ts';
import { startTestApp, type TestApp } from '../helpers/test-app.ts';

/**
 * The docs page as a person uses it: Debian's Chromium, headless, opens /docs on
 * 127.0.0.1 and runs "Try it out" on GET /products. It fails if the page calls another
 * origin (an absolute `servers` entry built from a Host header did) or is blocked, and
 * if the page's Content-Security-Policy blocks anything it does (console or event).
 * .ci/run installs Chromium; only outside CI may a machine without it skip this.
 */
const CHROMIUM = '/usr/bin/chromium';
const available = existsSync(CHROMIUM);

describe.skipIf(!available && !process.env.CI)('the docs page in a browser', { timeout: 120_000 }, () => {
  let t: TestApp;
  let browser: Browser;
  beforeAll(async () => {
    t = await startTestApp();
    await makeProduct(t.app.db, { name: 'Seen in the browser' });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  it('"Try it out" on GET /products shows a 200 from this server', async () => {
    expect(t.url).toMatch(/^http:\/\/127\.0\.0\.1:/);
    const page = await browser.newPage();
    const requests: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    const violations: string[] = [];
    page.on('console', (m) => {
      if (/Content[- ]Security[- ]Policy/i.test(m.text())) violations.push(m.text());
    });
    await page.exposeFunction('reportCspViolation', (v: string) => violations.push(v));
    await page.addInitScript(`document.addEventListener('securitypolicyviolation', (e) => window.reportCspViolation(e.violatedDirective + ' blocked ' + e.blockedURI))`);
    const docs = await page.goto(`${t.url}/docs/`);
    expect(docs?.headers()['content-security-policy']).toContain("script-src 'self'");
    const operation = page.locator('#operations-products-products-list');
    await operation.locator('.opblock-summary').click();
    await operation.locator('button.try-out__btn').click();
    await operation.locator('button.execute').click();
    const status = operation.locator('.live-responses-table .response .response-col_status').first();
    await status.waitFor({ timeout: 30_000 });
    expect((await status.textContent())?.trim()).toMatch(/^200/);
    expect(await operation.locator('.live-responses-table').first().textContent()).toContain('Seen in the browser');
    const api = requests.filter((u) => u.includes('/api/v1/products'));
    expect(api.length).toBeGreaterThan(0);
    for (const u of api) expect(new URL(u).origin).toBe(new URL(t.url).origin);
    expect(violations).toEqual([]);
  });
});
