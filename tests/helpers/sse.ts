import { Ajv } from 'ajv';
import ajvFormats from 'ajv-formats';
import { contract } from './contract.ts';

/** One Server-Sent Event as a client parses it. */
export interface SseEvent {
  id: string | undefined;
  event: string | undefined;
  data: any;
}

/** An open REST stream (`GET …` with `Accept: text/event-stream`), read event by event. */
export interface OpenStream {
  status: number;
  headers: Headers;
  /** The body as JSON when the server answered an error instead of a stream. */
  error: any;
  /** The next event; rejects after `timeoutMs`. Resolves undefined when the stream ended. */
  next(timeoutMs?: number): Promise<SseEvent | undefined>;
  /** Every event until the server ends the stream. */
  rest(timeoutMs?: number): Promise<SseEvent[]>;
  /** Comments (`: ping`) seen so far. */
  comments: string[];
  close(): void;
}

const addFormats = ajvFormats.default;
const ajv = new Ajv({ strict: false });
addFormats(ajv);
const validators = new Map<string, ReturnType<typeof ajv.compile>>();

/** Checks an event's data against the document's `x-itemSchema` for that stream path (the contract, as for JSON responses). */
export function checkEvent(docPath: string, data: unknown): void {
  let validate = validators.get(docPath);
  if (!validate) {
    const media = (contract.paths[docPath]?.get?.responses['200']?.content as Record<string, Record<string, unknown>> | undefined)?.['text/event-stream'];
    if (!media?.['x-itemSchema']) throw new Error(`The document describes no event stream at GET ${docPath}`);
    validate = ajv.compile({ ...(media['x-itemSchema'] as object), components: contract.components });
    validators.set(docPath, validate);
  }
  if (!validate(data)) throw new Error(`Event on ${docPath} does not match the document: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(data)}`);
}

/**
 * Opens `url` as an EventSource would (no automatic reconnect: tests reconnect
 * themselves with `Last-Event-ID`). With `docPath`, every event is checked against the
 * OpenAPI document's event schema.
 */
export async function openStream(url: string, opts: { headers?: Record<string, string>; docPath?: string } = {}): Promise<OpenStream> {
  const controller = new AbortController();
  const res = await fetch(url, { headers: { accept: 'text/event-stream', ...opts.headers }, signal: controller.signal });
  const comments: string[] = [];
  if (!res.headers.get('content-type')?.startsWith('text/event-stream')) {
    const text = await res.text();
    let error: unknown = text;
    try {
      error = JSON.parse(text);
    } catch {
      // not JSON
    }
    return { status: res.status, headers: res.headers, error, next: async () => undefined, rest: async () => [], comments, close: () => {} };
  }
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  let ended = false;
  const queue: SseEvent[] = [];
  // One read in flight at a time: a read that outlives a timeout is the next call's.
  let pending: Promise<{ done: true; value: undefined } | { done: false; value: string }> | undefined;
  const parse = () => {
    let at: number;
    while ((at = buffer.indexOf('\n\n')) !== -1) {
      const block = buffer.slice(0, at);
      buffer = buffer.slice(at + 2);
      const event: SseEvent = { id: undefined, event: undefined, data: undefined };
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) comments.push(line.slice(1).trim());
        else if (line.startsWith('id:')) event.id = line.slice(3).trim();
        else if (line.startsWith('event:')) event.event = line.slice(6).trim();
        else if (line.startsWith('data:')) data.push(line.slice(5).trimStart());
      }
      if (!data.length) continue;
      event.data = JSON.parse(data.join('\n'));
      if (opts.docPath) checkEvent(opts.docPath, event.data);
      queue.push(event);
    }
  };
  const next = async (timeoutMs = 15_000): Promise<SseEvent | undefined> => {
    const deadline = Date.now() + timeoutMs;
    while (!queue.length && !ended) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`No event within ${timeoutMs} ms from ${url}`);
      let timer: NodeJS.Timeout | undefined;
      const read = await Promise.race([
        (pending ??= reader.read().then(
          (r) => (r.done ? { done: true as const, value: undefined } : { done: false as const, value: r.value }),
          () => ({ done: true as const, value: undefined }),
        )),
        new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), left))),
      ]);
      clearTimeout(timer);
      if (read === 'timeout') throw new Error(`No event within ${timeoutMs} ms from ${url}`);
      pending = undefined;
      if (read.done) ended = true;
      else {
        buffer += read.value;
        parse();
      }
    }
    return queue.shift();
  };
  return {
    status: res.status,
    headers: res.headers,
    error: undefined,
    next,
    async rest(timeoutMs) {
      const all: SseEvent[] = [];
      for (let e = await next(timeoutMs); e; e = await next(timeoutMs)) all.push(e);
      return all;
    },
    comments,
    close: () => controller.abort(),
  };
}

/**
 * Opens a subscription on the tRPC door and returns how it started: an error before the
 * stream opens is its HTTP status with tRPC's error JSON; an error once the stream is open
 * is tRPC's `serialized-error` event (the status it stands for in `data.httpStatus`); a
 * stream that stays quiet after `connected` is open (status 200).
 */
export async function trpcSubscribe(url: string, headers: Record<string, string> = {}): Promise<{ status: number; error?: { message: string; data: { code: string; httpStatus: number; issues?: { path: (string | number)[] }[] } } }> {
  const controller = new AbortController();
  const res = await fetch(url, { headers: { ...headers, accept: 'text/event-stream' }, signal: controller.signal });
  if (!res.headers.get('content-type')?.startsWith('text/event-stream')) {
    const body = (await res.json()) as { error?: { json: any } };
    return { status: res.status, ...(body.error ? { error: body.error.json } : {}) };
  }
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let text = '';
  try {
    for (;;) {
      // An error follows `connected` at once; a stream that stays quiet a moment longer is open.
      const connected = text.includes('event: connected');
      const read = await Promise.race([reader.read(), ...(connected ? [new Promise<'open'>((r) => setTimeout(() => r('open'), 500))] : [])]);
      if (read === 'open') return { status: 200 };
      if (read.done) return { status: res.status };
      text += read.value;
      const error = /event: serialized-error\ndata: (.*)\n/.exec(text);
      if (error) {
        const shape = JSON.parse(error[1]!).json;
        return { status: shape.data.httpStatus, error: shape };
      }
      if (/\n\n(id: |data: |event: ping)/.test(text.slice(text.indexOf('\n\n')))) return { status: 200 };
    }
  } finally {
    controller.abort();
  }
}
