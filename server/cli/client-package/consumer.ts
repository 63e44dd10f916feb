import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** What the scratch project installs beside the tarball: the peers, at the versions this repository runs. */
const CONSUMER_PACKAGES = ['@trpc/client', '@trpc/server', 'superjson', 'openapi-fetch', 'typescript'];

export interface ConsumerCheck {
  /** The scratch project (removed afterwards unless `keep`). */
  dir: string;
  output: string;
}

/**
 * Installs `tarball` into a new project outside the repository (so nothing of the
 * server's node_modules is reachable), with only its peers beside it, compiles
 * client/consumer/sample.ts under client/consumer/tsconfig.json, and runs it against
 * the server at `url`. Throws with the compiler's or the sample's output on failure.
 *
 * The peers come from the npm cache that `npm ci` filled (`--prefer-offline`), or
 * the registry when they are not there.
 */
export async function checkConsumer(opts: { repoRoot: string; tarball: string; url: string; keep?: boolean; log?: (line: string) => void }): Promise<ConsumerCheck> {
  const log = opts.log ?? (() => {});
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'duality-client-consumer-'));
  const repoRequire = createRequire(path.join(opts.repoRoot, 'package.json'));
  const version = (name: string) => (JSON.parse(readFileSync(path.join(opts.repoRoot, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
  try {
    await fs.writeFile(path.join(dir, 'package.json'), JSON.stringify({ name: 'duality-client-consumer', private: true, type: 'module' }, null, 2) + '\n');
    for (const file of ['tsconfig.json', 'sample.ts']) await fs.copyFile(path.join(opts.repoRoot, 'client/consumer', file), path.join(dir, file));

    const specs = [opts.tarball, ...CONSUMER_PACKAGES.map((p) => `${p}@${version(p)}`)];
    log(`installing ${specs.map((s) => path.basename(s)).join(' ')}`);
    await exec('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts', '--loglevel=error', ...specs], dir, 'npm install');
    const installed = (await fs.readdir(path.join(dir, 'node_modules'))).filter((n) => !n.startsWith('.'));
    log(`installed: ${installed.join(', ')}`);

    const tsc = repoRequire.resolve('typescript/bin/tsc');
    await exec(process.execPath, [tsc, '-p', 'tsconfig.json'], dir, 'tsc (the sample under a strict frontend tsconfig)');
    // The template's skipLibCheck hides errors inside declaration files, where a missing
    // import would silently turn into `any`: check the package's own declarations too
    // (with the lib tRPC's declarations need, Disposable).
    await exec(
      process.execPath,
      [tsc, '-p', 'tsconfig.json', '--skipLibCheck', 'false', '--lib', 'es2022,dom,dom.iterable,esnext.disposable'],
      dir,
      'tsc (the package\'s declarations, skipLibCheck off)',
    );
    log('sample compiles; the package\'s declarations check clean');

    // The sample runs as a bundler would have it: TypeScript stripped, the package's
    // own .js as published. tsx only strips types; it resolves from the scratch project.
    const tsx = repoRequire.resolve('tsx/cli');
    const result = await exec(process.execPath, [tsx, 'sample.ts'], dir, 'the sample against the live server', { API_URL: opts.url });
    return { dir, output: result };
  } finally {
    if (!opts.keep) await fs.rm(dir, { recursive: true, force: true });
  }
}

async function exec(file: string, args: string[], cwd: string, what: string, env: Record<string, string> = {}): Promise<string> {
  try {
    const { stdout, stderr } = await run(file, args, { cwd, env: { ...process.env, ...env }, maxBuffer: 16 * 1024 * 1024 });
    return stdout + stderr;
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${what} failed:\n${(e.stdout ?? '') + (e.stderr ?? '') || e.message}`);
  }
}
