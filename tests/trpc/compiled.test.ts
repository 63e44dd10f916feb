import { TRPCError, type AnyTRPCProcedure } from '@trpc/server';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { appliesWhen, compileProcedure, compileRouter, inlined, type CallOptions } from '../../server/trpc/compiled.ts';
import { baseProcedure, middleware, router } from '../../server/trpc/init.ts';
import { authedProcedure, publicProcedure } from '../../server/trpc/procedures.ts';
import { ForbiddenError } from '../../server/errors.ts';

/**
 * A compiled procedure (server/trpc/compiled.ts) answers every call exactly as tRPC's own
 * call of the same procedure does: same data, same error (code, message, cause), same
 * context and input seen by each middleware and the resolver.
 */
const call = (type: 'query' | 'mutation', ctx: object, raw: unknown): CallOptions => ({ ctx, path: 'x.y', type, getRawInput: async () => raw, signal: undefined, batchIndex: 0 });

async function settle(run: () => Promise<unknown>) {
  try {
    return { data: await run() };
  } catch (error) {
    const e = error as TRPCError;
    return { error: { name: e.name, code: e.code, message: e.message, cause: e.cause?.constructor.name } };
  }
}

async function same(procedure: AnyTRPCProcedure, type: 'query' | 'mutation', ctx: () => object, raw: unknown) {
  const compiled = compileProcedure('x.y', procedure);
  const theirs = await settle(() => (procedure as unknown as (o: CallOptions) => Promise<unknown>)(call(type, ctx(), raw)));
  const ours = await settle(() => compiled(call(type, ctx(), raw)));
  expect(ours).toEqual(theirs);
  return ours;
}

const ctx = (actor: object | null = null) => () => ({ actor, authRejection: null, isProduction: true, req: { headers: {} }, call: { door: 'rest', batched: false, notModified: false } });

