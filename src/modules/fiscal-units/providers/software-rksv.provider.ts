/**
 * `software_rksv`: an Austrian signature creation unit in software (not certified) and the register it signs for
 * (RKSV, Detailspezifikation). One ECDSA P-256 key per fiscal unit (sealed at rest): an open system's self-signed
 * certificate (ZDA `AT100`) or a closed system's bare key `U:<UID>-K<n>` (ZDA `AT0`). The state of the Kassen-ID —
 * AES key (sealed), turnover counter, chain, pending Sammelbeleg — lives per register and outlives the units: a
 * replacement unit continues the chain, and only the first unit of a register issues the Startbeleg.
 *
 * The RKSV signs receipts only: every receipt (Start-, Monats-, Jahres-, Null-, Sammel-, Schlussbeleg, and the
 * receipts of completed and voided operations) is stored exactly as issued in `rksv_receipts`, the DEP, together
 * with the register state it leads to, in the caller's transaction (the caller holds the register lock).
 *
 * Outage procedure (RKSV § 17): while the device fails, receipts that may go out unsigned carry "Sicherheitseinrichtung
 * ausgefallen" and the record reports the failure; Start-, Jahres- and Sammelbeleg cannot be issued then. The first
 * time the device signs again, a Sammelbeleg is issued automatically before the receipt asked for.
 * @module
 */
import { createPrivateKey, createPublicKey, sign, type KeyObject } from 'node:crypto';
import { open, seal } from '../../../crypto/secret-box.js';
import { AppError } from '../../../errors/app-error.js';
import { taxSetForRate, type RksvTaxSet } from '../../../regimes/at/amounts.js';
import { rksvFiscalBlock, RKSV_DOCUMENT_TYPES, type RksvFiscalBlock } from '../../../regimes/at/fiscal-block.js';
import { formatReceiptDateTime, receiptUrlHash } from '../../../regimes/at/receipt-code.js';
import {
  createRegisterState,
  issueReceiptAsync,
  needsSammelbeleg,
  RksvRuleError,
  SIGNATURE_REQUIRED_KINDS,
  type RksvAsyncSign,
  type RksvReceiptResult,
  type RksvIssuedReceipt,
  type RksvReceiptKind,
  type RksvRegisterState,
} from '../../../regimes/at/register.js';
import {
  CLOSED_SYSTEM_ZDA,
  createClosedSystemSoftwareDevice,
  createOpenSystemSoftwareDevice,
  type RksvSignatureDeviceIdentity,
  type RksvSignatureDeviceMaterial,
  type RksvZda,
  type SoftwareSignatureDevice,
} from '../../../regimes/at/signature-device.js';
import {
  aesKeyCheckValue,
  DEFAULT_TURNOVER_COUNTER_BYTES,
  generateAesKey,
  parseAesKey,
} from '../../../regimes/at/turnover-counter.js';
import type { Clock } from '../../../shared/clock.js';
import { businessDate, toUtcString } from '../../../shared/time.js';
import type { FiscalUnitRow } from '../fiscal-unit.repository.js';
import {
  SigningDeviceError,
  type ClosingFiscalEvent,
  type EventTime,
  type FiscalProvider,
  type FiscalRecord,
  type GrossByRate,
  type OperationFiscalEvent,
  type ProvisionInput,
  type ProvisionResult,
} from './fiscal-provider.js';
import type { RksvDeviceRow, RksvRegisterRow, RksvRegisterStateChanges, RksvRepository } from './rksv.repository.js';

export interface SoftwareRksvDeps {
  readonly repository: Pick<
    RksvRepository,
    | 'findRegister'
    | 'insertRegister'
    | 'updateRegister'
    | 'insertDevice'
    | 'findDevice'
    | 'highestKeyNumber'
    | 'insertReceipt'
  >;
  readonly clock: Clock;
  /** Seals the private keys (bound to the fiscal unit id) and the AES keys (bound to the register id) at rest. */
  readonly keyEncryptionKey: Buffer;
  /**
   * Where this server publishes receipts' QR code texts by URL hash (`<OPENFISKAL_PUBLIC_URL>/v1/rksv-receipts`):
   * the fiscal blocks' `verification.url` is this + `/` + `url_hash`. Null: no public URL, `verification.url` null.
   */
  readonly receiptBaseUrl: string | null;
}

