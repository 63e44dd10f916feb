import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

/** The repository root: commands run from here, as a user runs them. */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface Finished {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The environment of a child process: ours, with `env` on top and DATABASE_URL only if given. */
function childEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const { DATABASE_URL: _ignored, ...rest } = process.env;
  return { ...rest, NODE_ENV: 'test', LOG_LEVEL: 'warn', ...env };
}

/** Runs a TypeScript entry point (e.g. `server/cli/db.ts`) with tsx, as `npm run` does, to completion. */
export function runScript(script: string, args: string[], env: Record<string, string>): Promise<Finished> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], { cwd: ROOT, env: childEnv(env) });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A running `npm start` (server/main.ts) whose output the test can wait on. */
export interface ServerProcess {
  output(): string;
  /** Resolves once `text` has appeared in the output; rejects if the process exits first. */
  waitFor(text: string): Promise<void>;
  exited: Promise<number | null>;
  stop(): Promise<number | null>;
}

export function startServerProcess(env: Record<string, string>): ServerProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts'], {
    cwd: ROOT,
    env: childEnv({ PORT: '0', LOG_LEVEL: 'info', ...env }),
  });
  let output = '';
  const events = new EventEmitter();
  const append = (d: Buffer) => {
    output += d.toString();
    events.emit('output');
  };
  child.stdout.on('data', append);
  child.stderr.on('data', append);
  let exitCode: number | null | undefined;
  const exited = new Promise<number | null>((resolve) =>
    child.on('close', (code) => {
      exitCode = code;
      events.emit('output');
      resolve(code);
    }),
  );
  return {
    output: () => output,
    exited,
    waitFor: (text) =>
      new Promise<void>((resolve, reject) => {
        const check = () => {
          if (output.includes(text)) resolve();
          else if (exitCode !== undefined) reject(new Error(`exited (${exitCode}) before printing "${text}":\n${output}`));
          else return;
          events.off('output', check);
        };
        events.on('output', check);
        check();
      }),
    async stop() {
      if (exitCode === undefined) child.kill('SIGTERM');
      return exited;
    },
  };
}

/** A `server/main.ts <role>` process (`npm run serve` / `npm run worker`) with its JSON log lines collected. */
export interface RoleProcess {
  child: ChildProcess;
  lines: Record<string, any>[];
  exit: Promise<number | null>;
}

/** Starts `npm run serve` / `npm run worker` as a user runs them, with `env` on top of ours (DATABASE_URL included). */
export function startRoleProcess(role: 'serve' | 'worker', env: Record<string, string>): RoleProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts', role], {
    cwd: ROOT,
    env: { ...process.env, NODE_ENV: 'test', LOG_LEVEL: 'info', PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines: Record<string, any>[] = [];
  readline.createInterface({ input: child.stdout! }).on('line', (line) => {
    try {
      lines.push(JSON.parse(line));
    } catch {
      lines.push({ msg: line });
    }
  });
  return { child, lines, exit: new Promise((resolve) => child.on('close', (code) => resolve(code))) };
}

/** The first log line of `p` whose message contains `text`. */
export const loggedLine = (p: RoleProcess, text: string) => p.lines.find((l) => typeof l.msg === 'string' && l.msg.includes(text));

/**
 * A DATA_DIR of its own for one process, as on a host of its own: nothing another
 * process writes there is visible to it. Removed by `cleanup()`.
 */
export async function hostDataDir(name: string): Promise<{ dir: string; cleanup(): Promise<void> }> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), `duality-host-${name}-`));
  return { dir, cleanup: () => fs.rm(dir, { recursive: true, force: true }) };
}

/** The base URL a `serve` process logged once listening (`http://localhost:<port>`). */
export function servedBase(p: RoleProcess): string | undefined {
  const line = loggedLine(p, 'listening:');
  return typeof line?.api === 'string' ? line.api.replace(/\/api\/v1$/, '') : undefined;
}
