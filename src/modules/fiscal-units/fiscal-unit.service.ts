/**
 * Fiscal units: the signing device bound to a register (api.md §2). State machine
 * `provisioning → active → error → active | decommissioned`; a register has at most one unit that is not
 * decommissioned. Every lifecycle step is journaled in the same transaction.
 * @module
 */
import type { UnitOfWork } from '../../db/database.js';
import { AppError, notFound } from '../../errors/app-error.js';
import { checkFiscalIdentity, effectiveFiscalIdentity } from '../../regimes/fiscal-identity.js';
import { parseLocationIdentity } from '../locations/location.service.js';
import type { Jurisdiction } from '../../regimes/jurisdictions.js';
import type { Clock } from '../../shared/clock.js';
import { isId, newId } from '../../shared/ids.js';
import { toPage, toPageRequest, type ListQuery, type Page } from '../../shared/pagination.js';
import type { Environment, Tenant } from '../../shared/tenant.js';
import { toUtcString } from '../../shared/time.js';
import type { ApiKeyService } from '../api-keys/api-key.service.js';
import type { OrganizationService } from '../organizations/organization.service.js';
import type { RegisterRow } from '../registers/register.repository.js';
import type { RegisterService } from '../registers/register.service.js';
import type { Register } from '../registers/register.schemas.js';
import type { FiscalUnitChanges, FiscalUnitRepository, FiscalUnitRow } from './fiscal-unit.repository.js';
import type {
  FiscalUnit,
  ProvisionFiscalUnitBody,
  ReplaceFiscalUnitBody,
  SimulateFailureBody,
} from './fiscal-unit.schemas.js';
import {
  DEFAULT_PROVIDER,
  SigningDeviceError,
  type EventTime,
  type FiscalBlock,
  type FiscalProvider,
  type FiscalRecord,
  type ProviderName,
} from './providers/fiscal-provider.js';
import type { LocationService } from '../locations/location.service.js';

/** Appends to the register's journal inside the caller's transaction. */
export interface JournalAppender {
  append(entry: {
    registerId: string;
    type: string;
    subjectId: string;
    payload: Readonly<Record<string, unknown>>;
    at: string;
  }): Promise<{ readonly seq: number }>;
}

/** Where outages of fiscal units are kept (src/modules/outages). */
export interface OutageLog {
  open(row: {
    id: string;
    register_id: string;
    fiscal_unit_id: string;
    started_at: string;
    message: string;
    created_at: string;
    updated_at: string;
  }): Promise<void>;
  findOpen(fiscalUnitId: string): Promise<{ readonly id: string } | undefined>;
  close(id: string, endedAt: string): Promise<void>;
}

export interface FiscalUnitServiceDeps {
  readonly repository: FiscalUnitRepository;
  readonly unitOfWork: UnitOfWork;
  readonly clock: Clock;
  readonly environment: Environment;
  readonly providers: ReadonlyMap<ProviderName, FiscalProvider>;
  readonly registers: Pick<RegisterService, 'findRow' | 'presentRow' | 'lock'> & {
    setActiveFiscalUnit(registerId: string, fiscalUnitId: string | null, at: string): Promise<void>;
  };
  readonly organizations: Pick<OrganizationService, 'get'>;
  readonly locations: Pick<LocationService, 'findRow'>;
  readonly outages: OutageLog;
  readonly apiKeys: Pick<ApiKeyService, 'issueRegisterKey'>;
  readonly journal: JournalAppender;
  /** A signing call that takes longer fails as `unavailable`. */
  readonly signingTimeoutMs: number;
}

export interface FiscalUnitResponse {
  object: 'fiscal_unit_response';
  fiscal_unit: FiscalUnit;
  register: Register;
  register_api_key: string | null;
  /** Secrets of the registration shown once (AT: the AES key of the turnover counter), else null. */
  registration_secrets: Record<string, string> | null;
}

export interface FiscalUnitReplacement {
  object: 'fiscal_unit_replacement';
  old_binding: FiscalUnit;
  new_binding: FiscalUnit;
  register: Register;
  register_api_key: string | null;
}

