import type { Kysely } from 'kysely';

/** Fiscal units and their signing devices, TSE log messages, operations, and the registers' counters. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('registers')
    .addColumn('last_sequence_number', 'bigint', (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema
    .alterTable('registers')
    .addColumn('journal_length', 'bigint', (c) => c.notNull().defaultTo(0))
    .execute();

  await db.schema
    .createTable('fiscal_units')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('platform_id', 'text', (c) => c.notNull().references('platforms.id'))
    .addColumn('organization_id', 'text', (c) => c.notNull().references('organizations.id'))
    .addColumn('register_id', 'text', (c) => c.notNull().references('registers.id'))
    .addColumn('jurisdiction', 'text', (c) => c.notNull())
    .addColumn('provider', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('certified', 'bigint', (c) => c.notNull())
    .addColumn('fiscal_registration', 'text', (c) => c.notNull())
    .addColumn('reason', 'text')
    .addColumn('replaces', 'text')
    .addColumn('replaced_by', 'text')
    .addColumn('simulated_failure', 'text', (c) => c.notNull())
    .addColumn('last_error', 'text')
    .addColumn('provisioned_at', 'text')
    .addColumn('decommissioned_at', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('fiscal_units_register_created')
    .on('fiscal_units')
    .columns(['register_id', 'created_at', 'id'])
    .execute();

  await db.schema
    .createTable('signing_devices')
    .addColumn('fiscal_unit_id', 'text', (c) => c.primaryKey().references('fiscal_units.id'))
    .addColumn('private_key', 'text', (c) => c.notNull())
    .addColumn('public_key', 'text', (c) => c.notNull())
    .addColumn('certificate', 'text', (c) => c.notNull())
    .addColumn('signature_counter', 'bigint', (c) => c.notNull())
    .addColumn('transaction_counter', 'bigint', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('tse_log_messages')
    .addColumn('fiscal_unit_id', 'text', (c) => c.notNull().references('fiscal_units.id'))
    .addColumn('signature_counter', 'bigint', (c) => c.notNull())
    .addColumn('register_id', 'text', (c) => c.notNull().references('registers.id'))
    .addColumn('log_type', 'text', (c) => c.notNull())
    .addColumn('operation_type', 'text', (c) => c.notNull())
    .addColumn('transaction_number', 'bigint')
    .addColumn('client_id', 'text')
    .addColumn('log_time', 'bigint', (c) => c.notNull())
    .addColumn('file_name', 'text', (c) => c.notNull())
    .addColumn('message', 'text', (c) => c.notNull())
    .addColumn('operation_id', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('tse_log_messages_pk', ['fiscal_unit_id', 'signature_counter'])
    .execute();
  await db.schema
    .createIndex('tse_log_messages_register_created')
    .on('tse_log_messages')
    .columns(['register_id', 'created_at'])
    .execute();

  await db.schema
    .createTable('operations')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('platform_id', 'text', (c) => c.notNull().references('platforms.id'))
    .addColumn('organization_id', 'text', (c) => c.notNull().references('organizations.id'))
    .addColumn('location_id', 'text', (c) => c.notNull().references('locations.id'))
    .addColumn('register_id', 'text', (c) => c.notNull().references('registers.id'))
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('fiscal_state', 'text', (c) => c.notNull())
    .addColumn('sequence_number', 'bigint', (c) => c.notNull())
    .addColumn('external_id', 'text')
    .addColumn('cashier', 'text')
    .addColumn('data', 'text', (c) => c.notNull())
    .addColumn('fiscal', 'text')
    .addColumn('fiscal_unit_id', 'text')
    .addColumn('original_operation_id', 'text')
    .addColumn('voided_by', 'text')
    .addColumn('reason', 'text')
    .addColumn('metadata', 'text', (c) => c.notNull())
    .addColumn('started_at', 'text', (c) => c.notNull())
    .addColumn('completed_at', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addUniqueConstraint('operations_register_sequence', ['register_id', 'sequence_number'])
    .execute();
  await db.schema
    .createIndex('operations_register_created')
    .on('operations')
    .columns(['register_id', 'created_at', 'id'])
    .execute();
  await db.schema.createIndex('operations_register_state').on('operations').columns(['register_id', 'state']).execute();
  await db.schema.createIndex('operations_original').on('operations').column('original_operation_id').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ['operations', 'tse_log_messages', 'signing_devices', 'fiscal_units']) {
    await db.schema.dropTable(table).execute();
  }
  await db.schema.alterTable('registers').dropColumn('journal_length').execute();
  await db.schema.alterTable('registers').dropColumn('last_sequence_number').execute();
}
