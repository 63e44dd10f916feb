import http from 'node:http';
import type { AddressInfo } from 'node:net';
import helmet from 'helmet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../server/config.ts';
import { computeSecurityHeaders, docsCsp, securityHeaderOptions } from '../../server/http/security-headers.ts';
import { bearer, signedInUser } from '../helpers/auth.ts';
import { makeProduct, makeReport } from '../helpers/factories.ts';
import { startTestApp, type TestApp } from '../helpers/test-app.ts';

/**
 * Helmet's headers on every kind of response: both doors, errors, the router's own
 * 404, the document, health checks, streams. /docs gets the page policy instead of the API's.
 */
const API_CSP = "default-src 'none';frame-ancestors 'none';base-uri 'none';form-action 'none'";

function expectSecurityHeaders(headers: Headers, what: string) {
  expect(headers.get('x-content-type-options'), what).toBe('nosniff');
  expect(headers.get('x-frame-options'), what).toBe('SAMEORIGIN');
  expect(headers.get('referrer-policy'), what).toBe('no-referrer');
  expect(headers.get('cross-origin-opener-policy'), what).toBe('same-origin');
  expect(headers.get('x-powered-by'), what).toBeNull();
}

/** One request's raw header lines ([name, value] as sent, in order); the body is not read. */
function rawHeaders(url: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<{ status: number; lines: [string, string][] }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: init.method ?? 'GET', headers: init.headers }, (res) => {
      const lines: [string, string][] = [];
      for (let i = 0; i < res.rawHeaders.length; i += 2) lines.push([res.rawHeaders[i]!, res.rawHeaders[i + 1]!]);
      resolve({ status: res.statusCode!, lines });
      res.destroy();
    });
    req.on('error', reject);
    req.end(init.body);
  });
}

/**
 * What helmet(options) itself puts on a response, as a plain node:http server running
 * it sends it: the reference every route of the app is held to.
 */
