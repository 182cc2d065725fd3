import type { Insertable, Selectable } from 'kysely';
import type { Database } from '../../db/database.js';
import { applyPage } from '../../db/pagination.js';
import type { ExportState, ExportsTable } from '../../db/schema.js';
import type { PageRequest } from '../../shared/pagination.js';

export type ExportRow = Selectable<ExportsTable>;

export interface ExportFilters {
  readonly registerId?: string;
  readonly type?: string;
  readonly state?: ExportState;
}

export interface CompletedFile {
  readonly name: string;
  readonly contentType: string;
  readonly size: number;
  readonly sha256: string;
  readonly key: string;
}

/** A fiscal unit of a register that has a signing device (the DE software TSE). */
export interface TseUnitRow {
  readonly id: string;
  /** JSON. */
  readonly fiscal_registration: string;
  /** Base64 DER. */
  readonly certificate: string;
  /** Base64 of the uncompressed EC point. */
  readonly public_key: string;
}

export interface TseLogRow {
  readonly signature_counter: bigint;
  readonly file_name: string;
  /** Base64 DER. */
  readonly message: string;
  readonly log_time: bigint;
}

/** AT: the RKSV state of a register, as far as an export needs it. */
export interface RksvRegisterRow {
  readonly register_id: string;
  readonly kassen_id: string;
  /** Secret-box sealed Base64 AES key, bound to the register id. */
  readonly aes_key: string;
}

/** AT: a signature creation unit, as the DEP7 groups and the crypto container name it. */
export interface RksvDeviceRow {
  readonly fiscal_unit_id: string;
  readonly system: 'open' | 'closed';
  readonly zda: string;
  readonly certificate_serial: string;
  readonly container_id: string;
  /** Base64 SPKI DER. */
  readonly public_key: string;
  /** Base64 DER (open system), else null. */
  readonly certificate: string | null;
}

/** AT: the receipts of a period, fixed by their last Belegnummer so that re-reading them gives the same set. */
export interface RksvReceiptRange {
  readonly count: number;
  /** The lowest and highest receipt number in the period; null when there is none. */
  readonly firstNumber: bigint | null;
  readonly lastNumber: bigint | null;
}

export interface RksvReceiptRow {
  readonly receipt_number: bigint;
  readonly fiscal_unit_id: string;
  readonly jws: string;
}

const IN_FLIGHT: ExportState[] = ['queued', 'running'];

