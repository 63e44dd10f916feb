import type { AnyTRPCRouter } from '@trpc/server';
import { generateOpenApiDocument } from 'trpc-to-openapi';
import { z } from 'zod';
import { ErrorBodySchema } from '../errors.ts';
import { needsVerifiedEmail } from '../trpc/access.ts';
import type { Access, Meta } from '../trpc/init.ts';
import { router as createRouter } from '../trpc/init.ts';
import type { PlainRoute } from './plain-route.ts';
import { describeRetries, retryStatuses } from './openapi-retries.ts';
import { listProcedures } from './procedure-meta.ts';
import { takesNoInput } from './query-coercion.ts';

type OpenApiDocument = ReturnType<typeof generateOpenApiDocument>;
type Operation = { responses: Record<string, Record<string, unknown>>; security?: unknown[]; requestBody?: unknown; [k: string]: unknown };

export const API_PREFIX = '/api/v1';
export const API_TITLE = 'Duality API';
export const API_VERSION = '1.0.0';
/** The error body's schema name: `Error` would shadow the global type in generated TypeScript. */
export const ERROR_SCHEMA = 'ApiError';

/** An error response with the shared body, for operations written by hand (plain routes). */
export const errorResponse = (description: string) => ({
  description,
  content: { 'application/json': { schema: { $ref: `#/components/schemas/${ERROR_SCHEMA}` } } },
});

/** What the status rules see of one operation. */
export interface OperationFacts {
  method: string;
  /** The REST path with `{param}` placeholders. */
  path: string;
  access: Access;
  /** False when the procedure takes no input at all (z.void()). */
  takesInput: boolean;
  meta: Meta;
}

/** One status an operation can answer, and why (several reasons for one status are joined). */
export type StatusReason = [status: number, description: string];

const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * Every error status an operation can answer is derived here, from facts about the
 * operation (its access, its input, its method, its meta), so the document says what the
 * server does and a new cross-cutting rule is one more entry. Domain errors a service
 * raises on purpose (409 on a duplicate email) come from `meta.openapi.errorResponses`,
 * which add to these and never replace them.
 */
export const STATUS_RULES: ((op: OperationFacts) => StatusReason[])[] = [
  // Input is parsed wherever there is any; a body method also parses its (possibly unwanted) JSON body.
  (op) => (op.takesInput || BODY_METHODS.has(op.method) ? [[400, 'Invalid input: `issues` lists each offending field']] : []),
  (op) => (op.access.kind === 'public' ? [] : [[401, 'Not signed in, or the session is invalid or expired']]),
  (op) => (op.access.kind === 'permission' ? [[403, `Signed in without the permission \`${op.access.permission}\``]] : []),
  (op) =>
    op.access.kind === 'permission' && needsVerifiedEmail(op.access.permission)
      ? [[403, '`EMAIL_NOT_VERIFIED`: the permission needs a verified email address and this account has not verified its address yet']]
      : [],
  // server/modules/auth/request-auth.ts: a cookie authenticates a change only from this site.
  (op) =>
    op.access.kind !== 'public' && op.method !== 'GET'
      ? [[403, 'Refused a session cookie on a change sent from another site (send the bearer token, or call from this site)']]
      : [],
  (op) => (/\{\w+\}/.test(op.path) ? [[404, 'Not found: nothing with this id (or not visible to you)']] : []),
  (op) =>
    BODY_METHODS.has(op.method)
      ? [
          [413, 'Request body larger than the limit'],
          [415, 'Request body is not application/json'],
        ]
      : [],
  (op) => (op.meta.rateLimited ? [[429, `Too many requests (${op.meta.rateLimited}); the \`Retry-After\` header says how many seconds to wait`]] : []),
  // Idempotency keys and conditional requests (server/http/openapi-retries.ts).
  retryStatuses,
  () => [[500, 'Unexpected server fault']],
];

