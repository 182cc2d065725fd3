/**
 * The RKSV register as a pure state machine: a state value in, a signed receipt and the next state out; the caller
 * persists the state in the same transaction as the receipt.
 *
 * Two layers:
 * - {@link issueReceipt} speaks receipt kinds and enforces the RKSV rules on their order (§§ 6–8, 17 RKSV and the
 *   BMF Erlass, as the ztp-at/RKSV verifier and BMF Prüftool check them): Startbeleg first and signed; null receipts
 *   carry no amounts; Start-, Jahres- and Sammelbeleg must be signed, Monats-, Schluss- and Nullbeleg may go out
 *   unsigned while the device has failed; after a failure the first signed receipt is the Sammelbeleg; nothing after
 *   the Schlussbeleg; an open system stays open and a closed one closed.
 * - {@link composeReceipt} only computes: amounts → turnover counter → chaining → payload → JWS → QR/OCR. It checks
 *   no order rule and accepts a {@link RksvReceiptTamper} — the hook conformance tests use to build deliberately
 *   broken receipts the way ztp-at/RKSV's test generator does. Production code calls {@link issueReceipt}.
 *   It is two steps, so that a device may answer asynchronously: {@link prepareReceipt} (up to the JWS signing
 *   input) and {@link completeReceipt} (given the signature, or null when the device failed).
 * - {@link issueReceiptAsync} is {@link issueReceipt} for such devices (a card reader, an HSM, a signature service):
 *   the same rules on the same two steps, with the signing awaited in between.
 *
 * Turnover counter (Z 8): the sum of all amounts of all receipts, storno included, training excluded.
 * @module
 */
import {
  formatRksvAmount,
  isZeroAmounts,
  rksvAmounts,
  sumAmounts,
  type RksvAmounts,
  type RksvTaxSet,
} from './amounts.js';
import {
  RKSV_ALGORITHM_ID,
  JWS_HEADER_ES256,
  assembleJws,
  buildReceiptPayload,
  chainValue,
  isValidReceiptDateTime,
  jwsSigningInput,
  jwsToOcr,
  jwsToQr,
  type RksvReceiptFields,
} from './receipt-code.js';
import {
  CLOSED_SYSTEM_ZDA,
  checkEs256Signature,
  type RksvSignatureDeviceIdentity,
  type RksvSigner,
} from './signature-device.js';
import {
  AES_KEY_BYTES,
  DEFAULT_TURNOVER_COUNTER_BYTES,
  MAX_TURNOVER_COUNTER_BYTES,
  MIN_TURNOVER_COUNTER_BYTES,
  STORNO_TURNOVER_COUNTER,
  TRAINING_TURNOVER_COUNTER,
  encryptTurnoverCounter,
} from './turnover-counter.js';
import { base64UrlEncode } from './encoding.js';

export const RKSV_RECEIPT_KINDS = [
  'standard',
  'storno',
  'training',
  /** Startbeleg: the register's first receipt. */
  'start',
  /** Monatsbeleg: closes a month. */
  'monthly',
  /** Jahresbeleg: the December Monatsbeleg; must be signed, checked and kept. */
  'annual',
  /** Schlussbeleg: decommissioning; nothing follows it. */
  'closing',
  /** Nullbeleg: a control receipt on demand. */
  'null',
  /** Sammelbeleg: the signed null receipt after a signature-device failure. */
  'collective',
] as const;
export type RksvReceiptKind = (typeof RKSV_RECEIPT_KINDS)[number];

/** Null receipts: amounts zero, turnover counter encrypted as it stands. */
export const NULL_RECEIPT_KINDS: ReadonlySet<RksvReceiptKind> = new Set<RksvReceiptKind>([
  'start',
  'monthly',
  'annual',
  'closing',
  'null',
  'collective',
]);

