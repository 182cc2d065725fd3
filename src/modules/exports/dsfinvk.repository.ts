/**
 * What the DSFinV-K export reads: the closings to export, the register's master data and TSEs, and the operations of
 * each closing in journal order, in keyset batches by `final_journal_seq` (index `operations_register_final_seq`), so
 * memory stays flat however long the period. SQL only; the mapping lives in regimes/de/dsfinvk.
 * @module
 */
import type { Database } from '../../db/database.js';
import type { ClosingState, ClosingType, OperationType } from '../../db/schema.js';

export interface DsfinvkClosingRow {
  readonly id: string;
  readonly register_id: string;
  readonly location_id: string;
  readonly organization_id: string;
  readonly type: ClosingType;
  readonly state: ClosingState;
  readonly z_number: bigint;
  readonly period_from: string;
  readonly period_to: string;
  /** The period in journal seqs: (journal_seq_from, journal_seq_to]. */
  readonly journal_seq_from: bigint;
  readonly journal_seq_to: bigint;
  /** JSON ClosingSummary. */
  readonly summary: string | null;
  readonly created_at: string;
}

export interface DsfinvkRegisterRow {
  readonly id: string;
  readonly serial_number: string;
  readonly currency: string;
}

export interface DsfinvkLocationRow {
  readonly name: string;
  /** JSON address or null. */
  readonly address: string | null;
  readonly timezone: string;
  /** JSON: the Betriebsstätte's own fiscal identity, or null (the organization's applies). */
  readonly fiscal_identity: string | null;
}

export interface DsfinvkOrganizationRow {
  readonly legal_name: string;
  readonly country: string;
  /** JSON address or null. */
  readonly address: string | null;
  /** JSON `{tax_number, vat_id, …}` or null. */
  readonly fiscal_identity: string | null;
}

/** A fiscal unit of the register, with its software TSE's key material where it has one. */
export interface DsfinvkTseUnitRow {
  readonly id: string;
  /** JSON: tse_serial, signature_algorithm, time_format, public_key, certificate. */
  readonly fiscal_registration: string;
  readonly public_key: string | null;
  readonly certificate: string | null;
}

export interface DsfinvkOperationRow {
  readonly id: string;
  readonly type: OperationType;
  readonly state: 'open' | 'completed' | 'cancelled';
  readonly sequence_number: bigint;
  /** JSON `{id, display_name}` or null. */
  readonly cashier: string | null;
  /** JSON: the operation's data document. */
  readonly data: string;
  /** JSON: the fiscal block, or null. */
  readonly fiscal: string | null;
  readonly original_operation_id: string | null;
  readonly reason: string | null;
  readonly started_at: string;
  readonly completed_at: string | null;
  readonly updated_at: string;
  readonly final_journal_seq: bigint | null;
}

/** The original of a refund, exchange or void, with the daily closing that holds it (null while none does). */
export interface DsfinvkOriginalRow {
  readonly id: string;
  readonly register_serial_number: string;
  readonly z_number: bigint | null;
  readonly closing_period_to: string | null;
  readonly timezone: string | null;
}

export interface DsfinvkSource {
  closing(closingId: string): Promise<DsfinvkClosingRow | undefined>;
  /** The register's daily closings, completed or transmitted, created in [from, to], in Z_NR order. */
  dailyClosings(registerId: string, from: string, to: string): Promise<DsfinvkClosingRow[]>;
  register(registerId: string): Promise<DsfinvkRegisterRow | undefined>;
  location(locationId: string): Promise<DsfinvkLocationRow | undefined>;
  organization(organizationId: string): Promise<DsfinvkOrganizationRow | undefined>;
  /** Every fiscal unit of the register, oldest first (their order gives TSE_ID). */
  tseUnits(registerId: string): Promise<DsfinvkTseUnitRow[]>;
  /** Operations finished with a journal seq in (fromSeq, toSeq]. */
  countOperations(registerId: string, fromSeq: bigint, toSeq: bigint): Promise<number>;
  /** The next operations after `afterSeq` up to `toSeq`, in seq order, at most `limit`. */
  operationBatch(registerId: string, afterSeq: bigint, toSeq: bigint, limit: number): Promise<DsfinvkOperationRow[]>;
  originals(operationIds: readonly string[]): Promise<DsfinvkOriginalRow[]>;
}