export type RksvSystem = 'open' | 'closed';

/** What `provision` stores and shows with the unit (`fiscal_registration`). */
export interface RksvRegistration {
  readonly regime: 'rksv';
  readonly system: RksvSystem;
  /** The Kassen-ID. */
  readonly cash_register_id: string;
  readonly zda: string;
  /** Hex certificate serial (open system) or key id `U:<UID>-K<n>` (closed system). */
  readonly certificate_serial: string;
  /** Base64 DER certificate (open system), else null. */
  readonly certificate: string | null;
  /** Base64 SPKI DER. */
  readonly public_key: string;
  /** FinanzOnline check value of the AES key (3 bytes, Base64). */
  readonly aes_key_check_value: string;
  readonly signature_algorithm: 'ES256';
  /** The Startbeleg, when this unit issued it (the register's first unit); null for a replacement. */
  readonly start_receipt: RksvFiscalBlock | null;
}

/** The register's AES key as FinanzOnline and the crypto container take it (Base64), unsealed from its row. */
export function unsealRksvAesKey(
  keyEncryptionKey: Buffer,
  register: Pick<RksvRegisterRow, 'register_id' | 'aes_key'>,
): string {
  return open(keyEncryptionKey, register.aes_key, register.register_id);
}

/** What a verifier needs of a stored device: its DEP7 group (certificate) and crypto container entry. */
export function rksvDeviceMaterial(device: RksvDeviceRow): RksvSignatureDeviceMaterial {
  return {
    zda: device.zda as RksvZda,
    certificateSerial: device.certificate_serial,
    containerId: device.container_id,
    publicKey: createPublicKey({ key: Buffer.from(device.public_key, 'base64'), format: 'der', type: 'spki' }),
    certificate: device.certificate === null ? null : Buffer.from(device.certificate, 'base64'),
    certificateChain: [],
  };
}

/** A receipt to issue, and what it belongs to. */
interface ReceiptRequest {
  readonly kind: RksvReceiptKind;
  readonly amounts?: Partial<Record<RksvTaxSet, bigint>>;
  readonly operationId?: string | null;
  readonly closingId?: string | null;
}

interface UnitDevice {
  readonly identity: RksvSignatureDeviceIdentity;
  readonly privateKey: KeyObject;
}

const NO_RECORD: FiscalRecord = { block: null, deviceFailure: null };
const CLOSED_KASSEN_ID_MESSAGE =
  'This Kassen-ID was closed with a Schlussbeleg; an Austrian register that was taken out of service needs a new register (a new Kassen-ID).';

/**
 * `"0.20"` → `"20"`, `"0.049"` → `"4.9"`, `"0"` → `"0"`: a rate given as a fraction, in percent, by moving the
 * decimal point (no floating point). Null when it is not a plain non-negative decimal.
 */
export function fractionToPercent(rate: string): string | null {
  const match = /^(\d+)(?:\.(\d+))?$/.exec(rate);
  if (match === null) return null;
  const fraction = (match[2] ?? '').padEnd(2, '0');
  const whole = `${match[1] ?? ''}${fraction.slice(0, 2)}`.replace(/^0+(?=\d)/, '');
  const rest = fraction.slice(2).replace(/0+$/, '');
  return rest === '' ? whole : `${whole}.${rest}`;
}

