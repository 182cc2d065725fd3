import type { Insertable, Selectable, Updateable } from 'kysely';
import type { Database } from '../../db/database.js';
import { applyPage } from '../../db/pagination.js';
import type { OperationsTable, OperationType } from '../../db/schema.js';
import type { PageRequest } from '../../shared/pagination.js';

export type OperationRow = Selectable<OperationsTable>;
export type OperationChanges = Updateable<OperationsTable>;

export interface OperationFilters {
  readonly types?: readonly OperationType[];
  readonly state?: OperationRow['state'];
}

export function createOperationRepository(db: Pick<Database, 'executor'>) {
  return {
    async insert(row: Insertable<OperationsTable>): Promise<void> {
      await db.executor().insertInto('operations').values(row).execute();
    },

    async find(organizationId: string, id: string): Promise<OperationRow | undefined> {
      return db
        .executor()
        .selectFrom('operations')
        .selectAll()
        .where('organization_id', '=', organizationId)
        .where('id', '=', id)
        .executeTakeFirst();
    },

    /** Re-reads a row while holding its lock (PostgreSQL) so that concurrent changes of it serialise. */
    async findForUpdate(id: string): Promise<OperationRow | undefined> {
      await db
        .executor()
        .updateTable('operations')
        .set((eb) => ({ updated_at: eb.ref('updated_at') }))
        .where('id', '=', id)
        .execute();
      return db.executor().selectFrom('operations').selectAll().where('id', '=', id).executeTakeFirst();
    },

    async update(id: string, changes: OperationChanges): Promise<void> {
      await db.executor().updateTable('operations').set(changes).where('id', '=', id).execute();
    },

    async listByRegister(registerId: string, filters: OperationFilters, page: PageRequest): Promise<OperationRow[]> {
      let query = db.executor().selectFrom('operations').selectAll().where('register_id', '=', registerId);
      if (filters.types !== undefined) query = query.where('type', 'in', filters.types);
      if (filters.state !== undefined) query = query.where('state', '=', filters.state);
      return applyPage(query, 'operations', page).execute();
    },

    /** How many sales, refunds and exchanges of the register are open (uses the (register, state) index). */
    async countOpen(registerId: string): Promise<number> {
      const row = await db
        .executor()
        .selectFrom('operations')
        .select((eb) => eb.fn.countAll<bigint | number | string>().as('count'))
        .where('register_id', '=', registerId)
        .where('state', '=', 'open')
        .executeTakeFirst();
      return Number(row?.count ?? 0);
    },

    /** Refunds and exchanges of an original that are not cancelled (they hold or have given back its lines). */
    async listReturnsOf(originalId: string): Promise<OperationRow[]> {
      return db
        .executor()
        .selectFrom('operations')
        .selectAll()
        .where('original_operation_id', '=', originalId)
        .where('type', 'in', ['refund', 'exchange'])
        .where('state', '!=', 'cancelled')
        .execute();
    },
  };
}

export type OperationRepository = ReturnType<typeof createOperationRepository>;
