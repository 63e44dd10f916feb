import { generateReport } from '../modules/reports/report.tasks.ts';
import { idempotencyCleanup } from './idempotency-cleanup.ts';
import type { AnyTaskDefinition } from './task.ts';

/**
 * Every background task the worker runs, one line each (like server/router.ts).
 * Adding one: write `server/modules/<module>/<module>.tasks.ts` with `defineTask`
 * (name, zod payload, maxAttempts, run), import it here, enqueue it from a service
 * with `jobs.add(trx, task, payload)`. Event subscribers are not listed here: they
 * register through the event bus.
 */
export const tasks: readonly AnyTaskDefinition[] = [generateReport, idempotencyCleanup];
