/**
 * Persistence of the Austrian (RKSV) registers: the state of each Kassen-ID (`rksv_registers`), the signature
 * creation units (`rksv_devices`) and every receipt as issued (`rksv_receipts`, the DEP), as the `software_rksv`
 * provider writes them. (The DEP7 export reads them through the export repository.) Every call goes through
 * `db.executor()`, so it joins the caller's transaction; the caller holds the register lock.
 * @module
 */
import type { Insertable, Selectable } from 'kysely';
import type { Database } from '../../../db/database.js';
import type { RksvDevicesTable, RksvReceiptsTable, RksvRegistersTable } from '../../../db/schema.js';

export type RksvRegisterRow = Selectable<RksvRegistersTable>;
export type RksvDeviceRow = Selectable<RksvDevicesTable>;

/** What a receipt changes in a register's state (everything but its identity and key). */
export interface RksvRegisterStateChanges {
  readonly counter_bytes: bigint | number;
  readonly turnover_cents: bigint | number;
  readonly last_jws: string | null;
  readonly last_receipt_number: string | null;
  readonly receipt_count: bigint | number;
  readonly last_zda: string | null;
  readonly last_certificate_serial: string | null;
  readonly failed_since: string | null;
  readonly closed: bigint | number;
  readonly updated_at: string;
}

export function createRksvRepository(db: Pick<Database, 'executor'>) {
  return {
    async findRegister(registerId: string): Promise<RksvRegisterRow | undefined> {
      return db
        .executor()
        .selectFrom('rksv_registers')
        .selectAll()
        .where('register_id', '=', registerId)
        .executeTakeFirst();
    },

    async insertRegister(row: Insertable<RksvRegistersTable>): Promise<void> {
      await db.executor().insertInto('rksv_registers').values(row).execute();
    },

    /** Saves the state after a receipt; throws if the register has no RKSV state. */
    async updateRegister(registerId: string, changes: RksvRegisterStateChanges): Promise<void> {
      const result = await db
        .executor()
        .updateTable('rksv_registers')
        .set(changes)
        .where('register_id', '=', registerId)
        .executeTakeFirst();
      if (result.numUpdatedRows === 0n) throw new Error(`register ${registerId} has no RKSV state`);
    },

    async insertDevice(row: Insertable<RksvDevicesTable>): Promise<void> {
      await db.executor().insertInto('rksv_devices').values(row).execute();
    },

    async findDevice(fiscalUnitId: string): Promise<RksvDeviceRow | undefined> {
      return db
        .executor()
        .selectFrom('rksv_devices')
        .selectAll()
        .where('fiscal_unit_id', '=', fiscalUnitId)
        .executeTakeFirst();
    },

    /** The highest closed-system key number a company has used (`U:<UID>-K<n>`), or 0 if none. */
    async highestKeyNumber(companyId: string): Promise<number> {
      const row = await db
        .executor()
        .selectFrom('rksv_devices')
        .select((eb) => eb.fn.max<bigint | number | string | null>('key_number').as('highest'))
        .where('company_id', '=', companyId)
        .executeTakeFirst();
      const highest = row?.highest;
      return highest === null || highest === undefined ? 0 : Number(highest);
    },

    /** Stores a receipt as issued; every receipt this server issues has its URL hash. */
    async insertReceipt(row: Insertable<RksvReceiptsTable> & { readonly url_hash: string }): Promise<void> {
      await db.executor().insertInto('rksv_receipts').values(row).execute();
    },
  };
}

export type RksvRepository = ReturnType<typeof createRksvRepository>;
