/**
 * Null receipts on demand (AT: the Nullbeleg, RKSV; a Kontrollbeleg with zero amounts that the register's
 * signature creation unit signs, e.g. to check the unit or after a failure). Only regimes that have such a receipt
 * issue one; the others answer 422 `regime_not_supported`. Every null receipt is journaled.
 * @module
 */
import type { UnitOfWork } from '../../db/database.js';
import { AppError } from '../../errors/app-error.js';
import type { Tenant } from '../../shared/tenant.js';
import { toUtcString } from '../../shared/time.js';
import type { FiscalUnitService, JournalAppender } from '../fiscal-units/fiscal-unit.service.js';
import type { RegisterService } from '../registers/register.service.js';
import type { IssueNullReceiptBody, NullReceipt } from './null-receipt.schemas.js';

/** What the null receipt service needs of the fiscal units. */
export type NullReceiptFiscalUnits = Pick<FiscalUnitService, 'providerOf' | 'signingUnitOf' | 'record' | 'eventTime'>;

export interface NullReceiptServiceDeps {
  readonly unitOfWork: UnitOfWork;
  readonly registers: Pick<RegisterService, 'findRow' | 'lock'>;
  readonly fiscalUnits: NullReceiptFiscalUnits;
  readonly journal: JournalAppender;
}

export function createNullReceiptService(deps: NullReceiptServiceDeps) {
  const { unitOfWork, registers, fiscalUnits, journal } = deps;

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
        const unit = await fiscalUnits.signingUnitOf(register);
        const recorder = fiscalUnits.providerOf(unit).recorder;
        const nullReceipt = recorder.nullReceipt;
        if (nullReceipt === null) {
          throw new AppError('regime_not_supported', {
            message: `${register.jurisdiction} registers have no null receipt (only AT has the Nullbeleg).`,
          });
        }
        const event = await fiscalUnits.eventTime(tenant, register);
        const { at } = event;
        const result = await fiscalUnits.record(unit, () => nullReceipt.call(recorder, unit, event));
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