/** Receipts that cannot be issued while the device has failed (RKSV § 6 Abs. 4, § 7, § 17 Abs. 4; BMF Erlass). */
export const SIGNATURE_REQUIRED_KINDS: ReadonlySet<RksvReceiptKind> = new Set<RksvReceiptKind>([
  'start',
  'annual',
  'collective',
]);

export interface RksvRegisterState {
  readonly kassenId: string;
  /** The 32-byte AES key registered with FinanzOnline. */
  readonly aesKey: Buffer;
  /** Width of the turnover counter in bytes, 5–16, fixed for the register's life. */
  readonly counterBytes: number;
  /** Turnover counter in cents after the last receipt. */
  readonly turnoverCents: bigint;
  /** The last receipt's JWS as signed (the next receipt chains to it); `null` before the Startbeleg. */
  readonly lastJws: string | null;
  readonly lastReceiptNumber: string | null;
  readonly receiptCount: number;
  /** The device named on the last receipt; a receipt issued while no device answers names it too. */
  readonly lastSignatureDevice: RksvSignatureDeviceIdentity | null;
  /** Receipt time of the first unsigned receipt since the last Sammelbeleg; `null` when no Sammelbeleg is due. */
  readonly failedSince: string | null;
  /** True after the Schlussbeleg. */
  readonly closed: boolean;
}

export interface RegisterStateInit {
  readonly kassenId: string;
  readonly aesKey: Buffer;
  readonly counterBytes?: number;
}

/** The state of a register that has issued nothing yet. */
export function createRegisterState(init: RegisterStateInit): RksvRegisterState {
  if (init.kassenId === '' || init.kassenId.includes('_')) {
    throw new RangeError(`A Kassen-ID is non-empty and has no "_": ${JSON.stringify(init.kassenId)}`);
  }
  if (init.aesKey.length !== AES_KEY_BYTES) throw new RangeError(`An RKSV AES key has ${AES_KEY_BYTES} bytes`);
  const counterBytes = init.counterBytes ?? DEFAULT_TURNOVER_COUNTER_BYTES;
  if (
    !Number.isInteger(counterBytes) ||
    counterBytes < MIN_TURNOVER_COUNTER_BYTES ||
    counterBytes > MAX_TURNOVER_COUNTER_BYTES
  ) {
    throw new RangeError(`A turnover counter has 5 to 16 bytes, not ${counterBytes}`);
  }
  return {
    kassenId: init.kassenId,
    aesKey: Buffer.from(init.aesKey),
    counterBytes,
    turnoverCents: 0n,
    lastJws: null,
    lastReceiptNumber: null,
    receiptCount: 0,
    lastSignatureDevice: null,
    failedSince: null,
    closed: false,
  };
}

/** True while receipts went out unsigned and no Sammelbeleg has followed yet. */
export function needsSammelbeleg(state: RksvRegisterState): boolean {
  return state.failedSince !== null;
}

/** How the turnover counter field is written: encrypted running total, or the storno / training marker. */
export type RksvCounterMode = 'counted' | 'storno' | 'training';

export interface RksvReceiptDraft {
  readonly receiptNumber: string;
  /** Local time `YYYY-MM-DDThh:mm:ss`. */
  readonly dateTime: string;
  readonly amounts: RksvAmounts;
  readonly counterMode: RksvCounterMode;
}

export interface RksvComposedReceipt {
  readonly receiptNumber: string;
  readonly dateTime: string;
  readonly amounts: RksvAmounts;
  readonly fields: RksvReceiptFields;
  readonly payload: string;
  readonly jws: string;
  /** Empty only when a tamper made the JWS unreadable. */
  readonly qr: string;
  /** Empty only when a tamper made the JWS unreadable. */
  readonly ocr: string;
  readonly signatureDeviceFailed: boolean;
  /** The turnover counter in cents after this receipt. */
  readonly turnoverCents: bigint;
}

