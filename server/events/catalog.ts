import type { z } from 'zod';

/**
 * Events by name, each with the zod schema of its payload. A module declares the
 * events it publishes with `defineEvents` (in `<entity>.events.ts`); the app's
 * catalog is every module's events together, and `publish` / `subscribe` are typed
 * from it, so an unknown name or a wrong payload does not compile (and the payload
 * is validated again at publish time).
 *
 * Payloads are JSON (they travel through graphile-worker): dates as ISO strings,
 * money as decimal strings. Changing a schema must stay readable by jobs already
 * queued: add optional fields, or publish a new event name.
 */
export type EventCatalog = Record<string, z.ZodObject>;

/** Event names are `<entity>.<past-tense verb>`: dotted lowercase words, e.g. `user.created`. */
export const EVENT_NAME = /^[a-z][a-z0-9-]*(\.[a-z][a-z0-9_-]*)+$/;

/** Declares a module's events; returns them unchanged, typed. */
export function defineEvents<const C extends EventCatalog>(events: C): C {
  for (const name of Object.keys(events)) {
    if (!EVENT_NAME.test(name)) throw new Error(`Event name "${name}" must be dotted lowercase words, e.g. product.created`);
  }
  return events;
}

/** A known event name of catalog `C`, e.g. `'user.created'`. */
export type EventName<C extends EventCatalog> = keyof C & string;

/** The payload a subscriber receives (after parsing). */
export type EventPayload<C extends EventCatalog, N extends EventName<C>> = z.output<C[N]>;

/** The payload a publisher passes (before parsing). */
export type EventPayloadInput<C extends EventCatalog, N extends EventName<C>> = z.input<C[N]>;
