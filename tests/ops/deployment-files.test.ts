import { existsSync, readFileSync, statSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { EnvSchema } from '../../server/config.ts';
import { createEmptyDatabase } from '../helpers/test-app.ts';
import { ROOT, runScript } from '../helpers/processes.ts';

/**
 * Docker cannot run on our machines, so the image and the compose topology are checked
 * here as far as a daemon isn't needed: compose.yaml parses, wires the services the way
 * docs/deployment.md says, and runs only commands the image has; every file the
 * Dockerfile copies exists and isn't kept out by .dockerignore; the code the image runs
 * imports no dev dependency; and the image's `migrate` command works.
 */

const read = (file: string) => readFileSync(path.join(ROOT, file), 'utf8');
const pkg = JSON.parse(read('package.json')) as { dependencies: Record<string, string>; devDependencies: Record<string, string>; scripts: Record<string, string> };

interface ComposeService {
  image?: string;
  restart?: string;
  build?: unknown;
  command?: string[];
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test?: string[]; disable?: boolean };
  deploy?: { replicas?: number };
  volumes?: string[];
  ports?: string[];
  profiles?: string[];
  entrypoint?: string[];
}
const compose = parse(read('compose.yaml'), { merge: true }) as { services: Record<string, ComposeService>; volumes: Record<string, unknown> };
const services = compose.services;
const appServices = Object.entries(services).filter(([, s]) => s.build !== undefined);

/** The Dockerfile's instructions, continuation lines joined. */
const dockerfile = read('Dockerfile')
  .replace(/\\\n/g, ' ')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#'));