/** Gross cents per tax set of a breakdown, multiplied by `direction` (-1 reverses). */
function amountsOf(
  breakdown: readonly GrossByRate[],
  event: EventTime,
  direction: 1n | -1n,
): Partial<Record<RksvTaxSet, bigint>> {
  const day = businessDate(event.at, event.timeZone);
  const amounts: Partial<Record<RksvTaxSet, bigint>> = {};
  for (const line of breakdown) {
    const percent = fractionToPercent(line.rate);
    let set: RksvTaxSet | null = null;
    try {
      if (percent !== null) set = taxSetForRate(percent, day);
    } catch (error) {
      if (!(error instanceof RangeError)) throw error;
    }
    if (set === null) {
      throw new AppError('invalid_tax_rate', {
        message: `The rate ${line.rate} has no RKSV tax set on ${day} (Austria: 0.20, 0.10, 0.13, 0, 0.19, and 0.049 from 2026-07-01).`,
      });
    }
    amounts[set] = (amounts[set] ?? 0n) + BigInt(line.gross) * direction;
  }
  return amounts;
}

/** The receipt an operation event makes, or null where RKSV issues none (cancel, cash movement). */
function operationReceipt(event: OperationFiscalEvent): ReceiptRequest | null {
  const link = { operationId: event.operationId };
  switch (event.kind) {
    case 'complete':
      switch (event.operationType) {
        case 'sale':
        case 'exchange':
          return { ...link, kind: 'standard', amounts: amountsOf(event.breakdown, event, 1n) };
        case 'training':
          return { ...link, kind: 'training', amounts: amountsOf(event.breakdown, event, 1n) };
        case 'refund':
          return { ...link, kind: 'storno', amounts: amountsOf(event.breakdown, event, -1n) };
      }
      break;
    case 'void':
      switch (event.originalType) {
        case 'sale':
        case 'exchange':
          return { ...link, kind: 'storno', amounts: amountsOf(event.breakdown, event, -1n) };
        case 'training':
          return { ...link, kind: 'training', amounts: amountsOf(event.breakdown, event, -1n) };
        case 'refund':
          return { ...link, kind: 'storno', amounts: amountsOf(event.breakdown, event, 1n) };
      }
      break;
    case 'cancel':
    case 'cash_movement':
      return null;
  }
  return null;
}

/** Why the device cannot sign right now, or null when it can. */
function simulatedFailure(unit: FiscalUnitRow): string | null {
  switch (unit.simulated_failure) {
    case 'fail':
      return 'The signature creation unit failed (simulated failure).';
    case 'stall':
      // A real device that hangs would keep the register locked until the caller's signing timeout, which then
      // rolls the receipt back — yet the RKSV wants the receipt issued anyway, marked as unsigned (§ 17). A device
      // that does not answer is a failed device, so the simulation treats it as failed at once instead of waiting.
      return 'The signature creation unit did not answer (simulated stall).';
    case 'none':
      return null;
  }
}

function stateOf(row: RksvRegisterRow, aesKey: Buffer): RksvRegisterState {
  return {
    ...createRegisterState({ kassenId: row.kassen_id, aesKey, counterBytes: Number(row.counter_bytes) }),
    turnoverCents: row.turnover_cents,
    lastJws: row.last_jws,
    lastReceiptNumber: row.last_receipt_number,
    receiptCount: Number(row.receipt_count),
    lastSignatureDevice:
      row.last_zda === null || row.last_certificate_serial === null
        ? null
        : { zda: row.last_zda as RksvZda, certificateSerial: row.last_certificate_serial },
    failedSince: row.failed_since,
    closed: row.closed !== 0n,
  };
}

function stateChanges(state: RksvRegisterState, updatedAt: string): RksvRegisterStateChanges {
  return {
    counter_bytes: state.counterBytes,
    turnover_cents: state.turnoverCents,
    last_jws: state.lastJws,
    last_receipt_number: state.lastReceiptNumber,
    receipt_count: state.receiptCount,
    last_zda: state.lastSignatureDevice?.zda ?? null,
    last_certificate_serial: state.lastSignatureDevice?.certificateSerial ?? null,
    failed_since: state.failedSince,
    closed: state.closed ? 1 : 0,
    updated_at: updatedAt,
  };
}

