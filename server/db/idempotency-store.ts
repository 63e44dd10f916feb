import type { Knex } from 'knex';
import { runStatement } from './statements.ts';

// Both run on every keyed mutation: named statements.
const CLAIM = `SELECT l.locked, k.procedure, k.fingerprint, k.status, k.ok, k.response, k.response_bytes, k.headers
   FROM (SELECT pg_try_advisory_xact_lock(hashtextextended($1, 1610)) AS locked) l
   LEFT JOIN idempotency_keys k ON l.locked AND k.scope = $2 AND k.key = $3 AND k.expires_at > now()`;
const SAVE = `INSERT INTO idempotency_keys AS k (scope, key, procedure, fingerprint, status, ok, response, response_bytes, headers, expires_at)
 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb, now() + make_interval(hours => $10))
 ON CONFLICT (scope, key) DO UPDATE SET
   procedure = EXCLUDED.procedure, fingerprint = EXCLUDED.fingerprint, status = EXCLUDED.status, ok = EXCLUDED.ok,
   response = EXCLUDED.response, response_bytes = EXCLUDED.response_bytes, headers = EXCLUDED.headers,
   created_at = now(), expires_at = EXCLUDED.expires_at
 WHERE k.expires_at <= now()
 RETURNING 1`;

/** A stored outcome of a keyed mutation, as a retry replays it. */
export interface StoredOutcome {
  procedure: string;
  fingerprint: string;
  /** HTTP status the first request answered with. */
  status: number;
  /** true: `response` is the output (superjson text); false: an error body (JSON). */
  ok: boolean;
  /** null when it was larger than the limit and was not kept. */
  response: string | null;
  responseBytes: number;
  headers: Record<string, string>;
}

/** What the middleware found when it took a key. */
export type Claim = { locked: false } | { locked: true; existing: StoredOutcome | undefined };

/**
 * Idempotency records in PostgreSQL (table `idempotency_keys`), shared by every
 * process. "In progress" is a transaction-level advisory lock on the key, held by the
 * transaction that runs the first request, so it ends with that transaction whatever
 * happens to the process (a killed server's connection closes and the lock goes with
 * it). The primary key makes "at most one committed outcome per key" hold even when
 * two transactions race past the lock check (see `save`).
 */
export class IdempotencyStore {
  constructor(readonly opts: { ttlHours: number; maxResponseBytes: number }) {}

  /**
   * Takes the key for `trx` unless another transaction holds it, and returns the live
   * (unexpired) record if the key already has one.
   */
  async claim(trx: Knex.Transaction, scope: string, key: string): Promise<Claim> {
    const { rows } = await runStatement<RecordRow & { locked: boolean }>(trx, CLAIM, [`${scope}\n${key}`, scope, key]);
    const row = rows[0]!;
    if (!row.locked) return { locked: false };
    return { locked: true, existing: row.procedure === null ? undefined : toOutcome(row) };
  }

  /**
   * Records the outcome in `trx` (so it commits with the procedure's writes). Returns
   * false when a live record for the key appeared meanwhile (a concurrent first request
   * committed between our snapshot and our lock): the caller must roll back and replay
   * that one. An expired record is replaced: a key reused after its lifetime runs again.
   */
  async save(trx: Knex.Transaction, scope: string, key: string, outcome: StoredOutcome): Promise<boolean> {
    const { rows } = await runStatement(
      trx,
      SAVE,
      [scope, key, outcome.procedure, outcome.fingerprint, outcome.status, outcome.ok, outcome.response, outcome.responseBytes, JSON.stringify(outcome.headers), this.opts.ttlHours],
    );
    return rows.length > 0;
  }

  /** The live record of a key, read outside any lock. */
  async find(db: Knex, scope: string, key: string): Promise<StoredOutcome | undefined> {
    const { rows } = await db.raw<{ rows: RecordRow[] }>(
      `SELECT procedure, fingerprint, status, ok, response, response_bytes, headers
         FROM idempotency_keys WHERE scope = ? AND key = ? AND expires_at > now()`,
      [scope, key],
    );
    return rows[0] && toOutcome(rows[0]);
  }

  /** Deletes expired records, `batchSize` at a time so no statement runs long; returns how many. */
  async removeExpired(db: Knex, batchSize = 5000): Promise<number> {
    let removed = 0;
    for (;;) {
      const { rowCount } = await db.raw<{ rowCount: number }>(
        `DELETE FROM idempotency_keys WHERE ctid = ANY (ARRAY(SELECT ctid FROM idempotency_keys WHERE expires_at <= now() LIMIT ?))`,
        [batchSize],
      );
      removed += rowCount;
      if (rowCount < batchSize) return removed;
    }
  }
}

interface RecordRow {
  procedure: string;
  fingerprint: string;
  status: number;
  ok: boolean;
  response: string | null;
  response_bytes: number;
  headers: Record<string, string>;
}

function toOutcome(row: RecordRow): StoredOutcome {
  return {
    procedure: row.procedure,
    fingerprint: row.fingerprint,
    status: row.status,
    ok: row.ok,
    response: row.response,
    responseBytes: row.response_bytes,
    headers: row.headers ?? {},
  };
}