export function presentFiscalUnit(row: FiscalUnitRow): FiscalUnit {
  return {
    id: row.id,
    object: 'fiscal_unit',
    register_id: row.register_id,
    jurisdiction: row.jurisdiction as Jurisdiction,
    provider: row.provider as ProviderName,
    state: row.state,
    certified: row.certified === 1n,
    fiscal_registration: JSON.parse(row.fiscal_registration) as FiscalUnit['fiscal_registration'],
    reason: row.reason,
    replaces: row.replaces,
    replaced_by: row.replaced_by,
    last_error: row.last_error,
    provisioned_at: row.provisioned_at,
    decommissioned_at: row.decommissioned_at,
    created_at: row.created_at,
  };
}

/** Rejects after `ms` with an `unavailable` device error; the timer never keeps the process alive. */
export async function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new SigningDeviceError('unavailable', `The fiscal unit did not answer within ${ms} ms.`));
    }, ms);
    timer.unref();
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The API error for a device failure: 502 when it refused, 503 when it is down or timed out. */
export function deviceFailure(error: SigningDeviceError, jurisdiction: string): AppError {
  return new AppError(error.kind === 'refused' ? 'fiscalization_failed' : 'fiscal_unit_unavailable', {
    fiscalErrors: [{ code: `device_${error.kind}`, message: error.message, jurisdiction }],
  });
}

