/**
 * Fiscal units (api.md §2) with the German software TSE: provisioning, history, replacement, decommissioning,
 * archiving, the test-mode failure switch and what a failing device does to operations, test vs live, tenancy.
 */
import { createHash, createPrivateKey, sign, verify, X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deriveKeys } from '../src/crypto/master-key.js';
import { open } from '../src/crypto/secret-box.js';
import type { FiscalUnit } from '../src/modules/fiscal-units/fiscal-unit.schemas.js';
import type { JournalEntry } from '../src/modules/journal/journal.schemas.js';
import type { Operation } from '../src/modules/operations/operation.schemas.js';
import type { Register } from '../src/modules/registers/register.schemas.js';
import { parseLogMessage, verifyLogMessage } from '../src/regimes/de/log-message.js';
import type { Page } from '../src/shared/pagination.js';
import type { ApiClient } from './helpers/api-client.js';
import { expectDeviceError, expectError } from './helpers/assertions.js';
import { describeDb } from './helpers/engines.js';
import { createLocation, createOrganization, createPlatform, createRegister } from './helpers/factories.js';
import {
  cashSale,
  createFiscalRegister,
  GERMAN_IDENTITY,
  journalOf,
  lastSequenceNumber,
  line,
  publicKeyOfPoint,
  range,
  simulateFailure,
  tseLogs,
  verifyJournal,
  type FiscalRegisterFixture,
} from './helpers/fiscal.js';
import { buildTestApp, type TestApp } from './helpers/test-app.js';

const ID = (prefix: string) => new RegExp(`^${prefix}_[0-7][0-9a-hjkmnp-tv-z]{25}$`);
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

interface ProvisionResponse {
  object: string;
  fiscal_unit: FiscalUnit;
  register: Register;
  register_api_key: string | null;
}

interface ReplaceResponse {
  object: string;
  old_binding: FiscalUnit;
  new_binding: FiscalUnit;
  register: Register;
  register_api_key: string | null;
}

/** An organization with a German fiscal identity, a location and a register without a fiscal unit. */
async function germanRegister(t: TestApp, api?: ApiClient) {
  const platformApi = api ?? (await createPlatform(t)).api;
  const organization = await createOrganization(platformApi, { fiscal_identity: GERMAN_IDENTITY });
  const orgApi = platformApi.forOrganization(organization.id);
  const location = await createLocation(orgApi, organization.id);
  const register = await createRegister(orgApi, location.id);
  return { platformApi, organization, orgApi, location, register };
}

const provision = (api: ApiClient, registerId: string, body: unknown = {}) =>
  api.post<ProvisionResponse>(`/v1/registers/${registerId}/fiscal-units`, body);

async function operationRows(t: TestApp, registerId: string) {
  return t.database.executor().selectFrom('operations').selectAll().where('register_id', '=', registerId).execute();
}

const startSale = (api: ApiClient, registerId: string) =>
  api.post<Operation>(`/v1/registers/${registerId}/sales`, { line_items: [line('Brezel', 2, 120)] });

