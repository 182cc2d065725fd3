import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiKeyView } from '../src/modules/api-keys/api-key.service.js';
import type { Location } from '../src/modules/locations/location.schemas.js';
import type { Organization } from '../src/modules/organizations/organization.schemas.js';
import type { Register } from '../src/modules/registers/register.schemas.js';
import type { Page } from '../src/shared/pagination.js';
import type { ApiClient } from './helpers/api-client.js';
import { expectError } from './helpers/assertions.js';
import { describeDb } from './helpers/engines.js';
import {
  createLocation,
  createOrganization,
  createRegister,
  createTenant,
  type TenantFixture,
} from './helpers/factories.js';
import { buildTestApp, type TestApp } from './helpers/test-app.js';

/** Every read and write a caller could aim at another tenant's resources. */
function probes(target: { organization: Organization; location: Location; register: Register }) {
  const { organization, location, register } = target;
  return [
    { method: 'GET', url: `/v1/organizations/${organization.id}` },
    { method: 'PATCH', url: `/v1/organizations/${organization.id}`, body: { legal_name: 'Hijacked' } },
    { method: 'GET', url: `/v1/organizations/${organization.id}/locations` },
    { method: 'POST', url: `/v1/organizations/${organization.id}/locations`, body: { name: 'Intruder' } },
    { method: 'GET', url: `/v1/locations/${location.id}` },
    { method: 'PATCH', url: `/v1/locations/${location.id}`, body: { name: 'Hijacked' } },
    { method: 'GET', url: `/v1/locations/${location.id}/registers` },
    { method: 'POST', url: `/v1/locations/${location.id}/registers`, body: { label: 'Intruder', jurisdiction: 'DE' } },
    { method: 'GET', url: `/v1/registers/${register.id}` },
    { method: 'PATCH', url: `/v1/registers/${register.id}`, body: { label: 'Hijacked' } },
    { method: 'POST', url: `/v1/registers/${register.id}/archive` },
  ] as const;
}