async function helmetReference(config: Pick<Config, 'isProduction' | 'publicUrl'>): Promise<{ lines: [string, string][]; names: Set<string> }> {
  const middleware = helmet(securityHeaderOptions(config));
  const server = http.createServer((req, res) => {
    res.setHeader('X-Powered-By', 'something');
    middleware(req, res, () => res.end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const { lines } = await rawHeaders(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    const transport = new Set(['date', 'connection', 'keep-alive', 'transfer-encoding', 'content-length']);
    const own = lines.filter(([name]) => !transport.has(name.toLowerCase()));
    return { lines: own, names: new Set(own.map(([name]) => name.toLowerCase())) };
  } finally {
    server.close();
  }
}

/** The response's lines that helmet sets, as sent (name case and order included). */
const helmetLines = (lines: [string, string][], names: Set<string>) => lines.filter(([name]) => names.has(name.toLowerCase()));

/**
 * The /docs variant: swagger-ui's own onSend hook replaces the CSP value through
 * Fastify's reply, which Node writes in the original header's place under Fastify's
 * lower-case name; every other line is helmet's.
 */
const docsVariant = (reference: [string, string][], config: Pick<Config, 'isProduction' | 'publicUrl'>) =>
  reference.map(([name, value]): [string, string] => (name.toLowerCase() === 'content-security-policy' ? ['content-security-policy', docsCsp(config)] : [name, value]));

const APP_ORIGIN = 'https://app.example.com';

/**
 * The REST stream's variant: it writes its head itself from reply.getHeaders(), whose
 * names are lower case; the same lines otherwise, in the same order.
 */
const streamVariant = (reference: [string, string][]) => reference.map(([name, value]): [string, string] => [name.toLowerCase(), value]);

describe('security headers', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ CORS_ORIGINS: APP_ORIGIN });
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

  it('are exactly what helmet(options) sends, line for line, on every kind of response', async () => {
    const reference = await helmetReference(t.app.config);
    expect(reference.lines.length).toBeGreaterThan(8);
    const product = await makeProduct(t.app.db);
    const { user, token } = await signedInUser(t);
    const report = await makeReport(t.app.db, user.id, { status: 'ready', fileSize: 4 });
    await t.app.storage.put(report.filePath!, Buffer.from('%PDF'));
    const input = encodeURIComponent(JSON.stringify({ json: { id: product.id } }));
    const cases: { what: string; path: string; init?: Parameters<typeof rawHeaders>[1]; status: number; expected?: [string, string][] }[] = [
      { what: 'REST get', path: `/api/v1/products/${product.id}`, status: 200 },
      { what: 'REST 304', path: `/api/v1/products/${product.id}`, init: { headers: { 'if-none-match': '*' } }, status: 304 },
      { what: 'REST list', path: '/api/v1/products?limit=2', status: 200 },
      { what: 'REST create refused', path: '/api/v1/products', init: { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }, status: 401 },
      { what: 'tRPC call', path: `/trpc/products.get?input=${input}`, status: 200 },
      { what: 'tRPC batch', path: `/trpc/products.get,products.list?batch=1&input=${encodeURIComponent(JSON.stringify({ 0: { json: { id: product.id } }, 1: { json: {} } }))}`, status: 200 },
      { what: 'tRPC error', path: '/trpc/users.me', status: 401 },
      { what: 'REST 404', path: '/api/v1/nowhere', status: 404 },
      { what: 'REST 405', path: '/api/v1/products', init: { method: 'PUT' }, status: 405 },
      { what: 'bad JSON', path: '/api/v1/auth/sign-in', init: { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{' }, status: 400 },
      { what: 'unknown media type', path: '/api/v1/auth/sign-in', init: { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'x' }, status: 415 },
      { what: "the router's own error", path: '/%zz', status: 400 },
      { what: 'plain route (a PDF)', path: `/api/v1/reports/${report.id}/file`, init: { headers: bearer(token) }, status: 200 },
      { what: 'plain route error', path: `/api/v1/reports/${report.id}/file`, status: 401 },
      { what: 'CORS preflight', path: '/api/v1/products', init: { method: 'OPTIONS', headers: { origin: APP_ORIGIN, 'access-control-request-method': 'GET' } }, status: 204 },
      { what: 'CORS call', path: '/api/v1/products?limit=1', init: { headers: { origin: APP_ORIGIN } }, status: 200 },
      { what: 'preflight from another origin', path: '/api/v1/products', init: { method: 'OPTIONS', headers: { origin: 'https://elsewhere.example', 'access-control-request-method': 'GET' } }, status: 405 },
      { what: 'HEAD', path: '/healthz', init: { method: 'HEAD' }, status: 200 },
      { what: 'document', path: '/openapi.json', status: 200 },
      { what: 'health', path: '/healthz', status: 200 },
      { what: 'readiness', path: '/readyz', status: 200 },
      { what: 'REST stream', path: '/api/v1/products/changes', init: { headers: { accept: 'text/event-stream' } }, status: 200, expected: streamVariant(reference.lines) },
      { what: 'tRPC stream', path: `/trpc/products.changes?input=${encodeURIComponent('{"json":{}}')}`, init: { headers: { accept: 'text/event-stream' } }, status: 200 },
    ];
    for (const c of cases) {
      const res = await rawHeaders(`${t.url}${c.path}`, c.init);
      expect(res.status, c.what).toBe(c.status);
      expect(helmetLines(res.lines, reference.names), c.what).toEqual(c.expected ?? reference.lines);
      expect(res.lines.some(([name]) => name.toLowerCase() === 'x-powered-by'), c.what).toBe(false);
    }
    // The docs page, its assets and its redirect: the same lines with the page's policy.
    for (const p of ['/docs', '/docs/', '/docs/static/swagger-initializer.js', '/docs/json']) {
      const res = await rawHeaders(`${t.url}${p}`);
      expect(helmetLines(res.lines, reference.names), p).toEqual(docsVariant(reference.lines, t.app.config));
    }
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

  it("every line is helmet's for the production options, HSTS included", async () => {
    const reference = await helmetReference(t.app.config);
    expect(reference.names.has('strict-transport-security')).toBe(true);
    for (const p of ['/healthz', '/api/v1/products', '/api/v1/nowhere', '/trpc/products.list', '/%zz']) {
      const res = await rawHeaders(`${t.url}${p}`);
      expect(helmetLines(res.lines, reference.names), p).toEqual(reference.lines);
    }
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

describe('with an https PUBLIC_URL', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ PUBLIC_URL: 'https://api.example.com' });
  });
  afterAll(async () => t?.close());

  it('HSTS on the API, and the docs page policy upgrades insecure requests', async () => {
    const reference = await helmetReference(t.app.config);
    expect(reference.names.has('strict-transport-security')).toBe(true);
    const api = await rawHeaders(`${t.url}/api/v1/products`);
    expect(helmetLines(api.lines, reference.names)).toEqual(reference.lines);
    const docs = await rawHeaders(`${t.url}/docs/`);
    const expected = docsVariant(reference.lines, t.app.config);
    expect(expected.find(([name]) => name === 'content-security-policy')?.[1]).toContain('upgrade-insecure-requests');
    expect(helmetLines(docs.lines, reference.names)).toEqual(expected);
  });
});

describe('computeSecurityHeaders', () => {
  it("records helmet's work once, X-Powered-By's removal included", () => {
    const { operations } = computeSecurityHeaders(securityHeaderOptions({ isProduction: false, publicUrl: undefined }));
    expect(operations[0]).toEqual({ name: 'Content-Security-Policy', value: API_CSP });
    expect(operations).toContainEqual({ name: 'X-Powered-By' });
    expect(operations.some((o) => o.name === 'Strict-Transport-Security')).toBe(false);
  });

  it('refuses a CSP computed per request: fixed headers cannot carry a nonce', () => {
    expect(() => computeSecurityHeaders({ contentSecurityPolicy: { directives: { scriptSrc: ["'self'", () => "'nonce-x'"] } } })).toThrow(/per request/);
  });
});
