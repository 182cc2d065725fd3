import type { Kysely } from 'kysely';

/**
 * Austria (RKSV) and signature-unit outages.
 *
 * - `rksv_registers`: the state of one Kassen-ID: its AES key (sealed), turnover counter, the last receipt's JWS the
 *   next one chains to, and whether a Sammelbeleg is due. It outlives the signature devices: a replaced device hands
 *   the chain on to the next one.
 * - `rksv_devices`: one signature creation unit per fiscal unit: key (sealed), certificate or public key, the name
 *   receipts write for it.
 * - `rksv_receipts`: every receipt exactly as issued, in Belegnummer order (the DEP).
 * - `fiscal_unit_outages`: from the first failed signing to the first signing after it, per fiscal unit.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('rksv_registers')
    .addColumn('register_id', 'text', (c) => c.primaryKey().references('registers.id'))
    .addColumn('kassen_id', 'text', (c) => c.notNull())
    .addColumn('aes_key', 'text', (c) => c.notNull())
    .addColumn('aes_key_check_value', 'text', (c) => c.notNull())
    .addColumn('counter_bytes', 'bigint', (c) => c.notNull())
    .addColumn('turnover_cents', 'bigint', (c) => c.notNull())
    .addColumn('last_jws', 'text')
    .addColumn('last_receipt_number', 'text')
    .addColumn('receipt_count', 'bigint', (c) => c.notNull())
    .addColumn('last_zda', 'text')
    .addColumn('last_certificate_serial', 'text')
    .addColumn('failed_since', 'text')
    .addColumn('closed', 'bigint', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('rksv_devices')
    .addColumn('fiscal_unit_id', 'text', (c) => c.primaryKey().references('fiscal_units.id'))
    .addColumn('register_id', 'text', (c) => c.notNull().references('registers.id'))
    .addColumn('system', 'text', (c) => c.notNull())
    .addColumn('zda', 'text', (c) => c.notNull())
    .addColumn('certificate_serial', 'text', (c) => c.notNull())
    .addColumn('container_id', 'text', (c) => c.notNull())
    .addColumn('private_key', 'text', (c) => c.notNull())
    .addColumn('public_key', 'text', (c) => c.notNull())
    .addColumn('certificate', 'text')
    .addColumn('company_id', 'text')
    .addColumn('key_number', 'bigint')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();
  // A closed system's key ids (`U:<UID>-K<n>`) are unique per company.
  await db.schema
    .createIndex('rksv_devices_company_key')
    .on('rksv_devices')
    .columns(['company_id', 'key_number'])
    .unique()
    .execute();

  await db.schema
    .createTable('rksv_receipts')
    .addColumn('register_id', 'text', (c) => c.notNull().references('registers.id'))
    .addColumn('receipt_number', 'bigint', (c) => c.notNull())
    .addColumn('fiscal_unit_id', 'text', (c) => c.notNull().references('fiscal_units.id'))
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('operation_id', 'text')
    .addColumn('closing_id', 'text')
    .addColumn('date_time', 'text', (c) => c.notNull())
    .addColumn('jws', 'text', (c) => c.notNull())
    .addColumn('signed', 'bigint', (c) => c.notNull())
    .addColumn('issued_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('rksv_receipts_pk', ['register_id', 'receipt_number'])
    .execute();
  await db.schema
    .createIndex('rksv_receipts_register_issued')
    .on('rksv_receipts')
    .columns(['register_id', 'issued_at'])
    .execute();

  await db.schema
    .createTable('fiscal_unit_outages')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('register_id', 'text', (c) => c.notNull().references('registers.id'))
    .addColumn('fiscal_unit_id', 'text', (c) => c.notNull().references('fiscal_units.id'))
    .addColumn('started_at', 'text', (c) => c.notNull())
    .addColumn('ended_at', 'text')
    .addColumn('message', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('fiscal_unit_outages_register_started')
    .on('fiscal_unit_outages')
    .columns(['register_id', 'started_at', 'id'])
    .execute();

  // The fiscal identity of the permanent establishment (Betriebsstätte) a location is in, JSON like
  // organizations.fiscal_identity; registers there use it in place of the organization's. Null: the organization's.
  await db.schema.alterTable('locations').addColumn('fiscal_identity', 'text').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('locations').dropColumn('fiscal_identity').execute();
  for (const table of ['fiscal_unit_outages', 'rksv_receipts', 'rksv_devices', 'rksv_registers']) {
    await db.schema.dropTable(table).execute();
  }
}