/** `options.system`, or when absent `kept` (what the register already is), else `open`. */
function systemOption(value: unknown, kept: RksvSystem | null): RksvSystem {
  if (value === undefined || value === null) return kept ?? 'open';
  if (value === 'open' || value === 'closed') return value;
  throw new AppError('validation_error', {
    message: `options.system is "open" (a certificate, the default) or "closed" (a closed system's key), not ${JSON.stringify(value)}.`,
    param: 'options.system',
  });
}

/** An RKSV rule the request broke, as the API error that explains it. */
function ruleError(error: RksvRuleError, kind: RksvReceiptKind): Error {
  const receipt = RKSV_DOCUMENT_TYPES[kind];
  switch (error.code) {
    case 'SIGNATURE_REQUIRED':
      return new SigningDeviceError(
        'unavailable',
        `A ${receipt} must be signed, and the signature creation unit cannot sign right now.`,
      );
    case 'REGISTER_CLOSED':
      return new AppError('validation_error', {
        message: 'This Kassen-ID was closed with a Schlussbeleg; it issues no more receipts.',
      });
    case 'SYSTEM_TYPE_CHANGED':
      return new AppError('validation_error', {
        message:
          'An Austrian register stays an open or a closed system; this signature creation unit is of the other kind.',
      });
    case 'INVALID_DATE_TIME':
    case 'INVALID_RECEIPT_NUMBER':
    case 'NO_PENDING_FAILURE':
    case 'NO_SIGNATURE_DEVICE':
    case 'NULL_RECEIPT_WITH_AMOUNTS':
    case 'SAMMELBELEG_REQUIRED':
    case 'START_RECEIPT_REPEATED':
    case 'START_RECEIPT_REQUIRED':
      return new AppError('validation_error', {
        message: `The RKSV does not allow a ${receipt} now: ${error.message}.`,
      });
  }
}

/** A register's serial number becomes its Kassen-ID, which the code separates with `_`. */
function checkKassenId(kassenId: string): void {
  if (kassenId === '' || kassenId.includes('_')) {
    throw new AppError('validation_error', {
      message: `The register's serial number ${JSON.stringify(kassenId)} cannot be a Kassen-ID (it must not be empty or contain "_").`,
      param: 'serial_number',
    });
  }
}