/**
 * Deliberate damage for conformance tests, mirroring ztp-at/RKSV's per-receipt `override`: `fields` replace payload
 * fields before the counter is encrypted and the chain computed (so a changed Kassen-ID also changes the IV), then
 * the payload is signed; `jwsHeader`, `signatureSegment` and `jws` replace parts of the published JWS after signing while
 * the register chains on to the JWS as signed.
 */
export interface RksvReceiptTamper {
  readonly fields?: {
    readonly algorithmId?: string;
    readonly zda?: string;
    readonly kassenId?: string;
    readonly receiptNumber?: string;
    readonly dateTime?: string;
    readonly amounts?: Partial<Record<RksvTaxSet, string>>;
    readonly encryptedTurnoverCounter?: string;
    readonly certificateSerial?: string;
    readonly chainValue?: string;
  };
  /** The register's counter is set to this value (after this receipt's amounts) before it is encrypted. */
  readonly turnoverCents?: bigint;
  /** The register's counter width from this receipt on. */
  readonly counterBytes?: number;
  /** Replaces the JWS header text (e.g. `{"alg":"ES512"}`) in the published JWS. */
  readonly jwsHeader?: string;
  /** Replaces the Base64-URL signature segment of the published JWS. */
  readonly signatureSegment?: string;
  /** Replaces the published JWS entirely. */
  readonly jws?: string;
}

export interface RksvReceiptResult<R> {
  readonly receipt: R;
  readonly nextState: RksvRegisterState;
}

function trySign(signer: RksvSigner | null, signingInput: Buffer): Buffer | null {
  if (signer === null) return null;
  try {
    return signer.sign(signingInput);
  } catch {
    // A throwing device is a failed device (RKSV § 17): the receipt goes out with the failure marker.
    return null;
  }
}

function readableForms(jws: string): { qr: string; ocr: string } {
  try {
    return { qr: jwsToQr(jws), ocr: jwsToOcr(jws) };
  } catch {
    return { qr: '', ocr: '' };
  }
}

/**
 * A receipt computed up to its JWS signing input: what {@link prepareReceipt} hands to the device and
 * {@link completeReceipt} finishes once the device has answered. Holds the state it was prepared on.
 */
export interface RksvPreparedReceipt {
  readonly state: RksvRegisterState;
  readonly draft: RksvReceiptDraft;
  /** The device the receipt names (the signer, or the last device when none answers). */
  readonly device: RksvSignatureDeviceIdentity;
  readonly counterBytes: number;
  readonly fields: RksvReceiptFields;
  readonly payload: string;
  /** The ASCII bytes the device signs: `Base64URL(header).Base64URL(payload)`. */
  readonly signingInput: Buffer;
  /** The turnover counter in cents after this receipt. */
  readonly turnoverCents: bigint;
  readonly tamper: RksvReceiptTamper;
}

/**
 * First half of {@link composeReceipt}: amounts → turnover counter → chaining → payload → signing input. `device`
 * is who will be asked to sign; null = no device answers, and the receipt names `state.lastSignatureDevice`.
 */