/** The statuses of `op`, in order, each with its description. */
export function errorStatuses(op: OperationFacts): Map<number, string> {
  const reasons = new Map<number, string[]>();
  const add = (status: number, description: string) => reasons.set(status, [...(reasons.get(status) ?? []), description]);
  for (const rule of STATUS_RULES) for (const [status, description] of rule(op)) add(status, description);
  const declared = op.meta.openapi?.errorResponses ?? [];
  if (Array.isArray(declared)) {
    for (const status of declared) if (!reasons.has(status)) add(status, `Error ${status}`);
  } else {
    for (const [status, description] of Object.entries(declared)) add(Number(status), description);
  }
  return new Map([...reasons].sort(([a], [b]) => a - b).map(([status, texts]) => [status, texts.join('; or: ')]));
}

/**
 * The REST contract, generated from the procedures and then completed from their
 * meta: success statuses other than 200, every error status each operation can answer
 * (`STATUS_RULES`) with the one shared error schema, and the access rule (security
 * requirement and `x-permissions`).
 */
export interface OpenApiOptions {
  /** PUBLIC_URL when set: `servers` is then absolute; otherwise relative (`/api/v1`), right for any host. */
  publicUrl?: string | undefined;
  /** Routes that are not JSON procedures (a binary download): described from their meta like procedures, after them. */
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
  complete(doc, router);
  const plain = opts.plainRoutes ?? [];
  if (plain.length) {
    const extra = generate(plainRouter(plain), opts);
    complete(extra, plainRouter(plain));
    for (const route of plain) {
      const path = route.meta.openapi!.path.replace(/\/$/, '');
      const op = (extra.paths?.[path] as Record<string, Operation> | undefined)?.[route.meta.openapi!.method.toLowerCase()];
      if (!op) continue;
      // The body is not JSON: the success response is the route's own.
      const { description, contentType, headers } = route.response;
      const success: Record<string, unknown> = { description };
      if (headers) success.headers = Object.fromEntries(Object.entries(headers).map(([name, h]) => [name, { schema: { type: 'string' }, description: h.description }]));
      success.content = { [contentType]: { schema: { type: 'string', format: 'binary' } } };
      const { '200': _json, ...errors } = op.responses;
      op.responses = { '200': success, ...route.response.others, ...errors };
    }
    doc.paths ??= {};
    for (const [path, item] of Object.entries(extra.paths ?? {})) {
      (doc.paths as Record<string, unknown>)[path] = { ...(doc.paths[path] as object | undefined), ...(item as object) };
    }
  }
  dropSafeIntegerBounds(doc);
  dropUnreferencedSchemas(doc);
  return doc;
}

function generate(router: AnyTRPCRouter, opts: OpenApiOptions): OpenApiDocument {
  const doc = generateOpenApiDocument(router, {
    title: API_TITLE,
    version: API_VERSION,
    description:
      'Every operation here is also a tRPC procedure (see the typed client). Errors share one shape, `ApiError`: `{ code, message, issues? }`. ' +
      'A method a path does not support is answered 405 with an `Allow` header.',
    baseUrl: opts.publicUrl ? `${opts.publicUrl.replace(/\/$/, '')}${API_PREFIX}` : API_PREFIX,
    securitySchemes: {
      bearerAuth: { type: 'http', scheme: 'bearer', description: 'Session token from POST /auth/sign-in' },
      sessionCookie: { type: 'apiKey', in: 'cookie', name: 'session', description: 'Session cookie set by POST /auth/sign-in' },
    },
  });
  doc.components ??= {};
  doc.components.schemas ??= {};
  doc.components.schemas[ERROR_SCHEMA] = z.toJSONSchema(ErrorBodySchema, { target: 'openapi-3.0' }) as never;
  return doc;
}

