import { z } from 'zod';

/** Who caused an event, when a signed-in user did. */
export interface EventActor {
  userId: string;
}

/**
 * What every subscriber receives: the payload wrapped with the event's identity.
 * `id` is the idempotency key: a subscriber handles each event id at most once.
 */
export interface EventEnvelope<N extends string = string, P = unknown> {
  /** A uuid, unique per published event. */
  id: string;
  name: N;
  /** ISO 8601, when the publisher published it. */
  occurredAt: string;
  /** The acting user, or null for system and anonymous actions. */
  actor: EventActor | null;
  payload: P;
}

const ActorSchema = z.object({ userId: z.string().min(1) });

/** The schema of a whole envelope of one event, for checking a delivery before handling it. */
export function envelopeSchema(name: string, payload: z.ZodObject) {
  return z.object({
    id: z.uuid(),
    name: z.literal(name),
    occurredAt: z.iso.datetime({ offset: true }),
    actor: ActorSchema.nullable(),
    payload,
  });
}
