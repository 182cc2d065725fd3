/**
 * Cash drawer openings (api.md §5): logged the instant the drawer opens, with the register's own clock
 * (`occurred_at`) kept as sent, because an opening logged after an offline period is still the fiscal fact of its
 * time. Every opening is journaled and counted in the closing of the period it arrives in.
 * @module
 */
import type { UnitOfWork } from '../../db/database.js';
import { AppError, notFound } from '../../errors/app-error.js';
import { drawerOpeningNeedsReason, type Jurisdiction } from '../../regimes/jurisdictions.js';
import type { Clock } from '../../shared/clock.js';
import { isId, newId } from '../../shared/ids.js';
import { toPage, toPageRequest, type ListQuery, type Page } from '../../shared/pagination.js';
import type { Tenant } from '../../shared/tenant.js';
import { normaliseTimestamp, toUtcString } from '../../shared/time.js';
import { openingTotals } from '../closings/closing-summary.js';
import type { SummaryRecorder } from '../closings/closing-totals.js';
import type { JournalAppender } from '../fiscal-units/fiscal-unit.service.js';
import type { RegisterService } from '../registers/register.service.js';
import type { CashDrawerOpeningRepository, CashDrawerOpeningRow } from './cash-drawer-opening.repository.js';
import type { CashDrawerOpening, LogCashDrawerOpeningBody } from './cash-drawer-opening.schemas.js';

/** How far the register's clock may run ahead of the server's. */
export const MAX_CLOCK_AHEAD_MS = 5 * 60_000;

export interface CashDrawerOpeningServiceDeps {
  readonly repository: CashDrawerOpeningRepository;
  readonly unitOfWork: UnitOfWork;
  readonly clock: Clock;
  readonly registers: Pick<RegisterService, 'findRow' | 'lock'>;
  readonly journal: JournalAppender;
  readonly summary: SummaryRecorder;
}

export function presentCashDrawerOpening(row: CashDrawerOpeningRow): CashDrawerOpening {
  return {
    occurred_at: row.occurred_at,
    id: row.id,
    object: 'cash_drawer_opening',
    register_id: row.register_id,
    received_at: row.received_at,
    created_at: row.created_at,
    operation_id: row.operation_id,
    cashier: row.cashier === null ? null : (JSON.parse(row.cashier) as CashDrawerOpening['cashier']),
    reason: row.reason,
    note: row.note,
    fiscal: row.fiscal === null ? null : (JSON.parse(row.fiscal) as CashDrawerOpening['fiscal']),
  };
}

export function createCashDrawerOpeningService(deps: CashDrawerOpeningServiceDeps) {
  const { repository, unitOfWork, clock, registers, journal } = deps;

  return {
    async log(tenant: Tenant, registerId: string, body: LogCashDrawerOpeningBody): Promise<CashDrawerOpening> {
      const occurredAt = normaliseTimestamp(body.occurred_at);
      if (occurredAt === null) {
        throw new AppError('validation_error', { message: 'Not an RFC 3339 timestamp.', param: 'occurred_at' });
      }
      const received = clock.now();
      if (Date.parse(occurredAt) > received.getTime() + MAX_CLOCK_AHEAD_MS) {
        throw new AppError('occurred_at_in_future', { param: 'occurred_at' });
      }
      const reason = body.reason?.trim() ?? null;
      const operationId = body.operation_id ?? null;
      return unitOfWork.transaction(async () => {
        const register = await registers.findRow(tenant, registerId);
        if (register.state === 'archived') throw new AppError('register_archived');
        if (operationId !== null) {
          const owner = isId('op', operationId)
            ? await repository.operationRegister(tenant.organizationId, operationId)
            : undefined;
          if (owner !== register.id) {
            throw new AppError('validation_error', {
              message: `${operationId} is not an operation of ${register.id}.`,
              param: 'operation_id',
            });
          }
        }
        if (
          operationId === null &&
          (reason === null || reason === '') &&
          drawerOpeningNeedsReason(register.jurisdiction as Jurisdiction)
        ) {
          throw new AppError('reason_required', {
            message: `${register.jurisdiction} needs the reason for a drawer opening outside a sale.`,
            param: 'reason',
          });
        }
        await registers.lock(register.id);
        const now = toUtcString(received);
        const row: CashDrawerOpeningRow = {
          id: newId('cdo'),
          platform_id: tenant.platformId,
          organization_id: tenant.organizationId,
          register_id: register.id,
          occurred_at: occurredAt,
          received_at: now,
          operation_id: operationId,
          cashier: body.cashier === undefined || body.cashier === null ? null : JSON.stringify(body.cashier),
          reason: reason === '' ? null : reason,
          note: body.note ?? null,
          fiscal: null,
          journal_seq: 0n,
          created_at: now,
        };
        // The journal keeps what an auditor may see: the note is internal, so it is left out.
        const exported: Partial<CashDrawerOpening> = presentCashDrawerOpening(row);
        delete exported.note;
        const entry = await journal.append({
          registerId: register.id,
          type: 'cash_drawer_opening.logged',
          subjectId: row.id,
          payload: { cash_drawer_opening: exported },
          at: now,
        });
        row.journal_seq = BigInt(entry.seq);
        await repository.insert(row);
        await deps.summary.record(register.id, row.journal_seq, openingTotals(row));
        return presentCashDrawerOpening(row);
      });
    },

    async get(tenant: Tenant, id: string): Promise<CashDrawerOpening> {
      const row = isId('cdo', id) ? await repository.find(tenant.organizationId, id) : undefined;
      if (row === undefined || (tenant.registerId !== null && tenant.registerId !== row.register_id)) {
        throw notFound('cash_drawer_opening', id);
      }
      return presentCashDrawerOpening(row);
    },

    async list(tenant: Tenant, registerId: string, query: ListQuery): Promise<Page<CashDrawerOpening>> {
      const request = toPageRequest(query);
      const register = await registers.findRow(tenant, registerId);
      return toPage(await repository.list(register.id, request), request, presentCashDrawerOpening);
    },
  };
}

export type CashDrawerOpeningService = ReturnType<typeof createCashDrawerOpeningService>;
