import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Location } from '../src/modules/locations/location.schemas.js';
import type { Organization } from '../src/modules/organizations/organization.schemas.js';
import type { Register } from '../src/modules/registers/register.schemas.js';
import type { Page } from '../src/shared/pagination.js';
import { expectError } from './helpers/assertions.js';
import { describeDb } from './helpers/engines.js';
import {
  createLocation,
  createOrganization,
  createPlatform,
  createRegister,
  type PlatformFixture,
} from './helpers/factories.js';
import { buildTestApp, type TestApp } from './helpers/test-app.js';

const ID = (prefix: string) => new RegExp(`^${prefix}_[0-7][0-9a-hjkmnp-tv-z]{25}$`);
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

describeDb('organizations', () => {
  let t: TestApp;
  let p: PlatformFixture;
  beforeAll(async () => {
    t = await buildTestApp();
    p = await createPlatform(t);
  });
  afterAll(() => t.close());

  it('creates an organization with every field and returns it as stored', async () => {
    const input = {
      legal_name: 'Mustermann GmbH',
      country: 'DE',
      tax_id: 'DE143454214',
      trade_name: 'Mustermann Café',
      address: { line1: 'Friedrichstraße 42', city: 'Berlin', postal_code: '10117', country: 'DE' },
      fiscal_identity: { tax_number: '21/815/08150', vat_id: 'DE143454214' },
      metadata: { crm_id: '42' },
    };
    const created = await p.api.post<Organization>('/v1/organizations', input);
    expect(created.status).toBe(201);
    expect(created.body).toEqual({
      ...input,
      address: { ...input.address, line2: null, state: null },
      id: expect.stringMatching(ID('org')) as unknown,
      object: 'organization',
      created_at: expect.stringMatching(TIMESTAMP) as unknown,
      updated_at: created.body.created_at,
    });
    const fetched = await p.api.get<Organization>(`/v1/organizations/${created.body.id}`);
    expect(fetched.body).toEqual(created.body);
  });

  it('validates country, fiscal identity and metadata', async () => {
    expectError(
      await p.api.post('/v1/organizations', { legal_name: 'X', country: 'de' }),
      400,
      'invalid_request',
      'country',
    );
    expectError(
      await p.api.post('/v1/organizations', { legal_name: 'X', country: 'XX' }),
      422,
      'validation_error',
      'country',
    );
    expectError(await p.api.post('/v1/organizations', { country: 'DE' }), 400, 'invalid_request', 'legal_name');
    const badVat = expectError(
      await p.api.post('/v1/organizations', {
        legal_name: 'X',
        country: 'DE',
        fiscal_identity: { vat_id: 'DE143454215' },
      }),
      422,
      'validation_error',
      'fiscal_identity.vat_id',
    );
    expect(badVat.message).toContain('check digit');
    expectError(
      await p.api.post('/v1/organizations', { legal_name: 'X', country: 'NO', fiscal_identity: { siret: '1' } }),
      422,
      'validation_error',
      'fiscal_identity.siret',
    );
    expectError(
      await p.api.post('/v1/organizations', { legal_name: 'X', country: 'DE', fiscal_identity: { iban: 'x' } }),
      400,
      'invalid_request',
      'fiscal_identity.iban',
    );
    const tooMany = Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${String(i)}`, 'v']));
    expectError(
      await p.api.post('/v1/organizations', { legal_name: 'X', country: 'DE', metadata: tooMany }),
      400,
      'invalid_request',
      'metadata',
    );
    expectError(
      await p.api.post('/v1/organizations', { legal_name: 'X', country: 'DE', metadata: { ['k'.repeat(41)]: 'v' } }),
      400,
      'invalid_request',
      `metadata.${'k'.repeat(41)}`,
    );
    expectError(
      await p.api.post('/v1/organizations', { legal_name: 'X', country: 'DE', metadata: { k: 'v'.repeat(501) } }),
      400,
      'invalid_request',
      'metadata.k',
    );
    expectError(
      await p.api.post('/v1/organizations', { legal_name: 'X', country: 'DE', metadata: { k: 1 } }),
      400,
      'invalid_request',
      'metadata.k',
    );
    expectError(
      await p.api.post('/v1/organizations', { legal_name: 'X', country: 'DE', colour: 'red' }),
      400,
      'invalid_request',
      'colour',
    );
    // Nothing was created by the refused requests.
    const listed = await p.api.get<Page<Organization>>('/v1/organizations');
    expect(listed.body.data.every((o) => o.legal_name !== 'X')).toBe(true);
  });

  it('updates fields, clears with null, merges metadata, and keeps country fixed', async () => {
    const org = await createOrganization(p.api, { trade_name: 'Old', metadata: { a: '1', b: '2' } });
    const updated = await p.api.patch<Organization>(`/v1/organizations/${org.id}`, {
      legal_name: 'Neu GmbH',
      trade_name: null,
      metadata: { a: null, c: '3' },
    });
    expect(updated.status).toBe(200);
    expect(updated.body).toMatchObject({
      legal_name: 'Neu GmbH',
      trade_name: null,
      metadata: { b: '2', c: '3' },
      country: 'DE',
    });
    expect(updated.body.updated_at >= org.updated_at).toBe(true);
    expect((await p.api.get<Organization>(`/v1/organizations/${org.id}`)).body).toEqual(updated.body);
    expectError(await p.api.patch(`/v1/organizations/${org.id}`, { country: 'AT' }), 400, 'invalid_request', 'country');
    expectError(
      await p.api.patch(`/v1/organizations/${org.id}`, { fiscal_identity: { vat_id: 'ATU13585627' } }),
      422,
      'validation_error',
      'fiscal_identity.vat_id',
    );
  });
});

describeDb('locations', () => {
  let t: TestApp;
  let p: PlatformFixture;
  beforeAll(async () => {
    t = await buildTestApp();
    p = await createPlatform(t);
  });
  afterAll(() => t.close());

  it.each([
    ['DE', 'Europe/Berlin'],
    ['AT', 'Europe/Vienna'],
    ['IT', 'Europe/Rome'],
    ['FR', 'Europe/Paris'],
    ['NO', 'Europe/Oslo'],
    ['SE', 'Europe/Stockholm'],
  ])('defaults the time zone of a location in %s to %s', async (country, timezone) => {
    const org = await createOrganization(p.api, { country });
    const location = await createLocation(p.api.forOrganization(org.id), org.id);
    expect(location).toMatchObject({
      object: 'location',
      organization_id: org.id,
      timezone,
      address: null,
      metadata: {},
    });
    expect(location.id).toMatch(ID('loc'));
  });

  it('needs a time zone for a country with several, and refuses unknown zones', async () => {
    const org = await createOrganization(p.api, { country: 'ES' });
    const api = p.api.forOrganization(org.id);
    expectError(
      await api.post(`/v1/organizations/${org.id}/locations`, { name: 'Madrid' }),
      422,
      'validation_error',
      'timezone',
    );
    expectError(
      await api.post(`/v1/organizations/${org.id}/locations`, { name: 'Madrid', timezone: 'Europe/Atlantis' }),
      422,
      'validation_error',
      'timezone',
    );
    const ok = await createLocation(api, org.id, { name: 'Las Palmas', timezone: 'Atlantic/Canary' });
    expect(ok.timezone).toBe('Atlantic/Canary');
  });

  it('retrieves, updates and lists locations of the organization', async () => {
    const org = await createOrganization(p.api);
    const api = p.api.forOrganization(org.id);
    const first = await createLocation(api, org.id, {
      name: 'Mitte',
      address: { line1: 'Unter den Linden 1', city: 'Berlin', postal_code: '10117', country: 'DE' },
    });
    const second = await createLocation(api, org.id, { name: 'Hamburg' });
    expect((await api.get<Location>(`/v1/locations/${first.id}`)).body).toEqual(first);
    const updated = await api.patch<Location>(`/v1/locations/${first.id}`, {
      name: 'Mitte 2',
      timezone: 'Europe/Vienna',
      address: null,
    });
    expect(updated.body).toMatchObject({ name: 'Mitte 2', timezone: 'Europe/Vienna', address: null });
    expectError(
      await api.patch(`/v1/locations/${first.id}`, { timezone: 'Mars/Olympus' }),
      422,
      'validation_error',
      'timezone',
    );
    const listed = await api.get<Page<Location>>(`/v1/organizations/${org.id}/locations`);
    expect(listed.body.data.map((l) => l.id)).toEqual([first.id, second.id]);
  });
});

describeDb('registers', () => {
  let t: TestApp;
  let p: PlatformFixture;
  let org: Organization;
  let location: Location;
  let api: PlatformFixture['api'];
  beforeAll(async () => {
    t = await buildTestApp();
    p = await createPlatform(t);
    org = await createOrganization(p.api);
    api = p.api.forOrganization(org.id);
    location = await createLocation(api, org.id);
  });
  afterAll(() => t.close());

  it('creates a register with defaults: serial number = id (DE: "-" for "_"), currency from the jurisdiction, no fiscal unit', async () => {
    const register = await createRegister(api, location.id, { metadata: { till: '1' } });
    expect(register).toEqual({
      id: expect.stringMatching(ID('reg')) as unknown,
      object: 'register',
      location_id: location.id,
      organization_id: org.id,
      label: 'Kasse 1',
      jurisdiction: 'DE',
      // A TSE client id is an ASN.1 PrintableString: no "_".
      serial_number: register.id.replace('reg_', 'reg-'),
      currency: 'EUR',
      state: 'active',
      active_fiscal_unit: null,
      closing_schedule: null,
      metadata: { till: '1' },
      created_at: expect.stringMatching(TIMESTAMP) as unknown,
      updated_at: register.created_at,
      archived_at: null,
    });
  });

  it.each([
    ['NO', 'NOK'],
    ['SE', 'SEK'],
    ['AT', 'EUR'],
    ['IT', 'EUR'],
    ['FR', 'EUR'],
  ])('keeps %s registers in %s and refuses another currency', async (jurisdiction, currency) => {
    const register = await createRegister(api, location.id, { jurisdiction, label: `Till ${jurisdiction}` });
    expect(register.currency).toBe(currency);
    // DE and AT write the serial into the TSE client id / the RKSV receipt code, where "_" cannot stand.
    expect(register.serial_number).toBe(jurisdiction === 'AT' ? register.id.replace('_', '-') : register.id);
    expectError(
      await api.post(`/v1/locations/${location.id}/registers`, { label: 'x', jurisdiction, currency: 'USD' }),
      422,
      'currency_mismatch',
      'currency',
    );
  });

  it('refuses unknown jurisdictions and bad serial numbers', async () => {
    expectError(
      await api.post(`/v1/locations/${location.id}/registers`, { label: 'x', jurisdiction: 'ES' }),
      400,
      'invalid_request',
      'jurisdiction',
    );
    for (const serial_number of ['', ' lead', 'semi;colon', 'ü', 'x'.repeat(71)]) {
      expectError(
        await api.post(`/v1/locations/${location.id}/registers`, { label: 'x', jurisdiction: 'DE', serial_number }),
        400,
        'invalid_request',
        'serial_number',
      );
    }
    // DE: the TSE client id must be a PrintableString of at most 30 characters.
    for (const serial_number of ['under_score', 'x'.repeat(31), 'Kasse#1']) {
      expectError(
        await api.post(`/v1/locations/${location.id}/registers`, { label: 'x', jurisdiction: 'DE', serial_number }),
        422,
        'validation_error',
        'serial_number',
      );
    }
    // AT: the Kassen-ID stands between the "_" separators of the receipt code.
    expectError(
      await api.post(`/v1/locations/${location.id}/registers`, {
        label: 'x',
        jurisdiction: 'AT',
        serial_number: 'under_score',
      }),
      422,
      'validation_error',
      'serial_number',
    );
    const norwegian = await createRegister(api, location.id, { jurisdiction: 'NO', serial_number: 'under_score' });
    expect(norwegian.serial_number).toBe('under_score');
  });

  it('keeps serial numbers unique per organization, also under concurrency', async () => {
    await createRegister(api, location.id, { serial_number: 'SN-1' });
    expectError(
      await api.post(`/v1/locations/${location.id}/registers`, {
        label: 'x',
        jurisdiction: 'DE',
        serial_number: 'SN-1',
      }),
      409,
      'serial_number_taken',
      'serial_number',
    );
    const racers = await Promise.all(
      Array.from({ length: 8 }, () =>
        api.post(`/v1/locations/${location.id}/registers`, {
          label: 'race',
          jurisdiction: 'DE',
          serial_number: 'SN-RACE',
        }),
      ),
    );
    expect(racers.filter((r) => r.status === 201)).toHaveLength(1);
    for (const loser of racers.filter((r) => r.status !== 201)) expectError(loser, 409, 'serial_number_taken');
    // Another organization may use the same serial number.
    const other = await createOrganization(p.api);
    const otherApi = p.api.forOrganization(other.id);
    const otherLocation = await createLocation(otherApi, other.id);
    expect((await createRegister(otherApi, otherLocation.id, { serial_number: 'SN-1' })).serial_number).toBe('SN-1');
  });

  it('updates label, serial number and metadata; not jurisdiction', async () => {
    const register = await createRegister(api, location.id);
    const updated = await api.patch<Register>(`/v1/registers/${register.id}`, {
      label: 'Kasse 2',
      serial_number: 'K2',
      metadata: { a: 'b' },
    });
    expect(updated.body).toMatchObject({ label: 'Kasse 2', serial_number: 'K2', metadata: { a: 'b' } });
    expectError(
      await api.patch(`/v1/registers/${register.id}`, { jurisdiction: 'AT' }),
      400,
      'invalid_request',
      'jurisdiction',
    );
  });

  it('fixes the serial number once the register has been fiscalized', async () => {
    const register = await createRegister(api, location.id, { serial_number: 'FIX-1' });
    // Fiscal-unit provisioning sets fiscalized_at; simulate it at the storage level.
    await t.database
      .executor()
      .updateTable('registers')
      .set({ fiscalized_at: new Date().toISOString() })
      .where('id', '=', register.id)
      .execute();
    expectError(
      await api.patch(`/v1/registers/${register.id}`, { serial_number: 'FIX-2' }),
      409,
      'serial_number_immutable',
      'serial_number',
    );
    // Re-sending the same value is not a change.
    expect(
      (await api.patch<Register>(`/v1/registers/${register.id}`, { serial_number: 'FIX-1', label: 'ok' })).body.label,
    ).toBe('ok');
  });

  it('archives a register once: terminal, and it refuses changes afterwards', async () => {
    const register = await createRegister(api, location.id);
    const archived = await api.post<Register>(`/v1/registers/${register.id}/archive`);
    expect(archived.status).toBe(200);
    expect(archived.body).toMatchObject({
      state: 'archived',
      archived_at: expect.stringMatching(TIMESTAMP) as unknown,
    });
    expectError(await api.post(`/v1/registers/${register.id}/archive`), 409, 'register_archived');
    expectError(await api.patch(`/v1/registers/${register.id}`, { label: 'again' }), 409, 'register_archived');
    expect((await api.get<Register>(`/v1/registers/${register.id}`)).body.state).toBe('archived');
    // An explicit empty JSON body is accepted too; unknown fields are not.
    const other = await createRegister(api, location.id);
    expectError(await api.post(`/v1/registers/${other.id}/archive`, { force: true }), 400, 'invalid_request', 'force');
    expect((await api.post(`/v1/registers/${other.id}/archive`, {})).status).toBe(200);
  });

  it('lists the registers of a location', async () => {
    const fresh = await createLocation(api, org.id, { name: 'Leer' });
    expect((await api.get<Page<Register>>(`/v1/locations/${fresh.id}/registers`)).body).toEqual({
      object: 'list',
      data: [],
      has_more: false,
      next_cursor: null,
    });
    const r1 = await createRegister(api, fresh.id, { label: 'A' });
    const r2 = await createRegister(api, fresh.id, { label: 'B' });
    const listed = await api.get<Page<Register>>(`/v1/locations/${fresh.id}/registers`);
    expect(listed.body.data).toEqual([r1, r2]);
    expectError(await api.get(`/v1/locations/${org.id}/registers`), 404, 'not_found');
  });
});