describe('compiled procedures', () => {
  it('merge ctx and input through next() as tRPC does, and see the same options', async () => {
    const seen: unknown[] = [];
    const p = baseProcedure
      .meta({ access: { kind: 'public' } })
      .use(({ next }) => next({ ctx: { extra: 1 } }))
      .use(async ({ ctx, input, meta, path, type, next }) => {
        seen.push({ extra: (ctx as { extra?: number }).extra, input, meta, path, type });
        const r = await next({ ctx: { more: 2 } });
        return r;
      })
      .input(z.object({ n: z.number().transform((n) => n * 2) }))
      .output(z.object({ n: z.number(), extra: z.number(), more: z.number() }))
      .query(({ input, ctx }) => ({ n: input.n, extra: (ctx as { extra: number }).extra, more: (ctx as { more: number }).more, dropped: true }));
    const r = await same(p, 'query', ctx(), { n: 2 });
    expect(r).toEqual({ data: { n: 4, extra: 1, more: 2 } });
    expect(seen[0]).toEqual(seen[1]);
  });

  it('answer bad input, a failed output check, a thrown domain error and a missing next() alike', async () => {
    const p = publicProcedure
      .input(z.object({ id: z.uuid() }))
      .output(z.object({ ok: z.literal(true) }))
      .query(({ input }) => {
        if (input.id.startsWith('0')) throw new ForbiddenError('nope');
        return { ok: input.id.startsWith('1') } as { ok: true };
      });
    expect((await same(p, 'query', ctx(), { id: 'x' })).error).toMatchObject({ code: 'BAD_REQUEST', cause: 'ZodError' });
    expect((await same(p, 'query', ctx(), { id: '00000000-0000-4000-8000-000000000000' })).error).toMatchObject({ code: 'FORBIDDEN', message: 'nope' });
    expect((await same(p, 'query', ctx(), { id: '20000000-0000-4000-8000-000000000000' })).error).toMatchObject({ code: 'INTERNAL_SERVER_ERROR', message: 'Output validation failed' });
    expect((await same(p, 'query', ctx(), { id: '10000000-0000-4000-8000-000000000000' })).data).toEqual({ ok: true });
    const silent = baseProcedure.use((async () => undefined) as never).query(() => 1);
    expect((await same(silent, 'query', ctx(), undefined)).error).toMatchObject({ code: 'INTERNAL_SERVER_ERROR' });
  });

  it('run the access guards inline with the same refusals', async () => {
    const p = authedProcedure.output(z.number()).query(() => 1);
    expect((await same(p, 'query', ctx(), undefined)).error).toMatchObject({ code: 'UNAUTHORIZED', message: 'Sign in required' });
    expect((await same(p, 'query', ctx({ userId: 'u', permissions: new Set() }), undefined)).data).toBe(1);
  });

  it('refuse at start-up a procedure whose meta no longer says what its builder enforces', () => {
    const p = authedProcedure.meta({ access: { kind: 'public' } }).query(() => 1);
    expect(() => compileRouter(router({ sneaky: p }))).toThrow(/sneaky meta declares access {"kind":"public"} but is built for {"kind":"signed-in"}/);
  });

  it('leave out a middleware that says it does nothing for this procedure', async () => {
    let ran = 0;
    const counted = appliesWhen(
      middleware(({ next }) => {
        ran += 1;
        return next();
      }),
      (_meta, type) => type === 'mutation',
    );
    const q = baseProcedure.use(counted).query(() => 'q');
    const m = baseProcedure.use(counted).mutation(() => 'm');
    expect(await compileProcedure('q', q)(call('query', ctx()(), undefined))).toBe('q');
    expect(ran).toBe(0);
    expect(await compileProcedure('m', m)(call('mutation', ctx()(), undefined))).toBe('m');
    expect(ran).toBe(1);
  });

  it('run an inline form where its middleware would be, with the same results, refusals and failures', async () => {
    const log: string[] = [];
    // What the middleware does, written both ways: tag the data, refuse a flagged context, fail on a negative result.
    const tag = (result: any) => {
      if (result.ok && (result.data as number) < 0) throw new ForbiddenError('negative');
      return result.ok ? { ...result, data: (result.data as number) * 10 } : result;
    };
    const tagged = inlined(
      middleware(async ({ ctx, next }) => {
        if ((ctx as { refuse?: boolean }).refuse) throw new ForbiddenError('refused');
        log.push('middleware');
        return tag(await next());
      }),
      {
        before: ({ ctx }) => {
          if ((ctx as { refuse?: boolean }).refuse) throw new ForbiddenError('refused');
          log.push('inline');
          return 'state';
        },
        after: (_call, state, result) => {
          expect(state).toBe('state');
          return tag(result);
        },
      },
    );
    const later = middleware(async ({ next }) => next());
    for (const p of [
      publicProcedure.use(tagged).input(z.object({ n: z.number() })).query(({ input }) => input.n),
      // A plain middleware after the inline one: its result is what `after` sees.
      publicProcedure.use(tagged).use(later).input(z.object({ n: z.number() })).query(({ input }) => input.n),
      // An access guard after it: the guard's refusal goes through `after` too.
      authedProcedure.use(tagged).input(z.object({ n: z.number() })).query(({ input }) => input.n),
    ]) {
      const signedIn = ctx({ userId: 'u', permissions: new Set() });
      expect((await same(p, 'query', signedIn, { n: 2 })).data).toBe(20);
      expect((await same(p, 'query', signedIn, { n: -1 })).error).toMatchObject({ code: 'FORBIDDEN', message: 'negative' });
      expect((await same(p, 'query', signedIn, { n: 'x' })).error).toMatchObject({ code: 'BAD_REQUEST' });
      expect((await same(p, 'query', () => ({ ...signedIn(), refuse: true }), { n: 2 })).error).toMatchObject({ code: 'FORBIDDEN', message: 'refused' });
    }
    expect(log).toContain('inline');
    expect(log).toContain('middleware');
  });

  it('run the middleware itself where the inline form does not apply, or not now', async () => {
    const ran: string[] = [];
    let now = true;
    const both = (name: string, extra: object) =>
      inlined(
        middleware(({ next }) => {
          ran.push(`${name}:middleware`);
          return next();
        }),
        { after: (_c, _s, result) => (ran.push(`${name}:inline`), result!), ...extra },
      );
    const p = baseProcedure.use(both('q', { appliesTo: (_m: unknown, type: string) => type === 'query' })).use(both('n', { now: () => now })).query(() => 1);
    const m = baseProcedure.use(both('q', { appliesTo: (_m: unknown, type: string) => type === 'query' })).mutation(() => 1);
    await compileProcedure('p', p)(call('query', ctx()(), undefined));
    now = false;
    await compileProcedure('p', p)(call('query', ctx()(), undefined));
    await compileProcedure('m', m)(call('mutation', ctx()(), undefined));
    expect(ran).toEqual(['n:inline', 'q:inline', 'n:middleware', 'q:inline', 'q:middleware']);
  });
});
