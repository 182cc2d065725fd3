/**
 * A location's fiscal identity: the identity of the permanent establishment (Betriebsstätte) it is in, checked
 * against the country of its address, used for its registers in place of the organization's.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Location } from '../src/modules/locations/location.schemas.js';
import type { Organization } from '../src/modules/organizations/organization.schemas.js';
import type { Page } from '../src/shared/pagination.js';
import type { ApiClient } from './helpers/api-client.js';
import { expectError } from './helpers/assertions.js';
import { describeDb } from './helpers/engines.js';
import { createLocation, createOrganization, createPlatform, type PlatformFixture } from './helpers/factories.js';
import { buildTestApp, type TestApp } from './helpers/test-app.js';

const MUNICH = { line1: 'Marienplatz 8', city: 'München', postal_code: '80331', country: 'DE' };
const VIENNA = { line1: 'Stephansplatz 1', city: 'Wien', postal_code: '1010', country: 'AT' };
/** The German identity of the Munich branch (Steuernummer, USt-IdNr with a valid check digit). */
const GERMAN = { tax_number: '21/815/08150', vat_id: 'DE143454214' };

describeDb('location fiscal identity', () => {
  let t: TestApp;
  let p: PlatformFixture;
  let org: Organization;
  let api: ApiClient;
  const locationsUrl = () => `/v1/organizations/${org.id}/locations`;

  beforeAll(async () => {
    t = await buildTestApp();
    p = await createPlatform(t);
    org = await createOrganization(p.api, {
      legal_name: 'Alpen Handels GmbH',
      country: 'AT',
      fiscal_identity: { vat_id: 'ATU13585627' },
    });
    api = p.api.forOrganization(org.id);
  });
  afterAll(() => t.close());

  it('is null on a location without one', async () => {
    const location = await createLocation(api, org.id, { name: 'Wien', address: VIENNA });
    expect(location.fiscal_identity).toBeNull();
    expect((await api.get<Location>(`/v1/locations/${location.id}`)).body.fiscal_identity).toBeNull();
  });

  it('creates a German branch of an Austrian organization with its German identity', async () => {
    const location = await createLocation(api, org.id, {
      name: 'München',
      address: MUNICH,
      timezone: 'Europe/Berlin',
      fiscal_identity: GERMAN,
    });
    expect(location).toMatchObject({
      object: 'location',
      organization_id: org.id,
      address: { ...MUNICH, line2: null, state: null },
      fiscal_identity: GERMAN,
    });
    expect((await api.get<Location>(`/v1/locations/${location.id}`)).body).toEqual(location);
    const listed = await api.get<Page<Location>>(locationsUrl());
    expect(listed.body.data.find((l) => l.id === location.id)).toEqual(location);
    // The organization keeps its own identity.
    expect((await api.get<Organization>(`/v1/organizations/${org.id}`)).body.fiscal_identity).toEqual({
      vat_id: 'ATU13585627',
    });
  });

  it('accepts an identity that is not yet complete (a Steuernummer alone)', async () => {
    const location = await createLocation(api, org.id, {
      name: 'Passau',
      address: { ...MUNICH, city: 'Passau', postal_code: '94032' },
      fiscal_identity: { tax_number: GERMAN.tax_number },
    });
    expect(location.fiscal_identity).toEqual({ tax_number: GERMAN.tax_number });
  });

  it.each([
    ['a wrong check digit', { ...GERMAN, vat_id: 'DE143454215' }, 'fiscal_identity.vat_id'],
    ['an Austrian UID on a German location', { vat_id: 'ATU13585627' }, 'fiscal_identity.vat_id'],
    [
      'a field not used in Germany',
      { ...GERMAN, organization_number: '923609016' },
      'fiscal_identity.organization_number',
    ],
    ['a malformed Steuernummer', { tax_number: '21/815' }, 'fiscal_identity.tax_number'],
  ])('refuses an identity with %s', async (_, fiscal_identity, param) => {
    const body = expectError(
      await api.post(locationsUrl(), { name: 'München', address: MUNICH, fiscal_identity }),
      422,
      'validation_error',
      param,
    );
    expect(body.message).toContain(param);
  });

  it('refuses an identity on a location without an address: its country is unknown', async () => {
    const body = expectError(
      await api.post(locationsUrl(), { name: 'Nirgendwo', fiscal_identity: GERMAN }),
      422,
      'validation_error',
      'fiscal_identity',
    );
    expect(body.message).toMatch(/address/);
    expectError(
      await api.post(locationsUrl(), { name: 'Nirgendwo', address: null, fiscal_identity: GERMAN }),
      422,
      'validation_error',
      'fiscal_identity',
    );
  });

  it('refuses fields outside the schema', async () => {
    expectError(
      await api.post(locationsUrl(), { name: 'München', address: MUNICH, fiscal_identity: { steuernummer: 'x' } }),
      400,
      'invalid_request',
    );
  });

  it('sets, changes and clears the identity with PATCH', async () => {
    const location = await createLocation(api, org.id, { name: 'München', address: MUNICH });
    const url = `/v1/locations/${location.id}`;

    const set = await api.patch<Location>(url, { fiscal_identity: { tax_number: GERMAN.tax_number } });
    expect(set.status, set.text).toBe(200);
    expect(set.body.fiscal_identity).toEqual({ tax_number: GERMAN.tax_number });

    const changed = await api.patch<Location>(url, { fiscal_identity: GERMAN });
    expect(changed.body.fiscal_identity).toEqual(GERMAN);
    expect((await api.get<Location>(url)).body.fiscal_identity).toEqual(GERMAN);

    expectError(
      await api.patch(url, { fiscal_identity: { ...GERMAN, vat_id: 'DE143454215' } }),
      422,
      'validation_error',
      'fiscal_identity.vat_id',
    );
    expect((await api.get<Location>(url)).body.fiscal_identity).toEqual(GERMAN);

    // Other changes leave it alone.
    const renamed = await api.patch<Location>(url, { name: 'München Zentrum' });
    expect(renamed.body).toMatchObject({ name: 'München Zentrum', fiscal_identity: GERMAN });

    const cleared = await api.patch<Location>(url, { fiscal_identity: null });
    expect(cleared.status, cleared.text).toBe(200);
    expect(cleared.body.fiscal_identity).toBeNull();
    expect((await api.get<Location>(url)).body.fiscal_identity).toBeNull();
  });

  it('stores an empty identity as none', async () => {
    const location = await createLocation(api, org.id, { name: 'Nirgendwo', fiscal_identity: {} });
    expect(location.fiscal_identity).toBeNull();
    const url = `/v1/locations/${location.id}`;
    const patched = await api.patch<Location>(url, { address: MUNICH, fiscal_identity: GERMAN });
    expect(patched.body.fiscal_identity).toEqual(GERMAN);
    expect((await api.patch<Location>(url, { fiscal_identity: {} })).body.fiscal_identity).toBeNull();
  });

  it('needs an address for an identity set with PATCH, which may come in the same request', async () => {
    const location = await createLocation(api, org.id, { name: 'Neu' });
    const url = `/v1/locations/${location.id}`;
    expectError(await api.patch(url, { fiscal_identity: GERMAN }), 422, 'validation_error', 'fiscal_identity');
    expectError(
      await api.patch(url, { address: null, fiscal_identity: GERMAN }),
      422,
      'validation_error',
      'fiscal_identity',
    );
    const both = await api.patch<Location>(url, { address: MUNICH, fiscal_identity: GERMAN });
    expect(both.status, both.text).toBe(200);
    expect(both.body).toMatchObject({ address: { country: 'DE' }, fiscal_identity: GERMAN });
  });

  it('checks the identity again when the address changes country', async () => {
    const location = await createLocation(api, org.id, {
      name: 'München',
      address: MUNICH,
      fiscal_identity: GERMAN,
    });
    const url = `/v1/locations/${location.id}`;

    // Same country: nothing to check again.
    const moved = await api.patch<Location>(url, { address: { ...MUNICH, line1: 'Sendlinger Straße 1' } });
    expect(moved.status, moved.text).toBe(200);
    expect(moved.body.fiscal_identity).toEqual(GERMAN);

    // To Austria, where a German identity does not fit.
    const body = expectError(
      await api.patch(url, { address: VIENNA }),
      422,
      'validation_error',
      'fiscal_identity.tax_number',
    );
    expect(body.message).toContain('AT');
    // Without an address, the identity's country would be unknown.
    expectError(await api.patch(url, { address: null }), 422, 'validation_error', 'address');
    expect((await api.get<Location>(url)).body).toMatchObject({ address: { country: 'DE' }, fiscal_identity: GERMAN });

    // With an Austrian identity (or none) in the same request, it moves.
    const austrian = await api.patch<Location>(url, {
      address: VIENNA,
      fiscal_identity: { vat_id: 'ATU13585627', tax_number: '123456789' },
    });
    expect(austrian.status, austrian.text).toBe(200);
    expect(austrian.body).toMatchObject({
      address: { country: 'AT' },
      fiscal_identity: { vat_id: 'ATU13585627', tax_number: '123456789' },
    });
    const gone = await api.patch<Location>(url, { address: null, fiscal_identity: null });
    expect(gone.status, gone.text).toBe(200);
    expect(gone.body).toMatchObject({ address: null, fiscal_identity: null });
  });
});