export function prepareReceipt(
  state: RksvRegisterState,
  draft: RksvReceiptDraft,
  device: RksvSignatureDeviceIdentity | null,
  tamper: RksvReceiptTamper = {},
): RksvPreparedReceipt {
  const named = device ?? state.lastSignatureDevice;
  if (named === null) throw new RksvRuleError('NO_SIGNATURE_DEVICE', 'No signature device has ever signed');
  const counterBytes = tamper.counterBytes ?? state.counterBytes;
  const override = tamper.fields ?? {};
  const amountText = (set: RksvTaxSet) => override.amounts?.[set] ?? formatRksvAmount(draft.amounts[set]);
  const amounts: Record<RksvTaxSet, string> = {
    normal: amountText('normal'),
    ermaessigt1: amountText('ermaessigt1'),
    ermaessigt2: amountText('ermaessigt2'),
    null: amountText('null'),
    besonders: amountText('besonders'),
  };
  const base = {
    algorithmId: override.algorithmId ?? RKSV_ALGORITHM_ID,
    zda: override.zda ?? named.zda,
    kassenId: override.kassenId ?? state.kassenId,
    receiptNumber: override.receiptNumber ?? draft.receiptNumber,
    dateTime: override.dateTime ?? draft.dateTime,
    amounts,
    certificateSerial: override.certificateSerial ?? named.certificateSerial,
  };

  const counted =
    draft.counterMode === 'training' ? state.turnoverCents : state.turnoverCents + sumAmounts(draft.amounts);
  const turnoverCents = tamper.turnoverCents ?? counted;
  const counterField =
    draft.counterMode === 'training'
      ? TRAINING_TURNOVER_COUNTER
      : draft.counterMode === 'storno'
        ? STORNO_TURNOVER_COUNTER
        : encryptTurnoverCounter(
            { aesKey: state.aesKey, kassenId: base.kassenId, receiptNumber: base.receiptNumber },
            turnoverCents,
            counterBytes,
          );
  const fields: RksvReceiptFields = {
    ...base,
    encryptedTurnoverCounter: override.encryptedTurnoverCounter ?? counterField,
    chainValue: override.chainValue ?? chainValue(state.lastJws, base.kassenId),
  };

  const payload = buildReceiptPayload(fields);
  return {
    state,
    draft,
    device: { zda: named.zda, certificateSerial: named.certificateSerial },
    counterBytes,
    fields,
    payload,
    signingInput: Buffer.from(jwsSigningInput(payload), 'ascii'),
    turnoverCents,
    tamper,
  };
}

/**
 * Second half of {@link composeReceipt}: the JWS, its readable forms and the next state, given the device's raw
 * r‖s signature, or null when the device failed (the receipt then carries "Sicherheitseinrichtung ausgefallen").
 * A signature of the wrong size is a broken device, not a failed one: it throws.
 */
export function completeReceipt(
  prepared: RksvPreparedReceipt,
  signature: Buffer | null,
): RksvReceiptResult<RksvComposedReceipt> {
  const { state, draft, tamper, payload, fields, device } = prepared;
  const checked = signature === null ? null : checkEs256Signature(signature);
  const signedJws = assembleJws(payload, checked);
  const published =
    tamper.jws ??
    (tamper.jwsHeader === undefined && tamper.signatureSegment === undefined
      ? signedJws
      : [
          base64UrlEncode(Buffer.from(tamper.jwsHeader ?? JWS_HEADER_ES256, 'utf8')),
          signedJws.split('.')[1] ?? '',
          tamper.signatureSegment ?? signedJws.split('.')[2] ?? '',
        ].join('.'));

  const signatureDeviceFailed = checked === null;
  // A signed receipt without turnover ends an outage (the verifiers' rule); an unsigned one starts or extends it.
  const failedSince = signatureDeviceFailed
    ? (state.failedSince ?? draft.dateTime)
    : draft.counterMode === 'counted' && isZeroAmounts(draft.amounts)
      ? null
      : state.failedSince;

  return {
    receipt: {
      receiptNumber: fields.receiptNumber,
      dateTime: fields.dateTime,
      amounts: draft.amounts,
      fields,
      payload,
      jws: published,
      ...readableForms(published),
      signatureDeviceFailed,
      turnoverCents: prepared.turnoverCents,
    },
    nextState: {
      ...state,
      counterBytes: prepared.counterBytes,
      turnoverCents: prepared.turnoverCents,
      lastJws: signedJws,
      lastReceiptNumber: draft.receiptNumber,
      receiptCount: state.receiptCount + 1,
      lastSignatureDevice: device,
      failedSince,
    },
  };
}

/**
 * Computes one receipt and the next state without checking any order rule. `signer` null or throwing = the device
 * has failed; the receipt then names `state.lastSignatureDevice`.
 */
