/**
 * Organizations: the merchants (legal entities) a platform serves. Every query is scoped by the caller's platform,
 * so another platform's organization is a 404.
 * @module
 */
import type { UnitOfWork } from '../../db/database.js';
import { AppError, notFound } from '../../errors/app-error.js';
import { checkFiscalIdentity, type FiscalIdentity } from '../../regimes/fiscal-identity.js';
import type { Clock } from '../../shared/clock.js';
import { isCountryCode } from '../../shared/countries.js';
import { isId, newId } from '../../shared/ids.js';
import { mergeMetadata } from '../../shared/metadata.js';
import { toPage, toPageRequest, type ListQuery, type Page } from '../../shared/pagination.js';
import type { PlatformScope, Tenant } from '../../shared/tenant.js';
import { toUtcString } from '../../shared/time.js';
import type { OrganizationChanges, OrganizationRepository, OrganizationRow } from './organization.repository.js';
import type { CreateOrganizationBody, Organization, UpdateOrganizationBody } from './organization.schemas.js';

export interface OrganizationServiceDeps {
  readonly repository: OrganizationRepository;
  readonly unitOfWork: UnitOfWork;
  readonly clock: Clock;
}

function present(row: OrganizationRow): Organization {
  return {
    id: row.id,
    object: 'organization',
    legal_name: row.legal_name,
    country: row.country,
    tax_id: row.tax_id,
    trade_name: row.trade_name,
    address: row.address === null ? null : (JSON.parse(row.address) as Organization['address']),
    fiscal_identity: row.fiscal_identity === null ? null : (JSON.parse(row.fiscal_identity) as FiscalIdentity),
    metadata: JSON.parse(row.metadata) as Record<string, string>,
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}

function assertFiscalIdentity(country: string, identity: FiscalIdentity | null | undefined): void {
  if (identity === null || identity === undefined) return;
  const [problem] = checkFiscalIdentity(country, identity, false);
  if (problem !== undefined) {
    throw new AppError('validation_error', {
      message: `fiscal_identity.${problem.field} ${problem.message}.`,
      param: `fiscal_identity.${problem.field}`,
    });
  }
}

export function createOrganizationService({ repository, unitOfWork, clock }: OrganizationServiceDeps) {
  async function findRow(platformId: string, id: string): Promise<OrganizationRow> {
    const row = isId('org', id) ? await repository.find(platformId, id) : undefined;
    if (row === undefined) throw notFound('organization', id);
    return row;
  }

  return {
    /** True when the organization exists and belongs to the platform (tenant resolution uses this). */
    async belongsToPlatform(platformId: string, organizationId: string): Promise<boolean> {
      return isId('org', organizationId) && (await repository.find(platformId, organizationId)) !== undefined;
    },

    async create(scope: PlatformScope, input: CreateOrganizationBody): Promise<Organization> {
      if (!isCountryCode(input.country)) {
        throw new AppError('validation_error', { message: `Unknown country code ${input.country}.`, param: 'country' });
      }
      assertFiscalIdentity(input.country, input.fiscal_identity);
      const now = toUtcString(clock.now());
      const row: OrganizationRow = {
        id: newId('org'),
        platform_id: scope.platformId,
        legal_name: input.legal_name,
        country: input.country,
        tax_id: input.tax_id ?? null,
        trade_name: input.trade_name ?? null,
        address: input.address == null ? null : JSON.stringify({ line2: null, state: null, ...input.address }),
        fiscal_identity: input.fiscal_identity == null ? null : JSON.stringify(input.fiscal_identity),
        metadata: JSON.stringify(input.metadata ?? {}),
        created_at: now,
        updated_at: now,
      };
      await repository.insert(row);
      return present(row);
    },

    async list(scope: PlatformScope, query: ListQuery): Promise<Page<Organization>> {
      const request = toPageRequest(query);
      return toPage(await repository.list(scope.platformId, request), request, present);
    },

    async get(tenant: Tenant): Promise<Organization> {
      return present(await findRow(tenant.platformId, tenant.organizationId));
    },

    async update(tenant: Tenant, patch: UpdateOrganizationBody): Promise<Organization> {
      return unitOfWork.transaction(async () => {
        const row = await findRow(tenant.platformId, tenant.organizationId);
        assertFiscalIdentity(row.country, patch.fiscal_identity);
        const changes: OrganizationChanges = {};
        if (patch.legal_name !== undefined) changes.legal_name = patch.legal_name;
        if (patch.tax_id !== undefined) changes.tax_id = patch.tax_id;
        if (patch.trade_name !== undefined) changes.trade_name = patch.trade_name;
        if (patch.address !== undefined) {
          changes.address =
            patch.address === null ? null : JSON.stringify({ line2: null, state: null, ...patch.address });
        }
        if (patch.fiscal_identity !== undefined) {
          changes.fiscal_identity = patch.fiscal_identity === null ? null : JSON.stringify(patch.fiscal_identity);
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

export type OrganizationService = ReturnType<typeof createOrganizationService>;
