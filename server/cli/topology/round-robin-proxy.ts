import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** One backend the proxy may send a request to. */
export interface Upstream {
  /** Shown in the `x-upstream` response header and in logs (e.g. `serve-1`). */
  name: string;
  port: number;
  host?: string;
}

export interface RoundRobinProxy {
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Errors that prove the request never reached the application. */
const NOT_DELIVERED = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH']);
/** On a reused keep-alive socket, the server closed it as idle just as we wrote: it never saw the request. */
const STALE_SOCKET = new Set(['ECONNRESET', 'EPIPE']);
const MAX_BODY = 16 * 1024 * 1024;

/**
 * A small HTTP load balancer for `npm run topology`: each request goes to the next
 * upstream in turn. What it promises, so a fault test can rely on it:
 * - a request is retried on the next upstream only when the first cannot have run it
 *   (connection refused, or a reused idle connection the server had just closed);
 * - otherwise a dropped upstream connection drops the client's connection too: the
 *   client sees what it would see talking to that server directly, never a made-up 5xx;
 * - when every upstream refuses, it answers 502 in the API's error shape.
 * Request bodies are buffered (so they can be sent again); responses are streamed.
 */
export async function startRoundRobinProxy(opts: { upstreams: () => readonly Upstream[]; port?: number; host?: string }): Promise<RoundRobinProxy> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  let next = 0;

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY) req.destroy();
      else chunks.push(chunk);
    });
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const upstreams = opts.upstreams();
      const start = next++;
      const attempt = (tried: number): void => {
        if (tried >= upstreams.length) {
          res.writeHead(502, { 'content-type': 'application/json', connection: 'close' });
          res.end(JSON.stringify({ code: 'BAD_GATEWAY', message: 'No upstream server is accepting connections' }));
          return;
        }
        const upstream = upstreams[(start + tried) % upstreams.length]!;
        const forwardedFor = [req.headers['x-forwarded-for'], req.socket.remoteAddress].filter(Boolean).join(', ');
        const headers = { ...req.headers, 'x-forwarded-for': forwardedFor, 'x-forwarded-host': req.headers.host ?? '', 'x-forwarded-proto': 'http' };
        delete headers.connection;
        const out = http.request({ host: upstream.host ?? '127.0.0.1', port: upstream.port, method: req.method, path: req.url, headers, agent }, (upstreamRes) => {
          const responseHeaders: http.OutgoingHttpHeaders = { ...upstreamRes.headers, 'x-upstream': upstream.name };
          delete responseHeaders.connection;
          delete responseHeaders['keep-alive'];
          res.writeHead(upstreamRes.statusCode ?? 502, responseHeaders);
          upstreamRes.pipe(res);
          upstreamRes.on('error', () => res.destroy());
          upstreamRes.on('aborted', () => res.destroy());
        });
        out.on('error', (error: NodeJS.ErrnoException) => {
          if (res.headersSent) return void res.destroy();
          const retry = NOT_DELIVERED.has(error.code ?? '') || (out.reusedSocket && STALE_SOCKET.has(error.code ?? ''));
          if (retry) attempt(tried + 1);
          else res.destroy(); // the upstream dropped a request it may have run: drop ours too
        });
        out.end(body);
      };
      attempt(0);
    });
    req.on('error', () => res.destroy());
  });
  server.keepAliveTimeout = 5_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://localhost:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        agent.destroy();
      }),
  };
}
