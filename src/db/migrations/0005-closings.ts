import type { Kysely } from 'kysely';

/**
 * Closings, cash drawer openings and the pre-aggregated buckets closings are summed from.
 *
 * Periods are cut in journal sequence numbers, not timestamps: every fiscal event appends a journal entry under the
 * register lock, so `final_journal_seq` (the entry that completed or cancelled an operation) orders events exactly
 * and each one falls into exactly one closing of each type.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('operations').addColumn('final_journal_seq', 'bigint').execute();
  await db.schema
    .createIndex('operations_register_final_seq')
    .on('operations')
    .columns(['register_id', 'final_journal_seq'])
    .execute();
  await db.schema.alterTable('registers').addColumn('closing_schedule', 'text').execute();

  await db.schema
    .createTable('cash_drawer_openings')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('platform_id', 'text', (c) => c.notNull().references('platforms.id'))
    .addColumn('organization_id', 'text', (c) => c.notNull().references('organizations.id'))
    .addColumn('register_id', 'text', (c) => c.notNull().references('registers.id'))
    .addColumn('occurred_at', 'text', (c) => c.notNull())
    .addColumn('received_at', 'text', (c) => c.notNull())
    .addColumn('operation_id', 'text')
    .addColumn('cashier', 'text')
    .addColumn('reason', 'text')
    .addColumn('note', 'text')
    .addColumn('fiscal', 'text')
    .addColumn('journal_seq', 'bigint', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('cash_drawer_openings_register_created')
    .on('cash_drawer_openings')
    .columns(['register_id', 'created_at', 'id'])
    .execute();
  await db.schema
    .createIndex('cash_drawer_openings_register_seq')
    .on('cash_drawer_openings')
    .columns(['register_id', 'journal_seq'])
    .execute();

  await db.schema
    .createTable('closings')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('platform_id', 'text', (c) => c.notNull().references('platforms.id'))
    .addColumn('organization_id', 'text', (c) => c.notNull().references('organizations.id'))
    .addColumn('location_id', 'text', (c) => c.notNull().references('locations.id'))
    .addColumn('register_id', 'text', (c) => c.notNull().references('registers.id'))
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('z_number', 'bigint', (c) => c.notNull())
    .addColumn('period_from', 'text', (c) => c.notNull())
    .addColumn('period_to', 'text', (c) => c.notNull())
    .addColumn('journal_seq_from', 'bigint', (c) => c.notNull())
    .addColumn('journal_seq_to', 'bigint', (c) => c.notNull())
    .addColumn('summary', 'text')
    .addColumn('fiscal', 'text')
    .addColumn('failure_code', 'text')
    .addColumn('failure_message', 'text')
    .addColumn('failure_retryable', 'bigint')
    .addColumn('attempts', 'bigint', (c) => c.notNull())
    .addColumn('scheduled_for', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addColumn('completed_at', 'text')
    .addColumn('transmitted_at', 'text')
    .addUniqueConstraint('closings_register_type_z', ['register_id', 'type', 'z_number'])
    .addUniqueConstraint('closings_register_type_schedule', ['register_id', 'type', 'scheduled_for'])
    .execute();
  await db.schema
    .createIndex('closings_register_created')
    .on('closings')
    .columns(['register_id', 'created_at', 'id'])
    .execute();
  await db.schema.createIndex('closings_register_state').on('closings').columns(['register_id', 'state']).execute();

  await db.schema
    .createTable('closing_buckets')
    .addColumn('register_id', 'text', (c) => c.notNull().references('registers.id'))
    .addColumn('bucket', 'bigint', (c) => c.notNull())
    .addColumn('totals', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('closing_buckets_pk', ['register_id', 'bucket'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ['closing_buckets', 'closings', 'cash_drawer_openings']) {
    await db.schema.dropTable(table).execute();
  }
  await db.schema.alterTable('registers').dropColumn('closing_schedule').execute();
  await db.schema.dropIndex('operations_register_final_seq').execute();
  await db.schema.alterTable('operations').dropColumn('final_journal_seq').execute();
}
