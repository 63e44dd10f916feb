import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import pino from 'pino';
import superjson from 'superjson';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { loadConfig } from '../../server/config.ts';
import { registerRestDoor } from '../../server/http/rest.ts';
import { registerTrpcDoor } from '../../server/http/trpc-door.ts';
import { AfterResponseRunner } from '../../server/jobs/after-response.ts';
import { router } from '../../server/trpc/init.ts';
import { createContextFactory } from '../../server/trpc/context.ts';
import { publicProcedure } from '../../server/trpc/procedures.ts';

/**
 * `ctx.afterResponse(task)` on both doors, with a router made for the purpose: each
 * procedure adds tasks whose behaviour the test controls. The production use
 * (`users.me` touching `last_seen_at`) is tested with the users module.
 */

/** A promise the test resolves by hand: tasks wait on it, so "after" needs no clock. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

interface Probe {
  gate: ReturnType<typeof gate>;
  /** Per task run: was the response already sent when the task started? */
  runs: { label: string; responseSent: boolean }[];
  done: ReturnType<typeof gate>;
}
let probe: Probe;
const newProbe = (): Probe => ({ gate: gate(), runs: [], done: gate() });

const testRouter = router({
  waits: publicProcedure
    .meta({ openapi: { method: 'POST', path: '/after/waits', tags: ['test'] } })
    .input(z.object({ label: z.string() }))
    .output(z.object({ ok: z.literal(true) }))
    .mutation(({ ctx, input }) => {
      const raw = ctx.reply.raw;
      ctx.afterResponse(async () => {
        probe.runs.push({ label: input.label, responseSent: raw.writableFinished });
        await probe.gate.opened;
        probe.done.open();
      });
      return { ok: true as const };
    }),

  fails: publicProcedure
    .meta({ openapi: { method: 'POST', path: '/after/fails', tags: ['test'] } })
    .input(z.object({ how: z.enum(['throws', 'rejects']) }))
    .output(z.object({ ok: z.literal(true) }))
    .mutation(({ ctx, input }) => {
      ctx.afterResponse(() => {
        if (input.how === 'throws') throw new Error('task blew up synchronously');
      });
      ctx.afterResponse(async () => {
        await Promise.resolve();
        if (input.how === 'rejects') throw new Error('task rejected');
      });
      // A failing task does not stop the ones after it.
      ctx.afterResponse(() => {
        probe.runs.push({ label: 'after the failure', responseSent: true });
        probe.done.open();
      });
      return { ok: true as const };
    }),

  plain: publicProcedure
    .meta({ openapi: { method: 'POST', path: '/after/plain', tags: ['test'] } })
    .input(z.object({ how: z.enum(['throws', 'rejects']) }))
    .output(z.object({ ok: z.literal(true) }))
    .mutation(() => ({ ok: true as const })),
});

const logLines: { level: number; msg: string; err?: { message: string } }[] = [];
let fastify: FastifyInstance;
let url: string;
let runner: AfterResponseRunner;

beforeAll(async () => {
  const logger = pino({ level: 'info' }, { write: (line: string) => void logLines.push(JSON.parse(line)) });
  runner = new AfterResponseRunner();
  fastify = Fastify({ loggerInstance: logger as FastifyBaseLogger });
  const createContext = createContextFactory({ authenticate: async () => ({ actor: null, rejection: null }), isProduction: loadConfig({ NODE_ENV: 'test' }).isProduction, afterResponse: runner });
  await registerTrpcDoor(fastify, { router: testRouter, prefix: '/trpc', createContext, onError: () => {} });
  registerRestDoor(fastify, { router: testRouter, prefix: '/api', createContext, isProduction: false });
  url = await fastify.listen({ port: 0, host: '127.0.0.1' });
});
afterAll(() => fastify.close());
beforeEach(() => {
  probe = newProbe();
  logLines.length = 0;
});

const rest = (path: string, body: unknown) =>
  fetch(`${url}/api${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
const trpc = (path: string, input: unknown) =>
  fetch(`${url}/trpc/${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(superjson.serialize(input)) });

describe('ctx.afterResponse', () => {
  for (const [door, call] of [
    ['REST', () => rest('/after/waits', { label: 'rest' })],
    ['tRPC', () => trpc('waits', { label: 'trpc' })],
  ] as const) {
    it(`runs the task after the ${door} response has been sent`, async () => {
      // The task cannot finish before the test opens the gate, and the test opens it
      // only once it holds the whole response: had the response waited for the task,
      // this would hang instead of passing.
      const res = await call();
      expect(res.status).toBe(200);
      await res.text();
      probe.gate.open();
      await probe.done.opened;
      expect(probe.runs).toEqual([{ label: door === 'REST' ? 'rest' : 'trpc', responseSent: true }]);
    });
  }

  it('a failing task changes nothing in the response; it is logged and later tasks still run', async () => {
    for (const how of ['throws', 'rejects'] as const) {
      probe = newProbe();
      const [withTasks, without] = await Promise.all([rest('/after/fails', { how }), rest('/after/plain', { how })]);
      expect(withTasks.status).toBe(without.status);
      expect(await withTasks.text()).toBe(await without.text());
      await probe.done.opened;
      expect(probe.runs.map((r) => r.label)).toEqual(['after the failure']);
    }
    const failures = logLines.filter((l) => l.msg === 'after-response task failed');
    expect(failures.map((l) => l.err?.message).sort()).toEqual(['task blew up synchronously', 'task rejected']);
    expect(failures.every((l) => l.level === 50)).toBe(true);

    const tr = await trpc('fails', { how: 'rejects' });
    expect(tr.status).toBe(200);
    expect(await tr.json()).toEqual({ result: { data: { json: { ok: true } } } });
  });

  it('shutdown can wait for running tasks (drain)', async () => {
    const res = await rest('/after/waits', { label: 'drain' });
    await res.text();
    while (probe.runs.length === 0) await new Promise((r) => setImmediate(r));
    let drained = false;
    const draining = runner.drain().then((left) => {
      drained = true;
      return left;
    });
    await new Promise((r) => setImmediate(r));
    expect(drained).toBe(false);
    probe.gate.open();
    expect(await draining).toBe(0);
    expect(runner.running).toBe(0);
  });
});
