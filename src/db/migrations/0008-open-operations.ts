import { sql, type Kysely } from 'kysely';

/**
 * `registers.open_operations`: how many of the register's operations are open. A sale, refund or exchange adds one
 * when it starts and takes it away when it is completed or cancelled, under the register's lock; the limit of open
 * operations per register is checked against it.
 *
 * It replaces counting the rows with `state = 'open'`. On PostgreSQL that count read every version of the
 * register's operations that had ever been open, up to the next vacuum (a completed operation's old version keeps
 * its `open` index entry until then), so it grew with the register's history: the soak's rate halved in ten
 * minutes. Registers stored before are given theirs here.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('registers')
    .addColumn('open_operations', 'bigint', (c) => c.notNull().defaultTo(0))
    .execute();
  await countOpenOperations(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('registers').dropColumn('open_operations').execute();
}

/** Sets every register's `open_operations` to the number of its operations in state `open`. */
export async function countOpenOperations(db: Kysely<unknown>): Promise<void> {
  await sql`
    update registers set open_operations = (
      select count(*) from operations where operations.register_id = registers.id and operations.state = 'open'
    )`.execute(db);
}