export function composeReceipt(
  state: RksvRegisterState,
  draft: RksvReceiptDraft,
  signer: RksvSigner | null,
  tamper: RksvReceiptTamper = {},
): RksvReceiptResult<RksvComposedReceipt> {
  const prepared = prepareReceipt(state, draft, signer, tamper);
  return completeReceipt(prepared, trySign(signer, prepared.signingInput));
}

export type RksvRuleCode =
  | 'REGISTER_CLOSED'
  | 'START_RECEIPT_REQUIRED'
  | 'START_RECEIPT_REPEATED'
  | 'NULL_RECEIPT_WITH_AMOUNTS'
  | 'SIGNATURE_REQUIRED'
  | 'SAMMELBELEG_REQUIRED'
  | 'NO_PENDING_FAILURE'
  | 'SYSTEM_TYPE_CHANGED'
  | 'NO_SIGNATURE_DEVICE'
  | 'INVALID_RECEIPT_NUMBER'
  | 'INVALID_DATE_TIME';

/** A receipt the RKSV does not allow in this state; the state is unchanged. */
export class RksvRuleError extends Error {
  constructor(
    readonly code: RksvRuleCode,
    message: string,
  ) {
    super(message);
    this.name = 'RksvRuleError';
  }
}

export interface RksvReceiptInput {
  readonly kind: RksvReceiptKind;
  /** Local time `YYYY-MM-DDThh:mm:ss` (see `formatReceiptDateTime`). */
  readonly dateTime: string;
  /** Belegnummer; defaults to the running number (`receiptCount + 1`). Must not contain `_`. */
  readonly receiptNumber?: string;
  /** Gross cents per tax set; must be zero or absent for null receipts. */
  readonly amounts?: Partial<Record<RksvTaxSet, bigint>>;
}

export interface RksvIssuedReceipt extends RksvComposedReceipt {
  readonly kind: RksvReceiptKind;
}

function counterModeOf(kind: RksvReceiptKind): RksvCounterMode {
  if (kind === 'storno') return 'storno';
  if (kind === 'training') return 'training';
  return 'counted';
}

interface PlannedReceipt {
  readonly kind: RksvReceiptKind;
  readonly prepared: RksvPreparedReceipt;
}

/** The order rules that hold before the device is asked; then the receipt up to its signing input. */
function planReceipt(
  state: RksvRegisterState,
  input: RksvReceiptInput,
  device: RksvSignatureDeviceIdentity | null,
): PlannedReceipt {
  const { kind } = input;
  if (state.closed) throw new RksvRuleError('REGISTER_CLOSED', 'The register has issued its Schlussbeleg');
  if (!isValidReceiptDateTime(input.dateTime)) {
    throw new RksvRuleError('INVALID_DATE_TIME', `Not a YYYY-MM-DDThh:mm:ss time: ${JSON.stringify(input.dateTime)}`);
  }
  const receiptNumber = input.receiptNumber ?? String(state.receiptCount + 1);
  if (receiptNumber === '' || receiptNumber.includes('_') || receiptNumber === state.lastReceiptNumber) {
    throw new RksvRuleError('INVALID_RECEIPT_NUMBER', `Unusable Belegnummer: ${JSON.stringify(receiptNumber)}`);
  }
  const amounts = rksvAmounts(input.amounts);
  if (NULL_RECEIPT_KINDS.has(kind) && !isZeroAmounts(amounts)) {
    throw new RksvRuleError('NULL_RECEIPT_WITH_AMOUNTS', `A ${kind} receipt is a null receipt without amounts`);
  }
  if (state.receiptCount === 0 && kind !== 'start') {
    throw new RksvRuleError('START_RECEIPT_REQUIRED', 'The first receipt of a register is its Startbeleg');
  }
  if (state.receiptCount > 0 && kind === 'start') {
    throw new RksvRuleError('START_RECEIPT_REPEATED', 'A register has one Startbeleg');
  }
  if (kind === 'collective' && !needsSammelbeleg(state)) {
    throw new RksvRuleError('NO_PENDING_FAILURE', 'A Sammelbeleg follows receipts issued without signature');
  }
  if (device === null && SIGNATURE_REQUIRED_KINDS.has(kind)) {
    throw new RksvRuleError('SIGNATURE_REQUIRED', `A ${kind} receipt must be signed`);
  }
  const named = device ?? state.lastSignatureDevice;
  if (
    named !== null &&
    state.lastSignatureDevice !== null &&
    (named.zda === CLOSED_SYSTEM_ZDA) !== (state.lastSignatureDevice.zda === CLOSED_SYSTEM_ZDA)
  ) {
    throw new RksvRuleError('SYSTEM_TYPE_CHANGED', 'A register stays an open or a closed system');
  }
  const prepared = prepareReceipt(
    state,
    { receiptNumber, dateTime: input.dateTime, amounts, counterMode: counterModeOf(kind) },
    device,
  );
  return { kind, prepared };
}

