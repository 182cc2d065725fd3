import { sql, type Kysely } from 'kysely';
import { engineOf } from './engine.js';

/**
 * The journal (api.md §8): one hash chain per register, append-only in the database itself. Triggers refuse UPDATE
 * and DELETE (and TRUNCATE on PostgreSQL) for every client, so a bug or a hand-written statement cannot rewrite
 * history; someone with DDL rights can still drop the triggers, which is what the hash chain then exposes.
 *
 * Triggers are where the engines' SQL differs (see ./engine.ts).
 */
const MIGRATION = '0003-journal';

const APPEND_ONLY = 'journal_entries is append-only';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('journal_entries')
    .addColumn('register_id', 'text', (c) => c.notNull().references('registers.id'))
    .addColumn('seq', 'bigint', (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('subject_id', 'text', (c) => c.notNull())
    .addColumn('payload', 'text', (c) => c.notNull())
    .addColumn('payload_hash', 'text', (c) => c.notNull())
    .addColumn('prev_hash', 'text', (c) => c.notNull())
    .addColumn('entry_hash', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('journal_entries_pk', ['register_id', 'seq'])
    .execute();
  // Listing and verification walk the primary key in seq order; `from`/`to` bound created_at within a register.
  await db.schema
    .createIndex('journal_entries_register_created')
    .on('journal_entries')
    .columns(['register_id', 'created_at', 'seq'])
    .execute();

  if (engineOf(db, MIGRATION) === 'sqlite') {
    for (const event of ['update', 'delete'] as const) {
      await sql`
        create trigger ${sql.id(`journal_entries_no_${event}`)} before ${sql.raw(event)} on journal_entries
        begin select raise(abort, ${sql.lit(APPEND_ONLY)}); end`.execute(db);
    }
    return;
  }
  await sql`
    create function journal_entries_append_only() returns trigger language plpgsql as $$
    begin
      raise exception '${sql.raw(APPEND_ONLY)}' using hint = 'Journal entries are never changed; append a new one.';
    end
    $$`.execute(db);
  for (const event of ['update', 'delete'] as const) {
    await sql`
      create trigger ${sql.id(`journal_entries_no_${event}`)} before ${sql.raw(event)} on journal_entries
      for each row execute function journal_entries_append_only()`.execute(db);
  }
  // Row triggers do not fire on TRUNCATE.
  await sql`
    create trigger journal_entries_no_truncate before truncate on journal_entries
    for each statement execute function journal_entries_append_only()`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  // Dropping the table drops its triggers on both engines.
  await db.schema.dropTable('journal_entries').execute();
  if (engineOf(db, MIGRATION) === 'postgres') await sql`drop function journal_entries_append_only()`.execute(db);
}