describeDb('fiscal units', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp();
  });
  afterAll(() => t.close());

  describe('provisioning', () => {
    it('provisions an active, uncertified software TSE with its public registration', async () => {
      const { orgApi, register } = await germanRegister(t);
      const response = await provision(orgApi, register.id);
      expect(response.status, response.text).toBe(201);
      const { fiscal_unit: unit } = response.body;
      expect(response.body.object).toBe('fiscal_unit_response');
      expect(response.body.register_api_key).toBeNull();
      expect(unit).toEqual({
        id: expect.stringMatching(ID('fu')) as unknown,
        object: 'fiscal_unit',
        register_id: register.id,
        jurisdiction: 'DE',
        provider: 'software_tse',
        state: 'active',
        certified: false,
        fiscal_registration: {
          regime: 'tse',
          tse_serial: expect.stringMatching(/^[0-9a-f]{64}$/) as unknown,
          client_id: register.serial_number,
          signature_algorithm: 'ecdsa-plain-SHA256',
          time_format: 'unixTime',
          public_key: expect.any(String) as unknown,
          certificate: expect.any(String) as unknown,
        },
        reason: null,
        replaces: null,
        replaced_by: null,
        last_error: null,
        provisioned_at: expect.stringMatching(TIMESTAMP) as unknown,
        decommissioned_at: null,
        created_at: expect.stringMatching(TIMESTAMP) as unknown,
      });
      const registration = unit.fiscal_registration;
      const point = Buffer.from(registration.public_key ?? '', 'base64');
      expect(point).toHaveLength(65);
      expect(point[0]).toBe(0x04);
      // The serial is the hex SHA-256 of the public key point.
      expect(registration.tse_serial).toBe(createHash('sha256').update(point).digest('hex'));
      // The certificate carries exactly that public key and is self-signed by it.
      const certificate = new X509Certificate(Buffer.from(registration.certificate ?? '', 'base64'));
      const publicKey = publicKeyOfPoint(registration.public_key ?? '');
      expect(certificate.publicKey.export({ format: 'der', type: 'spki' })).toEqual(
        publicKey.export({ format: 'der', type: 'spki' }),
      );
      expect(certificate.verify(publicKey)).toBe(true);
      expect(certificate.subject).toContain(registration.tse_serial?.toUpperCase());

      // The register answers with the unit expanded, here and when read again.
      expect(response.body.register).toMatchObject({ id: register.id, state: 'active', active_fiscal_unit: unit });
      const fetched = await orgApi.get<Register>(`/v1/registers/${register.id}`);
      expect(fetched.body.active_fiscal_unit).toEqual(unit);
      expect((await orgApi.get<FiscalUnit>(`/v1/fiscal-units/${unit.id}`)).body).toEqual(unit);

      // No register key unless asked for.
      const keys = await t.database
        .executor()
        .selectFrom('api_keys')
        .select('id')
        .where('register_id', '=', register.id)
        .execute();
      expect(keys).toHaveLength(0);

      // The TSE logged its initialisation and the client, signed with the unit's key, counters 1 and 2.
      const logs = await tseLogs(t, { fiscalUnitId: unit.id });
      expect(logs.map((log) => [log.signatureCounter, log.logType, log.operationType])).toEqual([
        [1, 'system', 'Initialize'],
        [2, 'system', 'RegisterClient'],
      ]);
      for (const log of logs) {
        const parsed = parseLogMessage(log.message);
        expect(parsed.serialNumber.toString('hex')).toBe(registration.tse_serial);
        expect(verifyLogMessage(parsed, publicKey)).toBe(true);
      }
      // And the journal recorded the provisioning.
      const journal = await journalOf(orgApi, register.id);
      expect(journal.map((entry) => [entry.type, entry.subject_id])).toEqual([['fiscal_unit.provisioned', unit.id]]);
    });

    it('issues a register key only when asked, and that key works only for its register', async () => {
      const { orgApi, register, location } = await germanRegister(t);
      const other = await createRegister(orgApi, location.id, { label: 'Kasse 2' });
      const response = await provision(orgApi, register.id, { issue_register_credential: true });
      expect(response.status, response.text).toBe(201);
      const key = response.body.register_api_key ?? '';
      expect(key).toMatch(/^ofk_reg_test_[0-9A-Za-z]{32,}$/);
      const registerApi = orgApi.as(key);

      expect((await registerApi.get<Register>(`/v1/registers/${register.id}`)).body.id).toBe(register.id);
      const unit = await registerApi.get<FiscalUnit>(`/v1/fiscal-units/${response.body.fiscal_unit.id}`);
      expect(unit.body.id).toBe(response.body.fiscal_unit.id);
      const sale = await cashSale(registerApi, register.id);
      expect(sale).toMatchObject({ register_id: register.id, state: 'completed' });

      expectError(await registerApi.get(`/v1/registers/${other.id}`), 403, 'forbidden');
      expectError(await startSale(registerApi, other.id), 403, 'forbidden');
      // Provisioning is the organization's business, not the register's.
      expectError(await provision(registerApi, other.id), 403, 'forbidden');
      expect((await orgApi.get<Register>(`/v1/registers/${other.id}`)).body.active_fiscal_unit).toBeNull();
    });

    it('never returns the private key of the device', async () => {
      const fixture = await createFiscalRegister(t);
      const device = await t.database
        .executor()
        .selectFrom('signing_devices')
        .selectAll()
        .where('fiscal_unit_id', '=', fixture.unit.id)
        .executeTakeFirstOrThrow();
      const pkcs8 = open(deriveKeys(t.masterKey).signingKeyEncryptionKey, device.private_key, fixture.unit.id);
      const privateKey = createPrivateKey({ key: Buffer.from(pkcs8, 'base64'), format: 'der', type: 'pkcs8' });
      // It is the key of the published public key…
      const probe = Buffer.from('probe');
      const signature = sign('sha256', probe, privateKey);
      expect(
        verify('sha256', probe, publicKeyOfPoint(fixture.unit.fiscal_registration.public_key ?? ''), signature),
      ).toBe(true);
      const { d } = privateKey.export({ format: 'jwk' });
      expect(d).toBeDefined();
      const secrets = [
        pkcs8,
        device.private_key,
        d ?? '',
        Buffer.from(d ?? '', 'base64url').toString('base64'),
        Buffer.from(d ?? '', 'base64url').toString('hex'),
      ];

      // …and it appears in no answer about the unit, the register or a signed operation.
      const sale = await cashSale(fixture.registerApi, fixture.register.id);
      const texts = [
        (await fixture.orgApi.get(`/v1/fiscal-units/${fixture.unit.id}`)).text,
        (await fixture.orgApi.get(`/v1/registers/${fixture.register.id}/fiscal-units`)).text,
        (await fixture.orgApi.get(`/v1/registers/${fixture.register.id}`)).text,
        (await fixture.orgApi.get(`/v1/sales/${sale.id}`)).text,
        (await fixture.orgApi.get(`/v1/registers/${fixture.register.id}/journal`)).text,
        (
          await fixture.orgApi.post(`/v1/registers/${fixture.register.id}/fiscal-units/replace`, {
            reason: 'Key rotation',
          })
        ).text,
      ];
      for (const text of texts) {
        expect(text.length).toBeGreaterThan(100);
        for (const secret of secrets) expect(text).not.toContain(secret);
        expect(text.toLowerCase()).not.toContain('private');
      }
    });

    it("refuses without the organization's fiscal identity", async () => {
      const { api } = await createPlatform(t);
      const organization = await createOrganization(api);
      const orgApi = api.forOrganization(organization.id);
      const location = await createLocation(orgApi, organization.id);
      const register = await createRegister(orgApi, location.id);
      const refused = expectError(
        await provision(orgApi, register.id),
        422,
        'validation_error',
        'fiscal_identity.tax_number',
      );
      expect(refused.message).toContain('fiscal_identity');
      expect((await orgApi.get<Register>(`/v1/registers/${register.id}`)).body.active_fiscal_unit).toBeNull();
      expect((await orgApi.get<Page<FiscalUnit>>(`/v1/registers/${register.id}/fiscal-units`)).body.data).toEqual([]);
      // With the identity in place it works.
      const patched = await api.patch(`/v1/organizations/${organization.id}`, { fiscal_identity: GERMAN_IDENTITY });
      expect(patched.status, patched.text).toBe(200);
      expect((await provision(orgApi, register.id)).status).toBe(201);
    });

    it('refuses a provider of another jurisdiction', async () => {
      const { orgApi, register } = await germanRegister(t);
      const refused = expectError(
        await provision(orgApi, register.id, { provider: 'software_rksv' }),
        422,
        'validation_error',
        'provider',
      );
      expect(refused.message).toContain('software_rksv');
      expectError(await provision(orgApi, register.id, { provider: 'no_such_device' }), 400, 'invalid_request');
      expect((await orgApi.get<Page<FiscalUnit>>(`/v1/registers/${register.id}/fiscal-units`)).body.data).toEqual([]);
      const explicit = await provision(orgApi, register.id, { provider: 'software_tse' });
      expect(explicit.status, explicit.text).toBe(201);
      expect(explicit.body.fiscal_unit.provider).toBe('software_tse');
    });

    it('refuses a second unit while one is active', async () => {
      const fixture = await createFiscalRegister(t);
      expectError(await provision(fixture.orgApi, fixture.register.id), 409, 'fiscal_unit_already_active');
      const history = await fixture.orgApi.get<Page<FiscalUnit>>(`/v1/registers/${fixture.register.id}/fiscal-units`);
      expect(history.body.data.map((unit) => unit.id)).toEqual([fixture.unit.id]);
    });
  });

  describe('on a live server', () => {
    it('refuses the uncertified software TSE and has no failure switch', async () => {
      let live = await buildTestApp({ environment: 'live' });
      const masterKey = live.masterKey;
      const scratch = live.scratch;
      try {
        const platform = await createPlatform(live, 'Live platform');
        expect(platform.key).toMatch(/^ofk_platform_live_/);
        const { organization, orgApi, register } = await germanRegister(live, platform.api);
        const refused = expectError(await provision(orgApi, register.id), 422, 'provider_not_certified', 'provider');
        expect(refused.message).toContain('software_tse');
        expect((await orgApi.get<Register>(`/v1/registers/${register.id}`)).body.active_fiscal_unit).toBeNull();
        expect((await orgApi.get<Page<FiscalUnit>>(`/v1/registers/${register.id}/fiscal-units`)).body.data).toEqual([]);

        // A unit that exists (provisioned on the same data by a test server) still has no switch on a live one.
        await live.close({ keepData: true });
        const testServer = await buildTestApp({ scratch, masterKey });
        let unitId: string;
        try {
          const provisioned = await testServer.container.fiscalUnits.provision(
            { platformId: platform.platformId, organizationId: organization.id, registerId: null },
            register.id,
            null,
          );
          unitId = provisioned.fiscal_unit.id;
        } finally {
          await testServer.close({ keepData: true });
        }
        live = await buildTestApp({ environment: 'live', scratch, masterKey });
        const liveApi = live.api.as(platform.key, organization.id);
        const unit = await liveApi.get<FiscalUnit>(`/v1/fiscal-units/${unitId}`);
        expect(unit.status, unit.text).toBe(200);
        expect(unit.body.state).toBe('active');
        for (const mode of ['fail', 'stall', 'none']) {
          expectError(await liveApi.post(`/v1/fiscal-units/${unitId}/simulate-failure`, { mode }), 404, 'not_found');
        }
        const row = await live.database
          .executor()
          .selectFrom('fiscal_units')
          .select('simulated_failure')
          .where('id', '=', unitId)
          .executeTakeFirstOrThrow();
        expect(row.simulated_failure).toBe('none');
      } finally {
        await live.close();
      }
    });
  });

  describe('history and replacement', () => {
    it('replaces the unit atomically: new keys and serial, the old one decommissioned and linked', async () => {
      const fixture = await createFiscalRegister(t);
      const before = await cashSale(fixture.registerApi, fixture.register.id);
      expect(before.fiscal?.transaction_number).toBe(1);
      const response = await fixture.orgApi.post<ReplaceResponse>(
        `/v1/registers/${fixture.register.id}/fiscal-units/replace`,
        { reason: 'Hardware swap', issue_register_credential: true },
      );
      expect(response.status, response.text).toBe(200);
      const { old_binding: old, new_binding: fresh } = response.body;
      expect(response.body.object).toBe('fiscal_unit_replacement');
      expect(old).toMatchObject({
        id: fixture.unit.id,
        state: 'decommissioned',
        reason: 'Hardware swap',
        replaced_by: fresh.id,
        decommissioned_at: expect.stringMatching(TIMESTAMP) as unknown,
      });
      expect(fresh).toMatchObject({
        id: expect.stringMatching(ID('fu')) as unknown,
        register_id: fixture.register.id,
        state: 'active',
        provider: 'software_tse',
        replaces: fixture.unit.id,
        replaced_by: null,
        decommissioned_at: null,
      });
      expect(fresh.id).not.toBe(old.id);
      expect(fresh.fiscal_registration.public_key).not.toBe(fixture.unit.fiscal_registration.public_key);
      expect(fresh.fiscal_registration.tse_serial).not.toBe(fixture.unit.fiscal_registration.tse_serial);
      expect(fresh.fiscal_registration.certificate).not.toBe(fixture.unit.fiscal_registration.certificate);
      expect(fresh.fiscal_registration.client_id).toBe(fixture.register.serial_number);
      expect(response.body.register.active_fiscal_unit).toEqual(fresh);
      expect((await fixture.orgApi.get<FiscalUnit>(`/v1/fiscal-units/${old.id}`)).body).toEqual(old);

      // The old TSE signed its deactivation; the new one starts its own counters.
      const oldLogs = await tseLogs(t, { fiscalUnitId: old.id });
      expect(oldLogs.at(-1)?.operationType).toBe('DisableSecureElement');
      expect(oldLogs.map((log) => log.signatureCounter)).toEqual(range(1, 5));

      // The new unit signs what follows, with the new key issued with it.
      const newKeyApi = fixture.orgApi.as(response.body.register_api_key ?? '');
      const after = await cashSale(newKeyApi, fixture.register.id);
      expect(after.sequence_number).toBe(2);
      expect(after.fiscal).toMatchObject({ fiscal_unit_id: fresh.id, transaction_number: 1 });
      expect(after.fiscal?.public_key).toBe(fresh.fiscal_registration.public_key);

      // History, oldest first (and newest first on request).
      const history = await fixture.orgApi.get<Page<FiscalUnit>>(`/v1/registers/${fixture.register.id}/fiscal-units`);
      expect(history.body).toMatchObject({ object: 'list', has_more: false, next_cursor: null });
      expect(history.body.data).toEqual([old, { ...fresh }]);
      const newestFirst = await fixture.orgApi.get<Page<FiscalUnit>>(
        `/v1/registers/${fixture.register.id}/fiscal-units?order=desc`,
      );
      expect(newestFirst.body.data.map((unit) => unit.id)).toEqual([fresh.id, old.id]);

      const journal = await journalOf(fixture.orgApi, fixture.register.id);
      expect(
        journal.filter((entry) => entry.type.startsWith('fiscal_unit.')).map((e) => [e.type, e.subject_id]),
      ).toEqual([
        ['fiscal_unit.provisioned', old.id],
        ['fiscal_unit.decommissioned', old.id],
        ['fiscal_unit.provisioned', fresh.id],
      ]);
      expect((await verifyJournal(fixture.orgApi, fixture.register.id)).valid).toBe(true);
    });

    it('refuses to replace while operations are open, changing nothing', async () => {
      const fixture = await createFiscalRegister(t);
      const open = await startSale(fixture.registerApi, fixture.register.id);
      expect(open.status).toBe(201);
      expectError(
        await fixture.orgApi.post(`/v1/registers/${fixture.register.id}/fiscal-units/replace`, { reason: 'Swap' }),
        409,
        'open_operations_exist',
      );
      const history = await fixture.orgApi.get<Page<FiscalUnit>>(`/v1/registers/${fixture.register.id}/fiscal-units`);
      expect(history.body.data.map((unit) => [unit.id, unit.state])).toEqual([[fixture.unit.id, 'active']]);
      expect(await tseLogs(t, { fiscalUnitId: fixture.unit.id })).toHaveLength(3);
      // Replacing needs a reason, and a register without a unit has nothing to replace.
      expectError(
        await fixture.orgApi.post(`/v1/registers/${fixture.register.id}/fiscal-units/replace`, {}),
        400,
        'invalid_request',
        'reason',
      );
      const bare = await createRegister(fixture.orgApi, fixture.locationId, { label: 'Ohne TSE' });
      expectError(
        await fixture.orgApi.post(`/v1/registers/${bare.id}/fiscal-units/replace`, { reason: 'Swap' }),
        409,
        'no_active_fiscal_unit',
      );
    });
  });

  describe('decommissioning and archiving', () => {
    it('decommissions with a reason; the register then has no active unit', async () => {
      const fixture = await createFiscalRegister(t);
      const unitPath = `/v1/fiscal-units/${fixture.unit.id}`;
      expectError(await fixture.orgApi.post(`${unitPath}/decommission`, {}), 400, 'invalid_request', 'reason');
      expectError(
        await fixture.orgApi.post(`${unitPath}/decommission`, { reason: '' }),
        400,
        'invalid_request',
        'reason',
      );
      const open = await startSale(fixture.registerApi, fixture.register.id);
      expectError(
        await fixture.orgApi.post(`${unitPath}/decommission`, { reason: 'Closing the shop' }),
        409,
        'open_operations_exist',
      );
      const cancelled = await fixture.registerApi.post(`/v1/sales/${open.body.id}/cancel`, { reason: 'Kunde weg' });
      expect(cancelled.status, cancelled.text).toBe(200);

      const decommissioned = await fixture.orgApi.post<FiscalUnit>(`${unitPath}/decommission`, {
        reason: 'Closing the shop',
      });
      expect(decommissioned.status, decommissioned.text).toBe(200);
      expect(decommissioned.body).toMatchObject({
        id: fixture.unit.id,
        state: 'decommissioned',
        reason: 'Closing the shop',
        replaced_by: null,
        decommissioned_at: expect.stringMatching(TIMESTAMP) as unknown,
      });
      expect(
        (await fixture.orgApi.get<Register>(`/v1/registers/${fixture.register.id}`)).body.active_fiscal_unit,
      ).toBeNull();
      expectError(await startSale(fixture.registerApi, fixture.register.id), 409, 'no_active_fiscal_unit');
      expectError(
        await fixture.registerApi.post(`/v1/registers/${fixture.register.id}/cash-movements`, {
          direction: 'in',
          kind: 'pay_in',
          amount: 1000,
        }),
        409,
        'no_active_fiscal_unit',
      );
      expectError(await fixture.orgApi.post(`${unitPath}/recover`, {}), 409, 'fiscal_unit_decommissioned');
      expectError(
        await fixture.orgApi.post(`${unitPath}/decommission`, { reason: 'Again' }),
        409,
        'fiscal_unit_decommissioned',
      );
      expectError(
        await fixture.orgApi.post(`${unitPath}/simulate-failure`, { mode: 'fail' }),
        409,
        'fiscal_unit_decommissioned',
      );
      expect((await tseLogs(t, { fiscalUnitId: fixture.unit.id })).at(-1)?.operationType).toBe('DisableSecureElement');

      // The register can be fiscalized again with a new unit; its sequence continues.
      const again = await provision(fixture.orgApi, fixture.register.id);
      expect(again.status, again.text).toBe(201);
      expect(again.body.fiscal_unit.id).not.toBe(fixture.unit.id);
      const sale = await cashSale(fixture.registerApi, fixture.register.id);
      expect(sale.sequence_number).toBe(2);
      expect(sale.fiscal?.fiscal_unit_id).toBe(again.body.fiscal_unit.id);
    });

    it('archiving the register decommissions its unit and revokes its register key', async () => {
      const fixture = await createFiscalRegister(t);
      await cashSale(fixture.registerApi, fixture.register.id);
      const archived = await fixture.orgApi.post<Register>(`/v1/registers/${fixture.register.id}/archive`, {});
      expect(archived.status, archived.text).toBe(200);
      expect(archived.body).toMatchObject({ state: 'archived', active_fiscal_unit: null });
      const unit = await fixture.orgApi.get<FiscalUnit>(`/v1/fiscal-units/${fixture.unit.id}`);
      expect(unit.body).toMatchObject({
        state: 'decommissioned',
        reason: expect.any(String) as unknown,
        decommissioned_at: expect.stringMatching(TIMESTAMP) as unknown,
      });
      expectError(await fixture.registerApi.get(`/v1/registers/${fixture.register.id}`), 401, 'unauthorized');
      expectError(await startSale(fixture.registerApi, fixture.register.id), 401, 'unauthorized');
      expectError(await startSale(fixture.orgApi, fixture.register.id), 409, 'register_archived');
      expectError(await provision(fixture.orgApi, fixture.register.id), 409, 'register_archived');
      const journal = await journalOf(fixture.orgApi, fixture.register.id);
      expect(journal.at(-1)).toMatchObject({ type: 'fiscal_unit.decommissioned', subject_id: fixture.unit.id });
    });
  });

  describe('device failures', () => {
    it('answers 502 on a refusing device, writes nothing, and recovers by itself once it signs again', async () => {
      const fixture = await createFiscalRegister(t);
      const first = await cashSale(fixture.registerApi, fixture.register.id);
      expect(first.sequence_number).toBe(1);
      const logsBefore = await tseLogs(t, { fiscalUnitId: fixture.unit.id });
      expect(logsBefore).toHaveLength(4);

      const switched = await simulateFailure(fixture.orgApi, fixture.unit.id, 'fail');
      expect(switched.state).toBe('active');
      const failed = expectDeviceError(
        await startSale(fixture.registerApi, fixture.register.id),
        502,
        'fiscalization_failed',
      );
      expect(failed.fiscal_errors?.[0]?.jurisdiction).toBe('DE');

      // Nothing was written: no operation, no sequence number, no log.
      expect(await operationRows(t, fixture.register.id)).toHaveLength(1);
      expect(await lastSequenceNumber(t, fixture.register.id)).toBe(1);
      expect(await tseLogs(t, { fiscalUnitId: fixture.unit.id })).toEqual(logsBefore);
      const cashMovement = await fixture.registerApi.post(`/v1/registers/${fixture.register.id}/cash-movements`, {
        direction: 'in',
        kind: 'pay_in',
        amount: 500,
      });
      expectDeviceError(cashMovement, 502, 'fiscalization_failed');
      expect(await operationRows(t, fixture.register.id)).toHaveLength(1);

      // The unit is in error, with the reason.
      const inError = await fixture.orgApi.get<FiscalUnit>(`/v1/fiscal-units/${fixture.unit.id}`);
      expect(inError.body.state).toBe('error');
      expect(inError.body.last_error).toEqual(expect.stringMatching(/\S/));
      expect(
        (await fixture.orgApi.get<Register>(`/v1/registers/${fixture.register.id}`)).body.active_fiscal_unit,
      ).toMatchObject({ id: fixture.unit.id, state: 'error' });

      // Reset: the next sale signs, takes the next number, and the unit is active again.
      await simulateFailure(fixture.orgApi, fixture.unit.id, 'none');
      const next = await cashSale(fixture.registerApi, fixture.register.id);
      expect(next.sequence_number).toBe(2);
      expect(next.fiscal?.transaction_number).toBe(2);
      const recovered = await fixture.orgApi.get<FiscalUnit>(`/v1/fiscal-units/${fixture.unit.id}`);
      expect(recovered.body).toMatchObject({ state: 'active', last_error: null });
      const logs = await tseLogs(t, { fiscalUnitId: fixture.unit.id });
      expect(logs.map((log) => log.signatureCounter)).toEqual(range(1, 6));
      expect(logs.filter((log) => log.logType === 'transaction').map((log) => log.transactionNumber)).toEqual([
        1, 1, 2, 2,
      ]);
      const journal = await journalOf(fixture.orgApi, fixture.register.id);
      expect(journal.map((entry) => entry.type)).toEqual(
        expect.arrayContaining(['fiscal_unit.failed', 'fiscal_unit.recovered']) as unknown,
      );
      expect((await verifyJournal(fixture.orgApi, fixture.register.id)).valid).toBe(true);
    });

    it('recovers by hand only once the device can sign again', async () => {
      const fixture = await createFiscalRegister(t);
      const unitPath = `/v1/fiscal-units/${fixture.unit.id}`;
      // Recovering an active unit changes nothing.
      const noop = await fixture.orgApi.post<FiscalUnit>(`${unitPath}/recover`, {});
      expect(noop.status, noop.text).toBe(200);
      expect(noop.body).toEqual(fixture.unit);

      await simulateFailure(fixture.orgApi, fixture.unit.id, 'fail');
      expectDeviceError(await startSale(fixture.registerApi, fixture.register.id), 502, 'fiscalization_failed');
      expectError(await fixture.orgApi.post(`${unitPath}/recover`, {}), 503, 'fiscal_unit_unavailable');
      expect((await fixture.orgApi.get<FiscalUnit>(unitPath)).body.state).toBe('error');

      await simulateFailure(fixture.orgApi, fixture.unit.id, 'none');
      const recovered = await fixture.orgApi.post<FiscalUnit>(`${unitPath}/recover`, {});
      expect(recovered.status, recovered.text).toBe(200);
      expect(recovered.body).toMatchObject({ id: fixture.unit.id, state: 'active', last_error: null });
      expect((await fixture.orgApi.get<FiscalUnit>(unitPath)).body.state).toBe('active');
      expect((await cashSale(fixture.registerApi, fixture.register.id)).sequence_number).toBe(1);
    });

    it('leaves a sale open with fiscal_state failed when completing fails, and signs one finish on retry', async () => {
      const fixture = await createFiscalRegister(t);
      const started = await startSale(fixture.registerApi, fixture.register.id);
      expect(started.status).toBe(201);
      const body = { payments: [{ method: 'cash', direction: 'inbound', amount: 240 }] };

      await simulateFailure(fixture.orgApi, fixture.unit.id, 'fail');
      expectDeviceError(
        await fixture.registerApi.post(`/v1/sales/${started.body.id}/complete`, body),
        502,
        'fiscalization_failed',
      );
      const failed = await fixture.registerApi.get<Operation>(`/v1/sales/${started.body.id}`);
      expect(failed.body).toMatchObject({ state: 'open', fiscal_state: 'failed', completed_at: null });
      expect(failed.body.fiscal?.end_event).toBeNull();
      expect(failed.body.data.payments).toEqual([]);
      expect((await tseLogs(t, { operationId: started.body.id })).map((log) => log.operationType)).toEqual([
        'StartTransaction',
      ]);
      // A cancel cannot be signed either, and leaves it open.
      expectDeviceError(
        await fixture.registerApi.post(`/v1/sales/${started.body.id}/cancel`, { reason: 'Test' }),
        502,
        'fiscalization_failed',
      );
      expect((await fixture.registerApi.get<Operation>(`/v1/sales/${started.body.id}`)).body.state).toBe('open');

      await simulateFailure(fixture.orgApi, fixture.unit.id, 'none');
      const completed = await fixture.registerApi.post<Operation>(`/v1/sales/${started.body.id}/complete`, body);
      expect(completed.status, completed.text).toBe(200);
      expect(completed.body).toMatchObject({ state: 'completed', fiscal_state: 'succeeded', sequence_number: 1 });
      const logs = await tseLogs(t, { operationId: started.body.id });
      expect(logs.map((log) => log.operationType)).toEqual(['StartTransaction', 'FinishTransaction']);
      expect(logs.map((log) => log.transactionNumber)).toEqual([1, 1]);
      expect(completed.body.fiscal?.end_event?.transaction_counter).toBe(logs[1]?.signatureCounter);
      expect((await tseLogs(t, { fiscalUnitId: fixture.unit.id })).map((log) => log.signatureCounter)).toEqual(
        range(1, 4),
      );
      const completions = (await journalOf(fixture.orgApi, fixture.register.id)).filter(
        (entry: JournalEntry) => entry.subject_id === started.body.id,
      );
      expect(completions.map((entry) => entry.type)).toEqual(['operation.started', 'operation.completed']);
    });

    it('answers 503 within the signing timeout when the device stalls', async () => {
      const quick = await buildTestApp({ signingTimeoutMs: 200 });
      try {
        const fixture: FiscalRegisterFixture = await createFiscalRegister(quick);
        await simulateFailure(fixture.orgApi, fixture.unit.id, 'stall');
        const since = performance.now();
        const stalled = await startSale(fixture.registerApi, fixture.register.id);
        const elapsed = performance.now() - since;
        expectDeviceError(stalled, 503, 'fiscal_unit_unavailable');
        expect(elapsed).toBeGreaterThanOrEqual(190);
        expect(elapsed).toBeLessThan(1000);
        expect(await operationRows(quick, fixture.register.id)).toHaveLength(0);
        expect(await lastSequenceNumber(quick, fixture.register.id)).toBe(0);
        expect(await tseLogs(quick, { fiscalUnitId: fixture.unit.id })).toHaveLength(2);
        const unit = await fixture.orgApi.get<FiscalUnit>(`/v1/fiscal-units/${fixture.unit.id}`);
        expect(unit.body.state).toBe('error');
        expect(unit.body.last_error).toEqual(expect.stringMatching(/\S/));

        await simulateFailure(fixture.orgApi, fixture.unit.id, 'none');
        const sale = await cashSale(fixture.registerApi, fixture.register.id);
        expect(sale).toMatchObject({ sequence_number: 1, state: 'completed' });
        expect(sale.fiscal?.transaction_number).toBe(1);
        expect((await fixture.orgApi.get<FiscalUnit>(`/v1/fiscal-units/${fixture.unit.id}`)).body.state).toBe('active');
      } finally {
        await quick.close();
      }
    });
  });

  describe('tenancy', () => {
    it("answers 404 for another organization's fiscal unit", async () => {
      const mine = await createFiscalRegister(t);
      const theirs = await createFiscalRegister(t);
      const unitPath = `/v1/fiscal-units/${theirs.unit.id}`;
      expectError(await mine.orgApi.get(unitPath), 404, 'not_found');
      expectError(await mine.orgApi.post(`${unitPath}/recover`, {}), 404, 'not_found');
      expectError(await mine.orgApi.post(`${unitPath}/decommission`, { reason: 'Mine now' }), 404, 'not_found');
      expectError(await mine.orgApi.post(`${unitPath}/simulate-failure`, { mode: 'fail' }), 404, 'not_found');
      expectError(await mine.orgApi.get(`/v1/registers/${theirs.register.id}/fiscal-units`), 404, 'not_found');
      expectError(await provision(mine.orgApi, theirs.register.id), 404, 'not_found');
      expectError(
        await mine.orgApi.post(`/v1/registers/${theirs.register.id}/fiscal-units/replace`, { reason: 'x' }),
        404,
        'not_found',
      );
      // A register key of another register of the same organization does not see it either.
      const sibling = await createFiscalRegister(t, {
        orgApi: theirs.orgApi,
        organizationId: theirs.organizationId,
        locationId: theirs.locationId,
      });
      expectError(await sibling.registerApi.get(unitPath), 404, 'not_found');
      // Nothing changed for the owner.
      const unit = await theirs.orgApi.get<FiscalUnit>(unitPath);
      expect(unit.body).toEqual(theirs.unit);
      expect((await cashSale(theirs.registerApi, theirs.register.id)).state).toBe('completed');
    });
  });
});
