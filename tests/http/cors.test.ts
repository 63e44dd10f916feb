import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../server/config.ts';
import { startTestApp, type TestApp } from '../helpers/test-app.ts';

const APP = 'https://app.example.com';

function preflight(base: string, path: string, origin: string, method = 'POST') {
  return fetch(`${base}${path}`, {
    method: 'OPTIONS',
    headers: { origin, 'access-control-request-method': method, 'access-control-request-headers': 'authorization,content-type' },
  });
}

describe('CORS with CORS_ORIGINS set', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ CORS_ORIGINS: `${APP}, http://localhost:5173` });
  });
  afterAll(() => t.close());

  it('answers the preflight on both doors for a listed origin, credentials allowed', async () => {
    for (const path of ['/api/v1/products', '/trpc/products.create']) {
      const res = await preflight(t.url, path, APP);
      expect(res.status, path).toBe(204);
      expect(res.headers.get('access-control-allow-origin')).toBe(APP);
      expect(res.headers.get('access-control-allow-credentials')).toBe('true');
      expect(res.headers.get('access-control-allow-methods')).toContain('POST');
      expect(res.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('authorization');
    }
    expect((await preflight(t.url, '/api/v1/products/5a2d3f1e-0000-4000-8000-000000000000', 'http://localhost:5173', 'PATCH')).headers.get('access-control-allow-origin')).toBe(
      'http://localhost:5173',
    );
  });

  it('lets a listed origin read responses, and exposes the request id', async () => {
    const res = await fetch(`${t.url}/api/v1/products`, { headers: { origin: APP } });
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBe(APP);
    expect(res.headers.get('access-control-allow-credentials')).toBe('true');
    expect(res.headers.get('vary')).toMatch(/origin/i);
    expect(res.headers.get('access-control-expose-headers')).toContain('x-request-id');
  });

  it('gives any other origin no CORS headers at all', async () => {
    const pre = await preflight(t.url, '/api/v1/products', 'https://evil.example');
    expect(pre.headers.get('access-control-allow-origin')).toBeNull();
    expect(pre.headers.get('access-control-allow-credentials')).toBeNull();
    const res = await fetch(`${t.url}/trpc/products.list`, { headers: { origin: 'https://evil.example' } });
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('CORS by default', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  it('allows no other origin', async () => {
    const pre = await preflight(t.url, '/api/v1/products', APP);
    expect(pre.headers.get('access-control-allow-origin')).toBeNull();
    const res = await fetch(`${t.url}/api/v1/products`, { headers: { origin: APP } });
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('still answers an unknown path 404, not 405 (the preflight catch-all is no path)', async () => {
    const res = await fetch(`${t.url}/api/v1/nothing-here`);
    expect(res.status).toBe(404);
  });
});

describe('CORS_ORIGINS', () => {
  it('refuses something that is not an origin', () => {
    expect(() => loadConfig({ NODE_ENV: 'test', CORS_ORIGINS: 'https://app.example.com/path' })).toThrow(/not an origin/);
    expect(loadConfig({ NODE_ENV: 'test', CORS_ORIGINS: ' https://a.example , http://localhost:5173 ' }).corsOrigins).toEqual(['https://a.example', 'http://localhost:5173']);
  });
});
