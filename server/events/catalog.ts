import { z } from 'zod';
import { MoneyString } from '../lib/decimal.ts';

/**
 * Every domain event: its name and the zod schema of its payload. `publish` and
 * `subscribe` are typed from this object, so an unknown name or a wrong payload does
 * not compile, and the payload is validated again at publish time.
 *
 * Payloads are JSON (they travel through graphile-worker): dates as ISO strings,
 * money as decimal strings. Changing a schema must stay readable by jobs already
 * queued: add optional fields, or publish a new event name.
 */
export const eventCatalog = {
  /** A user account was created (sign-up or by an admin). */
  'user.created': z.object({
    userId: z.string().min(1),
    email: z.string().min(3),
    name: z.string(),
  }),
  /** A user account was deactivated; it can no longer sign in. */
  'user.deactivated': z.object({
    userId: z.string().min(1),
  }),
  /** A product was created. */
  'product.created': z.object({
    productId: z.uuid(),
    name: z.string(),
    price: MoneyString,
  }),
  /** An active product was archived (soft-deleted). */
  'product.archived': z.object({
    productId: z.uuid(),
  }),
} as const satisfies Record<string, z.ZodObject>;

export type EventCatalog = typeof eventCatalog;

/** A known event name, e.g. `'user.created'`. */
export type EventName = keyof EventCatalog;

/** The payload a subscriber receives (after parsing). */
export type EventPayload<N extends EventName> = z.output<EventCatalog[N]>;

/** The payload a publisher passes (before parsing). */
export type EventPayloadInput<N extends EventName> = z.input<EventCatalog[N]>;

export function isEventName(name: string): name is EventName {
  return Object.hasOwn(eventCatalog, name);
}
