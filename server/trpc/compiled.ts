import { getTRPCErrorFromUnknown, TRPCError, type AnyTRPCProcedure, type AnyTRPCRouter } from '@trpc/server';
import type { Meta } from './init.ts';

/**
 * Procedures compiled once, at start-up, for the doors.
 *
 * tRPC runs a procedure's middlewares through `callRecursive`, which for every level of
 * every call copies its options and the context with an object-spread helper and wraps
 * the level in another async function: on a get-by-id that chain cost more CPU than the
 * SQL (bench/cpu-profile.ts). Here each procedure's middleware list is read once and
 * turned into steps:
 * - what is constant per procedure is decided here, once: the builders' access
 *   declaration is checked against the meta (a mismatch stops the app from starting,
 *   where before it failed every call), and middlewares that say they do nothing for
 *   this procedure's meta and type (conditional requests without `etag`/`ifMatch`,
 *   idempotency on a query) are left out;
 * - a guard (signed in, holds a permission) is a plain check of the context, run inline;
 * - a middleware that declares an inline form (`inlined`: observing the call and mapping
 *   domain errors, ETags) runs as two plain calls, one before the rest of the call and one
 *   on its result, instead of a level of promises of its own;
 * - input parse → resolver → output parse run as one step (tRPC's own parsers, sync when
 *   the schema is, with tRPC's errors: BAD_REQUEST with the parser's error as cause,
 *   "Output validation failed");
 * - tRPC's error-formatting middleware (the first of every procedure) is left out: it
 *   only attaches the formatted shape to a failed call's error, which the doors compute
 *   with the same formatter (`getErrorShape`) when they answer;
 * - every other middleware runs exactly as tRPC would run it: the same options (`ctx`,
 *   `input`, `getRawInput`, `meta`, `path`, `type`, `signal`, `batchIndex`, `next`), the
 *   same `next({ ctx, input, getRawInput })` merging, the same result objects, a thrown
 *   error turned into `{ ok: false, error }` for the level above.
 * A compiled call resolves with the data or throws the TRPCError, as calling the
 * procedure does. Subscriptions (and any procedure with a custom caller) keep tRPC's own
 * path. tests/http/trpc-door.test.ts (both doors against tRPC's adapter) and
 * tests/auth/access.test.ts (every procedure's access on both doors) hold it to that.
 */

/** What a door passes to call a procedure: tRPC's own call options. */
export interface CallOptions {
  ctx: unknown;
  path: string;
  type: 'query' | 'mutation' | 'subscription';
  getRawInput: () => Promise<unknown>;
  /**
   * The raw input `getRawInput` resolves to, when the door has it at hand: the input
   * parser reads it directly unless a middleware replaced `getRawInput`.
   */
  rawInput?: unknown;
  signal: AbortSignal | undefined;
  batchIndex: number;
}

export type CompiledProcedure = (opts: CallOptions) => Promise<unknown>;

// ---- what a middleware may declare about itself (set by procedures.ts and the pipeline) ----

const STARTUP_CHECK = Symbol('duality.startupCheck');
const APPLIES = Symbol('duality.applies');
const GUARD = Symbol('duality.guard');
const INLINE = Symbol('duality.inline');

type MiddlewareFn = ((opts: any) => Promise<any>) & {
  _type?: string;
  [STARTUP_CHECK]?: (meta: Meta | undefined, path: string) => void;
  [APPLIES]?: (meta: Meta | undefined, type: string) => boolean;
  [GUARD]?: (ctx: any) => void;
  [INLINE]?: InlineForm<any>;
};
/** A tRPC middleware builder (what `middleware(…)` returns) holds its functions here. */
type MiddlewareBuilder = { _middlewares: MiddlewareFn[] };

function only(builder: MiddlewareBuilder): MiddlewareFn {
  if (builder._middlewares.length !== 1) throw new Error('expected a middleware built from one function');
  return builder._middlewares[0]!;
}

/**
 * The middleware is a check of the procedure's meta that holds or fails for good: run once
 * per procedure when the procedures are compiled (it throws to refuse), and not per call.
 */