describeDb('tenancy', () => {
  let t: TestApp;
  let a: TenantFixture;
  let b: TenantFixture;
  /** A second organization of platform A. */
  let a2: { organization: Organization; location: Location; register: Register };

  beforeAll(async () => {
    t = await buildTestApp();
    a = await createTenant(t, 'Platform A');
    b = await createTenant(t, 'Platform B');
    const organization = await createOrganization(a.api, { legal_name: 'Zweite GmbH' });
    const location = await createLocation(a.api.forOrganization(organization.id), organization.id);
    const register = await createRegister(a.api.forOrganization(organization.id), location.id);
    a2 = { organization, location, register };
  });
  afterAll(() => t.close());

  const send = (api: ApiClient, probe: ReturnType<typeof probes>[number]) =>
    api.request(probe.method, probe.url, 'body' in probe ? probe.body : undefined);

  it('answers 404 for every resource of another platform, and changes nothing', async () => {
    for (const probe of probes(b)) {
      // Acting for its own organization, aiming at platform B's ids.
      expectError(await send(a.orgApi, probe), 404, 'not_found');
    }
    const unchanged = await b.orgApi.get<Register>(`/v1/registers/${b.register.id}`);
    expect(unchanged.body).toEqual(b.register);
    const organization = await b.orgApi.get<Organization>(`/v1/organizations/${b.organization.id}`);
    expect(organization.body.legal_name).toBe(b.organization.legal_name);
  });

  it("answers 404 when a platform names another platform's organization in the header", async () => {
    const foreign = a.api.forOrganization(b.organization.id);
    expectError(await foreign.get(`/v1/registers/${b.register.id}`), 404, 'not_found', 'OpenFiskal-Organization');
    expectError(await foreign.get(`/v1/locations/${b.location.id}`), 404, 'not_found', 'OpenFiskal-Organization');
  });

  it("answers 404 for another organization's resources under the same platform", async () => {
    for (const probe of probes(a2).filter((p) => !p.url.startsWith('/v1/organizations/'))) {
      expectError(await send(a.orgApi, probe), 404, 'not_found');
    }
  });

  it('lists only the platform’s own organizations', async () => {
    const listed = await a.api.get<Page<Organization>>('/v1/organizations');
    expect(listed.body.data.map((o) => o.id).sort()).toEqual([a.organization.id, a2.organization.id].sort());
  });

  it('requires OpenFiskal-Organization for a platform key on organization endpoints', async () => {
    for (const url of [`/v1/registers/${a.register.id}`, `/v1/locations/${a.location.id}`]) {
      expectError(await a.api.get(url), 400, 'organization_header_required', 'OpenFiskal-Organization');
    }
    // Under /v1/organizations/{id} the path names the organization.
    expect((await a.api.get(`/v1/organizations/${a.organization.id}`)).status).toBe(200);
    // A header contradicting the path is refused.
    expectError(
      await a.api.forOrganization(a2.organization.id).get(`/v1/organizations/${a.organization.id}`),
      400,
      'invalid_request',
      'OpenFiskal-Organization',
    );
  });

  it('treats a malformed organization header or id as unknown (404)', async () => {
    expectError(await a.api.forOrganization('org_nope').get(`/v1/registers/${a.register.id}`), 404, 'not_found');
    expectError(await a.orgApi.get('/v1/registers/org_01jd7xq3m9e5rbq0c2kfvx8w4t'), 404, 'not_found');
    expectError(await a.orgApi.get(`/v1/registers/${a.location.id}`), 404, 'not_found');
    expectError(await a.orgApi.get('/v1/locations/loc_%2E%2E'), 404, 'not_found');
  });

  describe('organization keys', () => {
    let orgKey: ApiClient;
    beforeAll(async () => {
      const created = await a.api.post<ApiKeyView>(`/v1/organizations/${a.organization.id}/api-keys`, {
        label: 'shop',
      });
      orgKey = t.api.as(created.body.api_key ?? '');
    });

    it('acts for its organization without a header', async () => {
      expect((await orgKey.get<Register>(`/v1/registers/${a.register.id}`)).body.id).toBe(a.register.id);
      expect((await orgKey.get(`/v1/organizations/${a.organization.id}`)).status).toBe(200);
      const created = await orgKey.post<Location>(`/v1/organizations/${a.organization.id}/locations`, {
        name: 'Filiale',
      });
      expect(created.status).toBe(201);
      expect(created.body.organization_id).toBe(a.organization.id);
      // The header is optional but must match.
      expect((await orgKey.forOrganization(a.organization.id).get(`/v1/registers/${a.register.id}`)).status).toBe(200);
    });

    it('sees nothing of the sibling organization (404)', async () => {
      expectError(
        await orgKey.forOrganization(a2.organization.id).get(`/v1/registers/${a.register.id}`),
        404,
        'not_found',
      );
      expectError(await orgKey.get(`/v1/organizations/${a2.organization.id}`), 404, 'not_found');
      for (const probe of probes(a2)) expectError(await send(orgKey, probe), 404, 'not_found');
    });

    it('is refused on platform endpoints (403)', async () => {
      expectError(await orgKey.get('/v1/organizations'), 403, 'forbidden');
      expectError(await orgKey.post('/v1/organizations', { legal_name: 'X', country: 'DE' }), 403, 'forbidden');
      expectError(await orgKey.get('/v1/auth/api-keys'), 403, 'forbidden');
      expectError(await orgKey.post('/v1/auth/api-keys', { label: 'x' }), 403, 'forbidden');
    });
  });

  describe('register keys', () => {
    let registerKey: string;
    beforeAll(async () => {
      const issued = await t.container.apiKeys.issueRegisterKey(
        { platformId: a.platformId, organizationId: a.organization.id, registerId: null },
        a.register.id,
        'till 1',
      );
      registerKey = issued.api_key ?? '';
      expect(registerKey).toMatch(/^ofk_reg_test_[0-9A-Za-z]{40}$/);
    });

    it('reads its own register, by Bearer or X-Register-Api-Key', async () => {
      const bearer = await t.api.as(registerKey).get<Register>(`/v1/registers/${a.register.id}`);
      expect(bearer.body.id).toBe(a.register.id);
      const header = await t.api.get<Register>(`/v1/registers/${a.register.id}`, {
        headers: { 'x-register-api-key': registerKey },
      });
      expect(header.status).toBe(200);
      expect(header.body.serial_number).toBe(a.register.serial_number);
    });

    it('is refused on another register and on everything else (403)', async () => {
      const device = t.api.as(registerKey);
      expectError(await device.get(`/v1/registers/${a2.register.id}`), 403, 'forbidden');
      expectError(await device.get(`/v1/registers/${b.register.id}`), 403, 'forbidden');
      expectError(await device.patch(`/v1/registers/${a.register.id}`, { label: 'mine' }), 403, 'forbidden');
      expectError(await device.post(`/v1/registers/${a.register.id}/archive`), 403, 'forbidden');
      expectError(await device.get(`/v1/locations/${a.location.id}`), 403, 'forbidden');
      expectError(await device.get(`/v1/organizations/${a.organization.id}`), 403, 'forbidden');
      expectError(await device.get('/v1/organizations'), 403, 'forbidden');
    });

    it('is only accepted in X-Register-Api-Key when it is a register key', async () => {
      const response = await t.api.get(`/v1/registers/${a.register.id}`, { headers: { 'x-register-api-key': a.key } });
      expectError(response, 401, 'unauthorized');
    });

    it('stops working when its register is archived', async () => {
      const extra = await createRegister(a.orgApi, a.location.id, { label: 'Kasse 9' });
      const issued = await t.container.apiKeys.issueRegisterKey(
        { platformId: a.platformId, organizationId: a.organization.id, registerId: null },
        extra.id,
        'till 9',
      );
      const device = t.api.as(issued.api_key ?? '');
      expect((await device.get(`/v1/registers/${extra.id}`)).status).toBe(200);
      expect((await a.orgApi.post(`/v1/registers/${extra.id}/archive`)).status).toBe(200);
      expectError(await device.get(`/v1/registers/${extra.id}`), 401, 'unauthorized');
    });
  });
});
