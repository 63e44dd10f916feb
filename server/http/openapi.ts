import type { AnyTRPCRouter } from '@trpc/server';
import { generateOpenApiDocument } from 'trpc-to-openapi';
import { z } from 'zod';
import { ErrorBodySchema } from '../errors.ts';
import { router as createRouter } from '../trpc/init.ts';
import type { PlainRoute } from './plain-route.ts';
import { listProcedures, type ProcedureInfo } from './procedure-meta.ts';

type OpenApiDocument = ReturnType<typeof generateOpenApiDocument>;
type Operation = { responses: Record<string, Record<string, unknown>>; security?: unknown[]; requestBody?: unknown; [k: string]: unknown };

export const API_PREFIX = '/api/v1';
export const API_TITLE = 'Duality API';
export const API_VERSION = '1.0.0';

const errorResponse = (description: string) => ({
  description,
  content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
});

const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: 'Invalid input: `issues` lists each offending field',
  401: 'Not signed in, or the session is invalid or expired',
  403: 'Signed in without the required permission',
  404: 'Not found',
  409: 'Conflicts with existing data',
  413: 'Request body larger than the limit',
  415: 'Request body is not JSON',
  429: 'Too many requests; see Retry-After',
  500: 'Unexpected server fault',
};

/**
 * The REST contract, generated from the procedures and then completed from their
 * meta: success statuses other than 200, one shared Error schema for every error
 * response, the access rule (security requirement and `x-permissions`), and the
 * transport errors (413, 415) every JSON body can meet.
 */
export interface OpenApiOptions {
  baseUrl: string;
  /** Routes that are not JSON procedures (a binary download); described from their meta like the procedures, after them. */
  plainRoutes?: readonly PlainRoute[];
}

/** The plain routes as one router, each under its dotted name (so `reports.file` gets operationId `reports-file`). */
function plainRouter(routes: readonly PlainRoute[]): AnyTRPCRouter {
  const record: Record<string, any> = {};
  for (const route of routes) {
    const parts = route.name.split('.');
    let node = record;
    for (const part of parts.slice(0, -1)) node = node[part] ??= {};
    node[parts.at(-1)!] = route.procedure;
  }
  return createRouter(record);
}

export function buildOpenApiDocument(router: AnyTRPCRouter, opts: OpenApiOptions): OpenApiDocument {
  const doc = generate(router, opts);
  complete(doc, listProcedures(router));
  const plain = opts.plainRoutes ?? [];
  if (plain.length) {
    const extra = generate(plainRouter(plain), opts);
    complete(extra, listProcedures(plainRouter(plain)));
    for (const route of plain) {
      const path = route.meta.openapi!.path.replace(/\/$/, '');
      const op = (extra.paths?.[path] as Record<string, Operation> | undefined)?.[route.meta.openapi!.method.toLowerCase()];
      if (!op) continue;
      // The body is not JSON: the success response is the route's own.
      const { description, contentType, headers } = route.response;
      const success: Record<string, unknown> = { description, content: { [contentType]: { schema: { type: 'string', format: 'binary' } } } };
      if (headers) success.headers = Object.fromEntries(Object.entries(headers).map(([name, h]) => [name, { schema: { type: 'string' }, description: h.description }]));
      const { '200': _json, ...errors } = op.responses;
      op.responses = { '200': success, ...errors };
    }
    doc.paths ??= {};
    for (const [path, item] of Object.entries(extra.paths ?? {})) {
      (doc.paths as Record<string, unknown>)[path] = { ...(doc.paths[path] as object | undefined), ...(item as object) };
    }
  }
  return doc;
}

function generate(router: AnyTRPCRouter, opts: OpenApiOptions): OpenApiDocument {
  const doc = generateOpenApiDocument(router, {
    title: API_TITLE,
    version: API_VERSION,
    description: 'Every operation here is also a tRPC procedure (see the typed client). Errors share one shape: `{ code, message, issues? }`.',
    baseUrl: opts.baseUrl,
    securitySchemes: {
      bearerAuth: { type: 'http', scheme: 'bearer', description: 'Session token from POST /auth/sign-in' },
      sessionCookie: { type: 'apiKey', in: 'cookie', name: 'session', description: 'Session cookie set by POST /auth/sign-in' },
    },
  });
  doc.components ??= {};
  doc.components.schemas ??= {};
  doc.components.schemas.Error = z.toJSONSchema(ErrorBodySchema, { target: 'openapi-3.0' }) as never;
  return doc;
}

/** Completes the generated operations from their procedures' meta. */
function complete(doc: OpenApiDocument, procedures: ProcedureInfo[]): void {
  for (const { meta } of procedures) {
    if (!meta.openapi) continue;
    const path = meta.openapi.path.replace(/\/$/, '');
    const op = (doc.paths?.[path] as Record<string, Operation> | undefined)?.[meta.openapi.method.toLowerCase()];
    if (!op) continue;

    if (meta.successStatus && op.responses['200']) {
      const success = op.responses['200'];
      delete op.responses['200'];
      op.responses[String(meta.successStatus)] =
        meta.successStatus === 204 ? { description: 'Done; no content' } : success;
    }

    const access = meta.access ?? { kind: 'public' };
    const codes = new Set(Object.keys(op.responses).map(Number).filter((s) => s >= 400));
    if (access.kind === 'public') {
      op.security = [];
      // Not for lack of a session; a public operation may still answer 401 on its own (sign-in).
      const declared = meta.openapi.errorResponses ?? [];
      const listed = new Set((Array.isArray(declared) ? declared : Object.keys(declared)).map(Number));
      if (!listed.has(401)) codes.delete(401);
      if (!listed.has(403)) codes.delete(403);
    } else {
      // OpenAPI 3.1 lets a non-OAuth requirement list the roles it needs: the permission goes there.
      const needs = access.kind === 'permission' ? [access.permission] : [];
      op.security = [{ bearerAuth: needs }, { sessionCookie: needs }];
      codes.add(401);
      if (access.kind === 'permission') {
        codes.add(403);
        op['x-permissions'] = [access.permission];
        op.description = [op.description, `Requires permission \`${access.permission}\`.`].filter(Boolean).join('\n\n');
      }
    }
    op['x-access'] = access.kind;
    if (op.requestBody) {
      codes.add(413);
      codes.add(415);
    }
    for (const code of Object.keys(op.responses).map(Number)) if (code >= 400) delete op.responses[String(code)];
    // A procedure may word an error its own way: `errorResponses: { 404: 'No such report, or not yours' }`.
    const declared = meta.openapi.errorResponses;
    const worded: Record<string, string> = declared && !Array.isArray(declared) ? (declared as Record<string, string>) : {};
    for (const code of [...codes].sort()) op.responses[String(code)] = errorResponse(worded[code] ?? ERROR_DESCRIPTIONS[code] ?? `Error ${code}`);
  }
}

