/** A German register with an active software TSE, and the operations tests build on it. */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { expect } from 'vitest';
import type { FiscalUnit } from '../../src/modules/fiscal-units/fiscal-unit.schemas.js';
import type { Operation } from '../../src/modules/operations/operation.schemas.js';
import type { JournalEntry, JournalVerification } from '../../src/modules/journal/journal.schemas.js';
import type { Register } from '../../src/modules/registers/register.schemas.js';
import type { Page } from '../../src/shared/pagination.js';
import type { ApiClient, ApiResponse } from './api-client.js';
import { createLocation, createOrganization, createPlatform, createRegister } from './factories.js';
import type { TestApp } from './test-app.js';

export const GERMAN_IDENTITY = { tax_number: '21/815/08150', vat_id: 'DE143454214' };

export interface FiscalRegisterFixture {
  readonly orgApi: ApiClient;
  /** Authenticated with the register key issued at provisioning. */
  readonly registerApi: ApiClient;
  readonly register: Register;
  readonly unit: FiscalUnit;
  readonly organizationId: string;
  readonly locationId: string;
}

export async function createFiscalRegister(
  t: TestApp,
  options: { orgApi?: ApiClient; organizationId?: string; locationId?: string } = {},
): Promise<FiscalRegisterFixture> {
  let { orgApi, organizationId, locationId } = options;
  if (orgApi === undefined || organizationId === undefined || locationId === undefined) {
    const platform = await createPlatform(t);
    const organization = await createOrganization(platform.api, {
      legal_name: 'Müller & Söhne Bäckerei GmbH',
      fiscal_identity: GERMAN_IDENTITY,
      address: { line1: 'Hauptstraße 1', city: 'Berlin', postal_code: '10115', country: 'DE' },
    });
    organizationId = organization.id;
    orgApi = platform.api.forOrganization(organization.id);
    locationId = (await createLocation(orgApi, organization.id)).id;
  }
  const register = await createRegister(orgApi, locationId);
  const provisioned = await orgApi.post<{ fiscal_unit: FiscalUnit; register: Register; register_api_key: string }>(
    `/v1/registers/${register.id}/fiscal-units`,
    { issue_register_credential: true },
  );
  expect(provisioned.status, provisioned.text).toBe(201);
  return {
    orgApi,
    registerApi: orgApi.as(provisioned.body.register_api_key),
    register: provisioned.body.register,
    unit: provisioned.body.fiscal_unit,
    organizationId,
    locationId,
  };
}

export const line = (description: string, quantity: number, unitPrice: number, rate = '0.19') => ({
  description,
  quantity,
  unit_price_gross: unitPrice,
  tax: { rate, category: rate === '0.19' ? 'standard' : 'reduced' },
});

/** Starts and completes a sale paid in cash; returns the completed operation. */
export async function cashSale(
  api: ApiClient,
  registerId: string,
  lines: ReadonlyArray<ReturnType<typeof line>> = [line('Brötchen', 2, 45), line('Kaffee', 1, 250)],
): Promise<Operation> {
  const started = await api.post<Operation>(`/v1/registers/${registerId}/sales`, { line_items: lines });
  expect(started.status, started.text).toBe(201);
  const total = started.body.data.totals?.total_gross ?? 0;
  const completed = await api.post<Operation>(`/v1/sales/${started.body.id}/complete`, {
    payments: [{ method: 'cash', direction: 'inbound', amount: total }],
  });
  expect(completed.status, completed.text).toBe(200);
  return completed.body;
}

// ---------------------------------------------------------------------------------------------------------------
// Fiscal-core test helpers: device failures, the TSE's stored logs, the journal.

/** The test-mode failure switch of a fiscal unit (api.md §2); asserts it answered 200 with the unit. */
export async function simulateFailure(
  api: ApiClient,
  fiscalUnitId: string,
  mode: 'fail' | 'stall' | 'none',
): Promise<FiscalUnit> {
  const response = await api.post<FiscalUnit>(`/v1/fiscal-units/${fiscalUnitId}/simulate-failure`, { mode });
  expect(response.status, response.text).toBe(200);
  expect(response.body).toMatchObject({ object: 'fiscal_unit', id: fiscalUnitId });
  return response.body;
}

