import { sql, type Kysely } from 'kysely';

/**
 * The two indexes of `operations` whose column is null while an operation is open hold only the rows that have a
 * value. Every sale's start inserted a null into both (`original_operation_id` is set on refunds, exchanges and
 * voids only; `final_journal_seq` when the operation ends), and its completion moved the second from null to its
 * seq: two index writes per sale that nothing reads. The queries that use them compare the column with a value
 * (`=`, `>`, `<=`), which both engines know implies `is not null`, so they keep using them.
 */
const PARTIAL = [
  { name: 'operations_original', columns: ['original_operation_id'], column: 'original_operation_id' },
  { name: 'operations_register_final_seq', columns: ['register_id', 'final_journal_seq'], column: 'final_journal_seq' },
] as const;

/** Builds each index again, holding only the rows with a value (`partial`) or every row. */
async function rebuild(db: Kysely<unknown>, partial: boolean): Promise<void> {
  for (const index of PARTIAL) {
    await db.schema.dropIndex(index.name).execute();
    const create = db.schema
      .createIndex(index.name)
      .on('operations')
      .columns([...index.columns]);
    await (partial ? create.where(sql.ref(index.column), 'is not', null) : create).execute();
  }
}

export async function up(db: Kysely<unknown>): Promise<void> {
  await rebuild(db, true);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await rebuild(db, false);
}
