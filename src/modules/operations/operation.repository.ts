import type { Insertable, Selectable, Updateable } from 'kysely';
import type { Database } from '../../db/database.js';
import { prepareQuery } from '../../db/prepared.js';
import { applyPage } from '../../db/pagination.js';
import type { OperationsTable, OperationType } from '../../db/schema.js';
import type { PageRequest } from '../../shared/pagination.js';

export type OperationRow = Selectable<OperationsTable>;
export type OperationChanges = Updateable<OperationsTable>;

export interface OperationFilters {
  readonly types?: readonly OperationType[];
  readonly state?: OperationRow['state'];
}

export function createOperationRepository(db: Pick<Database, 'executor' | 'capabilities'>) {
  const insertRow = prepareQuery(db, (q, row: Insertable<OperationsTable>) => q.insertInto('operations').values(row));
  const findInOrganization = prepareQuery(db, (q, p: { organizationId: string; id: string }) =>
    q.selectFrom('operations').selectAll().where('organization_id', '=', p.organizationId).where('id', '=', p.id),
  );
  // PostgreSQL only (SQLite has no FOR UPDATE, and needs no row lock): compiled at its first use.
  const findByIdLocked = prepareQuery(db, (q, p: { id: string }) =>
    q.selectFrom('operations').selectAll().where('id', '=', p.id).forUpdate(),
  );
  const findInOrganizationLocked = prepareQuery(db, (q, p: { organizationId: string; id: string }) =>
    q
      .selectFrom('operations')
      .selectAll()
      .where('organization_id', '=', p.organizationId)
      .where('id', '=', p.id)
      .forUpdate(),
  );
  const updateRow = prepareQuery(db, (q, { id, ...changes }: OperationChanges & { readonly id: string }) =>
    q.updateTable('operations').set(changes).where('id', '=', id),
  );
  const closeOnRegister = prepareQuery(db, (q, p: { registerId: string }) =>
    q
      .updateTable('registers')
      .set((eb) => ({ open_operations: eb('open_operations', '-', 1n) }))
      .where('id', '=', p.registerId),
  );

  return {
    async insert(row: Insertable<OperationsTable>): Promise<void> {
      // Nothing in the unit of work needs its outcome: it may ride with the next statement (the journal entry's).
      await insertRow.defer(row);
    },

    async find(organizationId: string, id: string): Promise<OperationRow | undefined> {
      return findInOrganization.first({ organizationId, id });
    },

    /**
     * The row as it is under its lock, for a row read earlier in the same transaction: re-read while holding the
     * row lock (PostgreSQL), so that concurrent changes of it serialise. SQLite runs one write transaction at a
     * time, so nothing can have changed it since it was read: the row is returned as it is.
     */
    async locked(row: OperationRow): Promise<OperationRow> {
      if (!db.capabilities.supportsRowLocks) return row;
      return (await findByIdLocked.first({ id: row.id })) ?? row;
    },

    /** {@link find} under the row's lock (PostgreSQL; SQLite runs one write transaction at a time, as above). */
    async findLocked(organizationId: string, id: string): Promise<OperationRow | undefined> {
      return db.capabilities.supportsRowLocks
        ? findInOrganizationLocked.first({ organizationId, id })
        : findInOrganization.first({ organizationId, id });
    },

    async update(id: string, changes: OperationChanges): Promise<void> {
      await updateRow.run({ ...changes, id });
    },

    /**
     * {@link update} for the change that ends an operation counted among its register's open ones (see the
     * register's `open_operations`): the register `closedOn` counts one fewer, in the same transaction.
     */
    async updateClosing(id: string, changes: OperationChanges, closedOn: string): Promise<void> {
      // Nothing in the unit of work needs their outcome: on PostgreSQL both ride with the next statement (the
      // closing totals' update), where the operation's end and its register's count go in one round trip.
      await updateRow.defer({ ...changes, id });
      await closeOnRegister.defer({ registerId: closedOn });
    },

    async listByRegister(registerId: string, filters: OperationFilters, page: PageRequest): Promise<OperationRow[]> {
      let query = db.executor().selectFrom('operations').selectAll().where('register_id', '=', registerId);
      if (filters.types !== undefined) query = query.where('type', 'in', filters.types);
      if (filters.state !== undefined) query = query.where('state', '=', filters.state);
      return applyPage(query, 'operations', page).execute();
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
