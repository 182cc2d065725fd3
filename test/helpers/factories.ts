/** Test data through the public API, the way an integrator creates it. */
import { expect } from 'vitest';
import type { ApiKeyView } from '../../src/modules/api-keys/api-key.service.js';
import type { Location } from '../../src/modules/locations/location.schemas.js';
import type { Organization } from '../../src/modules/organizations/organization.schemas.js';
import type { Register } from '../../src/modules/registers/register.schemas.js';
import type { ApiClient } from './api-client.js';
import type { TestApp } from './test-app.js';

export interface PlatformFixture {
  readonly platformId: string;
  readonly key: string;
  /** Authenticated with the platform key, no organization header. */
  readonly api: ApiClient;
}

/** A platform created as the operator would (CLI service), bootstrapped over HTTP. */
export async function createPlatform(t: TestApp, name = 'Test platform'): Promise<PlatformFixture> {
  const { platform, setupToken } = await t.container.platforms.createPlatform(name);
  const response = await t.api.post<ApiKeyView>('/v1/auth/bootstrap', { setup_token: setupToken });
  expect(response.status).toBe(201);
  const key = response.body.api_key ?? '';
  return { platformId: platform.id, key, api: t.api.as(key) };
}

export async function createOrganization(
  api: ApiClient,
  overrides: Record<string, unknown> = {},
): Promise<Organization> {
  const response = await api.post<Organization>('/v1/organizations', {
    legal_name: 'Mustermann GmbH',
    country: 'DE',
    ...overrides,
  });
  expect(response.status, response.text).toBe(201);
  return response.body;
}

export async function createLocation(
  api: ApiClient,
  organizationId: string,
  overrides: Record<string, unknown> = {},
): Promise<Location> {
  const response = await api.post<Location>(`/v1/organizations/${organizationId}/locations`, {
    name: 'Berlin Mitte',
    ...overrides,
  });
  expect(response.status, response.text).toBe(201);
  return response.body;
}

export async function createRegister(
  api: ApiClient,
  locationId: string,
  overrides: Record<string, unknown> = {},
): Promise<Register> {
  const response = await api.post<Register>(`/v1/locations/${locationId}/registers`, {
    label: 'Kasse 1',
    jurisdiction: 'DE',
    ...overrides,
  });
  expect(response.status, response.text).toBe(201);
  return response.body;
}

export interface TenantFixture extends PlatformFixture {
  readonly organization: Organization;
  readonly location: Location;
  readonly register: Register;
  /** The platform key acting for the organization. */
  readonly orgApi: ApiClient;
}

/** A platform with one organization, location and register. */
export async function createTenant(t: TestApp, name = 'Test platform'): Promise<TenantFixture> {
  const platform = await createPlatform(t, name);
  const organization = await createOrganization(platform.api);
  const orgApi = platform.api.forOrganization(organization.id);
  const location = await createLocation(orgApi, organization.id);
  const register = await createRegister(orgApi, location.id);
  return { ...platform, organization, location, register, orgApi };
}
