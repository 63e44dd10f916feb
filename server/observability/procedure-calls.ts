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

/** Not async: one `then` instead of an async function and its awaits (this runs on every call). */
function observeUntraced<T>(call: ProcedureCall, run: () => Promise<T>, outcomeOf: (result: T | undefined, error: unknown) => string): Promise<T> {
  const started = performance.now();
  const settle = (result: T | undefined, error: unknown) => {
    if (call.timings) call.timings.handlerMs += performance.now() - started;
    procedureCalls.inc({ procedure: call.path, door: call.door, outcome: outcomeOf(result, error) });
  };
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