/** Completes the generated operations from their procedures' meta. */
function complete(doc: OpenApiDocument, router: AnyTRPCRouter): void {
  const procedures = router._def.procedures as Record<string, { _def: { inputs: unknown[] } }>;
  for (const { path: procedurePath, meta } of listProcedures(router)) {
    if (!meta.openapi) continue;
    const path = meta.openapi.path.replace(/\/$/, '');
    const op = (doc.paths?.[path] as Record<string, Operation> | undefined)?.[meta.openapi.method.toLowerCase()];
    if (!op) continue;

    if (meta.successStatus && op.responses['200']) {
      const success = op.responses['200'];
      delete op.responses['200'];
      op.responses[String(meta.successStatus)] = meta.successStatus === 204 ? { description: 'Done; no content' } : success;
    }

    const access = meta.access ?? { kind: 'public' };
    if (access.kind === 'public') {
      op.security = [];
    } else {
      // OpenAPI 3.1 lets a non-OAuth requirement list the roles it needs: the permission goes there.
      const needs = access.kind === 'permission' ? [access.permission] : [];
      op.security = [{ bearerAuth: needs }, { sessionCookie: needs }];
      if (access.kind === 'permission') {
        op['x-permissions'] = [access.permission];
        const verified = needsVerifiedEmail(access.permission);
        if (verified) op['x-verified-email'] = true;
        op.description = [op.description, `Requires permission \`${access.permission}\`${verified ? ' and a verified email address' : ''}.`].filter(Boolean).join('\n\n');
      }
    }
    op['x-access'] = access.kind;

    // trpc-to-openapi's own error list (and its `error.*` schemas) is replaced by the derived one.
    for (const code of Object.keys(op.responses)) if (Number(code) >= 400) delete op.responses[code];
    const facts: OperationFacts = {
      method: meta.openapi.method,
      path,
      access,
      takesInput: !takesNoInput(procedures[procedurePath]?._def.inputs[0]),
      meta,
    };
    for (const [status, description] of errorStatuses(facts)) op.responses[String(status)] = errorResponse(description);
    describeRetries(op, meta, meta.openapi.method);
    copyObjectRules(procedures[procedurePath]?._def.inputs[0], op);
  }
}

/**
 * trpc-to-openapi rebuilds the body from the input's fields (path parameters taken out),
 * which loses rules on the object itself: `minProperties` (an update that needs at
 * least one field) is carried over from the input schema's own JSON Schema.
 */
function copyObjectRules(input: unknown, op: Operation): void {
  const body = (op.requestBody as { content?: Record<string, { schema?: Record<string, unknown> }> } | undefined)?.content?.['application/json']?.schema;
  if (!body || !(input instanceof z.ZodType)) return;
  const json = z.toJSONSchema(input, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  if (typeof json.minProperties === 'number') body.minProperties = json.minProperties;
}

/**
 * zod writes ±Number.MAX_SAFE_INTEGER as the bounds of every integer. They are true (a
 * larger number cannot be exact in JSON) but say nothing a reader needs, and generators
 * copy them into every model: the document keeps only bounds someone chose.
 */
function dropSafeIntegerBounds(node: unknown): void {
  if (Array.isArray(node)) {
    for (const item of node) dropSafeIntegerBounds(item);
    return;
  }
  if (!node || typeof node !== 'object') return;
  const record = node as Record<string, unknown>;
  if (record.minimum === -Number.MAX_SAFE_INTEGER) delete record.minimum;
  if (record.maximum === Number.MAX_SAFE_INTEGER) delete record.maximum;
  for (const value of Object.values(record)) dropSafeIntegerBounds(value);
}

/** Removes component schemas nothing reaches from `paths` (each one becomes a dead model in a generated client). */
function dropUnreferencedSchemas(doc: OpenApiDocument): void {
  const schemas = (doc.components?.schemas ?? {}) as Record<string, unknown>;
  const reached = new Set<string>();
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(visit);
    if (!node || typeof node !== 'object') return;
    for (const [key, value] of Object.entries(node)) {
      if (key === '$ref' && typeof value === 'string' && value.startsWith('#/components/schemas/')) {
        const name = value.slice('#/components/schemas/'.length);
        if (!reached.has(name)) {
          reached.add(name);
          visit(schemas[name]);
        }
      } else visit(value);
    }
  };
  visit(doc.paths);
  for (const name of Object.keys(schemas)) if (!reached.has(name)) delete schemas[name];
}
