import { sql, type QueryCreator, type Selectable } from 'kysely';
import type { Database } from '../../db/database.js';
import { prepareQuery } from '../../db/prepared.js';
import type { DB, JournalEntriesTable } from '../../db/schema.js';
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

/** A journal entry's columns, for statements that name them all (INSERT … SELECT). */
export const JOURNAL_ENTRY_COLUMNS = [
  'register_id',
  'seq',
  'type',
  'subject_id',
  'payload',
  'payload_hash',
  'prev_hash',
  'entry_hash',
  'created_at',
] as const;

export function createJournalRepository(db: Pick<Database, 'executor' | 'capabilities'>) {
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

  // Appending right after a known head: the register's length moves from `previous` to the entry's seq only if it
  // is still `previous` and entry `previous` is still the head the caller linked to (its hash), else nothing moves.
  type AfterHead = JournalEntryRow & { readonly previous: bigint };
  type Move = Pick<AfterHead, 'register_id' | 'seq' | 'prev_hash' | 'previous'>;
  const takeSeqAfter = (q: QueryCreator<DB>, p: Move) =>
    q
      .updateTable('registers')
      .set({ journal_length: p.seq })
      .where('registers.id', '=', p.register_id)
      .where('registers.journal_length', '=', p.previous)
      .where((eb) =>
        eb.exists(
          eb
            .selectFrom('journal_entries')
            .select('journal_entries.seq')
            .where('journal_entries.register_id', '=', p.register_id)
            .where('journal_entries.seq', '=', p.previous)
            .where('journal_entries.entry_hash', '=', p.prev_hash),
        ),
      );
  const moveLength = prepareQuery(db, takeSeqAfter);
  // PostgreSQL: the move and the insert in one statement; the insert selects from the move, so it inserts nothing
  // when nothing moved. Parameters in a SELECT list have no type from their context, hence the casts.
  const appendAfterHead = prepareQuery(db, (q, p: AfterHead) =>
    q
      .with('taken', (w) => takeSeqAfter(w, p).returning('registers.journal_length'))
      .insertInto('journal_entries')
      .columns(JOURNAL_ENTRY_COLUMNS)
      .expression((eb) =>
        eb
          .selectFrom('taken')
          .select(
            JOURNAL_ENTRY_COLUMNS.map((column) =>
              column === 'seq'
                ? sql<bigint>`taken.journal_length`.as('seq')
                : sql<string>`cast(${p[column]} as text)`.as(column),
            ),
          ),
      ),
  );

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

    /**
     * Appends `row` as the entry right after entry `row.seq - 1`, whose hash is `row.prev_hash`, if that entry is
     * still the register's last: moves `journal_length` and inserts (on PostgreSQL in one statement). False, and
     * nothing written, if the journal is not where the caller thought (then {@link takeNextSeq} as usual).
     */
    async appendAfterHead(row: JournalEntryRow): Promise<boolean> {
      const parameters = { ...row, previous: row.seq - 1n };
      if (db.capabilities.writesInWith) return (await appendAfterHead.run(parameters)) === 1n;
      const { register_id, seq, prev_hash, previous } = parameters;
      if ((await moveLength.run({ register_id, seq, prev_hash, previous })) !== 1n) return false;
      await insertRow.run(row);
      return true;
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