/** The order rules that depend on whether the device signed; then the receipt and the next state. */
function finishReceipt(plan: PlannedReceipt, signature: Buffer | null): RksvReceiptResult<RksvIssuedReceipt> {
  const { kind, prepared } = plan;
  const { receipt, nextState } = completeReceipt(prepared, signature);
  if (receipt.signatureDeviceFailed && SIGNATURE_REQUIRED_KINDS.has(kind)) {
    throw new RksvRuleError('SIGNATURE_REQUIRED', `A ${kind} receipt must be signed; the device failed`);
  }
  if (!receipt.signatureDeviceFailed && needsSammelbeleg(prepared.state) && kind !== 'collective') {
    throw new RksvRuleError('SAMMELBELEG_REQUIRED', 'The device works again: issue the Sammelbeleg first');
  }
  return { receipt: { ...receipt, kind }, nextState: { ...nextState, closed: kind === 'closing' } };
}

/**
 * Issues a receipt of `input.kind` if the RKSV allows it now, else throws {@link RksvRuleError}. `signer` null or
 * throwing means the device has failed: the receipt goes out marked "Sicherheitseinrichtung ausgefallen" where that
 * is allowed. When {@link needsSammelbeleg} is true and the device works again, issue a `collective` receipt first;
 * any other kind is refused with `SAMMELBELEG_REQUIRED` once the device signs again.
 */
export function issueReceipt(
  state: RksvRegisterState,
  input: RksvReceiptInput,
  signer: RksvSigner | null,
): RksvReceiptResult<RksvIssuedReceipt> {
  const plan = planReceipt(state, input, signer);
  return finishReceipt(plan, trySign(signer, plan.prepared.signingInput));
}

/**
 * Signs a JWS signing input asynchronously (a card, an HSM, a remote signature service): the raw r‖s signature, or
 * null when the device cannot sign. A rejected promise counts as null.
 */
export type RksvAsyncSign = (signingInput: Buffer) => Promise<Buffer | null>;

/**
 * {@link issueReceipt} for devices that answer asynchronously, with exactly the same rules. `device` names the device
 * the receipt is signed by; `sign` is asked once, and a null result or a rejected promise means the device failed.
 * With `device` null no device answers: `sign` is not called and the receipt names `state.lastSignatureDevice`
 * (as `issueReceipt` does with a null signer).
 */
export async function issueReceiptAsync(
  state: RksvRegisterState,
  input: RksvReceiptInput,
  device: RksvSignatureDeviceIdentity | null,
  sign: RksvAsyncSign,
): Promise<RksvReceiptResult<RksvIssuedReceipt>> {
  const plan = planReceipt(state, input, device);
  let signature: Buffer | null = null;
  if (device !== null) {
    try {
      signature = await sign(plan.prepared.signingInput);
    } catch {
      // A rejecting device is a failed device (RKSV § 17), as a throwing signer is for issueReceipt.
      signature = null;
    }
  }
  return finishReceipt(plan, signature);
}
