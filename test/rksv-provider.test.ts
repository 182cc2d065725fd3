/**
 * The Austrian fiscal unit provider `software_rksv` on both engines: provisioning (open and closed systems, the
 * Startbeleg, the AES key shown once), the receipts of operations and closings, the outage procedure (unsigned
 * receipts, the automatic Sammelbeleg, the Jahresbeleg refused), replacement (the chain continues) and the
 * Schlussbeleg. Every register's stored receipts are checked by the independent verifier as a DEP7 export.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { open } from '../src/crypto/secret-box.js';
import { createDatabase, type Database } from '../src/db/database.js';
import { migrateToLatest } from '../src/db/migrate.js';
import { AppError } from '../src/errors/app-error.js';
import type { FiscalUnitRow } from '../src/modules/fiscal-units/fiscal-unit.repository.js';
import {
  SigningDeviceError,
  type ClosingType,
  type EventTime,
  type FiscalProvider,
  type FiscalRecord,
  type OperationFiscalEvent,
  type ProvisionResult,
} from '../src/modules/fiscal-units/providers/fiscal-provider.js';
import { createRksvRepository } from '../src/modules/fiscal-units/providers/rksv.repository.js';
import {
  createSoftwareRksvProvider,
  fractionToPercent,
  rksvDeviceMaterial,
  unsealRksvAesKey,
} from '../src/modules/fiscal-units/providers/software-rksv.provider.js';
import { buildCryptographicMaterialContainer, buildDep7, deviceEntry } from '../src/regimes/at/dep7.js';
import type { RksvFiscalBlock } from '../src/regimes/at/fiscal-block.js';
import { SIGNATURE_DEVICE_FAILED_SIGNATURE } from '../src/regimes/at/receipt-code.js';
import { aesKeyCheckValue } from '../src/regimes/at/turnover-counter.js';
import type { Clock } from '../src/shared/clock.js';
import { newId } from '../src/shared/ids.js';
import { createScratchDatabase, describeDb, type ScratchDatabase } from './helpers/engines.js';
import { verifyDep7, type RksvVerificationResult } from './helpers/rksv-verifier.js';
import { insertFiscalUnitRow, insertRegisterRow, insertTenantRows, type TenantRows } from './helpers/rows.js';

const KEK = randomBytes(32);
const VAT_ID = 'ATU13585627';
/** 2026-03-02 09:00 in Vienna (UTC+1); each event is a minute later than the one before. */
const T0 = Date.parse('2026-03-02T08:00:00.000Z');

type Breakdown = ReadonlyArray<{ rate: string; gross: number }>;
type SimulatedFailure = FiscalUnitRow['simulated_failure'];

describe('fractionToPercent', () => {
  it('moves the decimal point of a fraction without floating point', () => {
    expect(['0.20', '0.10', '0.13', '0.049', '0', '0.19', '0.2', '1', '0.0490'].map(fractionToPercent)).toEqual([
      '20',
      '10',
      '13',
      '4.9',
      '0',
      '19',
      '20',
      '100',
      '4.9',
    ]);
    expect(['-0.2', '.2', '0,20', '', 'abc'].map(fractionToPercent)).toEqual([null, null, null, null, null]);
  });
});

