import fs from 'node:fs';
import { Ajv } from 'ajv';
import ajvFormats from 'ajv-formats';
import { OpenAPIBackend, SetMatchType } from 'openapi-backend';

// A CommonJS module: under Node's ESM its default import is module.exports, which carries `.default`.
const addFormats = ajvFormats.default;

/**
 * The committed REST contract (client/openapi.json), loaded once per test file. The
 * tests' HTTP helper hands every response it sees to `checkResponse`, so no change can
 * drift from the document unnoticed: a status the operation does not list, a body
 * that does not match that status's schema, a wrong content type or a missing
 * documented header (unless it is `required: false`) fails the test that caused it.
 */
export const contract = JSON.parse(fs.readFileSync(new URL('../../client/openapi.json', import.meta.url), 'utf8')) as ContractDocument;

interface ContractDocument {
  paths: Record<string, Record<string, ContractOperation>>;
  components: { schemas: Record<string, unknown> };
}
interface ContractOperation {
  operationId: string;
  responses: Record<string, { content?: Record<string, { schema?: unknown }>; headers?: Record<string, { required?: boolean }> }>;
  [key: string]: unknown;
}

const withFormats = (ajv: Ajv) => {
  addFormats(ajv);
  return ajv;
};

// quick: openapi-backend checks documents against the 3.0 schema only; ours is 3.1 (its validity is tested with
// @seriousme/openapi-schema-validator in tests/http/contract.test.ts). Response schemas compile the same.
const api = new OpenAPIBackend({ definition: structuredClone(contract) as never, strict: true, quick: true, validate: true, customizeAjv: withFormats as never });
await api.init();

// Outside any operation (an unknown path, an unsupported method) the body is still the shared error.
const errorBody = withFormats(new Ajv({ strict: false })).compile({ ...(contract.components.schemas.ApiError as object), components: contract.components });

export interface SeenResponse {
  method: string;
  /** The path under /api/v1, with its query string if any. */
  path: string;
  status: number;
  headers: Headers;
  /** The parsed JSON body, or the text when it is not JSON. */
  body: unknown;
  text: string;
}

/** Throws, naming the operation and every mismatch, when `res` is not what the document promises. */
export function checkResponse(res: SeenResponse): void {
  const [pathname = '/', query = ''] = res.path.split('?');
  const operation = api.matchOperation({ method: res.method.toLowerCase(), path: pathname, query, headers: {} }) as ContractOperation | undefined;
  const where = `${res.method} ${pathname} → ${res.status}`;
  const contentType = res.headers.get('content-type') ?? '';

  if (!operation) {
    if (res.method === 'HEAD' || res.method === 'OPTIONS') return; // HEAD mirrors GET; OPTIONS is CORS preflight
    if (res.status !== 404 && res.status !== 405) throw new Error(`${where}: no documented operation, so only 404 or 405 may answer`);
    if (!contentType.startsWith('application/json') || !errorBody(res.body)) {
      throw new Error(`${where}: not the shared error body: ${JSON.stringify(errorBody.errors)}`);
    }
    if (res.status === 405 && !res.headers.get('allow')) throw new Error(`${where}: 405 without an Allow header`);
    return;
  }

  const documented = operation.responses[String(res.status)];
  if (!documented) {
    throw new Error(`${where}: ${operation.operationId} documents only ${Object.keys(operation.responses).join(', ')}; body: ${res.text.slice(0, 300)}`);
  }
  const media = Object.keys(documented.content ?? {});
  if (media.length === 0) {
    if (res.text !== '') throw new Error(`${where}: documented without a body, but one was sent: ${res.text.slice(0, 200)}`);
  } else {
    if (!media.some((m) => contentType.startsWith(m))) throw new Error(`${where}: content type ${contentType || '(none)'}, documented ${media.join(', ')}`);
    if (contentType.startsWith('application/json')) {
      const result = api.validateResponse(res.body, operation as never, res.status);
      if (!result.valid) throw new Error(`${where}: body does not match the document: ${JSON.stringify(result.errors)}; body: ${res.text.slice(0, 300)}`);
    }
  }
  if (documented.headers) {
    const headers: Record<string, string> = {};
    res.headers.forEach((value, key) => {
      headers[key] = value;
    });
    for (const name of Object.keys(documented.headers)) {
      if (!(name.toLowerCase() in headers) && name.toLowerCase() === 'set-cookie' && res.headers.getSetCookie().length) headers['set-cookie'] = res.headers.getSetCookie().join(', ');
    }
    // Every documented header must be there unless it says `required: false` (Idempotent-Replayed
    // only on a replay, Retry-After only on some 409s); whatever is there must match its schema.
    const missing = Object.entries(documented.headers).filter(([name, h]) => h.required !== false && !(name.toLowerCase() in headers));
    if (missing.length) throw new Error(`${where}: documented header(s) missing: ${missing.map(([name]) => name).join(', ')}`);
    const result = api.validateResponseHeaders(headers, operation as never, { statusCode: res.status, setMatchType: SetMatchType.Any });
    if (!result.valid) throw new Error(`${where}: headers do not match the document: ${JSON.stringify(result.errors)}`);
  }
}