export function createFiscalUnitService(deps: FiscalUnitServiceDeps) {
  const { repository, unitOfWork, clock, providers, registers, journal } = deps;

  function providerOf(unit: FiscalUnitRow): FiscalProvider {
    const provider = providers.get(unit.provider as ProviderName);
    if (provider === undefined) throw new Error(`provider ${unit.provider} is not configured`);
    return provider;
  }

  async function findRow(tenant: Tenant, id: string): Promise<FiscalUnitRow> {
    const row = isId('fu', id) ? await repository.find(tenant.organizationId, id) : undefined;
    if (row === undefined || (tenant.registerId !== null && tenant.registerId !== row.register_id)) {
      throw notFound('fiscal unit', id);
    }
    return row;
  }

  function assertUsable(register: RegisterRow): void {
    if (register.state === 'archived') throw new AppError('register_archived');
  }

  async function assertNoOpenOperations(registerId: string): Promise<void> {
    const open = await repository.countOpenOperations(registerId);
    if (open > 0) {
      throw new AppError('open_operations_exist', {
        message: `The register has ${open} open operation(s); complete or cancel them first.`,
      });
    }
  }

  async function chooseProvider(tenant: Tenant, register: RegisterRow, requested: ProviderName | undefined) {
    const jurisdiction = register.jurisdiction as Jurisdiction;
    const name = requested ?? DEFAULT_PROVIDER[jurisdiction];
    const provider = providers.get(name);
    if (provider?.jurisdiction !== jurisdiction) {
      const available = [...providers.values()].filter((p) => p.jurisdiction === jurisdiction).map((p) => p.name);
      throw new AppError('validation_error', {
        message:
          available.length === 0
            ? `No fiscal unit provider is available for ${jurisdiction} registers yet.`
            : `Provider ${name} cannot serve ${jurisdiction} registers; available: ${available.join(', ')}.`,
        param: 'provider',
      });
    }
    if (deps.environment === 'live' && !provider.certified) {
      throw new AppError('provider_not_certified', {
        message: `${name} is a software simulation, not a certified device for ${jurisdiction}; a live server refuses it.`,
        param: 'provider',
      });
    }
    const identity = await fiscalIdentityOf(tenant, register);
    const problems = checkFiscalIdentity(jurisdiction, identity.value, true);
    const first = problems[0];
    if (first !== undefined) {
      throw new AppError('validation_error', {
        message: `The ${identity.owner}'s fiscal_identity.${first.field} ${first.message}; it is needed before a fiscal unit can be provisioned in ${jurisdiction}.`,
        param: `fiscal_identity.${first.field}`,
      });
    }
    return provider;
  }

  const organizations = (tenant: Tenant) => deps.organizations.get(tenant);

  /** The identity the register's fiscal documents carry: its location's (a branch abroad), else the organization's. */
  async function fiscalIdentityOf(tenant: Tenant, register: RegisterRow) {
    const organization = await organizations(tenant);
    const location = await deps.locations.findRow(tenant, register.location_id);
    const own = parseLocationIdentity(location);
    const value = effectiveFiscalIdentity(organization.fiscal_identity, own) ?? {};
    return { value, owner: value === own ? 'location' : 'organization' };
  }

  /** When and where an event of the register happens, for the regimes' local receipt times. */
  async function eventTime(tenant: Tenant, register: RegisterRow): Promise<EventTime> {
    const location = await deps.locations.findRow(tenant, register.location_id);
    return eventTimeIn(register, location.timezone);
  }

  /** {@link eventTime} when the location's time zone is known already. */
  function eventTimeIn(register: RegisterRow, timeZone: string): EventTime {
    return { at: clock.now(), timeZone, clientId: register.serial_number, registerId: register.id };
  }

  /** Creates, provisions and activates a unit for the register; the caller holds the transaction. */
  async function provisionUnit(
    tenant: Tenant,
    register: RegisterRow,
    provider: FiscalProvider,
    replaces: FiscalUnitRow | null,
    options: Readonly<Record<string, unknown>>,
  ) {
    const now = toUtcString(clock.now());
    const id = newId('fu');
    const row: FiscalUnitRow = {
      id,
      platform_id: tenant.platformId,
      organization_id: tenant.organizationId,
      register_id: register.id,
      jurisdiction: register.jurisdiction,
      provider: provider.name,
      state: 'provisioning',
      certified: provider.certified ? 1n : 0n,
      fiscal_registration: '{}',
      reason: null,
      replaces: replaces?.id ?? null,
      replaced_by: null,
      simulated_failure: 'none',
      last_error: null,
      provisioned_at: null,
      decommissioned_at: null,
      created_at: now,
      updated_at: now,
    };
    await repository.insert(row);
    let result: Awaited<ReturnType<FiscalProvider['provision']>>;
    const identity = await fiscalIdentityOf(tenant, register);
    try {
      result = await withTimeout(
        provider.provision({
          ...(await eventTime(tenant, register)),
          fiscalUnitId: id,
          fiscalIdentity: Object.fromEntries(
            Object.entries(identity.value).filter((entry): entry is [string, string] => typeof entry[1] === 'string'),
          ),
          options,
          replaces,
        }),
        deps.signingTimeoutMs,
      );
    } catch (error) {
      if (error instanceof SigningDeviceError) throw deviceFailure(error, register.jurisdiction);
      throw error;
    }
    const active: FiscalUnitChanges = {
      state: 'active',
      fiscal_registration: JSON.stringify(result.registration),
      provisioned_at: now,
      updated_at: now,
    };
    await repository.update(id, active);
    await registers.setActiveFiscalUnit(register.id, id, now);
    const unit = { ...row, ...active } as FiscalUnitRow;
    await journal.append({
      registerId: register.id,
      type: 'fiscal_unit.provisioned',
      subjectId: id,
      payload: { fiscal_unit: presentFiscalUnit(unit) },
      at: now,
    });
    return { unit, secrets: result.secrets };
  }

  /** Decommissions inside the caller's transaction. A failing device cannot sign its farewell; that is recorded. */
  async function decommissionUnit(tenant: Tenant, unit: FiscalUnitRow, reason: string, final: boolean) {
    const now = toUtcString(clock.now());
    let signed = false;
    // What can still sign signs its farewell (DE: a system log; AT: the Schlussbeleg, unsigned if it must be).
    if (unit.state !== 'provisioning') {
      try {
        const register = await registers.findRow(tenant, unit.register_id);
        await withTimeout(
          providerOf(unit).decommission(unit, { ...(await eventTime(tenant, register)), final }),
          deps.signingTimeoutMs,
        );
        signed = unit.simulated_failure === 'none';
      } catch (error) {
        if (!(error instanceof SigningDeviceError)) throw error;
      }
    }
    const changes: FiscalUnitChanges = {
      state: 'decommissioned',
      reason,
      replaced_by: null,
      decommissioned_at: now,
      updated_at: now,
    };
    await repository.update(unit.id, changes);
    const decommissioned = { ...unit, ...changes } as FiscalUnitRow;
    await journal.append({
      registerId: unit.register_id,
      type: 'fiscal_unit.decommissioned',
      subjectId: unit.id,
      payload: { fiscal_unit: presentFiscalUnit(decommissioned), reason, device_signed: signed },
      at: now,
    });
    return decommissioned;
  }

  async function registerKey(tenant: Tenant, register: RegisterRow, issue: boolean | undefined) {
    if (issue !== true) return null;
    const key = await deps.apiKeys.issueRegisterKey(tenant, register.id, `Register ${register.serial_number}`);
    return key.api_key;
  }

  async function activeUnitOf(register: RegisterRow): Promise<FiscalUnitRow | undefined> {
    return register.active_fiscal_unit_id === null ? undefined : repository.findById(register.active_fiscal_unit_id);
  }

  return {
    findRow,
    providerOf,

    async findPresented(id: string): Promise<FiscalUnit | null> {
      const row = await repository.findById(id);
      return row === undefined ? null : presentFiscalUnit(row);
    },

    async provision(tenant: Tenant, registerId: string, body: ProvisionFiscalUnitBody): Promise<FiscalUnitResponse> {
      return unitOfWork.transaction(async () => {
        const register = await registers.findRow(tenant, registerId);
        assertUsable(register);
        if (register.active_fiscal_unit_id !== null) {
          throw new AppError('fiscal_unit_already_active', {
            message:
              'The register already has a fiscal unit; use POST /v1/registers/{registerId}/fiscal-units/replace.',
          });
        }
        const provider = await chooseProvider(tenant, register, body?.provider);
        await registers.lock(register.id);
        const { unit, secrets } = await provisionUnit(tenant, register, provider, null, body?.options ?? {});
        const apiKey = await registerKey(tenant, register, body?.issue_register_credential);
        return {
          object: 'fiscal_unit_response',
          fiscal_unit: presentFiscalUnit(unit),
          register: await registers.presentRow(await registers.findRow(tenant, registerId)),
          register_api_key: apiKey,
          registration_secrets: secrets,
        };
      });
    },

    async list(tenant: Tenant, registerId: string, query: ListQuery): Promise<Page<FiscalUnit>> {
      const request = toPageRequest(query);
      const register = await registers.findRow(tenant, registerId);
      return toPage(await repository.listByRegister(register.id, request), request, presentFiscalUnit);
    },

    async get(tenant: Tenant, id: string): Promise<FiscalUnit> {
      return presentFiscalUnit(await findRow(tenant, id));
    },

    async replace(tenant: Tenant, registerId: string, body: ReplaceFiscalUnitBody): Promise<FiscalUnitReplacement> {
      return unitOfWork.transaction(async () => {
        const register = await registers.findRow(tenant, registerId);
        assertUsable(register);
        await registers.lock(register.id);
        const old = await activeUnitOf(register);
        if (old === undefined) throw new AppError('no_active_fiscal_unit');
        await assertNoOpenOperations(register.id);
        const provider = await chooseProvider(tenant, register, old.provider as ProviderName);
        // The new unit's id must be known to mark the old one; decommission first so the register has one unit.
        const decommissioned = await decommissionUnit(tenant, old, body.reason, false);
        await registers.setActiveFiscalUnit(register.id, null, toUtcString(clock.now()));
        // The replacement keeps the register's registration (AT: the Kassen-ID's chain and AES key) going.
        const { unit: fresh } = await provisionUnit(tenant, register, provider, old, body.options ?? {});
        await repository.update(old.id, { replaced_by: fresh.id });
        const apiKey = await registerKey(tenant, register, body.issue_register_credential);
        return {
          object: 'fiscal_unit_replacement',
          old_binding: presentFiscalUnit({ ...decommissioned, replaced_by: fresh.id }),
          new_binding: presentFiscalUnit(fresh),
          register: await registers.presentRow(await registers.findRow(tenant, registerId)),
          register_api_key: apiKey,
        };
      });
    },

    async recover(tenant: Tenant, id: string): Promise<FiscalUnit> {
      return unitOfWork.transaction(async () => {
        const unit = await findRow(tenant, id);
        if (unit.state === 'decommissioned') throw new AppError('fiscal_unit_decommissioned');
        if (unit.state === 'active') return presentFiscalUnit(unit);
        await registers.lock(unit.register_id);
        const health = await withTimeout(providerOf(unit).health(unit), deps.signingTimeoutMs).catch(
          (error: unknown) => {
            if (error instanceof SigningDeviceError) return { healthy: false, message: error.message };
            throw error;
          },
        );
        if (!health.healthy) {
          throw new AppError('fiscal_unit_unavailable', {
            message: `The fiscal unit is still unavailable: ${health.message ?? 'no answer'}`,
          });
        }
        const register = await registers.findRow(tenant, unit.register_id);
        const record = await withTimeout(
          providerOf(unit).recorder.recovered(unit, await eventTime(tenant, register)),
          deps.signingTimeoutMs,
        ).catch((error: unknown) => {
          if (error instanceof SigningDeviceError) throw deviceFailure(error, unit.jurisdiction);
          throw error;
        });
        if (record.deviceFailure !== null) {
          throw new AppError('fiscal_unit_unavailable', {
            message: `The fiscal unit is still unavailable: ${record.deviceFailure}`,
          });
        }
        return presentFiscalUnit(await markRecovered(unit, record.block));
      });
    },

    async decommission(tenant: Tenant, id: string, reason: string): Promise<FiscalUnit> {
      return unitOfWork.transaction(async () => {
        const unit = await findRow(tenant, id);
        if (unit.state === 'decommissioned') throw new AppError('fiscal_unit_decommissioned');
        await registers.lock(unit.register_id);
        await assertNoOpenOperations(unit.register_id);
        const decommissioned = await decommissionUnit(tenant, unit, reason, true);
        await registers.setActiveFiscalUnit(unit.register_id, null, toUtcString(clock.now()));
        return presentFiscalUnit(decommissioned);
      });
    },

    /** Register archive: decommissions the unit, if any, inside the archive's transaction. */
    async decommissionActiveUnit(tenant: Tenant, register: RegisterRow, reason: string): Promise<void> {
      const unit = await activeUnitOf(register);
      if (unit === undefined) return;
      await registers.lock(register.id);
      await assertNoOpenOperations(register.id);
      await decommissionUnit(tenant, unit, reason, true);
      await registers.setActiveFiscalUnit(register.id, null, toUtcString(clock.now()));
    },

    async simulateFailure(tenant: Tenant, id: string, body: SimulateFailureBody): Promise<FiscalUnit> {
      if (deps.environment !== 'test') throw notFound('fiscal unit', id);
      return unitOfWork.transaction(async () => {
        const unit = await findRow(tenant, id);
        if (unit.state === 'decommissioned') throw new AppError('fiscal_unit_decommissioned');
        const changes: FiscalUnitChanges = { simulated_failure: body.mode, updated_at: toUtcString(clock.now()) };
        await repository.update(unit.id, changes);
        return presentFiscalUnit({ ...unit, ...changes } as FiscalUnitRow);
      });
    },

    recordFailure,

    /** A unit in `error` that signed again is active again; inside the caller's transaction. */
    markRecovered: (unit: FiscalUnitRow) => markRecovered(unit, null),

    applyRecord,
    eventTime,
    eventTimeIn,

    /** The register's unit that records its fiscal events (`active`, or `error` and trying again); else 409. */
    async signingUnitOf(register: RegisterRow): Promise<FiscalUnitRow> {
      const unit = await activeUnitOf(register);
      if (unit === undefined || (unit.state !== 'active' && unit.state !== 'error')) {
        throw new AppError('no_active_fiscal_unit');
      }
      return unit;
    },

    /**
     * One recording by `unit`, inside the caller's transaction and bounded by the signing timeout. What the
     * regime's outage procedure absorbed puts the unit in `error`, a record by a unit in `error` recovers it; a
     * failure the regime cannot absorb is recorded on the unit after the rollback (then `onFailure` runs) and
     * surfaces as 502/503.
     */
    async record(
      unit: FiscalUnitRow,
      call: () => Promise<FiscalRecord>,
      onFailure: (() => Promise<void>) | null = null,
    ): Promise<FiscalRecord> {
      try {
        const result = await withTimeout(call(), deps.signingTimeoutMs);
        await applyRecord(unit, result);
        return result;
      } catch (error) {
        if (!(error instanceof SigningDeviceError)) throw error;
        unitOfWork.afterRollback(async () => {
          await recordFailure(unit.id, error.message);
          if (onFailure !== null) await onFailure();
        });
        throw deviceFailure(error, unit.jurisdiction);
      }
    },
  };

  /**
   * Records a device failure after the failed unit of work rolled back: the unit goes to `error` (journaled).
   * Runs in its own transaction.
   */
  async function recordFailure(unitId: string, message: string): Promise<void> {
    await unitOfWork.transaction(async () => {
      const unit = await repository.findById(unitId);
      if (unit?.state !== 'active') return;
      await registers.lock(unit.register_id);
      await markFailed(unit, message);
    });
  }

  /**
   * After a recorder returned: a failure the regime's outage procedure absorbed puts the unit in `error` (an
   * outage begins); a record made by a unit in `error` ends its outage. Inside the caller's transaction.
   */
  async function applyRecord(unit: FiscalUnitRow, record: FiscalRecord): Promise<void> {
    // A recorder that produced nothing did not use the device (AT: a sale's start), so it proves nothing.
    if (record.block === null && record.deviceFailure === null) return;
    if (record.deviceFailure !== null) {
      if (unit.state === 'active') await markFailed(unit, record.deviceFailure);
    } else if (unit.state === 'error') {
      await markRecovered(unit, null);
    }
  }

  async function markFailed(unit: FiscalUnitRow, message: string): Promise<void> {
    const now = toUtcString(clock.now());
    const changes: FiscalUnitChanges = { state: 'error', last_error: message, updated_at: now };
    await repository.update(unit.id, changes);
    if ((await deps.outages.findOpen(unit.id)) === undefined) {
      await deps.outages.open({
        id: newId('out'),
        register_id: unit.register_id,
        fiscal_unit_id: unit.id,
        started_at: now,
        message,
        created_at: now,
        updated_at: now,
      });
    }
    await journal.append({
      registerId: unit.register_id,
      type: 'fiscal_unit.failed',
      subjectId: unit.id,
      payload: { fiscal_unit_id: unit.id, message },
      at: now,
    });
  }

  async function markRecovered(unit: FiscalUnitRow, receipt: FiscalBlock | null): Promise<FiscalUnitRow> {
    const now = toUtcString(clock.now());
    const changes: FiscalUnitChanges = { state: 'active', last_error: null, updated_at: now };
    await repository.update(unit.id, changes);
    const outage = await deps.outages.findOpen(unit.id);
    if (outage !== undefined) await deps.outages.close(outage.id, now);
    await journal.append({
      registerId: unit.register_id,
      type: 'fiscal_unit.recovered',
      subjectId: unit.id,
      // AT: the Sammelbeleg the recovery issued.
      payload: receipt === null ? { fiscal_unit_id: unit.id } : { fiscal_unit_id: unit.id, receipt },
      at: now,
    });
    return { ...unit, ...changes } as FiscalUnitRow;
  }
}

export type FiscalUnitService = ReturnType<typeof createFiscalUnitService>;
