import { Model } from 'objection';
import { modelColumns } from '../../db/model-columns.ts';

/** What a mailed token is for. */
export type AccountTokenPurpose = 'verify-email' | 'reset-password';

/**
 * A row of `account_tokens`: a single-use token mailed to an account's address. Only
 * the SHA-256 of the token is stored (it is also the key), so the table signs nobody in.
 */
export class AccountToken extends Model {
  static override tableName = 'account_tokens';
  static override idColumn = 'tokenHash';

  tokenHash!: Buffer;
  userId!: string;
  purpose!: AccountTokenPurpose;
  expiresAt!: Date;
  createdAt!: Date;

  /** The columns above, for `npm run db:check` (the compiler keeps the two lists equal). */
  static readonly columns = modelColumns<AccountToken>()(['tokenHash', 'userId', 'purpose', 'expiresAt', 'createdAt']);
}
