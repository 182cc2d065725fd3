import type { Insertable, Selectable, Updateable } from 'kysely';
import type { Database } from '../../db/database.js';
import { prepareQuery } from '../../db/prepared.js';
import { applyPage } from '../../db/pagination.js';
import type { FiscalUnitsTable, SigningDevicesTable, TseLogMessagesTable } from '../../db/schema.js';
import type { PageRequest } from '../../shared/pagination.js';

export type FiscalUnitRow = Selectable<FiscalUnitsTable>;
export type FiscalUnitChanges = Updateable<FiscalUnitsTable>;
export type SigningDeviceRow = Selectable<SigningDevicesTable>;

export interface DeviceCounters {
  readonly signatureCounter: bigint;
  readonly transactionCounter: bigint;
}

export function createFiscalUnitRepository(db: Pick<Database, 'executor' | 'capabilities'>) {
  const findUnitById = prepareQuery(db, (q, p: { id: string }) =>
    q.selectFrom('fiscal_units').selectAll().where('id', '=', p.id),
  );
  const advanceSignatureCounter = prepareQuery(db, (q, p: { fiscalUnitId: string }) =>
    q
      .updateTable('signing_devices')
      .set((eb) => ({ signature_counter: eb('signature_counter', '+', 1n) }))
      .where('fiscal_unit_id', '=', p.fiscalUnitId)
      .returning(['signature_counter', 'transaction_counter']),
  );
  const advanceBothCounters = prepareQuery(db, (q, p: { fiscalUnitId: string }) =>
    q
      .updateTable('signing_devices')
      .set((eb) => ({
        signature_counter: eb('signature_counter', '+', 1n),
        transaction_counter: eb('transaction_counter', '+', 1n),
      }))
      .where('fiscal_unit_id', '=', p.fiscalUnitId)
      .returning(['signature_counter', 'transaction_counter']),
  );
  const insertLog = prepareQuery(db, (q, row: Insertable<TseLogMessagesTable>) =>
    q.insertInto('tse_log_messages').values(row),
  );

  return {
    async insert(row: Insertable<FiscalUnitsTable>): Promise<void> {
      await db.executor().insertInto('fiscal_units').values(row).execute();
    },

    async find(organizationId: string, id: string): Promise<FiscalUnitRow | undefined> {
      return db
        .executor()
        .selectFrom('fiscal_units')
        .selectAll()
        .where('organization_id', '=', organizationId)
        .where('id', '=', id)
        .executeTakeFirst();
    },

    async findById(id: string): Promise<FiscalUnitRow | undefined> {
      return findUnitById.first({ id });
    },

    async listByRegister(registerId: string, page: PageRequest): Promise<FiscalUnitRow[]> {
      const query = db.executor().selectFrom('fiscal_units').selectAll().where('register_id', '=', registerId);
      return applyPage(query, 'fiscal_units', page).execute();
    },

    async update(id: string, changes: FiscalUnitChanges): Promise<void> {
      await db.executor().updateTable('fiscal_units').set(changes).where('id', '=', id).execute();
    },

    /**
     * The register's open operations, counted from the rows: a unit is taken out of service only when none is open,
     * so this does not trust `registers.open_operations`, which can drift (registers.service, recountOpenOperations).
     */
    async countOpenOperations(registerId: string): Promise<number> {
      const row = await db
        .executor()
        .selectFrom('operations')
        .select((eb) => eb.fn.countAll<string | number | bigint>().as('count'))
        .where('register_id', '=', registerId)
        .where('state', '=', 'open')
        .executeTakeFirstOrThrow();
      return Number(row.count);
    },

    async insertDevice(row: Insertable<SigningDevicesTable>): Promise<void> {
      await db.executor().insertInto('signing_devices').values(row).execute();
    },

    async findDevice(fiscalUnitId: string): Promise<SigningDeviceRow | undefined> {
      return db
        .executor()
        .selectFrom('signing_devices')
        .selectAll()
        .where('fiscal_unit_id', '=', fiscalUnitId)
        .executeTakeFirst();
    },

    /**
     * Takes the next signature counter (and, for a new transaction, the next transaction number). The UPDATE
     * holds the device row until commit, so counters are gapless and unique under concurrency on both engines.
     */
    async advanceCounters(fiscalUnitId: string, newTransaction: boolean): Promise<DeviceCounters> {
      const row = await (newTransaction ? advanceBothCounters : advanceSignatureCounter).first({ fiscalUnitId });
      if (row === undefined) throw new Error(`fiscal unit ${fiscalUnitId} has no signing device`);
      return { signatureCounter: row.signature_counter, transactionCounter: row.transaction_counter };
    },

    async insertLogMessage(row: Insertable<TseLogMessagesTable>): Promise<void> {
      // Nothing reads the message back in the unit of work that signs it: it may ride with the next statement.
      await insertLog.defer(row);
    },

    async listLogMessages(fiscalUnitId: string): Promise<Array<Selectable<TseLogMessagesTable>>> {
      return db
        .executor()
        .selectFrom('tse_log_messages')
        .selectAll()
        .where('fiscal_unit_id', '=', fiscalUnitId)
        .orderBy('signature_counter')
        .execute();
    },
  };
}

export type FiscalUnitRepository = ReturnType<typeof createFiscalUnitRepository>;
