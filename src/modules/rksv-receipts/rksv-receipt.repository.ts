/**
 * The Austrian receipts as issued (`rksv_receipts`), read by the URL hash of their code. Not tenant-scoped: a
 * receipt's URL is public, like the code printed on it.
 * @module
 */
import type { Database } from '../../db/database.js';

export function createRksvReceiptRepository(db: Pick<Database, 'executor'>) {
  return {
    /**
     * The JWS of the receipt whose URL hash is `urlHash`, or undefined. Should two receipts ever share the 8-byte
     * hash, the first in primary-key order answers.
     */
    async findJwsByUrlHash(urlHash: string): Promise<string | undefined> {
      const row = await db
        .executor()
        .selectFrom('rksv_receipts')
        .select('jws')
        .where('url_hash', '=', urlHash)
        .orderBy('register_id')
        .orderBy('receipt_number')
        .limit(1)
        .executeTakeFirst();
      return row?.jws;
    },
  };
}

export type RksvReceiptRepository = ReturnType<typeof createRksvReceiptRepository>;
