/**
 * Registers: the tills. A register follows one jurisdiction's fiscal law and keeps its books in that
 * jurisdiction's currency; archiving is terminal and revokes its register keys.
 * @module
 */
import type { UnitOfWork } from '../../db/database.js';
import { isUniqueViolation } from '../../db/errors.js';
import { AppError, notFound } from '../../errors/app-error.js';
import {
  defaultSerialNumber,
  jurisdictionCurrency,
  serialNumberProblem,
  type Jurisdiction,
} from '../../regimes/jurisdictions.js';
import type { Clock } from '../../shared/clock.js';
import { isId, newId } from '../../shared/ids.js';
import { mergeMetadata } from '../../shared/metadata.js';
import { toPage, toPageRequest, type ListQuery, type Page } from '../../shared/pagination.js';
import type { Tenant } from '../../shared/tenant.js';
import { toUtcString } from '../../shared/time.js';
import type { ApiKeyService } from '../api-keys/api-key.service.js';
import type { LocationService } from '../locations/location.service.js';
import type { EventRegister, RegisterChanges, RegisterRepository, RegisterRow } from './register.repository.js';
import type { FiscalUnit } from '../fiscal-units/fiscal-unit.schemas.js';
import type { CreateRegisterBody, Register, UpdateRegisterBody } from './register.schemas.js';

export interface RegisterServiceDeps {
  readonly repository: RegisterRepository;
  readonly unitOfWork: UnitOfWork;
  readonly clock: Clock;
  readonly locations: Pick<LocationService, 'findRow'>;
  readonly apiKeys: Pick<ApiKeyService, 'revokeRegisterKeys'>;
  /** Expands `active_fiscal_unit`. */
  readonly fiscalUnits: { findPresented(id: string): Promise<FiscalUnit | null> };
  /** Archiving decommissions the active fiscal unit first (set once the fiscal unit service exists). */
  readonly decommissionActiveUnit: (tenant: Tenant, register: RegisterRow, reason: string) => Promise<void>;
}

function present(row: RegisterRow, activeFiscalUnit: FiscalUnit | null): Register {
  return {
    id: row.id,
    object: 'register',
    location_id: row.location_id,
    organization_id: row.organization_id,
    label: row.label,
    jurisdiction: row.jurisdiction as Jurisdiction,
    serial_number: row.serial_number,
    currency: row.currency,
    state: row.state,
    active_fiscal_unit: activeFiscalUnit,
    closing_schedule:
      row.closing_schedule === null
        ? null
        : { daily_at: (JSON.parse(row.closing_schedule) as { daily_at: string }).daily_at },
    metadata: JSON.parse(row.metadata) as Record<string, string>,
    created_at: row.created_at,
    updated_at: row.updated_at,
    archived_at: row.archived_at,
  };
}

function assertSerialNumber(jurisdiction: Jurisdiction, serialNumber: string): void {
  const problem = serialNumberProblem(jurisdiction, serialNumber);
  if (problem !== null) {
    throw new AppError('validation_error', { message: `serial_number ${problem}.`, param: 'serial_number' });
  }
}

const serialNumberTaken = () => new AppError('serial_number_taken', { param: 'serial_number' });

