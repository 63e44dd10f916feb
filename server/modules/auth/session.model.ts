import { Model } from 'objection';
import { modelColumns } from '../../db/model-columns.ts';

/**
 * A row of `sessions`. The token handed to the client is `<id>.<secret>`; only the
 * SHA-256 of the secret is stored, so neither the row nor a backup signs anyone in.
 */
export class Session extends Model {
  static override tableName = 'sessions';

  id!: string;
  secretHash!: Buffer;
  userId!: string;
  expiresAt!: Date;
  createdAt!: Date;
  /** The User-Agent header of the sign-in (cut to 512 characters), or null. */
  userAgent!: string | null;
  /** The client IP of the sign-in, or null. */
  ip!: string | null;
  /** When the session was last used to within LAST_USED_PRECISION_MS (session.service.ts). */
  lastUsedAt!: Date;

  /** The columns above, for `npm run db:check` (the compiler keeps the two lists equal). */
  static readonly columns = modelColumns<Session>()(['id', 'secretHash', 'userId', 'expiresAt', 'createdAt', 'userAgent', 'ip', 'lastUsedAt']);
}
