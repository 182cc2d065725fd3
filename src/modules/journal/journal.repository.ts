import { sql, type Selectable } from 'kysely';
import type { Database } from '../../db/database.js';
import { prepareQuery } from '../../db/prepared.js';
import type { JournalEntriesTable } from '../../db/schema.js';
import type { SortOrder } from '../../shared/pagination.js';

export type JournalEntryRow = Selectable<JournalEntriesTable>;

/** A validated journal list request: keyset on `seq` instead of `(created_at, id)`. */
export interface JournalPageRequest {
  readonly limit: number;
  /** The last seq of the previous page, or null for the first page. */
  readonly afterSeq: bigint | null;
  readonly from: string | null;
  readonly to: string | null;
  readonly order: SortOrder;
}

export function createJournalRepository(db: Pick<Database, 'executor'>) {
  const takeSeq = prepareQuery(db, (q, p: { registerId: string }) =>
    q
      .updateTable('registers')
      .set({ journal_length: sql<bigint>`journal_length + 1` })
      .where('id', '=', p.registerId)
      .returning('journal_length'),
  );
  const hashOf = prepareQuery(db, (q, p: { registerId: string; seq: bigint }) =>
    q
      .selectFrom('journal_entries')
      .select('entry_hash')
      .where('register_id', '=', p.registerId)
      .where('seq', '=', p.seq),
  );
  const insertRow = prepareQuery(db, (q, row: JournalEntryRow) => q.insertInto('journal_entries').values(row));

  return {
    /**
     * Takes the register's next seq. The UPDATE also locks the register row until the transaction ends, which
     * serialises appends per register on PostgreSQL (SQLite write transactions are serial anyway). Undefined if the
     * register does not exist.
     */
    async takeNextSeq(registerId: string): Promise<bigint | undefined> {
      return (await takeSeq.first({ registerId }))?.journal_length;
    },

    async entryHash(registerId: string, seq: bigint): Promise<string | undefined> {
      return (await hashOf.first({ registerId, seq }))?.entry_hash;
    },

    async insert(row: JournalEntryRow): Promise<void> {
      await insertRow.run(row);
    },

    /** Up to `limit + 1` entries in page order (the extra one only tells that there is more). */
    async list(registerId: string, page: JournalPageRequest): Promise<JournalEntryRow[]> {
      let query = db.executor().selectFrom('journal_entries').selectAll().where('register_id', '=', registerId);
      if (page.from !== null) query = query.where('created_at', '>=', page.from);
      if (page.to !== null) query = query.where('created_at', '<=', page.to);
      if (page.afterSeq !== null) query = query.where('seq', page.order === 'asc' ? '>' : '<', page.afterSeq);
      return query
        .orderBy('seq', page.order)
        .limit(page.limit + 1)
        .execute();
    },

    /** Entries with `afterSeq < seq <= upToSeq` in seq order, at most `limit`: one batch of a verification walk. */
    async batch(registerId: string, afterSeq: bigint, upToSeq: bigint, limit: number): Promise<JournalEntryRow[]> {
      return db
        .executor()
        .selectFrom('journal_entries')
        .selectAll()
        .where('register_id', '=', registerId)
        .where('seq', '>', afterSeq)
        .where('seq', '<=', upToSeq)
        .orderBy('seq', 'asc')
        .limit(limit)
        .execute();
    },

    /** The register's `journal_length`, or undefined if there is no such register (operators' lookups, no tenant). */
    async length(registerId: string): Promise<bigint | undefined> {
      const row = await db
        .executor()
        .selectFrom('registers')
        .select('journal_length')
        .where('id', '=', registerId)
        .executeTakeFirst();
      return row?.journal_length;
    },

    /** The highest seq stored for the register (0 when none). */
    async maxSeq(registerId: string): Promise<bigint> {
      const row = await db
        .executor()
        .selectFrom('journal_entries')
        .select(sql<bigint | null>`max(seq)`.as('max_seq'))
        .where('register_id', '=', registerId)
        .executeTakeFirst();
      return row?.max_seq ?? 0n;
    },
  };
}

export type JournalRepository = ReturnType<typeof createJournalRepository>;
