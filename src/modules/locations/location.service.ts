/**
 * Locations: the shops of an organization. A location's time zone decides the business day of its registers; its
 * fiscal identity, when set, is that of the permanent establishment (Betriebsstätte) it is in, and its registers use
 * it in place of the organization's (`effectiveFiscalIdentity`). That identity is checked against the country of the
 * location's address.
 * @module
 */
import type { UnitOfWork } from '../../db/database.js';
import { AppError, notFound } from '../../errors/app-error.js';
import { checkFiscalIdentity, type FiscalIdentity } from '../../regimes/fiscal-identity.js';
import type { Clock } from '../../shared/clock.js';
import { defaultTimezone, timezoneName } from '../../shared/countries.js';
import { isId, newId } from '../../shared/ids.js';
import { mergeMetadata } from '../../shared/metadata.js';
import { toPage, toPageRequest, type ListQuery, type Page } from '../../shared/pagination.js';
import type { Tenant } from '../../shared/tenant.js';
import { toUtcString } from '../../shared/time.js';
import type { LocationChanges, LocationRepository, LocationRow } from './location.repository.js';
import type { CreateLocationBody, Location, UpdateLocationBody } from './location.schemas.js';

export interface LocationServiceDeps {
  readonly repository: LocationRepository;
  readonly unitOfWork: UnitOfWork;
  readonly clock: Clock;
}

/** The location's own fiscal identity (a Betriebsstätte abroad), or null: its registers use the organization's. */
export function parseLocationIdentity(row: Pick<LocationRow, 'fiscal_identity'>): FiscalIdentity | null {
  return row.fiscal_identity === null ? null : (JSON.parse(row.fiscal_identity) as FiscalIdentity);
}