export function checkedAtStartup<B extends MiddlewareBuilder>(builder: B, check: (meta: Meta | undefined, path: string) => void): B {
  only(builder)[STARTUP_CHECK] = check;
  return builder;
}

/** The middleware only calls `next()` unchanged for procedures where `applies` is false: they skip it. */
export function appliesWhen<B extends MiddlewareBuilder>(builder: B, applies: (meta: Meta | undefined, type: string) => boolean): B {
  only(builder)[APPLIES] = applies;
  return builder;
}

/**
 * The middleware's whole effect is `check(ctx)` (throwing refuses the call) and then
 * `next()` with the context unchanged: compiled calls run the check inline.
 */
export function guardedBy<B extends MiddlewareBuilder>(builder: B, check: (ctx: any) => void): B {
  only(builder)[GUARD] = check;
  return builder;
}

/** What a middleware's `next()` resolves to, as tRPC makes it: the call's outcome at that level. */
export type MiddlewareResult = { ok: true; data: unknown; marker: unknown; ctx?: unknown } | { ok: false; error: TRPCError; marker: unknown };

/** The call as an inline form sees it: the options its middleware would read. */
export interface InlineCall {
  ctx: any;
  path: string;
  type: 'query' | 'mutation' | 'subscription';
  meta: Meta | undefined;
}

/**
 * A middleware's effect written as two plain calls, for a middleware that calls `next()`
 * with the context and input unchanged and has nothing to await of its own:
 * `before` runs where the middleware would, before the rest of the call (throwing refuses
 * the call there); `after` receives what `next()` would have resolved to (possibly
 * undefined, as `next()` can be) and returns this level's result, or throws to fail the
 * call at this level, as the middleware throwing after `next()` would.
 */
export interface InlineForm<S> {
  /** Per procedure, once: whether this form is the middleware's whole effect for it (otherwise the middleware runs). */
  appliesTo?(meta: Meta | undefined, type: string): boolean;
  /** Per call: false to run the middleware itself this time (a tracing span needs its own async scope). */
  now?(): boolean;
  before?(call: InlineCall): S;
  after(call: InlineCall, state: S, result: MiddlewareResult | undefined): MiddlewareResult;
}

/** Compiled calls run the middleware as `form` says (server/trpc/compiled.ts); tRPC's own calls run it as written. */
export function inlined<B extends MiddlewareBuilder, S>(builder: B, form: InlineForm<S>): B {
  only(builder)[INLINE] = form;
  return builder;
}

// ---- compiling ------------------------------------------------------------------------

type Result = MiddlewareResult;
type Step = { kind: 'guard'; check: (ctx: any) => void } | { kind: 'middleware'; fn: MiddlewareFn } | { kind: 'inline'; fn: MiddlewareFn; form: InlineForm<unknown> };
/** Inline forms whose `after` is still due, innermost first. */
type Pending = { form: InlineForm<unknown>; call: InlineCall; state: unknown; outer: Pending | undefined };
type Parse = (value: unknown) => unknown;

const MARKER = 'middlewareMarker';
const failure = (cause: unknown): Result => ({ ok: false, error: getTRPCErrorFromUnknown(cause), marker: MARKER });

/** Hands `result` to each due `after`, innermost first, as the levels of a chain unwind. */
function unwind(pending: Pending | undefined, result: Result | undefined): Result | undefined {
  for (; pending; pending = pending.outer) {
    try {
      result = pending.form.after(pending.call, pending.state, result);
    } catch (cause) {
      result = failure(cause);
    }
  }
  return result;
}

const compiledRouters = new WeakMap<AnyTRPCRouter, Map<string, CompiledProcedure>>();

/** Every procedure of `router`, compiled (once per router; both doors share them). */
export function compileRouter(router: AnyTRPCRouter): Map<string, CompiledProcedure> {
  let compiled = compiledRouters.get(router);
  if (!compiled) {
    compiled = new Map();
    for (const [path, procedure] of Object.entries(router._def.procedures as Record<string, AnyTRPCProcedure>)) compiled.set(path, compileProcedure(path, procedure));
    compiledRouters.set(router, compiled);
  }
  return compiled;
}