describeDb('software_rksv provider', () => {
  let scratch: ScratchDatabase;
  let database: Database;
  let provider: FiscalProvider;
  let tenant: TenantRows;
  let minute = 0;
  const clock: Clock = { now: () => new Date(T0 + minute * 60_000) };

  beforeAll(async () => {
    scratch = await createScratchDatabase();
    database = createDatabase(scratch.location);
    await migrateToLatest(database);
    provider = createSoftwareRksvProvider({
      repository: createRksvRepository(database),
      clock,
      keyEncryptionKey: KEK,
      receiptBaseUrl: null,
    });
    tenant = await insertTenantRows(database, {
      now: clock.now().toISOString(),
      platformName: 'RKSV tests',
      fiscalIdentity: JSON.stringify({ vat_id: VAT_ID }),
      locationName: 'Wien Mitte',
    });
  });
  afterAll(async () => {
    await database.destroy();
    await scratch.drop();
  });

  interface Register {
    readonly id: string;
    readonly serial: string;
  }

  async function insertRegister(): Promise<Register> {
    const id = newId('reg');
    const serial = `KASSE-${id.slice(-8)}`;
    await insertRegisterRow(database, tenant, {
      id,
      jurisdiction: 'AT',
      serialNumber: serial,
      now: clock.now().toISOString(),
    });
    return { id, serial };
  }

  /** A fiscal unit row as the service inserts it before calling `provision`. */
  const insertUnit = (register: Register): Promise<FiscalUnitRow> =>
    insertFiscalUnitRow(database, tenant, {
      registerId: register.id,
      jurisdiction: 'AT',
      provider: 'software_rksv',
      state: 'provisioning',
      now: clock.now().toISOString(),
    });

  function eventTime(register: Register): EventTime {
    minute += 1;
    return { at: clock.now(), timeZone: 'Europe/Vienna', clientId: register.serial, registerId: register.id };
  }

  /** Runs a provider call as the services do: inside a transaction. */
  const inTransaction = <T>(work: () => Promise<T>): Promise<T> => database.transaction(work);

  async function provision(
    register: Register,
    options: Record<string, unknown> = {},
    fiscalIdentity: Record<string, string> = { vat_id: VAT_ID },
    replaces: FiscalUnitRow | null = null,
  ): Promise<{ unit: FiscalUnitRow; result: ProvisionResult }> {
    const unit = await insertUnit(register);
    const result = await inTransaction(() =>
      provider.provision({ ...eventTime(register), fiscalUnitId: unit.id, fiscalIdentity, options, replaces }),
    );
    return { unit: { ...unit, state: 'active' }, result };
  }

  const withFailure = (unit: FiscalUnitRow, simulated_failure: SimulatedFailure): FiscalUnitRow => ({
    ...unit,
    simulated_failure,
  });

  type Operation =
    | { kind: 'complete'; operationType: 'sale' | 'training' | 'refund' | 'exchange'; breakdown: Breakdown }
    | { kind: 'cancel'; operationType: 'sale'; breakdown: Breakdown }
    | { kind: 'void'; originalType: 'sale' | 'training' | 'refund' | 'exchange'; breakdown: Breakdown }
    | { kind: 'cash_movement' };

  function operationEvent(register: Register, operation: Operation): OperationFiscalEvent {
    const base = { ...eventTime(register), operationId: newId('op'), sequenceNumber: 1n, started: null };
    const lines = (breakdown: Breakdown) => breakdown.map((line) => ({ ...line, category: 'standard' }));
    switch (operation.kind) {
      case 'complete':
        return { ...base, ...operation, breakdown: lines(operation.breakdown), payments: [] };
      case 'cancel':
        return { ...base, ...operation, breakdown: lines(operation.breakdown) };
      case 'void':
        return { ...base, ...operation, breakdown: lines(operation.breakdown), payments: [] };
      case 'cash_movement':
        return {
          ...base,
          kind: 'cash_movement',
          movementKind: 'float',
          direction: 'in',
          amount: 5000,
          currency: 'EUR',
        };
    }
  }

  const finish = (unit: FiscalUnitRow, register: Register, operation: Operation) => {
    const event = operationEvent(register, operation);
    return inTransaction(() => provider.recorder.finish(unit, event)).then((record) => ({ record, event }));
  };

  const closing = (unit: FiscalUnitRow, register: Register, closingType: ClosingType) => {
    const event = {
      ...eventTime(register),
      closingId: newId('cls'),
      closingType,
      zNumber: 1,
      totalGross: 0,
      exportIds: new Map<string, string>(),
    };
    return inTransaction(() => provider.recorder.closing(unit, event)).then((record) => ({ record, event }));
  };

  const nullReceipt = (unit: FiscalUnitRow, register: Register) => {
    const issue = provider.recorder.nullReceipt;
    if (issue === null) throw new Error('software_rksv issues Nullbelege');
    return inTransaction(() => issue(unit, eventTime(register)));
  };

  const block = (record: FiscalRecord): RksvFiscalBlock => {
    expect(record.block).not.toBeNull();
    return record.block as unknown as RksvFiscalBlock;
  };

  const receiptsOf = (register: Register) =>
    database
      .executor()
      .selectFrom('rksv_receipts')
      .selectAll()
      .where('register_id', '=', register.id)
      .orderBy('receipt_number')
      .execute();

  const registerStateOf = (register: Register) =>
    database
      .executor()
      .selectFrom('rksv_registers')
      .selectAll()
      .where('register_id', '=', register.id)
      .executeTakeFirstOrThrow();

  /** The register's DEP7 export and crypto container, built from the stored rows, checked independently. */
  async function verifyRegister(register: Register): Promise<RksvVerificationResult> {
    const receipts = await receiptsOf(register);
    const devices = await database
      .executor()
      .selectFrom('rksv_devices')
      .selectAll()
      .where('register_id', '=', register.id)
      .execute();
    const materials = new Map(devices.map((device) => [device.fiscal_unit_id, rksvDeviceMaterial(device)]));
    const dep = buildDep7(
      receipts.map((receipt) => {
        const device = materials.get(receipt.fiscal_unit_id);
        if (device === undefined) throw new Error(`no device for ${receipt.fiscal_unit_id}`);
        return { jws: receipt.jws, device };
      }),
    );
    const container = buildCryptographicMaterialContainer(
      unsealRksvAesKey(KEK, await registerStateOf(register)),
      [...materials.values()].map(deviceEntry),
    );
    // Through JSON, as the files would be read.
    const result = verifyDep7(JSON.parse(JSON.stringify(dep)), JSON.parse(JSON.stringify(container)));
    expect(result.errors).toEqual([]);
    expect(result.valid).toBe(true);
    expect(result.receipts).toBe(receipts.length);
    return result;
  }

  async function caught(action: () => Promise<unknown>): Promise<unknown> {
    try {
      await action();
    } catch (error) {
      return error;
    }
    throw new Error('expected an error');
  }

  it('provisions an open system: a self-signed certificate, the AES key shown once, the signed Startbeleg first', async () => {
    const register = await insertRegister();
    const { unit, result } = await provision(register);
    const registration = result.registration;
    const aesKey = result.secrets?.aes_key ?? '';
    expect(Buffer.from(aesKey, 'base64')).toHaveLength(32);
    expect(registration).toMatchObject({
      regime: 'rksv',
      system: 'open',
      cash_register_id: register.serial,
      zda: 'AT100',
      signature_algorithm: 'ES256',
      aes_key_check_value: aesKeyCheckValue(aesKey),
    });
    expect(typeof registration.certificate).toBe('string');
    expect(registration.certificate_serial).toMatch(/^[0-9a-f]+$/);
    const start = registration.start_receipt as RksvFiscalBlock;
    expect(start).toMatchObject({
      regime: 'rksv',
      fiscal_unit_id: unit.id,
      certified: false,
      receipt_kind: 'start',
      document_type: 'Startbeleg',
      receipt_number: '1',
      cash_register_id: register.serial,
      signed: true,
      certificate_serial: registration.certificate_serial,
      collective_receipt: null,
    });
    expect(start.verification.qr_data.startsWith(`_R1-AT100_${register.serial}_1_2026-03-02T09:`)).toBe(true);

    // The secrets are sealed at rest, each bound to its row.
    const device = await database
      .executor()
      .selectFrom('rksv_devices')
      .selectAll()
      .where('fiscal_unit_id', '=', unit.id)
      .executeTakeFirstOrThrow();
    expect(device).toMatchObject({ system: 'open', zda: 'AT100', company_id: null, key_number: null });
    expect(device.public_key).toBe(registration.public_key);
    expect(() => open(KEK, device.private_key, unit.id)).not.toThrow();
    expect(() => open(KEK, device.private_key, 'fu_other')).toThrow();
    const state = await registerStateOf(register);
    expect(unsealRksvAesKey(KEK, state)).toBe(aesKey);
    expect(state).toMatchObject({ kassen_id: register.serial, counter_bytes: 8n, receipt_count: 1n, closed: 0n });

    const receipts = await receiptsOf(register);
    expect(receipts).toHaveLength(1);
    expect(receipts[0]).toMatchObject({
      receipt_number: 1n,
      kind: 'start',
      fiscal_unit_id: unit.id,
      signed: 1n,
      jws: start.jws,
      operation_id: null,
      issued_at: new Date(T0 + minute * 60_000).toISOString(),
    });
    expect(await provider.health(unit)).toEqual({ healthy: true, message: null });
    expect(await provider.health(withFailure(unit, 'fail'))).toMatchObject({ healthy: false });
    await verifyRegister(register);
  });

  it('provisions closed systems with key ids U:<UID>-K<n> counted per company, and refuses bad options', async () => {
    const first = await insertRegister();
    const second = await insertRegister();
    const a = await provision(first, { system: 'closed' }, { vat_id: 'ATU99999999' });
    const b = await provision(second, { system: 'closed' }, { vat_id: 'ATU99999999' });
    for (const [{ result }, key] of [
      [a, 'U:ATU99999999-K1'],
      [b, 'U:ATU99999999-K2'],
    ] as const) {
      expect(result.registration).toMatchObject({
        system: 'closed',
        zda: 'AT0',
        certificate_serial: key,
        certificate: null,
      });
      expect((result.registration.start_receipt as RksvFiscalBlock).certificate_serial).toBe(key);
      expect(result.secrets).not.toBeNull();
    }
    const sale = await finish(b.unit, second, {
      kind: 'complete',
      operationType: 'sale',
      breakdown: [{ rate: '0.20', gross: 990 }],
    });
    expect(block(sale.record)).toMatchObject({ zda: 'AT0', certificate_serial: 'U:ATU99999999-K2', signed: true });
    await verifyRegister(first);
    await verifyRegister(second);

    const third = await insertRegister();
    const badSystem = await caught(() => provision(third, { system: 'half-open' }));
    expect(badSystem).toBeInstanceOf(AppError);
    expect(badSystem).toMatchObject({ code: 'validation_error', param: 'options.system' });
    const noVat = await caught(() => provision(third, { system: 'closed' }, {}));
    expect(noVat).toMatchObject({ code: 'validation_error', param: 'fiscal_identity.vat_id' });
    // Nothing of the refused provisioning stayed.
    expect(await receiptsOf(third)).toHaveLength(0);
  });

  it('issues standard, storno and training receipts with the right signs, and nothing for cancels and cash movements', async () => {
    const register = await insertRegister();
    const { unit } = await provision(register);

    const sale = await finish(unit, register, {
      kind: 'complete',
      operationType: 'sale',
      breakdown: [
        { rate: '0.20', gross: 1200 },
        { rate: '0.10', gross: 550 },
      ],
    });
    expect(sale.record.deviceFailure).toBeNull();
    expect(block(sale.record)).toMatchObject({
      receipt_kind: 'standard',
      document_type: 'Beleg',
      receipt_number: '2',
      signed: true,
      amounts: { normal: '12,00', ermaessigt1: '5,50', ermaessigt2: '0,00', null: '0,00', besonders: '0,00' },
      collective_receipt: null,
    });

    const refund = await finish(unit, register, {
      kind: 'complete',
      operationType: 'refund',
      breakdown: [{ rate: '0.20', gross: 500 }],
    });
    expect(block(refund.record)).toMatchObject({ receipt_kind: 'storno', amounts: { normal: '-5,00' } });

    const exchange = await finish(unit, register, {
      kind: 'complete',
      operationType: 'exchange',
      breakdown: [
        { rate: '0.20', gross: -300 },
        { rate: '0.13', gross: 800 },
      ],
    });
    expect(block(exchange.record)).toMatchObject({
      receipt_kind: 'standard',
      amounts: { normal: '-3,00', ermaessigt2: '8,00' },
    });

    const voidSale = await finish(unit, register, {
      kind: 'void',
      originalType: 'sale',
      breakdown: [
        { rate: '0.20', gross: 1200 },
        { rate: '0.10', gross: 550 },
      ],
    });
    expect(block(voidSale.record)).toMatchObject({
      receipt_kind: 'storno',
      amounts: { normal: '-12,00', ermaessigt1: '-5,50' },
    });
    const voidRefund = await finish(unit, register, {
      kind: 'void',
      originalType: 'refund',
      breakdown: [{ rate: '0.20', gross: 500 }],
    });
    expect(block(voidRefund.record)).toMatchObject({ receipt_kind: 'storno', amounts: { normal: '5,00' } });

    const training = await finish(unit, register, {
      kind: 'complete',
      operationType: 'training',
      breakdown: [{ rate: '0', gross: 400 }],
    });
    expect(block(training.record)).toMatchObject({
      receipt_kind: 'training',
      document_type: 'Trainingsbeleg',
      amounts: { null: '4,00' },
    });
    const voidTraining = await finish(unit, register, {
      kind: 'void',
      originalType: 'training',
      breakdown: [{ rate: '0', gross: 400 }],
    });
    expect(block(voidTraining.record)).toMatchObject({ receipt_kind: 'training', amounts: { null: '-4,00' } });

    // No receipt: the start of an operation, a cancel, a cash movement, a daily or shift closing.
    expect(await provider.recorder.start(unit, { ...eventTime(register), operationId: newId('op') })).toBeNull();
    const cancel = await finish(unit, register, {
      kind: 'cancel',
      operationType: 'sale',
      breakdown: [{ rate: '0.20', gross: 100 }],
    });
    expect(cancel.record).toEqual({ block: null, deviceFailure: null });
    expect((await finish(unit, register, { kind: 'cash_movement' })).record).toEqual({
      block: null,
      deviceFailure: null,
    });
    expect((await closing(unit, register, 'daily')).record).toEqual({ block: null, deviceFailure: null });
    expect((await closing(unit, register, 'shift')).record).toEqual({ block: null, deviceFailure: null });

    const monthly = await closing(unit, register, 'monthly');
    expect(block(monthly.record)).toMatchObject({ receipt_kind: 'monthly', document_type: 'Monatsbeleg' });
    const nullBeleg = block(await nullReceipt(unit, register));
    expect(nullBeleg).toMatchObject({ receipt_kind: 'null', document_type: 'Nullbeleg', signed: true });

    // Rates RKSV has no tax set for on the day are refused, and nothing is stored.
    for (const rate of ['0.049', '0.07', 'abc']) {
      const error = await caught(() =>
        finish(unit, register, { kind: 'complete', operationType: 'sale', breakdown: [{ rate, gross: 100 }] }),
      );
      expect(error).toBeInstanceOf(AppError);
      expect(error).toMatchObject({ code: 'invalid_tax_rate' });
    }

    const receipts = await receiptsOf(register);
    expect(receipts.map((receipt) => receipt.kind)).toEqual([
      'start',
      'standard',
      'storno',
      'standard',
      'storno',
      'storno',
      'training',
      'training',
      'monthly',
      'null',
    ]);
    expect(receipts.map((receipt) => receipt.receipt_number)).toEqual([1n, 2n, 3n, 4n, 5n, 6n, 7n, 8n, 9n, 10n]);
    expect(receipts[1]?.operation_id).toBe(sale.event.operationId);
    expect(receipts[4]?.operation_id).toBe(voidSale.event.operationId);
    expect(receipts[8]?.closing_id).toBe(monthly.event.closingId);
    expect(receipts.every((receipt) => receipt.signed === 1n)).toBe(true);

    // 17,50 − 5,00 − 3,00 + 8,00 − 17,50 + 5,00 = 5,00; training receipts do not count.
    const verified = await verifyRegister(register);
    expect(verified.turnoverCounterCents).toBe(500n);
    expect((await registerStateOf(register)).turnover_cents).toBe(500n);
  });

  it('books the 4.9 % food rate in Betrag-Satz-Besonders from 2026-07-01', async () => {
    const register = await insertRegister();
    const { unit } = await provision(register);
    const saved = minute;
    minute = (Date.parse('2026-07-01T08:00:00.000Z') - T0) / 60_000;
    try {
      const sale = await finish(unit, register, {
        kind: 'complete',
        operationType: 'sale',
        breakdown: [
          { rate: '0.049', gross: 1049 },
          { rate: '0.19', gross: 119 },
        ],
      });
      expect(block(sale.record).amounts.besonders).toBe('11,68');
      await verifyRegister(register);
    } finally {
      minute = Math.max(saved, minute);
    }
  });

  it('issues unsigned receipts while the device fails, refuses the Jahresbeleg, and issues the Sammelbeleg first when it signs again', async () => {
    const register = await insertRegister();
    const { unit } = await provision(register);
    await finish(unit, register, {
      kind: 'complete',
      operationType: 'sale',
      breakdown: [{ rate: '0.20', gross: 100 }],
    });

    const failing = withFailure(unit, 'fail');
    const unsigned = await finish(failing, register, {
      kind: 'complete',
      operationType: 'sale',
      breakdown: [{ rate: '0.20', gross: 2000 }],
    });
    expect(unsigned.record.deviceFailure).toMatch(/simulated failure/);
    const unsignedBlock = block(unsigned.record);
    expect(unsignedBlock).toMatchObject({ receipt_kind: 'standard', signed: false, amounts: { normal: '20,00' } });
    expect(unsignedBlock.jws.endsWith(`.${SIGNATURE_DEVICE_FAILED_SIGNATURE}`)).toBe(true);
    expect((await registerStateOf(register)).failed_since).toBe(unsignedBlock.receipt_date_time);

    // A stalled device counts as failed at once.
    const stalled = await finish(withFailure(unit, 'stall'), register, {
      kind: 'complete',
      operationType: 'refund',
      breakdown: [{ rate: '0.20', gross: 300 }],
    });
    expect(stalled.record.deviceFailure).toMatch(/did not answer/);
    expect(block(stalled.record)).toMatchObject({ receipt_kind: 'storno', signed: false });
    const monthly = await closing(failing, register, 'monthly');
    expect(block(monthly.record)).toMatchObject({ receipt_kind: 'monthly', signed: false });
    expect(monthly.record.deviceFailure).not.toBeNull();
    expect(block(await nullReceipt(failing, register))).toMatchObject({ receipt_kind: 'null', signed: false });

    // The Jahresbeleg and the Sammelbeleg must be signed: refused, nothing written.
    const before = await receiptsOf(register);
    const annual = await caught(() => closing(failing, register, 'annual'));
    expect(annual).toBeInstanceOf(SigningDeviceError);
    expect(annual).toMatchObject({ kind: 'unavailable' });
    expect(await inTransaction(() => provider.recorder.recovered(failing, eventTime(register)))).toEqual({
      block: null,
      deviceFailure: null,
    });
    expect(await receiptsOf(register)).toHaveLength(before.length);

    // Signing again: the Sammelbeleg goes out first, automatically, and rides along in the sale's block.
    const recovered = await finish(unit, register, {
      kind: 'complete',
      operationType: 'sale',
      breakdown: [{ rate: '0.13', gross: 700 }],
    });
    expect(recovered.record.deviceFailure).toBeNull();
    const recoveredBlock = block(recovered.record);
    expect(recoveredBlock).toMatchObject({ receipt_kind: 'standard', signed: true, amounts: { ermaessigt2: '7,00' } });
    expect(recoveredBlock.collective_receipt).toMatchObject({
      receipt_kind: 'collective',
      document_type: 'Sammelbeleg',
      signed: true,
      receipt_number: String(Number(recoveredBlock.receipt_number) - 1),
      amounts: { normal: '0,00' },
      collective_receipt: null,
    });
    expect((await registerStateOf(register)).failed_since).toBeNull();
    // Nothing more is due.
    expect(await inTransaction(() => provider.recorder.recovered(unit, eventTime(register)))).toEqual({
      block: null,
      deviceFailure: null,
    });

    // recovered() issues the Sammelbeleg by itself; then the Jahresbeleg can be signed.
    await nullReceipt(failing, register);
    const sammel = block(await inTransaction(() => provider.recorder.recovered(unit, eventTime(register))));
    expect(sammel).toMatchObject({ receipt_kind: 'collective', signed: true, collective_receipt: null });
    const annualSigned = await closing(unit, register, 'annual');
    expect(block(annualSigned.record)).toMatchObject({
      receipt_kind: 'annual',
      document_type: 'Jahresbeleg',
      signed: true,
      collective_receipt: null,
    });

    const receipts = await receiptsOf(register);
    expect(receipts.map((receipt) => [receipt.kind, receipt.signed])).toEqual([
      ['start', 1n],
      ['standard', 1n],
      ['standard', 0n],
      ['storno', 0n],
      ['monthly', 0n],
      ['null', 0n],
      ['collective', 1n],
      ['standard', 1n],
      ['null', 0n],
      ['collective', 1n],
      ['annual', 1n],
    ]);
    expect(receipts[6]?.operation_id).toBeNull();
    expect(receipts[7]?.operation_id).toBe(recovered.event.operationId);
    const verified = await verifyRegister(register);
    expect(verified.turnoverCounterCents).toBe(100n + 2000n - 300n + 700n);
  });

  it('continues the chain on a replacement unit: no second Startbeleg, a new certificate, one Kassen-ID', async () => {
    const register = await insertRegister();
    const first = await provision(register);
    await finish(first.unit, register, {
      kind: 'complete',
      operationType: 'sale',
      breakdown: [{ rate: '0.20', gross: 1000 }],
    });
    // The old unit fails; receipts go out unsigned before it is replaced.
    await finish(withFailure(first.unit, 'fail'), register, {
      kind: 'complete',
      operationType: 'sale',
      breakdown: [{ rate: '0.10', gross: 200 }],
    });
    await inTransaction(() => provider.decommission(first.unit, { ...eventTime(register), final: false }));
    expect(await receiptsOf(register)).toHaveLength(3);

    const closedInstead = await caught(() => provision(register, { system: 'closed' }));
    expect(closedInstead).toMatchObject({ code: 'validation_error', param: 'options.system' });

    const second = await provision(register);
    expect(second.result.secrets).toBeNull();
    expect(second.result.registration).toMatchObject({
      system: 'open',
      cash_register_id: register.serial,
      start_receipt: null,
      aes_key_check_value: first.result.registration.aes_key_check_value,
    });
    expect(second.result.registration.certificate_serial).not.toBe(first.result.registration.certificate_serial);

    const sale = await finish(second.unit, register, {
      kind: 'complete',
      operationType: 'sale',
      breakdown: [{ rate: '0.20', gross: 500 }],
    });
    const saleBlock = block(sale.record);
    expect(saleBlock).toMatchObject({
      fiscal_unit_id: second.unit.id,
      certificate_serial: second.result.registration.certificate_serial,
      receipt_number: '5',
      signed: true,
    });
    // The new unit signs, so the outage of the old one is closed with a Sammelbeleg first.
    expect(saleBlock.collective_receipt).toMatchObject({ receipt_number: '4', fiscal_unit_id: second.unit.id });

    const receipts = await receiptsOf(register);
    expect(receipts.map((receipt) => receipt.kind)).toEqual([
      'start',
      'standard',
      'standard',
      'collective',
      'standard',
    ]);
    expect(receipts.map((receipt) => receipt.fiscal_unit_id)).toEqual([
      first.unit.id,
      first.unit.id,
      first.unit.id,
      second.unit.id,
      second.unit.id,
    ]);
    const verified = await verifyRegister(register);
    expect(verified.turnoverCounterCents).toBe(1700n);
  });

  it('issues the Schlussbeleg on final decommissioning, then refuses the Kassen-ID', async () => {
    const register = await insertRegister();
    const { unit } = await provision(register);
    await finish(unit, register, {
      kind: 'complete',
      operationType: 'sale',
      breakdown: [{ rate: '0.20', gross: 250 }],
    });
    await inTransaction(() => provider.decommission(unit, { ...eventTime(register), final: true }));

    const receipts = await receiptsOf(register);
    expect(receipts.at(-1)).toMatchObject({ kind: 'closing', signed: 1n, fiscal_unit_id: unit.id });
    expect((await registerStateOf(register)).closed).toBe(1n);
    await verifyRegister(register);

    const again = await caught(() => provision(register));
    expect(again).toBeInstanceOf(AppError);
    expect(again).toMatchObject({
      code: 'validation_error',
      message:
        'This Kassen-ID was closed with a Schlussbeleg; an Austrian register that was taken out of service needs a new register (a new Kassen-ID).',
    });
    const late = await caught(() =>
      finish(unit, register, { kind: 'complete', operationType: 'sale', breakdown: [{ rate: '0.20', gross: 1 }] }),
    );
    expect(late).toMatchObject({ code: 'validation_error' });
    expect(await receiptsOf(register)).toHaveLength(receipts.length);
  });

  it('issues the Schlussbeleg unsigned when the device fails', async () => {
    for (const failure of ['fail', 'stall'] as const) {
      const register = await insertRegister();
      const { unit } = await provision(register, { system: 'closed' });
      await inTransaction(() =>
        provider.decommission(withFailure(unit, failure), { ...eventTime(register), final: true }),
      );
      const receipts = await receiptsOf(register);
      expect(receipts.map((receipt) => [receipt.kind, receipt.signed])).toEqual([
        ['start', 1n],
        ['closing', 0n],
      ]);
      expect((await registerStateOf(register)).closed).toBe(1n);
      await verifyRegister(register);
    }
  });

  it('writes nothing when the caller’s transaction rolls back', async () => {
    const register = await insertRegister();
    const { unit } = await provision(register);
    const event = operationEvent(register, {
      kind: 'complete',
      operationType: 'sale',
      breakdown: [{ rate: '0.20', gross: 100 }],
    });
    const state = await registerStateOf(register);
    await expect(
      database.transaction(async () => {
        await provider.recorder.finish(unit, event);
        throw new Error('the operation could not be stored');
      }),
    ).rejects.toThrow(/could not be stored/);
    expect(await receiptsOf(register)).toHaveLength(1);
    expect(await registerStateOf(register)).toEqual(state);
    const sale = await finish(unit, register, {
      kind: 'complete',
      operationType: 'sale',
      breakdown: [{ rate: '0.20', gross: 100 }],
    });
    expect(block(sale.record).receipt_number).toBe('2');
    await verifyRegister(register);
  });
});
