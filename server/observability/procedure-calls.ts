import { procedureCalls } from './metrics.ts';
import type { RequestTimings } from './request-timings.ts';
import { isTracing, SpanStatusCode, withSpan } from './tracing.ts';

/** Who called a procedure, and through which door, for its span and metrics. */
export interface ProcedureCall {
  path: string;
  door: string;
  userId: string | undefined;
  /** The request's timings (`timingsOf`), to add this call's time to. */
  timings?: RequestTimings | undefined;
}

/**
 * Runs one procedure call observed: its outcome counted (`duality_procedure_calls_total`),
 * its time added to the request's handler time, and, when tracing, a span named after
 * the procedure with the door, the user and the outcome code. `outcomeOf` names the
 * outcome of a settled call: OK, or the error code both doors answer with.
 */
export function observeProcedure<T>(call: ProcedureCall, run: () => Promise<T>, outcomeOf: (result: T | undefined, error: unknown) => string): Promise<T> {
  if (isTracing()) {
    return withSpan(call.path, { attributes: { 'rpc.system': 'duality', 'rpc.method': call.path, 'duality.door': call.door, ...(call.userId ? { 'enduser.id': call.userId } : {}) } }, async (span) => {
      const result = await observeUntraced(call, run, (r, e) => {
        const outcome = outcomeOf(r, e);
        span.setAttribute('duality.outcome', outcome);
        if (outcome === 'INTERNAL_SERVER_ERROR') span.setStatus({ code: SpanStatusCode.ERROR });
        return outcome;
      });
      return result;
    });
  }
  return observeUntraced(call, run, outcomeOf);
}

/** A call being observed without a span: from `startProcedureCall` to `endProcedureCall`. */
export interface ObservedCall {
  call: ProcedureCall;
  started: number;
}

/**
 * The untraced observation as two plain calls, for a caller that sees the call's start and
 * its settled outcome itself (compiled procedures, server/trpc/compiled.ts): the same count
 * and time as `observeProcedure` without tracing, and no promise of its own.
 */
export function startProcedureCall(call: ProcedureCall): ObservedCall {
  return { call, started: performance.now() };
}

/** Counts the call's outcome and adds its time to the request's handler time. */
export function endProcedureCall(observed: ObservedCall, outcome: string): void {
  const { call } = observed;
  if (call.timings) call.timings.handlerMs += performance.now() - observed.started;
  procedureCalls.inc({ procedure: call.path, door: call.door, outcome });
}

/** Not async: one `then` instead of an async function and its awaits (this runs on every call). */
function observeUntraced<T>(call: ProcedureCall, run: () => Promise<T>, outcomeOf: (result: T | undefined, error: unknown) => string): Promise<T> {
  const observed = startProcedureCall(call);
  const settle = (result: T | undefined, error: unknown) => endProcedureCall(observed, outcomeOf(result, error));
  let running: Promise<T>;
  try {
    running = run();
  } catch (e) {
    settle(undefined, e ?? new Error('undefined thrown'));
    return Promise.reject(e);
  }
  return running.then(
    (result) => {
      settle(result, undefined);
      return result;
    },
    (e: unknown) => {
      settle(undefined, e ?? new Error('undefined thrown'));
      throw e;
    },
  );
}
