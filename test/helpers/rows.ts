/**
 * Raw table rows for the tests that work below the services (providers, repositories, export writers): a tenant
 * (platform, organization, location), registers and fiscal units, inserted directly with the columns the services
 * would write. Only what the tests vary is an option; everything else has the value a fresh row has.
 */
import type { Database } from '../../src/db/database.js';
import type { FiscalUnitState } from '../../src/db/schema.js';
import type { FiscalUnitRow } from '../../src/modules/fiscal-units/fiscal-unit.repository.js';
import { newId } from '../../src/shared/ids.js';

export interface TenantRows {
  readonly platformId: string;
  readonly organizationId: string;
  readonly locationId: string;
}

export interface TenantRowOptions {
  /** `created_at` (and `updated_at`) of the three rows. */
  readonly now: string;
  readonly platformName: string;
  /** Default: 'Musterfrau GmbH'. */
  readonly legalName?: string;
  /** The organization's JSON fiscal identity; default null. */
  readonly fiscalIdentity?: string | null;
  /** Default: 'Wien'. */
  readonly locationName?: string;
  /** Ids the test already holds; new ones are made otherwise. */
  readonly platformId?: string;
  readonly organizationId?: string;
  readonly locationId?: string;
}

/** A platform, an Austrian organization in it and a location in Vienna. */
export async function insertTenantRows(database: Database, options: TenantRowOptions): Promise<TenantRows> {
  const { now } = options;
  const tenant: TenantRows = {
    platformId: options.platformId ?? newId('plt'),
    organizationId: options.organizationId ?? newId('org'),
    locationId: options.locationId ?? newId('loc'),
  };
  const db = database.executor();
  await db
    .insertInto('platforms')
    .values({ id: tenant.platformId, name: options.platformName, created_at: now })
    .execute();
  await db
    .insertInto('organizations')
    .values({
      id: tenant.organizationId,
      platform_id: tenant.platformId,
      legal_name: options.legalName ?? 'Musterfrau GmbH',
      country: 'AT',
      tax_id: null,
      trade_name: null,
      address: null,
      fiscal_identity: options.fiscalIdentity ?? null,
      metadata: '{}',
      created_at: now,
      updated_at: now,
    })
    .execute();
  await db
    .insertInto('locations')
    .values({
      id: tenant.locationId,
      platform_id: tenant.platformId,
      organization_id: tenant.organizationId,
      name: options.locationName ?? 'Wien',
      address: null,
      timezone: 'Europe/Vienna',
      metadata: '{}',
      created_at: now,
      updated_at: now,
    })
    .execute();
  return tenant;
}

export interface RegisterRowOptions {
  /** Default: a new register id. */
  readonly id?: string;
  readonly jurisdiction: string;
  /** Default: the register's id. */
  readonly serialNumber?: string;
  /** Default: the serial number. */
  readonly label?: string;
  /** Default: null (not yet fiscalized). */
  readonly fiscalizedAt?: string | null;
  /** `created_at` and `updated_at`. */
  readonly now: string;
}

/** An active EUR register with no fiscal unit, sequence numbers or journal yet; returns its id. */
export async function insertRegisterRow(
  database: Database,
  tenant: TenantRows,
  options: RegisterRowOptions,
): Promise<string> {
  const id = options.id ?? newId('reg');
  const serialNumber = options.serialNumber ?? id;
  const { now } = options;
  await database
    .executor()
    .insertInto('registers')
    .values({
      id,
      platform_id: tenant.platformId,
      organization_id: tenant.organizationId,
      location_id: tenant.locationId,
      label: options.label ?? serialNumber,
      jurisdiction: options.jurisdiction,
      serial_number: serialNumber,
      currency: 'EUR',
      state: 'active',
      active_fiscal_unit_id: null,
      fiscalized_at: options.fiscalizedAt ?? null,
      metadata: '{}',
      created_at: now,
      updated_at: now,
      archived_at: null,
      last_sequence_number: 0,
      journal_length: 0,
      open_operations: 0,
      closing_schedule: null,
    })
    .execute();
  return id;
}

export interface FiscalUnitRowOptions {
  /** Default: a new fiscal unit id. */
  readonly id?: string;
  readonly registerId: string;
  readonly jurisdiction: string;
  readonly provider: string;
  /** Default: 'active'. */
  readonly state?: FiscalUnitState;
  /** Default: '{}'. */
  readonly fiscalRegistration?: string;
  /** `created_at`, `updated_at` and, unless the unit is still provisioning, `provisioned_at`. */
  readonly now: string;
}

/** An uncertified fiscal unit of the register, without failures, replacements or reason; returns the row. */
export async function insertFiscalUnitRow(
  database: Database,
  tenant: Pick<TenantRows, 'platformId' | 'organizationId'>,
  options: FiscalUnitRowOptions,
): Promise<FiscalUnitRow> {
  const { now } = options;
  const state = options.state ?? 'active';
  const row: FiscalUnitRow = {
    id: options.id ?? newId('fu'),
    platform_id: tenant.platformId,
    organization_id: tenant.organizationId,
    register_id: options.registerId,
    jurisdiction: options.jurisdiction,
    provider: options.provider,
    state,
    certified: 0n,
    fiscal_registration: options.fiscalRegistration ?? '{}',
    reason: null,
    replaces: null,
    replaced_by: null,
    simulated_failure: 'none',
    last_error: null,
    provisioned_at: state === 'provisioning' ? null : now,
    decommissioned_at: null,
    created_at: now,
    updated_at: now,
  };
  await database.executor().insertInto('fiscal_units').values(row).execute();
  return row;
}
