import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/test-app.ts';

/**
 * Helmet's headers on every kind of response: both doors, errors, the router's own
 * 404, the document, health checks. /docs gets the page policy instead of the API's.
 */
const API_CSP = "default-src 'none';frame-ancestors 'none';base-uri 'none';form-action 'none'";

function expectSecurityHeaders(headers: Headers, what: string) {
  expect(headers.get('x-content-type-options'), what).toBe('nosniff');
  expect(headers.get('x-frame-options'), what).toBe('SAMEORIGIN');
  expect(headers.get('referrer-policy'), what).toBe('no-referrer');
  expect(headers.get('cross-origin-opener-policy'), what).toBe('same-origin');
  expect(headers.get('x-powered-by'), what).toBeNull();
}

describe('security headers', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => t?.close());

  it('are on every response, with a CSP that lets an API response load nothing', async () => {
    const paths = ['/api/v1/products', '/api/v1/users/me', '/api/v1/nowhere', '/trpc/products.list', '/trpc/nope', '/openapi.json', '/healthz', '/readyz', '/%zz'];
    for (const p of paths) {
      const res = await fetch(`${t.url}${p}`);
      await res.arrayBuffer();
      expectSecurityHeaders(res.headers, p);
      expect(res.headers.get('content-security-policy'), p).toBe(API_CSP);
      // Plain http in tests: no HSTS (it would pin localhost to https).
      expect(res.headers.get('strict-transport-security'), p).toBeNull();
    }
    const post = await fetch(`${t.url}/api/v1/auth/sign-in`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{' });
    expect(post.status).toBe(400);
    expectSecurityHeaders(post.headers, 'bad JSON');
  });

  it('/docs has the page policy: its own scripts, styles and calls only', async () => {
    for (const p of ['/docs/', '/docs/static/swagger-initializer.js']) {
      const res = await fetch(`${t.url}${p}`);
      expect(res.status, p).toBe(200);
      await res.arrayBuffer();
      expectSecurityHeaders(res.headers, p);
      const csp = res.headers.get('content-security-policy') ?? '';
      expect(csp, p).toContain("script-src 'self'");
      expect(csp, p).toContain("connect-src 'self'");
      expect(csp, p).not.toContain('unsafe-eval');
      expect(csp, p).not.toMatch(/script-src[^;]*unsafe-inline/);
    }
  });
});

describe('in production', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ NODE_ENV: 'production', DOCS_ENABLED: 'false' });
  });
  afterAll(async () => t?.close());

  it('HSTS is sent (TLS ends at the proxy in front)', async () => {
    const res = await fetch(`${t.url}/healthz`);
    expect(res.headers.get('strict-transport-security')).toBe('max-age=31536000; includeSubDomains');
  });

  it('DOCS_ENABLED=false: /docs and its document routes answer 404 with the usual body; /openapi.json stays', async () => {
    for (const p of ['/docs', '/docs/', '/docs/json', '/docs/yaml', '/docs/static/index.html']) {
      const res = await fetch(`${t.url}${p}`);
      expect(res.status, p).toBe(404);
      expect(await res.json(), p).toMatchObject({ code: 'NOT_FOUND' });
    }
    expect((await fetch(`${t.url}/openapi.json`)).status).toBe(200);
  });
});