const stages = dockerfile.reduce<string[][]>((acc, line) => {
  if (/^FROM /i.test(line)) acc.push([]);
  acc.at(-1)?.push(line);
  return acc;
}, []);
const runtime = stages.at(-1)!;
const jsonArray = (line: string) => JSON.parse(line.replace(/^\w+\s+/, '').replace(/^.*?(\[)/, '[')) as string[];
const entrypoint = jsonArray(runtime.find((l) => l.startsWith('ENTRYPOINT'))!);

describe('Dockerfile', () => {
  it('is multi-stage, installs from the lockfile, and the final stage has no dev dependencies', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const prodInstall = dockerfile.filter((l) => /npm ci/.test(l) && /--omit=dev/.test(l));
    expect(prodInstall).toHaveLength(1);
    // The runtime stage installs nothing itself: its node_modules come from the --omit=dev stage.
    expect(runtime.some((l) => /npm (ci|install)/.test(l))).toBe(false);
    const nodeModules = runtime.find((l) => /^COPY --from=\S+ \/app\/node_modules/.test(l))!;
    const from = /--from=(\S+)/.exec(nodeModules)![1]!;
    const source = stages.find((s) => s[0]!.endsWith(` AS ${from}`))!;
    expect(source.some((l) => /npm ci --omit=dev/.test(l))).toBe(true);
  });

  it('runs as a non-root user, in production mode, with a health check on /readyz', () => {
    expect(runtime.find((l) => l.startsWith('USER '))).toMatch(/^USER (?!root)\w+/);
    expect(runtime.find((l) => l.startsWith('ENV '))).toMatch(/NODE_ENV=production/);
    const health = runtime.find((l) => l.startsWith('HEALTHCHECK'))!;
    expect(health).toContain('docker/healthcheck.mjs');
    expect(read('docker/healthcheck.mjs')).toContain('/readyz');
  });

  it('copies only files that exist and that .dockerignore lets into the build context', () => {
    const ignored = read('.dockerignore')
      .split('\n')
      .map((l) => l.trim().replace(/^\*\*\//, ''))
      .filter((l) => l && !l.startsWith('#'));
    for (const must of ['.data', 'node_modules', 'tests']) expect(ignored).toContain(must);
    const copies = dockerfile.filter((l) => /^COPY /.test(l) && !/--from=/.test(l));
    expect(copies.length).toBeGreaterThan(3);
    for (const line of copies) {
      const parts = line.split(/\s+/).slice(1).filter((p) => !p.startsWith('--'));
      for (const source of parts.slice(0, -1)) {
        expect(existsSync(path.join(ROOT, source)), `${source} (${line})`).toBe(true);
        expect(ignored.some((i) => source === i || source.startsWith(`${i}/`)), `${source} is in .dockerignore`).toBe(false);
      }
    }
  });

  it('starts server/main.ts through tsx, which is a runtime dependency', () => {
    expect(entrypoint).toEqual(['node', '--import', 'tsx', 'server/main.ts']);
    expect(pkg.dependencies.tsx).toBeDefined();
  });

  it('the code the image runs imports only runtime dependencies', async () => {
    const bare = new Set<string>();
    const seen = new Set<string>();
    const visit = async (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      const text = await fs.readFile(file, 'utf8');
      // Type-only imports vanish at run time; everything else must resolve in the image.
      for (const m of text.matchAll(/^(?:import|export)\s+(?!type\s)(?:[^'"]*?\sfrom\s+)?['"]([^'"]+)['"]|import\(\s*['"`]([^'"`$]+)['"`]/gm)) {
        const spec = m[1] ?? m[2]!;
        if (spec.startsWith('node:')) continue;
        if (spec.startsWith('.')) await visit(path.resolve(path.dirname(file), spec));
        else bare.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!);
      }
    };
    await visit(path.join(ROOT, 'server/main.ts'));
    await visit(path.join(ROOT, 'docker/healthcheck.mjs'));
    for (const migration of await fs.readdir(path.join(ROOT, 'migrations'))) if (migration.endsWith('.ts')) await visit(path.join(ROOT, 'migrations', migration));
    expect(bare.size).toBeGreaterThan(5);
    const missing = [...bare].filter((name) => !pkg.dependencies[name]);
    expect(missing, 'imported by the image’s code but not in dependencies').toEqual([]);
  });
});

describe('compose.yaml', () => {
  it('pins every image version', () => {
    for (const [name, s] of Object.entries(services)) {
      if (s.build !== undefined) continue;
      expect(s.image, name).toMatch(/:[^:]*\d[^:]*$/);
      expect(s.image, name).not.toMatch(/:latest$/);
    }
    expect(services.postgres!.image).toMatch(/^postgres:1[5-8]\.\d+/);
  });

  it('keeps PostgreSQL data on a named volume', () => {
    const volume = services.postgres!.volumes!.map((v) => v.split(':')[0]!)[0]!;
    expect(Object.keys(compose.volumes)).toContain(volume);
    for (const s of Object.values(services)) for (const v of s.volumes ?? []) {
      const source = v.split(':')[0]!;
      if (source.startsWith('.')) expect(existsSync(path.join(ROOT, source)), v).toBe(true);
      else expect(Object.keys(compose.volumes), v).toContain(source);
    }
  });

  it('runs migrations once, then 2 serve and 2 worker replicas that wait for it', () => {
    expect(services.migrate!.command).toEqual(['migrate']);
    expect(services.migrate!.restart).toBe('no');
    expect(services.migrate!.depends_on).toMatchObject({ postgres: { condition: 'service_healthy' } });
    for (const role of ['serve', 'worker']) {
      const s = services[role]!;
      expect(s.command).toEqual([role]);
      expect(s.deploy?.replicas, role).toBe(2);
      expect(s.environment?.MIGRATE_ON_START, role).toBe('false');
      expect(s.depends_on).toMatchObject({ postgres: { condition: 'service_healthy' }, migrate: { condition: 'service_completed_successfully' } });
    }
    expect(services.serve!.environment?.HOST).toBe('0.0.0.0');
  });

  it('runs only roles that server/main.ts has', () => {
    const main = read(entrypoint.at(-1)!);
    const roles = JSON.parse(/const ROLES: readonly Role\[] = (\[[^\]]*\])/.exec(main)![1]!.replace(/'/g, '"')) as string[];
    for (const [name, s] of appServices) {
      expect(s.command, name).toBeDefined();
      expect(roles, name).toContain(s.command![0]);
    }
    expect(appServices.map(([n]) => n).sort()).toEqual(['migrate', 'serve', 'worker']);
  });

  it('waits only on health checks that exist, and has a mail catcher', () => {
    for (const [name, s] of Object.entries(services)) {
      for (const [dep, { condition }] of Object.entries(s.depends_on ?? {})) {
        expect(services[dep], `${name} depends on ${dep}`).toBeDefined();
        expect(['service_healthy', 'service_completed_successfully', 'service_started']).toContain(condition);
        if (condition !== 'service_healthy') continue;
        const target = services[dep]!;
        const checked = target.healthcheck ? !target.healthcheck.disable : target.build !== undefined; // the image's HEALTHCHECK
        expect(checked, `${name} waits for ${dep} to be healthy, which has no health check`).toBe(true);
      }
    }
    expect(services.worker!.healthcheck!.test).toEqual(['CMD', 'node', 'docker/healthcheck.mjs', 'worker']);
    expect(services.mailpit!.image).toMatch(/mailpit/);
    expect(services.serve!.environment?.SMTP_URL).toBe('smtp://mailpit:1025');
  });

  it('sets only variables that server/config.ts knows, with values it accepts', () => {
    // Plus the AWS SDK's own credential variables, read by its default provider chain.
    const known = [...Object.keys(EnvSchema.shape), 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'];
    for (const [name, s] of appServices) {
      const env = { ...s.environment };
      for (const key of Object.keys(env)) expect(known, `${name}: ${key}`).toContain(key);
      // Compose interpolation (${VAR:-default}) resolves to the default here.
      const resolved = Object.fromEntries(Object.entries(env).map(([k, v]) => [k, String(v).replace(/\$\{\w+:-([^}]*)\}/g, '$1')]));
      expect(EnvSchema.safeParse(resolved).success, name).toBe(true);
    }
    // The shutdown budget stays inside the orchestrator's grace period (SIGTERM → SIGKILL).
    expect(Number(services.serve!.environment!.SHUTDOWN_TIMEOUT_MS)).toBeLessThan(30_000);
  });

  it('has MinIO in the s3 profile: the app waits for its bucket only when the profile is on, and stays on PostgreSQL by default', () => {
    expect(services.minio!.profiles).toEqual(['s3']);
    expect(services['minio-bucket']!.profiles).toEqual(['s3']);
    expect(services['minio-bucket']!.depends_on).toMatchObject({ minio: { condition: 'service_healthy' } });
    expect(JSON.stringify(services['minio-bucket']!.entrypoint)).toContain('mc mb --ignore-existing local/duality');
    for (const role of ['serve', 'worker', 'migrate']) {
      const env = services[role]!.environment!;
      expect(env.AWS_ENDPOINT_URL_S3, role).toBe('http://minio:9000');
      expect(String(env.STORAGE_URL).replace(/\$\{\w+:-([^}]*)\}/g, '$1'), role).toBe('postgres:');
    }
    for (const role of ['serve', 'worker']) expect(services[role]!.depends_on, role).toMatchObject({ 'minio-bucket': { condition: 'service_completed_successfully', required: false } });
    // What the docs tell you to run parses: the bucket the setup makes is the one STORAGE_URL names.
    const withS3 = EnvSchema.safeParse({ ...services.serve!.environment, STORAGE_URL: 's3://duality/reports' });
    expect(withS3.success).toBe(true);
  });

  it('fronts the serve replicas with the proxy configured in docker/nginx.conf', () => {
    const nginx = read('docker/nginx.conf');
    expect(nginx).toMatch(/server serve:3000/);
    expect(services.proxy!.depends_on).toMatchObject({ serve: { condition: 'service_healthy' } });
    expect(statSync(path.join(ROOT, 'docker/nginx.conf')).isFile()).toBe(true);
  });
});

describe("the image's commands", () => {
  const dbs: { drop(): Promise<void> }[] = [];
  afterAll(async () => {
    for (const db of dbs) await db.drop();
  });

  it('`migrate` applies every migration and exits 0; a second run has nothing to do', async () => {
    const db = await createEmptyDatabase();
    dbs.push(db);
    const env = { DATABASE_URL: db.url, LOG_LEVEL: 'info' };
    const first = await runScript('server/main.ts', ['migrate'], env);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain('applied migrations');
    const again = await runScript('server/main.ts', ['migrate'], env);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain('already up to date');
  }, 60_000);

  it('scripts the docs name exist in package.json', () => {
    for (const script of ['serve', 'worker', 'db:migrate', 'topology', 'test:topology']) expect(pkg.scripts[script], script).toBeDefined();
  });
});