export function createSoftwareRksvProvider(deps: SoftwareRksvDeps): FiscalProvider {
  const { repository, clock, keyEncryptionKey, receiptBaseUrl } = deps;
  // Unsealing and parsing a key costs more than signing; neither a unit's key nor a register's AES key ever changes.
  const devices = new Map<string, UnitDevice>();
  const aesKeys = new Map<string, { readonly sealed: string; readonly key: Buffer }>();

  async function deviceOf(fiscalUnitId: string): Promise<UnitDevice> {
    const cached = devices.get(fiscalUnitId);
    if (cached !== undefined) return cached;
    const row = await repository.findDevice(fiscalUnitId);
    if (row === undefined) {
      throw new SigningDeviceError('unavailable', 'The signature creation unit has no key material.');
    }
    const der = Buffer.from(open(keyEncryptionKey, row.private_key, fiscalUnitId), 'base64');
    const device: UnitDevice = {
      identity: { zda: row.zda as RksvZda, certificateSerial: row.certificate_serial },
      privateKey: createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }),
    };
    devices.set(fiscalUnitId, device);
    return device;
  }

  // Keyed by the sealed text too: a register whose first provisioning rolled back may be provisioned again (by
  // another process) with another key.
  function aesKeyOf(row: RksvRegisterRow): Buffer {
    const cached = aesKeys.get(row.register_id);
    if (cached?.sealed === row.aes_key) return cached.key;
    const key = parseAesKey(unsealRksvAesKey(keyEncryptionKey, row));
    aesKeys.set(row.register_id, { sealed: row.aes_key, key });
    return key;
  }

  function signerOf(device: UnitDevice, failure: string | null): RksvAsyncSign {
    if (failure !== null) return () => Promise.resolve(null);
    return (signingInput) =>
      Promise.resolve(sign('sha256', signingInput, { key: device.privateKey, dsaEncoding: 'ieee-p1363' }));
  }

  /** Issues one receipt on `state` and stores it; the caller saves the state. */
  async function issueOne(
    state: RksvRegisterState,
    fiscalUnitId: string,
    device: UnitDevice,
    failure: string | null,
    request: ReceiptRequest,
    event: EventTime,
  ): Promise<RksvReceiptResult<RksvIssuedReceipt>> {
    let result: RksvReceiptResult<RksvIssuedReceipt>;
    try {
      result = await issueReceiptAsync(
        state,
        {
          kind: request.kind,
          dateTime: formatReceiptDateTime(event.at, event.timeZone),
          ...(request.amounts === undefined ? {} : { amounts: request.amounts }),
        },
        device.identity,
        signerOf(device, failure),
      );
    } catch (error) {
      if (error instanceof RksvRuleError) throw ruleError(error, request.kind);
      throw error;
    }
    const { receipt } = result;
    await repository.insertReceipt({
      register_id: event.registerId,
      receipt_number: BigInt(receipt.receiptNumber),
      fiscal_unit_id: fiscalUnitId,
      kind: receipt.kind,
      operation_id: request.operationId ?? null,
      closing_id: request.closingId ?? null,
      date_time: receipt.dateTime,
      jws: receipt.jws,
      // The last path element of the receipt's URL form, by which GET /v1/rksv-receipts/{urlHash} finds it.
      url_hash: receiptUrlHash(receipt.qr),
      signed: receipt.signatureDeviceFailed ? 0 : 1,
      // The instant the receipt carries (its date_time is the same instant in local time).
      issued_at: toUtcString(event.at),
    });
    return result;
  }

  const blockOf = (unit: FiscalUnitRow, receipt: RksvIssuedReceipt, collective: RksvFiscalBlock | null = null) =>
    rksvFiscalBlock({ fiscalUnitId: unit.id, certified: false, receipt, collective, receiptBaseUrl });

  /**
   * Issues the receipt asked for, preceded by the Sammelbeleg when one is due and the device signs again; stores
   * both and the new state. Signature-required kinds are refused while the device fails.
   */
  async function issue(unit: FiscalUnitRow, event: EventTime, request: ReceiptRequest): Promise<FiscalRecord> {
    const register = await repository.findRegister(unit.register_id);
    if (register === undefined) {
      throw new SigningDeviceError('unavailable', 'The register has no RKSV state; provision its fiscal unit first.');
    }
    let state = stateOf(register, aesKeyOf(register));
    if (state.closed) throw ruleError(new RksvRuleError('REGISTER_CLOSED', 'closed'), request.kind);
    const device = await deviceOf(unit.id);
    const failure = simulatedFailure(unit);
    if (failure !== null && SIGNATURE_REQUIRED_KINDS.has(request.kind)) {
      throw new SigningDeviceError(
        'unavailable',
        `A ${RKSV_DOCUMENT_TYPES[request.kind]} must be signed, and the signature creation unit cannot sign: ${failure}`,
      );
    }
    const at = { ...event, registerId: unit.register_id };

    let collective: RksvFiscalBlock | null = null;
    if (failure === null && needsSammelbeleg(state) && request.kind !== 'collective') {
      const recovered = await issueOne(state, unit.id, device, null, { kind: 'collective' }, at);
      collective = blockOf(unit, recovered.receipt);
      state = recovered.nextState;
    }
    const { receipt, nextState } = await issueOne(state, unit.id, device, failure, request, at);
    await repository.updateRegister(unit.register_id, stateChanges(nextState, toUtcString(clock.now())));
    return {
      block: { ...blockOf(unit, receipt, collective) },
      deviceFailure: receipt.signatureDeviceFailed
        ? (failure ?? 'The signature creation unit did not sign.') +
          ' The receipt was issued marked "Sicherheitseinrichtung ausgefallen"; a Sammelbeleg follows once it signs again.'
        : null,
    };
  }

  /** A new signature creation unit for `input.fiscalUnitId`, stored with its sealed key. */
  async function createDevice(input: ProvisionInput, system: RksvSystem): Promise<SoftwareSignatureDevice> {
    const now = clock.now();
    let device: SoftwareSignatureDevice;
    let companyId: string | null = null;
    let keyNumber: number | null = null;
    if (system === 'open') {
      device = createOpenSystemSoftwareDevice({ notBefore: now });
    } else {
      const vatId = (input.fiscalIdentity.vat_id ?? '').replace(/\s+/g, '').toUpperCase();
      if (vatId === '') {
        throw new AppError('validation_error', {
          message:
            "A closed system names its keys after the company's UID: the organization needs fiscal_identity.vat_id.",
          param: 'fiscal_identity.vat_id',
        });
      }
      companyId = `U:${vatId}`;
      keyNumber = (await repository.highestKeyNumber(companyId)) + 1;
      try {
        device = createClosedSystemSoftwareDevice({ companyId, keyNumber });
      } catch (error) {
        if (!(error instanceof RangeError)) throw error;
        throw new AppError('validation_error', {
          message: `The UID ${vatId} cannot name a closed system's key (U: followed by up to 14 letters and digits).`,
          param: 'fiscal_identity.vat_id',
        });
      }
    }
    const { material, privateKey } = device;
    const pkcs8 = privateKey.export({ format: 'der', type: 'pkcs8' });
    await repository.insertDevice({
      fiscal_unit_id: input.fiscalUnitId,
      register_id: input.registerId,
      system,
      zda: material.zda,
      certificate_serial: material.certificateSerial,
      container_id: material.containerId,
      private_key: seal(keyEncryptionKey, pkcs8.toString('base64'), input.fiscalUnitId),
      public_key: material.publicKey.export({ type: 'spki', format: 'der' }).toString('base64'),
      certificate: material.certificate === null ? null : material.certificate.toString('base64'),
      company_id: companyId,
      key_number: keyNumber,
      created_at: toUtcString(now),
    });
    devices.set(input.fiscalUnitId, {
      identity: { zda: material.zda, certificateSerial: material.certificateSerial },
      privateKey,
    });
    return device;
  }

  /** A new Kassen-ID: its AES key (sealed), its state, and its signed Startbeleg by the unit just created. */
  async function startRegister(input: ProvisionInput) {
    const aesKey = generateAesKey();
    const aesKeyBase64 = aesKey.toString('base64');
    const checkValue = aesKeyCheckValue(aesKeyBase64);
    const state = createRegisterState({
      kassenId: input.clientId,
      aesKey,
      counterBytes: DEFAULT_TURNOVER_COUNTER_BYTES,
    });
    const now = toUtcString(clock.now());
    const sealed = seal(keyEncryptionKey, aesKeyBase64, input.registerId);
    await repository.insertRegister({
      register_id: input.registerId,
      kassen_id: state.kassenId,
      aes_key: sealed,
      aes_key_check_value: checkValue,
      ...stateChanges(state, now),
      created_at: now,
    });
    aesKeys.set(input.registerId, { sealed, key: aesKey });
    const device = await deviceOf(input.fiscalUnitId);
    const { receipt, nextState } = await issueOne(state, input.fiscalUnitId, device, null, { kind: 'start' }, input);
    await repository.updateRegister(input.registerId, stateChanges(nextState, now));
    return {
      id: state.kassenId,
      checkValue,
      aesKeyBase64,
      startReceipt: rksvFiscalBlock({ fiscalUnitId: input.fiscalUnitId, certified: false, receipt, receiptBaseUrl }),
    };
  }

  return {
    name: 'software_rksv',
    jurisdiction: 'AT',
    certified: false,

    async provision(input: ProvisionInput): Promise<ProvisionResult> {
      const existing = await repository.findRegister(input.registerId);
      if (existing !== undefined && existing.closed !== 0n) {
        throw new AppError('validation_error', { message: CLOSED_KASSEN_ID_MESSAGE });
      }
      // A replacement keeps the system of the unit it replaces (or of the register) unless told otherwise.
      const replaced = input.replaces === null ? undefined : await repository.findDevice(input.replaces.id);
      const kept: RksvSystem | null =
        replaced?.system ??
        (existing?.last_zda == null ? null : existing.last_zda === CLOSED_SYSTEM_ZDA ? 'closed' : 'open');
      const system = systemOption(input.options.system, kept);
      if (
        existing !== undefined &&
        existing.last_zda !== null &&
        (existing.last_zda === CLOSED_SYSTEM_ZDA) !== (system === 'closed')
      ) {
        throw new AppError('validation_error', {
          message: `This register is ${existing.last_zda === CLOSED_SYSTEM_ZDA ? 'a closed' : 'an open'} system; an Austrian register stays one, so its next unit must be too.`,
          param: 'options.system',
        });
      }
      if (existing === undefined) checkKassenId(input.clientId);
      const { material } = await createDevice(input, system);
      // A register's first unit makes the Kassen-ID's AES key and issues its Startbeleg; a replacement continues
      // the chain with the new device.
      const kassen =
        existing === undefined
          ? await startRegister(input)
          : {
              id: existing.kassen_id,
              checkValue: existing.aes_key_check_value,
              aesKeyBase64: null,
              startReceipt: null,
            };

      const registration: RksvRegistration = {
        regime: 'rksv',
        system,
        cash_register_id: kassen.id,
        zda: material.zda,
        certificate_serial: material.certificateSerial,
        certificate: material.certificate === null ? null : material.certificate.toString('base64'),
        public_key: material.publicKey.export({ type: 'spki', format: 'der' }).toString('base64'),
        aes_key_check_value: kassen.checkValue,
        signature_algorithm: 'ES256',
        start_receipt: kassen.startReceipt,
      };
      return {
        registration: { ...registration },
        // The AES key is shown once, when it is made (the merchant registers it in FinanzOnline).
        secrets: kassen.aesKeyBase64 === null ? null : { aes_key: kassen.aesKeyBase64 },
      };
    },

    async decommission(unit, input) {
      if (input.final) {
        const register = await repository.findRegister(unit.register_id);
        // The Schlussbeleg may go out unsigned when the device fails ('fail' and 'stall' alike).
        if (register !== undefined && register.closed === 0n) await issue(unit, input, { kind: 'closing' });
      }
      devices.delete(unit.id);
    },

    health(unit) {
      const healthy = unit.simulated_failure === 'none';
      return Promise.resolve({
        healthy,
        message: healthy ? null : `The failure simulation is set to "${unit.simulated_failure}".`,
      });
    },

    recorder: {
      // The RKSV signs receipts, nothing at the start of an operation.
      start: () => Promise.resolve(null),

      async finish(unit, event) {
        const request = operationReceipt(event);
        return request === null ? NO_RECORD : issue(unit, event, request);
      },

      async closing(unit, event: ClosingFiscalEvent) {
        if (event.closingType === 'monthly') return issue(unit, event, { kind: 'monthly', closingId: event.closingId });
        if (event.closingType === 'annual') return issue(unit, event, { kind: 'annual', closingId: event.closingId });
        return NO_RECORD;
      },

      nullReceipt: (unit, event) => issue(unit, event, { kind: 'null' }),

      async recovered(unit, event) {
        if (simulatedFailure(unit) !== null) return NO_RECORD;
        const register = await repository.findRegister(unit.register_id);
        if (register === undefined || register.closed !== 0n || register.failed_since === null) return NO_RECORD;
        return issue(unit, event, { kind: 'collective' });
      },
    },
  };
}
