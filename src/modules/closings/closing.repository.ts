import type { Insertable, Selectable, Updateable } from 'kysely';
import type { Database } from '../../db/database.js';
import { prepareQuery } from '../../db/prepared.js';
import { applyPage } from '../../db/pagination.js';
import type { ClosingsTable, ClosingState, ClosingType } from '../../db/schema.js';
import type { PageRequest } from '../../shared/pagination.js';
import type { OperationFacts } from './closing-summary.js';

export type ClosingRow = Selectable<ClosingsTable>;
export type ClosingChanges = Updateable<ClosingsTable>;

/** An operation as the summary reads it: type, state and the `data` JSON. */
export interface OperationFactsRow {
  readonly type: OperationFacts['type'];
  readonly state: OperationFacts['state'];
  readonly data: string;
  readonly final_journal_seq: bigint | null;
}

/** Registers whose daily closing the worker triggers. */
export interface ScheduledRegisterRow {
  readonly id: string;
  readonly platform_id: string;
  readonly organization_id: string;
  readonly closing_schedule: string;
  readonly timezone: string;
}

export function createClosingRepository(db: Pick<Database, 'executor'>) {
  const bucketTotals = prepareQuery(db, (q, p: { registerId: string; bucket: bigint }) =>
    q
      .selectFrom('closing_buckets')
      .select('totals')
      .where('register_id', '=', p.registerId)
      .where('bucket', '=', p.bucket),
  );
  const insertBucketRow = prepareQuery(
    db,
    (q, row: { register_id: string; bucket: bigint; totals: string; updated_at: string }) =>
      q.insertInto('closing_buckets').values(row),
  );
  const updateBucketRow = prepareQuery(db, (q, p: { registerId: string; bucket: bigint; totals: string; at: string }) =>
    q
      .updateTable('closing_buckets')
      .set({ totals: p.totals, updated_at: p.at })
      .where('register_id', '=', p.registerId)
      .where('bucket', '=', p.bucket),
  );
  const replaceBucketRow = prepareQuery(
    db,
    (q, p: { registerId: string; bucket: bigint; expected: string; totals: string; at: string }) =>
      q
        .updateTable('closing_buckets')
        .set({ totals: p.totals, updated_at: p.at })
        .where('register_id', '=', p.registerId)
        .where('bucket', '=', p.bucket)
        .where('totals', '=', p.expected),
  );

  return {
    async insert(row: Insertable<ClosingsTable>): Promise<void> {
      await db.executor().insertInto('closings').values(row).execute();
    },

    async find(organizationId: string, id: string): Promise<ClosingRow | undefined> {
      return db
        .executor()
        .selectFrom('closings')
        .selectAll()
        .where('organization_id', '=', organizationId)
        .where('id', '=', id)
        .executeTakeFirst();
    },

    /** For the worker, which acts for no tenant. */
    async findById(id: string): Promise<ClosingRow | undefined> {
      return db.executor().selectFrom('closings').selectAll().where('id', '=', id).executeTakeFirst();
    },

    async update(id: string, changes: ClosingChanges): Promise<void> {
      await db.executor().updateTable('closings').set(changes).where('id', '=', id).execute();
    },

    async list(registerId: string, type: ClosingType | undefined, page: PageRequest): Promise<ClosingRow[]> {
      let query = db.executor().selectFrom('closings').selectAll().where('register_id', '=', registerId);
      if (type !== undefined) query = query.where('type', '=', type);
      return applyPage(query, 'closings', page).execute();
    },

    /** The latest closing of a type (the previous period's end), or undefined before the first. */
    async latest(registerId: string, type: ClosingType): Promise<ClosingRow | undefined> {
      return db
        .executor()
        .selectFrom('closings')
        .selectAll()
        .where('register_id', '=', registerId)
        .where('type', '=', type)
        .orderBy('z_number', 'desc')
        .limit(1)
        .executeTakeFirst();
    },

    /** A closing not yet signed and completed (pending, or failed before completion), which blocks the next. */
    async unfinished(registerId: string): Promise<ClosingRow | undefined> {
      const states: ClosingState[] = ['pending', 'failed'];
      return db
        .executor()
        .selectFrom('closings')
        .selectAll()
        .where('register_id', '=', registerId)
        .where('state', 'in', states)
        .where('completed_at', 'is', null)
        .orderBy('created_at')
        .limit(1)
        .executeTakeFirst();
    },

    async findScheduled(registerId: string, slot: string): Promise<ClosingRow | undefined> {
      return db
        .executor()
        .selectFrom('closings')
        .selectAll()
        .where('register_id', '=', registerId)
        .where('type', '=', 'daily')
        .where('scheduled_for', '=', slot)
        .executeTakeFirst();
    },

    async scheduledRegisters(): Promise<ScheduledRegisterRow[]> {
      const rows = await db
        .executor()
        .selectFrom('registers')
        .innerJoin('locations', 'locations.id', 'registers.location_id')
        .select([
          'registers.id',
          'registers.platform_id',
          'registers.organization_id',
          'registers.closing_schedule',
          'locations.timezone',
        ])
        .where('registers.closing_schedule', 'is not', null)
        .where('registers.state', '=', 'active')
        .execute();
      return rows.flatMap((row) =>
        row.closing_schedule === null ? [] : [{ ...row, closing_schedule: row.closing_schedule }],
      );
    },

    /** Open sales, refunds and exchanges of the register (what blocks a daily, monthly or annual closing). */
    async openOperationIds(registerId: string): Promise<string[]> {
      // Sorted here, not in SQL: an ORDER BY sequence_number makes SQLite walk the (register, sequence) index over
      // every operation of the register instead of the few open ones (register, state).
      const rows = await db
        .executor()
        .selectFrom('operations')
        .select(['id', 'sequence_number'])
        .where('register_id', '=', registerId)
        .where('state', '=', 'open')
        .where('type', 'in', ['sale', 'training', 'refund', 'exchange'])
        .execute();
      return rows
        .sort((a, b) => (a.sequence_number < b.sequence_number ? -1 : a.sequence_number > b.sequence_number ? 1 : 0))
        .map((row) => row.id);
    },

    // ----------------------------------------------------------------------------------------------------------
    // Buckets and period scans
    // ----------------------------------------------------------------------------------------------------------

    async bucket(registerId: string, bucket: bigint): Promise<string | undefined> {
      return (await bucketTotals.first({ registerId, bucket }))?.totals;
    },

    async insertBucket(registerId: string, bucket: bigint, totals: string, at: string): Promise<void> {
      await insertBucketRow.run({ register_id: registerId, bucket, totals, updated_at: at });
    },

    async updateBucket(registerId: string, bucket: bigint, totals: string, at: string): Promise<void> {
      await updateBucketRow.run({ registerId, bucket, totals, at });
    },

    /** Sets the bucket's totals only if they are still `expected` (compare and set); false if they were not. */
    async replaceBucket(
      registerId: string,
      bucket: bigint,
      expected: string,
      totals: string,
      at: string,
    ): Promise<boolean> {
      return (await replaceBucketRow.run({ registerId, bucket, expected, totals, at })) === 1n;
    },

    /** Buckets `first..last` (inclusive), whichever exist. */
    async bucketRange(registerId: string, first: bigint, last: bigint): Promise<string[]> {
      if (last < first) return [];
      const rows = await db
        .executor()
        .selectFrom('closing_buckets')
        .select('totals')
        .where('register_id', '=', registerId)
        .where('bucket', '>=', first)
        .where('bucket', '<=', last)
        .execute();
      return rows.map((row) => row.totals);
    },

    /** Operations finished with a journal seq in `(from, to]`, in seq order, at most `limit`. */
    async operationsFinishedBetween(
      registerId: string,
      from: bigint,
      to: bigint,
      limit: number,
    ): Promise<OperationFactsRow[]> {
      return db
        .executor()
        .selectFrom('operations')
        .select(['type', 'state', 'data', 'final_journal_seq'])
        .where('register_id', '=', registerId)
        .where('final_journal_seq', '>', from)
        .where('final_journal_seq', '<=', to)
        .orderBy('final_journal_seq')
        .limit(limit)
        .execute();
    },

    async openingsBetween(
      registerId: string,
      from: bigint,
      to: bigint,
    ): Promise<Array<{ operation_id: string | null }>> {
      return db
        .executor()
        .selectFrom('cash_drawer_openings')
        .select('operation_id')
        .where('register_id', '=', registerId)
        .where('journal_seq', '>', from)
        .where('journal_seq', '<=', to)
        .execute();
    },
  };
}

export type ClosingRepository = ReturnType<typeof createClosingRepository>;