export interface StoredTseLog {
  readonly fiscalUnitId: string;
  readonly registerId: string;
  readonly signatureCounter: number;
  readonly transactionNumber: number | null;
  readonly logType: string;
  readonly operationType: string;
  readonly operationId: string | null;
  readonly clientId: string | null;
  readonly logTime: number;
  /** The DER log message exactly as signed. */
  readonly message: Buffer;
}

/** Every TR-03151 log the software TSE stored, of one fiscal unit or of one register, by signature counter. */
export async function tseLogs(
  t: TestApp,
  filter: { fiscalUnitId: string } | { registerId: string } | { operationId: string },
): Promise<StoredTseLog[]> {
  let query = t.database.executor().selectFrom('tse_log_messages').selectAll();
  if ('fiscalUnitId' in filter) query = query.where('fiscal_unit_id', '=', filter.fiscalUnitId);
  else if ('registerId' in filter) query = query.where('register_id', '=', filter.registerId);
  else query = query.where('operation_id', '=', filter.operationId);
  const rows = await query.orderBy('fiscal_unit_id').orderBy('signature_counter').execute();
  return rows.map((row) => ({
    fiscalUnitId: row.fiscal_unit_id,
    registerId: row.register_id,
    signatureCounter: Number(row.signature_counter),
    transactionNumber: row.transaction_number === null ? null : Number(row.transaction_number),
    logType: row.log_type,
    operationType: row.operation_type,
    operationId: row.operation_id,
    clientId: row.client_id,
    logTime: Number(row.log_time),
    message: Buffer.from(row.message, 'base64'),
  }));
}

/** `[from, from + 1, …, from + count − 1]`: what a gapless counter must look like. */
export const range = (from: number, count: number): number[] => Array.from({ length: count }, (_, i) => from + i);

/** Every journal entry of a register, in seq order (follows the cursor). */
export async function journalOf(api: ApiClient, registerId: string): Promise<JournalEntry[]> {
  const entries: JournalEntry[] = [];
  let cursor: string | null = null;
  do {
    const query: string = cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`;
    const page: ApiResponse<Page<JournalEntry>> = await api.get<Page<JournalEntry>>(
      `/v1/registers/${registerId}/journal?limit=200${query}`,
    );
    expect(page.status, page.text).toBe(200);
    entries.push(...page.body.data);
    cursor = page.body.has_more ? page.body.next_cursor : null;
  } while (cursor !== null);
  return entries;
}

/** `GET …/journal/verify`, asserting a 200. */
export async function verifyJournal(api: ApiClient, registerId: string): Promise<JournalVerification> {
  const response = await api.get<JournalVerification>(`/v1/registers/${registerId}/journal/verify`);
  expect(response.status, response.text).toBe(200);
  return response.body;
}

/** The register's last assigned sequence number, as stored. */
export async function lastSequenceNumber(t: TestApp, registerId: string): Promise<number> {
  const row = await t.database
    .executor()
    .selectFrom('registers')
    .select('last_sequence_number')
    .where('id', '=', registerId)
    .executeTakeFirstOrThrow();
  return Number(row.last_sequence_number);
}

/** DER prefix of a P-256 SubjectPublicKeyInfo (id-ecPublicKey, prime256v1) up to the 65-byte point. */
export const P256_SPKI_PREFIX = Buffer.from('3059301306072a8648ce3d020106082a8648ce3d030107034200', 'hex');

/** The P-256 public key of a Base64 uncompressed point (as in `public_key` and the QR code), via its SPKI. */
export function publicKeyOfPoint(pointBase64: string): KeyObject {
  const point = Buffer.from(pointBase64, 'base64');
  expect(point).toHaveLength(65);
  expect(point[0]).toBe(0x04);
  return createPublicKey({ key: Buffer.concat([P256_SPKI_PREFIX, point]), format: 'der', type: 'spki' });
}