interface ProcedureDef {
  type: 'query' | 'mutation' | 'subscription';
  meta?: Meta;
  middlewares: MiddlewareFn[];
  inputs: unknown[];
  output?: unknown;
  resolver?: (opts: any) => Promise<unknown>;
  caller?: unknown;
}

export function compileProcedure(path: string, procedure: AnyTRPCProcedure): CompiledProcedure {
  const def = procedure._def as unknown as ProcedureDef;
  const meta = def.meta;
  for (const fn of def.middlewares) fn[STARTUP_CHECK]?.(meta, path);
  const tail = def.middlewares.at(-1);
  if (def.type === 'subscription' || def.caller || !def.resolver || tail?.name !== 'resolveMiddleware') return (opts) => (procedure as unknown as CompiledProcedure)(opts);

  // The input and output parsers tRPC added for `.input()` / `.output()`, in order; they come
  // after every `.use()` middleware in a procedure built the usual way. Anything else
  // (a middleware after `.input()`) keeps the generic step for what follows it.
  const steps: Step[] = [];
  const body = def.middlewares.slice(0, -1);
  let firstParser = body.length;
  while (firstParser > 0 && (body[firstParser - 1]!._type === 'input' || body[firstParser - 1]!._type === 'output')) firstParser--;
  for (const fn of body.slice(0, firstParser)) {
    if (fn[STARTUP_CHECK] || fn._type === 'errors') continue;
    if (fn[APPLIES] && !fn[APPLIES](meta, def.type)) continue;
    const form = fn[INLINE];
    if (fn[GUARD]) steps.push({ kind: 'guard', check: fn[GUARD] });
    else if (form && (!form.appliesTo || form.appliesTo(meta, def.type))) steps.push({ kind: 'inline', fn, form });
    else steps.push({ kind: 'middleware', fn });
  }
  const parsers = body.slice(firstParser);
  const inputParsers = parsers.filter((p) => p._type === 'input');
  // tRPC keeps the schemas themselves in _def.inputs / _def.output; the parse functions are made as tRPC makes them.
  const inputs = def.inputs.map(parseFn);
  const output = def.output === undefined ? undefined : (parseFn(def.output) ?? null);
  if (
    inputs.some((p) => p === undefined) ||
    output === null ||
    inputParsers.length !== inputs.length ||
    parsers.filter((p) => p._type === 'output').length !== (output ? 1 : 0)
  ) {
    return (opts) => (procedure as unknown as CompiledProcedure)(opts);
  }
  const resolver = def.resolver;

  /** Input parse → resolver → output parse. */
  const core = async (o: CallOptions, ctx: unknown, input: unknown, getRawInput: () => Promise<unknown>, pending: Pending | undefined): Promise<Result | undefined> => {
    let result: Result;
    try {
      if (inputs.length) {
        const raw = getRawInput === o.getRawInput && 'rawInput' in o ? o.rawInput : await getRawInput();
        for (const parse of inputs as Parse[]) {
          let parsed: unknown;
          try {
            parsed = parse(raw);
            if (parsed instanceof Promise) parsed = await parsed;
          } catch (cause) {
            throw new TRPCError({ code: 'BAD_REQUEST', cause });
          }
          input = isObject(input) && isObject(parsed) ? { ...input, ...parsed } : parsed;
        }
      }
      let data = await resolver({ ctx, input, path: o.path, type: o.type, meta, signal: o.signal, batchIndex: o.batchIndex, getRawInput, next: undefined });
      if (output) {
        try {
          data = output(data);
          if (data instanceof Promise) data = await data;
        } catch (cause) {
          throw new TRPCError({ message: 'Output validation failed', code: 'INTERNAL_SERVER_ERROR', cause });
        }
      }
      result = { ok: true, data, marker: MARKER, ctx };
    } catch (cause) {
      result = failure(cause);
    }
    return pending ? unwind(pending, result) : result;
  };

  const run = (index: number, o: CallOptions, ctx: any, input: unknown, getRawInput: () => Promise<unknown>, pending: Pending | undefined): Promise<Result | undefined> | Result | undefined => {
    for (; index < steps.length; index++) {
      const step = steps[index]!;
      if (step.kind === 'guard') {
        try {
          step.check(ctx);
        } catch (cause) {
          return unwind(pending, failure(cause));
        }
        continue;
      }
      if (step.kind === 'inline' && (!step.form.now || step.form.now())) {
        const call: InlineCall = { ctx, path: o.path, type: o.type, meta };
        try {
          pending = { form: step.form, call, state: step.form.before?.(call), outer: pending };
        } catch (cause) {
          return unwind(pending, failure(cause));
        }
        continue;
      }
      const next = index + 1;
      const below = pending;
      try {
        return Promise.resolve(
          step.fn({
            ctx,
            path: o.path,
            type: o.type,
            getRawInput,
            signal: o.signal,
            batchIndex: o.batchIndex,
            meta,
            input,
            next(nextOpts?: { ctx?: object; input?: unknown; getRawInput?: () => Promise<unknown> }) {
              return Promise.resolve(
                run(
                  next,
                  o,
                  nextOpts?.ctx ? { ...ctx, ...nextOpts.ctx } : ctx,
                  nextOpts && 'input' in nextOpts ? nextOpts.input : input,
                  nextOpts?.getRawInput ?? getRawInput,
                  undefined,
                ),
              );
            },
          }) as Promise<Result>,
        ).then(below ? (result) => unwind(below, result) : undefined, below ? (cause) => unwind(below, failure(cause)) : failure);
      } catch (cause) {
        return unwind(below, failure(cause));
      }
    }
    return core(o, ctx, input, getRawInput, pending);
  };

  const unwrap = (result: Result | undefined): unknown => {
    if (!result) throw new TRPCError({ code: 'INTERNAL_SERVER_ERROR', message: 'No result from middlewares - did you forget to `return next()`?' });
    if (!result.ok) throw result.error;
    return result.data;
  };
  // Not async: one `then` on the chain's promise instead of an async function and its await.
  return (o) => {
    const result = run(0, o, o.ctx, undefined, o.getRawInput, undefined);
    if (result instanceof Promise) return result.then(unwrap);
    try {
      return Promise.resolve(unwrap(result));
    } catch (error) {
      return Promise.reject(error);
    }
  };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return !!value && !Array.isArray(value) && typeof value === 'object';
}