export function createRegisterService(deps: RegisterServiceDeps) {
  const { repository, unitOfWork, clock, locations, apiKeys, fiscalUnits } = deps;

  async function presentRow(row: RegisterRow): Promise<Register> {
    const unit = row.active_fiscal_unit_id === null ? null : await fiscalUnits.findPresented(row.active_fiscal_unit_id);
    return present(row, unit);
  }

  /** A register key sees only its own register. */
  const visibleTo = (tenant: Tenant, id: string) =>
    isId('reg', id) && (tenant.registerId === null || tenant.registerId === id);

  async function findRow(tenant: Tenant, id: string, locked = false): Promise<RegisterRow> {
    const visible = visibleTo(tenant, id);
    const row = !visible
      ? undefined
      : locked
        ? await repository.findLocked(tenant.organizationId, id)
        : await repository.find(tenant.organizationId, id);
    if (row === undefined) throw notFound('register', id);
    return row;
  }

  /** Inserts or updates; a concurrent duplicate serial number surfaces as a unique violation. */
  async function guardSerialNumber<T>(write: () => Promise<T>): Promise<T> {
    try {
      return await write();
    } catch (error) {
      if (isUniqueViolation(error)) throw serialNumberTaken();
      throw error;
    }
  }

  return {
    async create(tenant: Tenant, locationId: string, input: CreateRegisterBody): Promise<Register> {
      const currency = jurisdictionCurrency(input.jurisdiction);
      if (input.currency !== undefined && input.currency !== currency) {
        throw new AppError('currency_mismatch', {
          message: `${input.jurisdiction} registers keep their books in ${currency}.`,
          param: 'currency',
        });
      }
      return unitOfWork.transaction(async () => {
        const location = await locations.findRow(tenant, locationId);
        const id = newId('reg');
        const serialNumber = input.serial_number ?? defaultSerialNumber(input.jurisdiction, id);
        assertSerialNumber(input.jurisdiction, serialNumber);
        if (await repository.serialNumberInUse(tenant.organizationId, serialNumber, null)) throw serialNumberTaken();
        const now = toUtcString(clock.now());
        const row: RegisterRow = {
          id,
          platform_id: tenant.platformId,
          organization_id: tenant.organizationId,
          location_id: location.id,
          label: input.label,
          jurisdiction: input.jurisdiction,
          serial_number: serialNumber,
          currency,
          state: 'active',
          active_fiscal_unit_id: null,
          fiscalized_at: null,
          metadata: JSON.stringify(input.metadata ?? {}),
          created_at: now,
          updated_at: now,
          archived_at: null,
          last_sequence_number: 0n,
          closing_schedule: null,
          journal_length: 0n,
          open_operations: 0n,
        };
        await guardSerialNumber(() => repository.insert(row));
        return present({ ...row, last_sequence_number: 0n, journal_length: 0n }, null);
      });
    },

    async listByLocation(tenant: Tenant, locationId: string, query: ListQuery): Promise<Page<Register>> {
      const request = toPageRequest(query);
      const location = await locations.findRow(tenant, locationId);
      const page = toPage(
        await repository.listByLocation(tenant.organizationId, location.id, request),
        request,
        (r) => r,
      );
      return { ...page, data: await Promise.all(page.data.map(presentRow)) };
    },

    async get(tenant: Tenant, id: string): Promise<Register> {
      return presentRow(await findRow(tenant, id));
    },

    /** The register row, visible to the tenant (register keys see only their own), else 404. */
    findRow,

    /** A register by id, for work done for no tenant (the worker) or re-reads under the register lock. */
    findById: (id: string) => repository.findById(id),

    setActiveFiscalUnit: (registerId: string, fiscalUnitId: string | null, at: string) =>
      repository.setActiveFiscalUnit(registerId, fiscalUnitId, at),

    /** Inside a transaction: holds the register's row lock until commit (orders fiscal events per register). */
    lock: (registerId: string) => repository.lock(registerId),

    /** {@link findRow} that also takes {@link lock}, in one statement. */
    findRowLocked: (tenant: Tenant, id: string) => findRow(tenant, id, true),

    /**
     * {@link findRow} (or, `locked`, {@link findRowLocked}) with the location's time zone, in one statement: what
     * every fiscal event of an operation reads first.
     */
    async findForEvent(tenant: Tenant, id: string, locked: boolean): Promise<EventRegister> {
      const row = visibleTo(tenant, id) ? await repository.findForEvent(tenant.organizationId, id, locked) : undefined;
      if (row === undefined) throw notFound('register', id);
      return row;
    },

    /**
     * {@link findForEvent} for the register of an operation (locked: the lock a change of the operation takes
     * first). Undefined, not 404, when there is no such operation or the tenant may not see its register: the caller
     * answers for the operation.
     */
    async findForOperationEvent(
      tenant: Tenant,
      operationId: string,
      locked: boolean,
    ): Promise<EventRegister | undefined> {
      if (!isId('op', operationId)) return undefined;
      const row = await repository.findForOperationEvent(tenant.organizationId, operationId, locked);
      return row !== undefined && visibleTo(tenant, row.id) ? row : undefined;
    },

    /**
     * Inside a transaction: the next gapless sequence number; serialises the register's fiscal events. An operation
     * that `staysOpen` is counted among the register's open operations in the same statement.
     */
    nextSequenceNumber: (registerId: string, staysOpen: boolean) =>
      repository.nextSequenceNumber(registerId, staysOpen),

    /**
     * Under the register's lock: sets its count of open operations to the number of its open rows, plus one for an
     * operation being started whose row is not inserted yet; returns the count. For when the count may have drifted:
     * a process of an older version, during a rolling upgrade, starts and finishes operations without counting them.
     */
    recountOpenOperations: (registerId: string, starting: boolean) =>
      repository.recountOpenOperations(registerId, starting),

    presentRow,

    async update(tenant: Tenant, id: string, patch: UpdateRegisterBody): Promise<Register> {
      return unitOfWork.transaction(async () => {
        const row = await findRow(tenant, id);
        if (row.state === 'archived') throw new AppError('register_archived');
        const changes: RegisterChanges = {};
        if (patch.label !== undefined) changes.label = patch.label;
        if (patch.closing_schedule !== undefined) {
          // When it was set: a time of day already past then is not a missed closing.
          changes.closing_schedule =
            patch.closing_schedule === null
              ? null
              : JSON.stringify({ daily_at: patch.closing_schedule.daily_at, set_at: toUtcString(clock.now()) });
        }
        if (patch.serial_number !== undefined && patch.serial_number !== row.serial_number) {
          if (row.fiscalized_at !== null) throw new AppError('serial_number_immutable', { param: 'serial_number' });
          assertSerialNumber(row.jurisdiction as Jurisdiction, patch.serial_number);
          if (await repository.serialNumberInUse(tenant.organizationId, patch.serial_number, row.id)) {
            throw serialNumberTaken();
          }
          changes.serial_number = patch.serial_number;
        }
        if (patch.metadata !== undefined) {
          changes.metadata = JSON.stringify(
            mergeMetadata(JSON.parse(row.metadata) as Record<string, string>, patch.metadata),
          );
        }
        if (Object.keys(changes).length === 0) return presentRow(row);
        changes.updated_at = toUtcString(clock.now());
        await guardSerialNumber(() => repository.update(row.id, changes));
        return presentRow({ ...row, ...changes });
      });
    },

    /** Archives the register (terminal) and revokes its register keys, in one transaction. */
    async archive(tenant: Tenant, id: string): Promise<Register> {
      return unitOfWork.transaction(async () => {
        const row = await findRow(tenant, id);
        if (row.state === 'archived') {
          throw new AppError('register_archived', { message: 'The register is already archived.' });
        }
        await deps.decommissionActiveUnit(tenant, row, 'Register archived');
        const now = toUtcString(clock.now());
        const changes: RegisterChanges = { state: 'archived', archived_at: now, updated_at: now };
        await repository.update(row.id, changes);
        await apiKeys.revokeRegisterKeys(row.id);
        return present({ ...row, ...changes, active_fiscal_unit_id: null }, null);
      });
    },
  };
}

export type RegisterService = ReturnType<typeof createRegisterService>;
