import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';

export interface LiveServer {
  /** e.g. http://localhost:39123 */
  url: string;
  stop(): Promise<void>;
}

/**
 * `npm start` (server/main.ts) on a free port with its data under `dataDir`: on the
 * embedded PostgreSQL unless DATABASE_URL is set, migrated on start. Resolves once it
 * logs that it listens; `stop()` sends SIGTERM and waits for it (and its embedded
 * database) to exit.
 */
export function startLiveServer(repoRoot: string, dataDir: string, timeoutMs = 180_000): Promise<LiveServer> {
  const tsx = createRequire(path.join(repoRoot, 'package.json')).resolve('tsx/cli');
  const child = spawn(process.execPath, [tsx, 'server/main.ts'], {
    cwd: repoRoot,
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', DATA_DIR: dataDir, LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop();
      reject(new Error(`the server did not start within ${timeoutMs / 1000} s:\n${output}`));
    }, timeoutMs);
    const onData = (d: Buffer) => {
      output += d.toString();
      const match = /listening: API (\S+)\/api\/v1/.exec(output);
      if (match?.[1]) {
        clearTimeout(timer);
        child.stdout.off('data', onData);
        child.stderr.off('data', onData);
        // Keep draining so a chatty server never blocks on a full pipe.
        child.stdout.resume();
        child.stderr.resume();
        resolve({ url: match[1].replace('//localhost:', '//127.0.0.1:'), stop });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`the server exited (${code}) before listening:\n${output}`));
    });
  });
}