const EXPORTED_STATES: ClosingState[] = ['completed', 'transmitted'];

export function createDsfinvkSource(db: Pick<Database, 'executor'>): DsfinvkSource {
  const closingColumns = [
    'id',
    'register_id',
    'location_id',
    'organization_id',
    'type',
    'state',
    'z_number',
    'period_from',
    'period_to',
    'journal_seq_from',
    'journal_seq_to',
    'summary',
    'created_at',
  ] as const;

  return {
    async closing(closingId) {
      return db.executor().selectFrom('closings').select(closingColumns).where('id', '=', closingId).executeTakeFirst();
    },

    async dailyClosings(registerId, from, to) {
      return db
        .executor()
        .selectFrom('closings')
        .select(closingColumns)
        .where('register_id', '=', registerId)
        .where('type', '=', 'daily')
        .where('state', 'in', EXPORTED_STATES)
        .where('created_at', '>=', from)
        .where('created_at', '<=', to)
        .orderBy('z_number')
        .execute();
    },

    async register(registerId) {
      return db
        .executor()
        .selectFrom('registers')
        .select(['id', 'serial_number', 'currency'])
        .where('id', '=', registerId)
        .executeTakeFirst();
    },

    async location(locationId) {
      return db
        .executor()
        .selectFrom('locations')
        .select(['name', 'address', 'timezone', 'fiscal_identity'])
        .where('id', '=', locationId)
        .executeTakeFirst();
    },

    async organization(organizationId) {
      return db
        .executor()
        .selectFrom('organizations')
        .select(['legal_name', 'country', 'address', 'fiscal_identity'])
        .where('id', '=', organizationId)
        .executeTakeFirst();
    },

    async tseUnits(registerId) {
      return db
        .executor()
        .selectFrom('fiscal_units')
        .leftJoin('signing_devices', 'signing_devices.fiscal_unit_id', 'fiscal_units.id')
        .select([
          'fiscal_units.id',
          'fiscal_units.fiscal_registration',
          'signing_devices.public_key',
          'signing_devices.certificate',
        ])
        .where('fiscal_units.register_id', '=', registerId)
        .orderBy('fiscal_units.created_at')
        .orderBy('fiscal_units.id')
        .execute();
    },

    async countOperations(registerId, fromSeq, toSeq) {
      const row = await db
        .executor()
        .selectFrom('operations')
        .select((eb) => eb.fn.countAll<bigint | number | string>().as('count'))
        .where('register_id', '=', registerId)
        .where('final_journal_seq', '>', fromSeq)
        .where('final_journal_seq', '<=', toSeq)
        .executeTakeFirst();
      return Number(row?.count ?? 0);
    },

    async operationBatch(registerId, afterSeq, toSeq, limit) {
      return db
        .executor()
        .selectFrom('operations')
        .select([
          'id',
          'type',
          'state',
          'sequence_number',
          'cashier',
          'data',
          'fiscal',
          'original_operation_id',
          'reason',
          'started_at',
          'completed_at',
          'updated_at',
          'final_journal_seq',
        ])
        .where('register_id', '=', registerId)
        .where('final_journal_seq', '>', afterSeq)
        .where('final_journal_seq', '<=', toSeq)
        .orderBy('final_journal_seq')
        .limit(limit)
        .execute();
    },

    async originals(operationIds) {
      if (operationIds.length === 0) return [];
      return db
        .executor()
        .selectFrom('operations')
        .innerJoin('registers', 'registers.id', 'operations.register_id')
        .leftJoin('closings', (join) =>
          join
            .onRef('closings.register_id', '=', 'operations.register_id')
            .on('closings.type', '=', 'daily')
            .onRef('closings.journal_seq_from', '<', 'operations.final_journal_seq')
            .onRef('closings.journal_seq_to', '>=', 'operations.final_journal_seq'),
        )
        .leftJoin('locations', 'locations.id', 'closings.location_id')
        .select([
          'operations.id',
          'registers.serial_number as register_serial_number',
          'closings.z_number',
          'closings.period_to as closing_period_to',
          'locations.timezone',
        ])
        .where('operations.id', 'in', [...operationIds])
        .execute();
    },
  };
}