function present(row: LocationRow): Location {
  return {
    id: row.id,
    object: 'location',
    organization_id: row.organization_id,
    name: row.name,
    address: row.address === null ? null : (JSON.parse(row.address) as Location['address']),
    timezone: row.timezone,
    fiscal_identity: parseLocationIdentity(row),
    metadata: JSON.parse(row.metadata) as Record<string, string>,
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}

/** The time zone as stored (canonical letter case); 422 for a name this server does not know. */
function checkedTimezone(timezone: string): string {
  const name = timezoneName(timezone);
  if (name === null) {
    throw new AppError('validation_error', { message: `Unknown IANA time zone ${timezone}.`, param: 'timezone' });
  }
  return name;
}

const addressJson = (address: CreateLocationBody['address']) =>
  address == null ? null : JSON.stringify({ line2: null, state: null, ...address });

/** The fiscal identity as stored: JSON, or null when unset or without any identifier (`{}`). */
function fiscalIdentityJson(identity: CreateLocationBody['fiscal_identity']): string | null {
  if (identity == null) return null;
  const fields = Object.entries(identity).filter(([, value]) => value !== undefined);
  return fields.length === 0 ? null : JSON.stringify(Object.fromEntries(fields));
}

const addressCountry = (address: string | null): string | null =>
  address === null ? null : (JSON.parse(address) as { country: string }).country;

/**
 * Checks a location's fiscal identity (stored JSON) against the country of its address (stored JSON); 422 naming
 * the offending field. `cause` says what the request changed: the identity itself, or the address under it.
 */
function assertFiscalIdentity(address: string | null, identity: string | null, cause: 'identity' | 'address'): void {
  if (identity === null) return;
  const country = addressCountry(address);
  if (country === null) {
    throw new AppError(
      'validation_error',
      cause === 'identity'
        ? {
            message:
              "A location's fiscal_identity belongs to the country of its address, and this location has no address; " +
              'send `address` with it.',
            param: 'fiscal_identity',
          }
        : {
            message:
              'The location has a fiscal_identity, which belongs to the country of its address; it cannot lose its ' +
              'address while the fiscal_identity is set (clear fiscal_identity with null first, or in the same request).',
            param: 'address',
          },
    );
  }
  const [problem] = checkFiscalIdentity(country, JSON.parse(identity) as FiscalIdentity, false);
  if (problem !== undefined) {
    throw new AppError('validation_error', {
      message:
        cause === 'identity'
          ? `fiscal_identity.${problem.field} ${problem.message} (the location's address is in ${country}).`
          : `The location's new address is in ${country}, where its fiscal_identity.${problem.field} ` +
            `${problem.message}; change or clear fiscal_identity in the same request.`,
      param: `fiscal_identity.${problem.field}`,
    });
  }
}

export function createLocationService({ repository, unitOfWork, clock }: LocationServiceDeps) {
  async function findRow(tenant: Tenant, id: string): Promise<LocationRow> {
    const row = isId('loc', id) ? await repository.find(tenant.organizationId, id) : undefined;
    if (row === undefined) throw notFound('location', id);
    return row;
  }

  return {
    /** The location row, for services that build on locations (registers). 404 outside the tenant. */
    findRow,

    async create(tenant: Tenant, input: CreateLocationBody): Promise<Location> {
      let timezone = input.timezone;
      if (timezone === undefined) {
        const country = await repository.organizationCountry(tenant.organizationId);
        timezone = country === undefined ? undefined : (defaultTimezone(country) ?? undefined);
        if (timezone === undefined) {
          throw new AppError('validation_error', {
            message: `The organization's country (${country ?? 'unknown'}) has several time zones; send \`timezone\`.`,
            param: 'timezone',
          });
        }
      }
      timezone = checkedTimezone(timezone);
      const address = addressJson(input.address);
      const fiscalIdentity = fiscalIdentityJson(input.fiscal_identity);
      assertFiscalIdentity(address, fiscalIdentity, 'identity');
      const now = toUtcString(clock.now());
      const row: LocationRow = {
        id: newId('loc'),
        platform_id: tenant.platformId,
        organization_id: tenant.organizationId,
        name: input.name,
        address,
        timezone,
        metadata: JSON.stringify(input.metadata ?? {}),
        created_at: now,
        updated_at: now,
        fiscal_identity: fiscalIdentity,
      };
      await repository.insert(row);
      return present(row);
    },

    async list(tenant: Tenant, query: ListQuery): Promise<Page<Location>> {
      const request = toPageRequest(query);
      return toPage(await repository.list(tenant.organizationId, request), request, present);
    },

    async get(tenant: Tenant, id: string): Promise<Location> {
      return present(await findRow(tenant, id));
    },

    async update(tenant: Tenant, id: string, patch: UpdateLocationBody): Promise<Location> {
      return unitOfWork.transaction(async () => {
        const row = await findRow(tenant, id);
        const changes: LocationChanges = {};
        if (patch.name !== undefined) changes.name = patch.name;
        if (patch.address !== undefined) changes.address = addressJson(patch.address);
        if (patch.timezone !== undefined) {
          changes.timezone = checkedTimezone(patch.timezone);
        }
        if (patch.fiscal_identity !== undefined) changes.fiscal_identity = fiscalIdentityJson(patch.fiscal_identity);
        const address = changes.address === undefined ? row.address : changes.address;
        const fiscalIdentity = changes.fiscal_identity === undefined ? row.fiscal_identity : changes.fiscal_identity;
        if (patch.fiscal_identity !== undefined) {
          assertFiscalIdentity(address, fiscalIdentity, 'identity');
        } else if (addressCountry(address) !== addressCountry(row.address)) {
          // The identity stays, but the country it was checked against changes (or goes): check it again.
          assertFiscalIdentity(address, fiscalIdentity, 'address');
        }
        if (patch.metadata !== undefined) {
          changes.metadata = JSON.stringify(
            mergeMetadata(JSON.parse(row.metadata) as Record<string, string>, patch.metadata),
          );
        }
        if (Object.keys(changes).length === 0) return present(row);
        changes.updated_at = toUtcString(clock.now());
        await repository.update(row.id, changes);
        return present({ ...row, ...changes });
      });
    },
  };
}

export type LocationService = ReturnType<typeof createLocationService>;
