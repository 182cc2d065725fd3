/**
 * Locations: the shops of an organization. A location's time zone decides the business day of its registers.
 * @module
 */
import type { UnitOfWork } from '../../db/database.js';
import { AppError, notFound } from '../../errors/app-error.js';
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

function present(row: LocationRow): Location {
  return {
    id: row.id,
    object: 'location',
    organization_id: row.organization_id,
    name: row.name,
    address: row.address === null ? null : (JSON.parse(row.address) as Location['address']),
    timezone: row.timezone,
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
      const now = toUtcString(clock.now());
      const row: LocationRow = {
        id: newId('loc'),
        platform_id: tenant.platformId,
        organization_id: tenant.organizationId,
        name: input.name,
        address: addressJson(input.address),
        timezone,
        metadata: JSON.stringify(input.metadata ?? {}),
        created_at: now,
        updated_at: now,
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
