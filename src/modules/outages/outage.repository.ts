import type { Selectable } from 'kysely';
import type { Database } from '../../db/database.js';
import { applyPage } from '../../db/pagination.js';
import type { FiscalUnitOutagesTable } from '../../db/schema.js';
import type { PageRequest } from '../../shared/pagination.js';

export type OutageRow = Selectable<FiscalUnitOutagesTable>;

/** What starts an outage: every column but `ended_at`, which is null until the unit signs again. */
export type NewOutage = Omit<OutageRow, 'ended_at'>;

export interface OutageFilters {
  /** true: only outages still lasting (`ended_at` null); false: only ended ones; undefined: both. */
  readonly ongoing?: boolean | undefined;
}

/** Outages of fiscal units (`fiscal_unit_outages`). Every call joins the ambient transaction. */
export function createOutageRepository(db: Pick<Database, 'executor'>) {
  return {
    /** Records that the unit's outage began (its first failed signing). */
    async open(row: NewOutage): Promise<void> {
      await db
        .executor()
        .insertInto('fiscal_unit_outages')
        .values({ ...row, ended_at: null })
        .execute();
    },

    /** The unit's outage that has not ended yet, or undefined (the newest, should there ever be two). */
    async findOpen(fiscalUnitId: string): Promise<OutageRow | undefined> {
      return db
        .executor()
        .selectFrom('fiscal_unit_outages')
        .selectAll()
        .where('fiscal_unit_id', '=', fiscalUnitId)
        .where('ended_at', 'is', null)
        .orderBy('started_at', 'desc')
        .orderBy('id', 'desc')
        .executeTakeFirst();
    },

    /** Ends an ongoing outage (the unit signed again at `endedAt`); an outage that already ended is left as it is. */
    async close(id: string, endedAt: string): Promise<void> {
      await db
        .executor()
        .updateTable('fiscal_unit_outages')
        .set({ ended_at: endedAt, updated_at: endedAt })
        .where('id', '=', id)
        .where('ended_at', 'is', null)
        .execute();
    },

    /** Up to `limit + 1` outages of the register's fiscal units in page order (keyset on `created_at`, `id`). */
    async listByRegister(registerId: string, page: PageRequest, filters: OutageFilters = {}): Promise<OutageRow[]> {
      let query = db.executor().selectFrom('fiscal_unit_outages').selectAll().where('register_id', '=', registerId);
      if (filters.ongoing === true) query = query.where('ended_at', 'is', null);
      if (filters.ongoing === false) query = query.where('ended_at', 'is not', null);
      return applyPage(query, 'fiscal_unit_outages', page).execute();
    },
  };
}

export type OutageRepository = ReturnType<typeof createOutageRepository>;