export function createExportRepository(db: Pick<Database, 'executor'>) {
  return {
    async insert(row: Insertable<ExportsTable>): Promise<void> {
      await db.executor().insertInto('exports').values(row).execute();
    },

    async find(organizationId: string, id: string): Promise<ExportRow | undefined> {
      return db
        .executor()
        .selectFrom('exports')
        .selectAll()
        .where('organization_id', '=', organizationId)
        .where('id', '=', id)
        .executeTakeFirst();
    },

    /** For the job, which acts for no tenant. */
    async findById(id: string): Promise<ExportRow | undefined> {
      return db.executor().selectFrom('exports').selectAll().where('id', '=', id).executeTakeFirst();
    },

    async list(organizationId: string, filters: ExportFilters, page: PageRequest): Promise<ExportRow[]> {
      let query = db.executor().selectFrom('exports').selectAll().where('organization_id', '=', organizationId);
      if (filters.registerId !== undefined) query = query.where('register_id', '=', filters.registerId);
      if (filters.type !== undefined) query = query.where('type', '=', filters.type);
      if (filters.state !== undefined) query = query.where('state', '=', filters.state);
      return applyPage(query, 'exports', page).execute();
    },

    /** Starts (or restarts, on a retry) writing; false if the export is no longer in flight. */
    async markRunning(id: string, now: string): Promise<boolean> {
      const result = await db
        .executor()
        .updateTable('exports')
        .set({ state: 'running', progress_done: 0, updated_at: now })
        .where('id', '=', id)
        .where('state', 'in', IN_FLIGHT)
        .executeTakeFirst();
      return result.numUpdatedRows === 1n;
    },

    async setProgress(id: string, done: number, total: number, now: string): Promise<void> {
      await db
        .executor()
        .updateTable('exports')
        .set({ progress_done: done, progress_total: total, updated_at: now })
        .where('id', '=', id)
        .where('state', '=', 'running')
        .execute();
    },

    /** False if the export was no longer running (e.g. failed meanwhile). */
    async complete(id: string, file: CompletedFile, total: number, now: string, expiresAt: string): Promise<boolean> {
      const result = await db
        .executor()
        .updateTable('exports')
        .set({
          state: 'completed',
          progress_done: total,
          progress_total: total,
          file_name: file.name,
          file_content_type: file.contentType,
          file_size: file.size,
          file_sha256: file.sha256,
          file_key: file.key,
          completed_at: now,
          expires_at: expiresAt,
          updated_at: now,
        })
        .where('id', '=', id)
        .where('state', '=', 'running')
        .executeTakeFirst();
      return result.numUpdatedRows === 1n;
    },

    async markFailed(id: string, code: string, message: string, now: string): Promise<void> {
      await db
        .executor()
        .updateTable('exports')
        .set({ state: 'failed', failure_code: code, failure_message: message, updated_at: now })
        .where('id', '=', id)
        .where('state', 'in', IN_FLIGHT)
        .execute();
    },

    /**
     * Fails exports still in flight whose job is not (it failed, e.g. after its worker died on the last attempt, or
     * is gone). Returns how many.
     */
    async failOrphaned(code: string, message: string, now: string): Promise<number> {
      const result = await db
        .executor()
        .updateTable('exports')
        .set({ state: 'failed', failure_code: code, failure_message: message, updated_at: now })
        .where('state', 'in', IN_FLIGHT)
        .where((eb) =>
          eb.not(
            eb.exists(
              eb
                .selectFrom('jobs')
                .select('jobs.id')
                .whereRef('jobs.id', '=', 'exports.job_id')
                .where('jobs.state', 'in', ['queued', 'running']),
            ),
          ),
        )
        .executeTakeFirst();
      return Number(result.numUpdatedRows);
    },

    /** Completed exports past `expires_at` whose file still exists. */
    async findExpiredFiles(now: string, limit: number): Promise<Pick<ExportRow, 'id' | 'file_key'>[]> {
      return db
        .executor()
        .selectFrom('exports')
        .select(['id', 'file_key'])
        .where('state', '=', 'completed')
        .where('expires_at', '<=', now)
        .where('file_deleted_at', 'is', null)
        .orderBy('expires_at')
        .limit(limit)
        .execute();
    },

    async markFileDeleted(id: string, now: string): Promise<void> {
      await db
        .executor()
        .updateTable('exports')
        .set({ file_deleted_at: now, updated_at: now })
        .where('id', '=', id)
        .execute();
    },

    // --- DE: the TSE's log messages and certificates (tse_tar) ---------------------------------------------

    /** The register's fiscal units that have a signing device, oldest first. */
    async tseUnits(registerId: string): Promise<TseUnitRow[]> {
      return db
        .executor()
        .selectFrom('fiscal_units')
        .innerJoin('signing_devices', 'signing_devices.fiscal_unit_id', 'fiscal_units.id')
        .select([
          'fiscal_units.id',
          'fiscal_units.fiscal_registration',
          'signing_devices.certificate',
          'signing_devices.public_key',
        ])
        .where('fiscal_units.register_id', '=', registerId)
        .orderBy('fiscal_units.id')
        .execute();
    },

    async countTseLogs(registerId: string, from: string, to: string): Promise<number> {
      const row = await db
        .executor()
        .selectFrom('tse_log_messages')
        .select((eb) => eb.fn.countAll<bigint | number | string>().as('count'))
        .where('register_id', '=', registerId)
        .where('created_at', '>=', from)
        .where('created_at', '<=', to)
        .executeTakeFirst();
      return Number(row?.count ?? 0);
    },

    /** The next batch of one unit's log messages in the period, in signature-counter order (keyset by counter). */
    async tseLogBatch(
      fiscalUnitId: string,
      from: string,
      to: string,
      afterCounter: bigint | null,
      limit: number,
    ): Promise<TseLogRow[]> {
      let query = db
        .executor()
        .selectFrom('tse_log_messages')
        .select(['signature_counter', 'file_name', 'message', 'log_time'])
        .where('fiscal_unit_id', '=', fiscalUnitId)
        .where('created_at', '>=', from)
        .where('created_at', '<=', to);
      if (afterCounter !== null) query = query.where('signature_counter', '>', afterCounter);
      return query.orderBy('signature_counter').limit(limit).execute();
    },

    // --- AT: the RKSV receipts as issued, the register's AES key and its signature devices (dep7) -----------

    async rksvRegister(registerId: string): Promise<RksvRegisterRow | undefined> {
      return db
        .executor()
        .selectFrom('rksv_registers')
        .select(['register_id', 'kassen_id', 'aes_key'])
        .where('register_id', '=', registerId)
        .executeTakeFirst();
    },

    /** Every signature device the register ever had, oldest first. */
    async rksvDevices(registerId: string): Promise<RksvDeviceRow[]> {
      return db
        .executor()
        .selectFrom('rksv_devices')
        .select(['fiscal_unit_id', 'system', 'zda', 'certificate_serial', 'container_id', 'public_key', 'certificate'])
        .where('register_id', '=', registerId)
        .orderBy('created_at')
        .orderBy('fiscal_unit_id')
        .execute();
    },

    /**
     * How many receipts were issued in [from, to] and the lowest and highest Belegnummer among them, in one
     * statement: batches bounded by them scan only that stretch of the primary key, and read the same receipts
     * however often they are read while the register issues more.
     */
    async rksvReceiptRange(registerId: string, from: string, to: string): Promise<RksvReceiptRange> {
      const row = await db
        .executor()
        .selectFrom('rksv_receipts')
        .select((eb) => [
          eb.fn.countAll<bigint | number | string>().as('count'),
          eb.fn.min<bigint | number | string | null>('receipt_number').as('first_number'),
          eb.fn.max<bigint | number | string | null>('receipt_number').as('last_number'),
        ])
        .where('register_id', '=', registerId)
        .where('issued_at', '>=', from)
        .where('issued_at', '<=', to)
        .executeTakeFirst();
      const first = row?.first_number ?? null;
      const last = row?.last_number ?? null;
      return {
        count: Number(row?.count ?? 0),
        firstNumber: first === null ? null : BigInt(first),
        lastNumber: last === null ? null : BigInt(last),
      };
    },

    /**
     * The next batch of the register's receipts issued in [from, to] with a Belegnummer after `afterNumber` and up
     * to `lastNumber`, in Belegnummer order (keyset by number, on the primary key).
     */
    async rksvReceiptBatch(
      registerId: string,
      from: string,
      to: string,
      afterNumber: bigint,
      lastNumber: bigint,
      limit: number,
    ): Promise<RksvReceiptRow[]> {
      return db
        .executor()
        .selectFrom('rksv_receipts')
        .select(['receipt_number', 'fiscal_unit_id', 'jws'])
        .where('register_id', '=', registerId)
        .where('receipt_number', '>', afterNumber)
        .where('receipt_number', '<=', lastNumber)
        .where('issued_at', '>=', from)
        .where('issued_at', '<=', to)
        .orderBy('receipt_number')
        .limit(limit)
        .execute();
    },
  };
}

export type ExportRepository = ReturnType<typeof createExportRepository>;
