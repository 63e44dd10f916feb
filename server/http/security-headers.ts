import type { IncomingMessage, ServerResponse } from 'node:http';
import helmet, { type HelmetOptions } from 'helmet';
import type { Config } from '../config.ts';

/**
 * Helmet's response headers, worked out once at start-up and replayed on every response.
 *
 * With our options helmet's output depends on nothing in the request (a CSP whose
 * directives are functions would, and is refused below), so running it per request, as
 * @fastify/helmet does with two hooks and three promises, only repeats the same answer.
 */
export interface SecurityHeaders {
  /** What helmet does to a response, in its order: a header set, or (`value` undefined) removed. */
  readonly operations: readonly { readonly name: string; readonly value?: string }[];
  /** Applies them to a response whose headers are not sent yet. */
  apply(res: ServerResponse): void;
}

/** Nothing may load, run or frame: a JSON response has no business doing any of it. */
const API_CSP = { defaultSrc: ["'none'"], frameAncestors: ["'none'"], baseUri: ["'none'"], formAction: ["'none'"] };

/**
 * Helmet's defaults with the API's CSP, and HSTS only where the server is reached over
 * HTTPS: on plain http it means nothing, and on localhost it would pin every other local
 * app to https.
 */
export function securityHeaderOptions(config: Pick<Config, 'isProduction' | 'publicUrl'>): HelmetOptions {
  return {
    contentSecurityPolicy: { useDefaults: false, directives: API_CSP },
    strictTransportSecurity: secureTransport(config) ? { maxAge: 31_536_000, includeSubDomains: true } : false,
  };
}

/** Runs helmet(options) once against a response that only records what is done to it. */
export function computeSecurityHeaders(options: HelmetOptions): SecurityHeaders {
  const directives = typeof options.contentSecurityPolicy === 'object' ? options.contentSecurityPolicy.directives : undefined;
  for (const [name, value] of Object.entries(directives ?? {})) {
    if (typeof value === 'function' || (Array.isArray(value) && value.some((v) => typeof v === 'function'))) {
      throw new Error(`CSP directive ${name} is computed per request; fixed security headers cannot carry it`);
    }
  }
  const operations: { name: string; value?: string }[] = [];
  const recorder = {
    setHeader(name: string, value: string | number | readonly string[]) {
      if (typeof value !== 'string') throw new Error(`helmet set ${name} to a non-string value`);
      operations.push({ name, value });
      return recorder;
    },
    removeHeader(name: string) {
      operations.push({ name });
    },
  };
  let failed: unknown;
  helmet(options)({} as IncomingMessage, recorder as unknown as ServerResponse, (error?: unknown) => {
    failed = error;
  });
  if (failed) throw failed instanceof Error ? failed : new Error(String(failed));
  Object.freeze(operations);

  const count = operations.length;
  const names = operations.map((o) => o.name);
  const values = operations.map((o) => o.value);
  return {
    operations,
    apply(res) {
      for (let i = 0; i < count; i++) {
        const value = values[i];
        if (value === undefined) res.removeHeader(names[i]!);
        else res.setHeader(names[i]!, value);
      }
    },
  };
}

/** Whether clients reach this server over HTTPS (a proxy in front terminates TLS). */
export function secureTransport(config: Pick<Config, 'isProduction' | 'publicUrl'>): boolean {
  return config.isProduction || config.publicUrl?.startsWith('https:') === true;
}

/**
 * The Swagger UI page's policy: scripts, styles, fonts and images from this server only
 * (the bundle draws its icons as data: URIs and React sets some styles inline), and
 * "Try it out" calls this server only. Checked in Chromium, violations included, by
 * tests/http/docs-browser.test.ts.
 */
export function docsCsp(config: Pick<Config, 'isProduction' | 'publicUrl'>): string {
  return [
    "default-src 'self'",
    "base-uri 'self'",
    "script-src 'self'",
    "script-src-attr 'none'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
    "object-src 'none'",
    ...(secureTransport(config) ? ['upgrade-insecure-requests'] : []),
  ].join('; ');
}
