/**
 * Null receipts on demand (AT: the Nullbeleg, RKSV; a Kontrollbeleg with zero amounts that the register's
 * signature creation unit signs, e.g. to check the unit or after a failure). Only regimes that have such a receipt
 * issue one; the others answer 422 `regime_not_supported`. Every null receipt is journaled.
 * @module
 */
import type { UnitOfWork } from '../../db/database.js';
import { AppError } from '../../errors/app-error.js';
import type { Clock } from '../../shared/clock.js';
import type { Tenant } from '../../shared/tenant.js';
import { toUtcString } from '../../shared/time.js';
import type { FiscalUnitRow } from '../fiscal-units/fiscal-unit.repository.js';
import {
  deviceFailure,
  withTimeout,
  type FiscalUnitService,
  type JournalAppender,
} from '../fiscal-units/fiscal-unit.service.js';
import { SigningDeviceError, type EventTime, type FiscalRecord } from '../fiscal-units/providers/fiscal-provider.js';
import type { LocationService } from '../locations/location.service.js';
import type { RegisterRow } from '../registers/register.repository.js';
import type { RegisterService } from '../registers/register.service.js';
import type { IssueNullReceiptBody, NullReceipt } from './null-receipt.schemas.js';

/** What the null receipt service needs of the fiscal units. */
export interface NullReceiptFiscalUnits extends Pick<FiscalUnitService, 'providerOf' | 'recordFailure'> {
  findUnit(id: string): Promise<FiscalUnitRow | undefined>;
  /**
   * Applies what the recorder reported, inside the caller's transaction: a device failure the regime's outage
   * procedure stood in for, or the unit's recovery.
   */
  applyRecord(unit: FiscalUnitRow, record: FiscalRecord): Promise<void>;
}

export interface NullReceiptServiceDeps {
  readonly unitOfWork: UnitOfWork;
  readonly clock: Clock;
  readonly registers: Pick<RegisterService, 'findRow' | 'lock'>;
  readonly locations: Pick<LocationService, 'findRow'>;
  readonly fiscalUnits: NullReceiptFiscalUnits;
  readonly journal: JournalAppender;
  /** A signing call that takes longer fails as `unavailable`. */
  readonly signingTimeoutMs: number;
}

export function createNullReceiptService(deps: NullReceiptServiceDeps) {
  const { unitOfWork, clock, registers, fiscalUnits, journal } = deps;

  async function activeUnit(register: RegisterRow): Promise<FiscalUnitRow> {
    const unit =
      register.active_fiscal_unit_id === null ? undefined : await fiscalUnits.findUnit(register.active_fiscal_unit_id);
    if (unit === undefined || (unit.state !== 'active' && unit.state !== 'error')) {
      throw new AppError('no_active_fiscal_unit');
    }
    return unit;
  }

  /** The recorder's call, bounded; a device failure is recorded on the unit after the rollback, then 502/503. */
  async function record(unit: FiscalUnitRow, call: () => Promise<FiscalRecord>): Promise<FiscalRecord> {
    try {
      return await withTimeout(call(), deps.signingTimeoutMs);
    } catch (error) {
      if (!(error instanceof SigningDeviceError)) throw error;
      unitOfWork.afterRollback(() => fiscalUnits.recordFailure(unit.id, error.message));
      throw deviceFailure(error, unit.jurisdiction);
    }
  }

  return {
    /** Issues a null receipt with the register's active fiscal unit. */
    async issue(tenant: Tenant, registerId: string, body: IssueNullReceiptBody): Promise<NullReceipt> {
      const metadata = body?.metadata ?? {};
      return unitOfWork.transaction(async () => {
        const found = await registers.findRow(tenant, registerId);
        if (found.state === 'archived') throw new AppError('register_archived');
        await registers.lock(found.id);
        // Read again under the lock: a concurrent archive or unit replacement has committed by now.
        const register = await registers.findRow(tenant, found.id);
        if (register.state === 'archived') throw new AppError('register_archived');
        const unit = await activeUnit(register);
        const recorder = fiscalUnits.providerOf(unit).recorder;
        const nullReceipt = recorder.nullReceipt;
        if (nullReceipt === null) {
          throw new AppError('regime_not_supported', {
            message: `${register.jurisdiction} registers have no null receipt (only AT has the Nullbeleg).`,
          });
        }
        const location = await deps.locations.findRow(tenant, register.location_id);
        const at = clock.now();
        const event: EventTime = {
          at,
          timeZone: location.timezone,
          clientId: register.serial_number,
          registerId: register.id,
        };
        const result = await record(unit, () => nullReceipt.call(recorder, unit, event));
        await fiscalUnits.applyRecord(unit, result);
        const issuedAt = toUtcString(at);
        const response: NullReceipt = {
          object: 'null_receipt',
          register_id: register.id,
          fiscal_unit_id: unit.id,
          issued_at: issuedAt,
          fiscal: result.block as NullReceipt['fiscal'],
          metadata,
        };
        await journal.append({
          registerId: register.id,
          type: 'null_receipt.issued',
          subjectId: unit.id,
          payload: { null_receipt: response },
          at: issuedAt,
        });
        return response;
      });
    },
  };
}

export type NullReceiptService = ReturnType<typeof createNullReceiptService>;
