/** An Austrian register with an active software_rksv unit, and what tests of Austrian receipts read. */
import { expect } from 'vitest';
import { deriveKeys } from '../../src/crypto/master-key.js';
import {
  rksvDeviceMaterial,
  unsealRksvAesKey,
} from '../../src/modules/fiscal-units/providers/software-rksv.provider.js';
import { buildCryptographicMaterialContainer, buildDep7, deviceEntry } from '../../src/regimes/at/dep7.js';
import type { FiscalUnit } from '../../src/modules/fiscal-units/fiscal-unit.schemas.js';
import type { Register } from '../../src/modules/registers/register.schemas.js';
import type { RksvFiscalBlock } from '../../src/regimes/at/fiscal-block.js';
import type { ApiClient } from './api-client.js';
import { createLocation, createOrganization, createPlatform, createRegister } from './factories.js';
import { verifyDep7 } from './rksv-verifier.js';
import type { TestApp } from './test-app.js';

export const AUSTRIAN_UID = 'ATU13585627';
export const VIENNA_ADDRESS = { line1: 'Stephansplatz 1', city: 'Wien', postal_code: '1010', country: 'AT' };

/** The fiscal block of an Austrian receipt, as the API answers it. */
export type RksvBlock = RksvFiscalBlock;

export const rksv = (value: unknown) => value as RksvBlock;

/** A line at an Austrian rate (`"0.10"`, `"0.049"`, …). */
export const atLine = (
  description: string,
  quantity: number,
  unitPrice: number,
  rate: string,
  category = 'reduced',
) => ({
  description,
  quantity,
  unit_price_gross: unitPrice,
  tax: { rate, category },
});

export interface AustrianRegisterFixture {
  readonly orgApi: ApiClient;
  /** Authenticated with the register key issued at provisioning. */
  readonly registerApi: ApiClient;
  readonly register: Register;
  readonly unit: FiscalUnit;
  /** The AES key shown once at provisioning. */
  readonly aesKey: string;
  readonly organizationId: string;
  readonly locationId: string;
}

/** A platform, an Austrian organization, a Vienna location and a register with a provisioned `software_rksv` unit. */
export async function createAustrianRegister(
  t: TestApp,
  options: { system?: 'open' | 'closed' } = {},
): Promise<AustrianRegisterFixture> {
  const platform = await createPlatform(t);
  const organization = await createOrganization(platform.api, {
    legal_name: 'Wiener Kaffeehaus GmbH',
    country: 'AT',
    fiscal_identity: { vat_id: AUSTRIAN_UID },
    address: VIENNA_ADDRESS,
  });
  const orgApi = platform.api.forOrganization(organization.id);
  const location = await createLocation(orgApi, organization.id, {
    name: 'Wien Innere Stadt',
    timezone: 'Europe/Vienna',
    address: VIENNA_ADDRESS,
  });
  const register = await createRegister(orgApi, location.id, { label: 'Kassa 1', jurisdiction: 'AT' });
  const response = await orgApi.post<{
    fiscal_unit: FiscalUnit;
    register: Register;
    register_api_key: string;
    registration_secrets: { aes_key: string } | null;
  }>(`/v1/registers/${register.id}/fiscal-units`, {
    issue_register_credential: true,
    ...(options.system === undefined ? {} : { options: { system: options.system } }),
  });
  expect(response.status, response.text).toBe(201);
  return {
    orgApi,
    registerApi: orgApi.as(response.body.register_api_key),
    register: response.body.register,
    unit: response.body.fiscal_unit,
    aesKey: response.body.registration_secrets?.aes_key ?? '',
    organizationId: organization.id,
    locationId: location.id,
  };
}

/**
 * The register's stored receipts as a DEP7 export and crypto container, built with the regime module's builders
 * from the rows (one device), and what the independent verifier says of them.
 */
export async function verifyStoredDep(t: TestApp, registerId: string, fiscalUnitId: string) {
  const executor = t.database.executor();
  const receipts = await executor
    .selectFrom('rksv_receipts')
    .select(['jws'])
    .where('register_id', '=', registerId)
    .orderBy('receipt_number')
    .execute();
  const device = await executor
    .selectFrom('rksv_devices')
    .selectAll()
    .where('fiscal_unit_id', '=', fiscalUnitId)
    .executeTakeFirstOrThrow();
  const state = await executor
    .selectFrom('rksv_registers')
    .selectAll()
    .where('register_id', '=', registerId)
    .executeTakeFirstOrThrow();
  const material = rksvDeviceMaterial(device);
  const aesKey = unsealRksvAesKey(deriveKeys(t.masterKey).signingKeyEncryptionKey, state);
  const result = verifyDep7(
    buildDep7(receipts.map((receipt) => ({ jws: receipt.jws, device: material }))),
    buildCryptographicMaterialContainer(aesKey, [deviceEntry(material)]),
  );
  return { receipts: receipts.length, aesKey, result };
}
