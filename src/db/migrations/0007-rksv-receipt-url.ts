import type { Kysely } from 'kysely';
import { jwsToQr, receiptUrlHash } from '../../regimes/at/receipt-code.js';

/**
 * The URL form of Austrian receipt codes: `rksv_receipts.url_hash`, the last path element of a receipt's URL
 * (Base64-URL of the first 8 bytes of SHA-256 over its QR code text), indexed so that
 * `GET /v1/rksv-receipts/{urlHash}` finds the receipt. Receipts stored before are given theirs here.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('rksv_receipts').addColumn('url_hash', 'text').execute();
  await db.schema.createIndex('rksv_receipts_url_hash').on('rksv_receipts').column('url_hash').execute();
  await backfillRksvUrlHashes(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('rksv_receipts_url_hash').execute();
  await db.schema.alterTable('rksv_receipts').dropColumn('url_hash').execute();
}

// A type alias, not an interface: `withTables` wants a record type.
type ReceiptRows = {
  rksv_receipts: {
    register_id: string;
    receipt_number: bigint | number | string;
    jws: string;
    url_hash: string | null;
  };
};

const BACKFILL_BATCH = 500;

/** Sets `url_hash` where it is null, from the stored JWS, in batches in primary-key order. */
export async function backfillRksvUrlHashes(db: Kysely<unknown>): Promise<number> {
  const receipts = db.withTables<ReceiptRows>();
  let after: { registerId: string; receiptNumber: bigint | number | string } | null = null;
  let updated = 0;
  for (;;) {
    let query = receipts
      .selectFrom('rksv_receipts')
      .select(['register_id', 'receipt_number', 'jws'])
      .where('url_hash', 'is', null);
    if (after !== null) {
      const { registerId, receiptNumber } = after;
      query = query.where((eb) =>
        eb.or([
          eb('register_id', '>', registerId),
          eb.and([eb('register_id', '=', registerId), eb('receipt_number', '>', receiptNumber)]),
        ]),
      );
    }
    const batch = await query.orderBy('register_id').orderBy('receipt_number').limit(BACKFILL_BATCH).execute();
    for (const row of batch) {
      await receipts
        .updateTable('rksv_receipts')
        .set({ url_hash: receiptUrlHash(jwsToQr(row.jws)) })
        .where('register_id', '=', row.register_id)
        .where('receipt_number', '=', row.receipt_number)
        .execute();
    }
    updated += batch.length;
    const last = batch.at(-1);
    if (last === undefined || batch.length < BACKFILL_BATCH) return updated;
    after = { registerId: last.register_id, receiptNumber: last.receipt_number };
  }
}