const operationsById = new Map<string, { operation: ContractOperation; method: string; path: string }>();
for (const [p, methods] of Object.entries(contract.paths)) {
  for (const [method, operation] of Object.entries(methods)) operationsById.set(operation.operationId, { operation, method, path: p });
}

/** One call's outcome inside a tRPC response (batched or not), as the wire carries it with superjson. */
export type TrpcOutcome = { result: { data?: { json?: unknown } } } | { error: { json?: { message?: unknown; data?: { code?: unknown; httpStatus?: unknown; issues?: unknown } } } };

/**
 * The same promise for the tRPC door: a procedure's answer over /trpc must be one its
 * REST operation documents (operationId `products-get` for `products.get`). A result's
 * data (superjson's `json`, the JSON the REST door would send) must match the success
 * status's schema; an error's HTTP status must be listed for the operation and its
 * `{ code, message, issues }` must be an ApiError. Procedures with no REST operation
 * (subscriptions) are not in the document and are skipped.
 */
export function checkTrpcOutcome(procedurePath: string, outcome: TrpcOutcome): void {
  const entry = operationsById.get(procedurePath.replaceAll('.', '-'));
  if (!entry) return;
  const { operation } = entry;
  if ('result' in outcome) {
    const success = Object.keys(operation.responses).find((s) => /^2\d\d$/.test(s))!;
    const media = operation.responses[success]?.content?.['application/json'];
    const json = outcome.result.data?.json;
    if (!media) {
      if (json !== undefined && json !== null) throw new Error(`trpc ${procedurePath}: documented without a body (${success}), but returned ${JSON.stringify(json).slice(0, 200)}`);
      return;
    }
    const result = api.validateResponse(json, operation as never, Number(success));
    if (!result.valid) throw new Error(`trpc ${procedurePath}: result does not match ${operation.operationId}'s ${success}: ${JSON.stringify(result.errors)}; data: ${JSON.stringify(json).slice(0, 300)}`);
    return;
  }
  const shape = outcome.error.json;
  const status = String(shape?.data?.httpStatus);
  if (!operation.responses[status]) {
    throw new Error(`trpc ${procedurePath}: answered ${status}, but ${operation.operationId} documents only ${Object.keys(operation.responses).join(', ')}: ${JSON.stringify(shape).slice(0, 300)}`);
  }
  const body = { code: shape?.data?.code, message: shape?.message, ...(shape?.data?.issues !== undefined ? { issues: shape.data.issues } : {}) };
  if (!errorBody(body)) throw new Error(`trpc ${procedurePath} → ${status}: not an ApiError: ${JSON.stringify(errorBody.errors)}; ${JSON.stringify(shape).slice(0, 300)}`);
}

/**
 * A `fetch` for the typed client that checks every tRPC answer with `checkTrpcOutcome`
 * before the client sees it; a mismatch rejects the call with the reason.
 */
export function checkingTrpcFetch(inner: typeof fetch = fetch): typeof fetch {
  return async (input, init) => {
    const response = await inner(input, init);
    const url = new URL(input instanceof Request ? input.url : String(input));
    const paths = decodeURIComponent(url.pathname.replace(/^.*\/trpc\//, '')).split(',');
    if (!(response.headers.get('content-type') ?? '').startsWith('application/json')) return response;
    const parsed = (await response.clone().json()) as TrpcOutcome | TrpcOutcome[];
    const outcomes = Array.isArray(parsed) ? parsed : [parsed];
    outcomes.forEach((outcome, i) => checkTrpcOutcome(paths[i] ?? paths[0]!, outcome));
    return response;
  };
}
