import type { Database } from '../../db/database.js';
import { prepareQuery } from '../../db/prepared.js';
import { applyPage } from '../../db/pagination.js';
import { sql, type Insertable, type Kysely, type Selectable } from 'kysely';
import type { DB, RegistersTable } from '../../db/schema.js';
import type { PageRequest } from '../../shared/pagination.js';

export type RegisterRow = Selectable<RegistersTable>;

/** A register as a fiscal event needs it: with its location's IANA time zone (business day, local receipt times). */
export type EventRegister = RegisterRow & { readonly location_timezone: string };
export type RegisterChanges = Partial<
  Pick<
    RegisterRow,
    'label' | 'serial_number' | 'metadata' | 'state' | 'archived_at' | 'updated_at' | 'closing_schedule'
  >
>;

export function createRegisterRepository(db: Pick<Database, 'executor' | 'capabilities'>) {
  const findInOrganization = prepareQuery(db, (q, p: { organizationId: string; id: string }) =>
    q.selectFrom('registers').selectAll().where('organization_id', '=', p.organizationId).where('id', '=', p.id),
  );
  // PostgreSQL only (SQLite has no FOR UPDATE, and runs one writer at a time): compiled at its first use.
  const findInOrganizationLocked = prepareQuery(db, (q, p: { organizationId: string; id: string }) =>
    q
      .selectFrom('registers')
      .selectAll()
      .where('organization_id', '=', p.organizationId)
      .where('id', '=', p.id)
      .forUpdate(),
  );
  // The register and its location's time zone in one statement: a fiscal event needs both, on every request.
  const eventRegisters = (q: Kysely<DB>, organizationId: string) =>
    q
      .selectFrom('registers')
      .innerJoin('locations', 'locations.id', 'registers.location_id')
      .selectAll('registers')
      .select('locations.timezone as location_timezone')
      .where('registers.organization_id', '=', organizationId);
  const registerForEvent = (q: Kysely<DB>, p: { organizationId: string; id: string }) =>
    eventRegisters(q, p.organizationId).where('registers.id', '=', p.id);
  const findForEvent = prepareQuery(db, registerForEvent);
  // PostgreSQL only, as above; the lock is the register row's alone.
  const findForEventLocked = prepareQuery(db, (q, p: { organizationId: string; id: string }) =>
    registerForEvent(q, p).forUpdate('registers'),
  );
  // The same for the register of an operation, found by the operation's id: a change of an operation needs no read
  // of the operation before the register lock. The subquery reads only `register_id`, which never changes.
  const registerOfOperation = (q: Kysely<DB>, p: { organizationId: string; operationId: string }) =>
    eventRegisters(q, p.organizationId).where('registers.id', '=', (eb) =>
      eb
        .selectFrom('operations')
        .select('operations.register_id')
        .where('operations.organization_id', '=', p.organizationId)
        .where('operations.id', '=', p.operationId),
    );
  const findForOperationEvent = prepareQuery(db, registerOfOperation);
  const findForOperationEventLocked = prepareQuery(db, (q, p: { organizationId: string; operationId: string }) =>
    registerOfOperation(q, p).forUpdate('registers'),
  );
  const lockRow = prepareQuery(db, (q, p: { id: string }) =>
    q
      .updateTable('registers')
      .set((eb) => ({ last_sequence_number: eb.ref('last_sequence_number') }))
      .where('id', '=', p.id),
  );
  const takeSequenceNumber = prepareQuery(db, (q, p: { id: string; opened: 0n | 1n }) =>
    q
      .updateTable('registers')
      .set((eb) => ({
        last_sequence_number: eb('last_sequence_number', '+', 1n),
        open_operations: eb('open_operations', '+', p.opened),
      }))
      .where('id', '=', p.id)
      .returning(['last_sequence_number', 'open_operations']),
  );

  return {
    async insert(row: Insertable<RegistersTable>): Promise<void> {
      await db.executor().insertInto('registers').values(row).execute();
    },

    async find(organizationId: string, id: string): Promise<RegisterRow | undefined> {
      return findInOrganization.first({ organizationId, id });
    },

    /** {@link find} and {@link lock} in one statement: the row as it is under its lock. */
    async findLocked(organizationId: string, id: string): Promise<RegisterRow | undefined> {
      return db.capabilities.supportsRowLocks
        ? findInOrganizationLocked.first({ organizationId, id })
        : findInOrganization.first({ organizationId, id });
    },

    /** {@link find} with the location's time zone; `locked` as {@link findLocked}. */
    async findForEvent(organizationId: string, id: string, locked: boolean): Promise<EventRegister | undefined> {
      return locked && db.capabilities.supportsRowLocks
        ? findForEventLocked.first({ organizationId, id })
        : findForEvent.first({ organizationId, id });
    },

    /** {@link findForEvent} for the register of the operation `operationId`; undefined if there is no such operation. */
    async findForOperationEvent(
      organizationId: string,
      operationId: string,
      locked: boolean,
    ): Promise<EventRegister | undefined> {
      return locked && db.capabilities.supportsRowLocks
        ? findForOperationEventLocked.first({ organizationId, operationId })
        : findForOperationEvent.first({ organizationId, operationId });
    },

    async serialNumberInUse(organizationId: string, serialNumber: string, exceptId: string | null): Promise<boolean> {
      let query = db
        .executor()
        .selectFrom('registers')
        .select('id')
        .where('organization_id', '=', organizationId)
        .where('serial_number', '=', serialNumber);
      if (exceptId !== null) query = query.where('id', '!=', exceptId);
      return (await query.executeTakeFirst()) !== undefined;
    },

    async listByLocation(organizationId: string, locationId: string, page: PageRequest): Promise<RegisterRow[]> {
      const query = db
        .executor()
        .selectFrom('registers')
        .selectAll()
        .where('organization_id', '=', organizationId)
        .where('location_id', '=', locationId);
      return applyPage(query, 'registers', page).execute();
    },

    async setActiveFiscalUnit(id: string, fiscalUnitId: string | null, at: string): Promise<void> {
      await db
        .executor()
        .updateTable('registers')
        .set((eb) => ({
          active_fiscal_unit_id: fiscalUnitId,
          // The first provisioning fixes the serial number for good.
          fiscalized_at: eb.fn.coalesce('fiscalized_at', eb.val(at)),
          updated_at: at,
        }))
        .where('id', '=', id)
        .execute();
    },

    /**
     * Locks the register row until commit (a no-op write): every fiscal event takes this lock first, so the locks
     * of the register, its signing device and its journal are always taken in the same order.
     */
    async lock(id: string): Promise<void> {
      // SQLite runs one write transaction at a time: the order of locks is given, and the no-op write is saved.
      if (db.capabilities.supportsRowLocks) await lockRow.run({ id });
    },

    /**
     * Takes the register's next operation sequence number and, when the operation `staysOpen`, counts it among the
     * open ones; the UPDATE holds the register row until commit. Returns the number and the open operations after.
     */
    async nextSequenceNumber(
      id: string,
      staysOpen: boolean,
    ): Promise<{ sequenceNumber: bigint; openOperations: number }> {
      const row = await takeSequenceNumber.first({ id, opened: staysOpen ? 1n : 0n });
      if (row === undefined) throw new Error(`register ${id} does not exist`);
      return { sequenceNumber: row.last_sequence_number, openOperations: Number(row.open_operations) };
    },

    /** Sets `open_operations` to the open rows' count, plus one when `starting`; returns it. */
    async recountOpenOperations(id: string, starting: boolean): Promise<number> {
      const row = await db
        .executor()
        .updateTable('registers')
        .set({
          open_operations: sql<bigint>`(select count(*) from operations where register_id = ${id} and state = 'open') + ${
            starting ? 1 : 0
          }`,
        })
        .where('id', '=', id)
        .returning('open_operations')
        .executeTakeFirstOrThrow();
      return Number(row.open_operations);
    },

    /** For the worker, which acts for no tenant. */
    async findById(id: string): Promise<RegisterRow | undefined> {
      return db.executor().selectFrom('registers').selectAll().where('id', '=', id).executeTakeFirst();
    },

    async update(id: string, changes: RegisterChanges): Promise<void> {
      await db.executor().updateTable('registers').set(changes).where('id', '=', id).execute();
    },
  };
}

export type RegisterRepository = ReturnType<typeof createRegisterRepository>;