/**
 * A schema's parse function as tRPC 11 makes it (getParseFn): zod's sync `parse` first,
 * its `parseAsync` once a schema turns out to be async; other validators as tRPC reads them.
 * undefined (for an input) or null (for the output) when tRPC would read it some other
 * way: the procedure then keeps tRPC's own path.
 */
function parseFn(parser: unknown): Parse | undefined {
  const p = parser as any;
  const isStandard = typeof p === 'object' && p !== null && '~standard' in p;
  if (typeof p === 'function' && typeof p.assert === 'function') return p.assert.bind(p);
  if (typeof p === 'function' && !isStandard) return p as unknown as Parse;
  if (typeof p.parseAsync === 'function') {
    if (typeof p.parse !== 'function') return p.parseAsync.bind(p);
    const parse = p.parse.bind(p);
    const parseAsync = p.parseAsync.bind(p);
    let isAsync = false;
    return (value) => {
      if (!isAsync) {
        try {
          return parse(value);
        } catch (cause) {
          if (Array.isArray((cause as { issues?: unknown })?.issues)) throw cause;
          isAsync = true;
        }
      }
      return parseAsync(value);
    };
  }
  if (typeof p.parse === 'function') return p.parse.bind(p);
  if (typeof p.validateSync === 'function') return p.validateSync.bind(p);
  if (typeof p.create === 'function') return p.create.bind(p);
  if (typeof p.assert === 'function') {
    return (value) => {
      p.assert(value);
      return value;
    };
  }
  return undefined;
}
