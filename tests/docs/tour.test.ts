import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findFreePort } from '../../server/db/embedded-postgres.ts';
import { ROOT, startServerProcess, type ServerProcess } from '../helpers/processes.ts';
import { createTestDatabase } from '../helpers/test-app.ts';

/**
 * The five-minute tour of README.md and docs/getting-started.md, run as written against a
 * live `npm start` (server/main.ts). The pages show docs/snippets/tour.sh (npm run docs
 * copies it in; docs:check fails when they differ), and this test runs that same file with
 * bash: only the port is changed, and every curl fails on an HTTP error.
 */
const TOUR = path.join(ROOT, 'docs/snippets/tour.sh');

let server: ServerProcess;
let base: string;
let port: number;
let drop: () => Promise<void>;
let databaseUrl: string;
beforeAll(async () => {
  const database = await createTestDatabase();
  ({ drop, url: databaseUrl } = database);
  port = await findFreePort();
  server = startServerProcess({ DATABASE_URL: databaseUrl, PORT: String(port), NODE_ENV: 'development' });
  await server.waitFor('"msg":"listening');
  base = `http://localhost:${port}`;
}, 90_000);
afterAll(async () => {
  await server?.stop();
  await drop?.();
});

function runTour(script: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', script], {
      cwd: ROOT,
      env: { ...process.env, DATABASE_URL: databaseUrl, API_URL: base, LOG_LEVEL: 'warn', NODE_ENV: 'development' },
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

describe('the five-minute tour', () => {
  it('runs as written: first admin, sign-in, create and find a product over REST, then the typed client', async () => {
    const tour = fs.readFileSync(TOUR, 'utf8');
    expect(tour).toContain('localhost:3000');
    const script = [
      'set -euo pipefail',
      // An HTTP error fails the tour instead of printing an error body and going on.
      'curl() { command curl --fail-with-body --max-time 30 "$@"; }',
      tour.replaceAll('localhost:3000', `localhost:${port}`),
    ].join('\n');
    const { code, output } = await runTour(script);
    expect(code, output).toBe(0);

    // curl: the created product, then the list that finds it.
    expect(output).toMatch(/"name":"Espresso cup","price":"7\.50","isActive":true/);
    expect(output).toMatch(/"items":\[\{[^\]]*"name":"Espresso cup"[^\]]*\]/);
    expect(output).toContain('"total":1,');
    // client/example.ts: signed in, created a second cup, listed both, saw the typed error.
    expect(output).toContain('signed in as admin@example.com with roles admin, member');
    expect(output).toMatch(/created [0-9a-f-]{36} 7\.50/);
    expect(output).toContain('2 matching, page 1 of 1');
    expect(output.match(/^Espresso cup 7\.50$/gm)).toHaveLength(2); // paginate walked both
    expect(output).toContain('expected: NOT_FOUND');
  }, 120_000);

  it('serves /docs and the document it shows', async () => {
    const docs = await fetch(`${base}/docs`, { redirect: 'follow' });
    expect(docs.status).toBe(200);
    expect(docs.headers.get('content-type')).toContain('text/html');
    const document = (await (await fetch(`${base}/openapi.json`)).json()) as { paths: Record<string, object> };
    expect(document.paths['/products']).toHaveProperty('post');
  });
});
