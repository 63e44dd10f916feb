import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ErrorBody } from '../errors.ts';

/**
 * HTTP says a known path asked with a method it does not support is 405 with an
 * `Allow` header, not 404. Fastify's router only knows "no route", so this records
 * every route as it is added and, when nothing matched, looks for the path under other
 * methods. Call before any route is registered; `notFound` is the handler to use.
 */
export function methodNotAllowed(fastify: FastifyInstance) {
  const routes: { pattern: RegExp; methods: string[] }[] = [];
  fastify.addHook('onRoute', (route) => {
    // A catch-all (CORS preflight's `OPTIONS *`) says nothing about which paths exist.
    if (route.url === '*' || route.url === '/*') return;
    const methods = (Array.isArray(route.method) ? route.method : [route.method]).map((m) => m.toUpperCase());
    const source = route.url
      .split(/(:\w+|\*)/)
      .map((part) => (part === '*' ? '.*' : part.startsWith(':') ? '[^/]+' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
      .join('');
    routes.push({ pattern: new RegExp(`^${source}/?$`), methods });
  });

  /** The methods `path` answers to, sorted; empty when no route has it. */
  function allowed(path: string): string[] {
    const methods = new Set<string>();
    for (const route of routes) if (route.pattern.test(path)) for (const m of route.methods) methods.add(m);
    return [...methods].sort();
  }

  return {
    allowed,
    /** 405 + Allow for a known path, else 404; both in the shared error body. */
    notFound: (request: FastifyRequest, reply: FastifyReply) => {
      const path = request.url.split('?')[0] ?? '/';
      const allow = allowed(path);
      if (allow.length && !allow.includes(request.method)) {
        return reply
          .status(405)
          .header('allow', allow.join(', '))
          .send({ code: 'METHOD_NOT_SUPPORTED', message: `${request.method} is not supported on ${path}; it answers ${allow.join(', ')}` } satisfies ErrorBody);
      }
      return reply.status(404).send({ code: 'NOT_FOUND', message: `No route for ${request.method} ${path}` } satisfies ErrorBody);
    },
  };
}
