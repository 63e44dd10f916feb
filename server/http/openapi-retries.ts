import type { Meta } from '../trpc/init.ts';

/** An OpenAPI operation as the document builder edits it. */
export interface RetriesOperation {
  parameters?: Record<string, unknown>[];
  requestBody?: unknown;
  responses: Record<string, Record<string, unknown>>;
  [k: string]: unknown;
}

/** The input field that If-Match stands for on REST; not part of the REST contract. */
const IF_VERSION_FIELD = 'ifVersion';

const header = (description: string, schema: Record<string, unknown> = { type: 'string' }, required = true) => ({ description, required, schema });
const ETAG = header('Strong entity tag of the returned version: the `version` in quotes, e.g. "7"', { type: 'string', example: '"7"' });

/**
 * The error statuses retries and concurrent edits add to an operation, from the same
 * meta the pipeline reads (server/trpc/idempotency.ts, conditional.ts); an entry of
 * STATUS_RULES in server/http/openapi.ts.
 */
export function retryStatuses(op: { method: string; meta: Meta }): [status: number, description: string][] {
  const mutation = op.method !== 'GET';
  const reasons: [number, string][] = [];
  if (mutation && op.meta.idempotency !== false) {
    reasons.push([400, 'An invalid Idempotency-Key (1–255 printable ASCII characters)']);
    reasons.push([409, 'A request with this Idempotency-Key is still running: retry after Retry-After seconds with the same key']);
    reasons.push([422, 'This Idempotency-Key was already used for a different request']);
  }
  if (mutation && op.meta.ifMatch) {
    reasons.push([400, 'A malformed If-Match header']);
    reasons.push([412, 'The resource is no longer at the version in If-Match; the message and the ETag header name the current one']);
    if (op.meta.ifMatch === 'required') reasons.push([428, 'This change requires If-Match']);
  }
  return reasons;
}

/**
 * Retries and concurrent edits in the REST contract, from the same meta: the
 * Idempotency-Key, If-Match and If-None-Match parameters, the ETag, Idempotent-Replayed
 * and Retry-After headers, the 304 response, on exactly the operations that take them.
 * Runs once the operation's responses (retryStatuses among them) are in place.
 */
export function describeRetries(op: RetriesOperation, meta: Meta, method: string): void {
  const mutation = method !== 'GET';
  const parameters = (op.parameters ??= []);
  const success = Object.entries(op.responses).find(([status]) => status.startsWith('2'))?.[1];
  const successHeaders = (success?.headers ?? {}) as Record<string, unknown>;

  if (mutation && meta.idempotency !== false) {
    parameters.push({
      name: 'Idempotency-Key',
      in: 'header',
      required: false,
      description:
        'Makes the call safe to retry: a retry with the same key and the same request gets the stored response (with `Idempotent-Replayed: true`) instead of running again. 1–255 printable ASCII characters, e.g. a UUID; kept for IDEMPOTENCY_TTL_HOURS (default 24). See docs/retries.md.',
      schema: { type: 'string', minLength: 1, maxLength: 255, pattern: '^[\\x21-\\x7E]+$' },
    });
    successHeaders['Idempotent-Replayed'] = header('`true` when this is the stored response of an earlier call with the same Idempotency-Key', { type: 'string', enum: ['true'] }, false);
    if (op.responses['409']) op.responses['409'].headers = { 'Retry-After': header('Seconds to wait before retrying, when the Idempotency-Key is still in use', { type: 'integer' }, false) };
  }

  if (meta.etag) {
    successHeaders.ETag = ETAG;
    if (!mutation) {
      parameters.push({
        name: 'If-None-Match',
        in: 'header',
        required: false,
        description: 'An ETag from an earlier response (or a list, or `*`): 304 with no body while it is still current',
        schema: { type: 'string' },
      });
      op.responses['304'] = { description: 'Not modified: the ETag in If-None-Match is still current', headers: { ETag: ETAG } };
    }
  }

  if (mutation && meta.ifMatch) {
    const required = meta.ifMatch === 'required';
    parameters.push({
      name: 'If-Match',
      in: 'header',
      required,
      description: `Change only if the resource is still at this ETag (\`*\`: any current version). ${required ? 'Required (428 without).' : 'Optional: without it the change applies to whatever is current.'}`,
      // RFC 9110: `*`, or a comma-separated list of entity tags.
      schema: { type: 'string', pattern: '^\\s*(\\*|(W/)?"[\\x21\\x23-\\x7E]*"(\\s*,\\s*(W/)?"[\\x21\\x23-\\x7E]*")*)\\s*$', example: '"7"' },
    });
    if (op.responses['412']) op.responses['412'].headers = { ETag: header('The current version, as an ETag', { type: 'string' }) };
    dropField(op, IF_VERSION_FIELD);
  }

  if (success && Object.keys(successHeaders).length) success.headers = successHeaders;
  if (parameters.length === 0) delete op.parameters;
  // Keep responses in status order (304 among the others).
  op.responses = Object.fromEntries(Object.entries(op.responses).sort(([a], [b]) => Number(a) - Number(b)));
}

/** Removes an input field from an operation's query parameters and JSON body schema. */
function dropField(op: RetriesOperation, field: string): void {
  if (op.parameters) op.parameters = op.parameters.filter((p) => !(p.in === 'query' && p.name === field));
  const body = op.requestBody as { content?: Record<string, { schema?: unknown }> } | undefined;
  const schema = body?.content?.['application/json']?.schema as { properties?: Record<string, unknown>; required?: string[] } | undefined;
  if (schema?.properties) delete schema.properties[field];
  if (schema?.required) schema.required = schema.required.filter((r) => r !== field);
}
