import { sql, type Kysely } from 'kysely';
import { engineOf } from './engine.js';

/**
 * PostgreSQL: each signing device's row gets a page of its own, with room for the new versions of its counters.
 *
 * Every sale updates its TSE's counters twice, and the counters live in the device's row next to its key and
 * certificate (about 1.2 KB). Packed four or more to a page, the rows left no room for a new version on their page,
 * so a fifth of the updates went to another page and added an index entry (measured: 1 470 of 7 044 in a 10 s sales
 * run, 3.4 MB for 16 rows); without a vacuum, which this project cannot count on, both keep growing. With fillfactor
 * 10, an INSERT fills a page only to a tenth, so every device's row starts on a page of its own, and an UPDATE finds
 * room for its new version there (HOT: no index entry; the old versions are pruned from the page). Rows stored before
 * move to such pages as they are updated. SQLite writes a row in place and has no such setting.
 */
const MIGRATION = '0010-signing-devices-fillfactor';

export async function up(db: Kysely<unknown>): Promise<void> {
  if (engineOf(db, MIGRATION) !== 'postgres') return;
  await sql`alter table signing_devices set (fillfactor = 10)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  if (engineOf(db, MIGRATION) !== 'postgres') return;
  await sql`alter table signing_devices reset (fillfactor)`.execute(db);
}
