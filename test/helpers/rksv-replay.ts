/**
 * Replays an RKSV test specification — the BMF Mustercode's TESTSUITE_TEST_SZENARIO_*.json input format, plus the
 * extensions ztp-at/RKSV's generator (`librksv/run_test.py`, `cashreg.py`) understands — through our own register
 * (`src/regimes/at`), with one freshly generated software signature device per device in the spec. It yields a DEP7
 * export and crypto container that external verifiers can check.
 *
 * Receipts go through `issueReceipt`, which enforces the RKSV order rules. Specs that break those rules on purpose
 * (ztp's negative tests) fall back to `composeReceipt`, and per-receipt `override`s become a `RksvReceiptTamper`
 * with ztp's semantics: payload fields are replaced before the counter is encrypted and the receipt signed; header,
 * signature and whole-JWS overrides are applied after signing, and the register chains on to the JWS as signed.
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { RksvAmounts, RksvTaxSet } from '../../src/regimes/at/amounts.js';
import { createCertificate } from '../../src/crypto/x509.js';
import { RKSV_CERTIFICATE_ORGANIZATION } from '../../src/regimes/at/signature-device.js';
import {
  buildCryptographicMaterialContainer,
  buildDep7,
  certificateEntry,
  publicKeyEntry,
  type CryptographicMaterialContainer,
  type CryptographicMaterialEntry,
  type Dep7Entry,
  type Dep7Export,
  type Dep7Grouping,
} from '../../src/regimes/at/dep7.js';
import {
  RksvRuleError,
  composeReceipt,
  createRegisterState,
  issueReceipt,
  needsSammelbeleg,
  type RksvCounterMode,
  type RksvReceiptKind,
  type RksvReceiptTamper,
  type RksvRegisterState,
  type RksvRuleCode,
} from '../../src/regimes/at/register.js';
import {
  certificateSerialHex,
  closedSystemKeyId,
  createClosedSystemSoftwareDevice,
  SOFTWARE_CERTIFICATE_ZDA,
  randomCertificateSerial,
  softwareSigner,
  unavailableSigner,
  type RksvSignatureDeviceIdentity,
  type RksvSigner,
} from '../../src/regimes/at/signature-device.js';
import { DEFAULT_TURNOVER_COUNTER_BYTES, parseAesKey } from '../../src/regimes/at/turnover-counter.js';

export type RksvTestReceiptType = 'START_BELEG' | 'STANDARD_BELEG' | 'STORNO_BELEG' | 'TRAINING_BELEG' | 'NULL_BELEG';

/** ztp-at/RKSV `override`: receipt attributes replaced before (payload) or after (header, signature, JWS) signing. */
export interface RksvTestOverride {
  readonly zda?: string;
  readonly registerId?: string;
  readonly receiptId?: string;
  readonly dateTime?: string;
  readonly sumA?: string;
  readonly sumB?: string;
  readonly sumC?: string;
  readonly sumD?: string;
  readonly sumE?: string;
  readonly encTurnoverCounter?: string;
  readonly certSerial?: string;
  readonly previousChain?: string;
  readonly algorithmPrefix?: string;
  /** JWS header JSON text. */
  readonly header?: string;
  /** Base64-URL signature segment. */
  readonly signature?: string;
  readonly jwsOverride?: string;
  /** Turnover counter in cents the register jumps to. */
  readonly turnoverCounter?: number;
  /** Turnover counter width from this receipt on. */
  readonly turnoverCounterSize?: number;
}

export interface RksvTestInstruction {
  readonly receiptIdentifier: string;
  /** Local `YYYY-MM-DDThh:mm:ss`. */
  readonly dateToUse: string;
  /** Index into the spec's signature devices. */
  readonly usedSignatureDevice: number;
  readonly signatureDeviceDamaged: boolean;
  /** Gross amounts in euros. */
  readonly simplifiedReceipt: {
    readonly taxSetNormal: number;
    readonly taxSetErmaessigt1: number;
    readonly taxSetErmaessigt2: number;
    readonly taxSetNull: number;
    readonly taxSetBesonders: number;
  };
  /** Absent = a standard receipt (ztp). */
  readonly typeOfReceipt?: RksvTestReceiptType;
  readonly override?: RksvTestOverride;
  /** ztp: `NO_NEW_DEP` (default), `NEW_CONTINUED_DEP` (split the export), `NEW_CLUSTER_DEP` (next register). */
  readonly beginNewDEP?: string;
  /** ztp cluster tests: which register a continued DEP belongs to. */
  readonly continueRegister?: number;
  /** ztp: expected final turnover counter in euros, written to the DEP as `Umsatz-gesamt`. */
  readonly annotateTurnoverCounter?: number;
}

export interface RksvTestSpec {
  readonly cashBoxId: string;
  readonly base64AesKey: string;
  /** Ordnungsbegriff for closed-system key ids: `U:ATU12345678`. */
  readonly companyID: string;
  readonly simulationRunLabel?: string;
  readonly numberOfSignatureDevices: number;
  readonly cashBoxInstructionList: readonly RksvTestInstruction[];
  // ztp-at/RKSV extensions.
  readonly closedSystem?: boolean;
  readonly turnoverCounterSize?: number;
  readonly multipleGroups?: boolean;
  readonly includePublicKey?: boolean;
  readonly decimalSerial?: boolean;
  readonly certChainLength?: readonly number[];
  readonly certChainFailure?: readonly number[];
  readonly omitSignCert?: readonly boolean[];
  readonly omitRootCert?: readonly boolean[];
  readonly certChainSerialCollision?: readonly boolean[];
  // What ztp's test runner expects a verifier to report; the replay ignores these.
  readonly expectedException?: string;
  readonly exceptionReceipt?: string;
  readonly exceptionMsg?: string;
  readonly exceptionMsgRegex?: string;
  readonly unused?: unknown;
}

/** Spec features the replay refuses (it throws rather than produce a DEP that means something else). */
export const UNSUPPORTED_SPEC_FEATURES: ReadonlyArray<{ readonly feature: string; readonly reason: string }> = [
  {
    feature: 'beginNewDEP: NEW_CLUSTER_DEP',
    reason:
      'GGS clusters: several registers whose start receipts chain to each other, verified DEP by DEP with state ' +
      'carried across; our register state and verifyDep7 cover one register in one DEP.',
  },
  {
    feature: 'continueRegister',
    reason: 'Only used with NEW_CLUSTER_DEP (out-of-order cluster DEPs).',
  },
];

export type RksvReplayDep7 = Dep7Export & {
  readonly 'Vorheriges-DEP'?: number;
  readonly 'Fortgesetztes-DEP'?: boolean;
};

export interface RksvReplayReceipt {
  readonly receiptIdentifier: string;
  readonly jws: string;
  readonly qr: string;
  readonly ocr: string;
  /** The kind `issueReceipt` issued; `null` when the receipt had to be composed without the rules. */
  readonly kind: RksvReceiptKind | null;
  /** Why `issueReceipt` refused the spec's receipt (the spec breaks an RKSV rule on purpose), else `null`. */
  readonly ruleViolation: RksvRuleCode | null;
  /** The instruction carried a ztp `override`. */
  readonly tampered: boolean;
  readonly signatureDeviceFailed: boolean;
  readonly deviceIndex: number;
}

export interface RksvReplayResult {
  /** The whole run as one DEP7 export. */
  readonly dep7: Dep7Export;
  /** The run split where the spec says `NEW_CONTINUED_DEP` (one element when it never does), with ztp's extras. */
  readonly dep7Parts: readonly RksvReplayDep7[];
  readonly container: CryptographicMaterialContainer;
  readonly receipts: readonly RksvReplayReceipt[];
}

export interface RksvReplayOptions {
  /** Overrides the spec's `closedSystem` (ztp's `run_test.py open|closed`). */
  readonly closedSystem?: boolean;
  /** Overrides the grouping the spec implies (`multipleGroups` → per certificate, else one group). */
  readonly grouping?: Dep7Grouping;
  /** Overrides the spec's `turnoverCounterSize` (ztp's optional last `run_test.py` argument). */
  readonly turnoverCounterSize?: number;
}

interface ReplayDevice {
  readonly signer: RksvSigner;
  readonly identity: RksvSignatureDeviceIdentity;
  /** What the DEP group names when groups are used (ztp `groupCerts[i]`). */
  readonly groupEntry: Dep7Entry['device'];
  readonly containerEntries: readonly CryptographicMaterialEntry[];
}

const CERTIFICATE_DAYS = 365;
const DAY_MS = 86_400_000;

function p256(): { privateKey: KeyObject; publicKey: KeyObject } {
  return generateKeyPairSync('ec', { namedCurve: 'P-256' });
}

function validity(): { notBefore: Date; notAfter: Date } {
  const notBefore = new Date();
  return { notBefore, notAfter: new Date(notBefore.getTime() + CERTIFICATE_DAYS * DAY_MS) };
}

/** A self-signed stand-in that shares `serialNumber` with a real certificate (ztp `certChainSerialCollision`). */
function collidingCertificate(serialNumber: Buffer, index: number): Buffer {
  const { privateKey, publicKey } = p256();
  return createCertificate({
    organization: RKSV_CERTIFICATE_ORGANIZATION,
    subjectPublicKey: publicKey,
    subjectPrivateKey: privateKey,
    subjectCommonName: `fake root ${index}`,
    serialNumber,
    ...validity(),
    ca: true,
  });
}

function openSystemDevice(spec: RksvTestSpec, index: number, useGroups: boolean): ReplayDevice {
  const chainLength = spec.certChainLength?.[index] ?? 0;
  const chainFailure = spec.certChainFailure?.[index] ?? 0;
  // ztp: the spec's device certificate is the trust anchor; `chainLength` intermediates hang below it and the
  // last one created signs the receipts. At level `chainFailure` a certificate is signed by its own key instead.
  const root = p256();
  const rootSerial = randomCertificateSerial();
  const rootName = `test root ${index}`;
  const chain: Array<{ der: Buffer; serial: Buffer; commonName: string }> = [
    {
      der: createCertificate({
        organization: RKSV_CERTIFICATE_ORGANIZATION,
        subjectPublicKey: root.publicKey,
        subjectPrivateKey: root.privateKey,
        subjectCommonName: rootName,
        serialNumber: rootSerial,
        ...validity(),
        ca: chainLength > 0,
      }),
      serial: rootSerial,
      commonName: rootName,
    },
  ];
  let signingKey = root.privateKey;
  let publicKey = root.publicKey;
  for (let level = chainLength; level >= 1; level--) {
    const next = p256();
    const serial = randomCertificateSerial();
    const issuer = chain[0];
    if (issuer === undefined) throw new Error('unreachable: the chain starts with its root');
    const commonName = `intermediate ${level} in ${index}`;
    chain.unshift({
      der: createCertificate({
        organization: RKSV_CERTIFICATE_ORGANIZATION,
        subjectPublicKey: next.publicKey,
        subjectCommonName: commonName,
        serialNumber: serial,
        ...validity(),
        issuer: { privateKey: level === chainFailure ? next.privateKey : signingKey, commonName: issuer.commonName },
        ca: level > 1,
      }),
      serial,
      commonName,
    });
    signingKey = next.privateKey;
    publicKey = next.publicKey;
  }
  const leaf = chain[0];
  const anchor = chain.at(-1);
  if (leaf === undefined || anchor === undefined) throw new Error('unreachable: the chain is never empty');

  const hexSerial = certificateSerialHex(leaf.serial);
  const identity: RksvSignatureDeviceIdentity = {
    zda: SOFTWARE_CERTIFICATE_ZDA,
    certificateSerial: spec.decimalSerial === true ? BigInt(`0x${hexSerial}`).toString(10) : hexSerial,
  };
  const containerEntries: CryptographicMaterialEntry[] = [];
  if (spec.omitRootCert?.[index] !== true) {
    containerEntries.push(
      certificateEntry(
        spec.certChainSerialCollision?.[index] === true ? collidingCertificate(leaf.serial, index) : anchor.der,
      ),
    );
  }
  if (spec.includePublicKey === true) {
    containerEntries.push(publicKeyEntry(closedSystemKeyId(spec.companyID, index), publicKey));
  }
  const omitSignCert = spec.omitSignCert?.[index] === true;
  return {
    signer: softwareSigner(identity, signingKey),
    identity,
    groupEntry: {
      certificate: useGroups && !omitSignCert ? leaf.der : null,
      certificateChain: useGroups && !omitSignCert ? chain.slice(1).map((link) => link.der) : [],
    },
    containerEntries,
  };
}

function closedSystemDevice(spec: RksvTestSpec, index: number, useGroups: boolean): ReplayDevice {
  const device = createClosedSystemSoftwareDevice({ companyId: spec.companyID, keyNumber: index });
  const keyId = device.signer.certificateSerial;
  // ztp: with groups, a closed-system key is carried in the DEP by a self-signed certificate named after its key id.
  const serial = randomCertificateSerial();
  const certificate = createCertificate({
    organization: RKSV_CERTIFICATE_ORGANIZATION,
    subjectPublicKey: device.material.publicKey,
    subjectPrivateKey: device.privateKey,
    subjectCommonName: keyId,
    serialNumber: serial,
    ...validity(),
  });
  const containerEntries: CryptographicMaterialEntry[] = [];
  if (useGroups && spec.omitRootCert?.[index] !== true) {
    containerEntries.push(
      certificateEntry(
        spec.certChainSerialCollision?.[index] === true ? collidingCertificate(serial, index) : certificate,
      ),
    );
  }
  containerEntries.push(publicKeyEntry(keyId, device.material.publicKey));
  const omitSignCert = spec.omitSignCert?.[index] === true;
  return {
    signer: device.signer,
    identity: device.signer,
    groupEntry: { certificate: useGroups && !omitSignCert ? certificate : null, certificateChain: [] },
    containerEntries,
  };
}

// Euros as the spec's JSON numbers → cents, via the same two-decimal text ztp writes ("%.2f").
function eurosToCents(euros: number): bigint {
  const text = euros.toFixed(2);
  const negative = text.startsWith('-');
  const cents = BigInt(text.replace('-', '').replace('.', ''));
  return negative ? -cents : cents;
}

function amountsOf(instruction: RksvTestInstruction): RksvAmounts {
  const receipt = instruction.simplifiedReceipt;
  return {
    normal: eurosToCents(receipt.taxSetNormal),
    ermaessigt1: eurosToCents(receipt.taxSetErmaessigt1),
    ermaessigt2: eurosToCents(receipt.taxSetErmaessigt2),
    null: eurosToCents(receipt.taxSetNull),
    besonders: eurosToCents(receipt.taxSetBesonders),
  };
}

function kindOf(instruction: RksvTestInstruction, state: RksvRegisterState): RksvReceiptKind {
  switch (instruction.typeOfReceipt ?? 'STANDARD_BELEG') {
    case 'START_BELEG':
      return 'start';
    case 'STORNO_BELEG':
      return 'storno';
    case 'TRAINING_BELEG':
      return 'training';
    // The Mustercode's null receipt after a failure is the Sammelbeleg.
    case 'NULL_BELEG':
      return needsSammelbeleg(state) && !instruction.signatureDeviceDamaged ? 'collective' : 'null';
    case 'STANDARD_BELEG':
      return 'standard';
  }
}

function counterModeOf(instruction: RksvTestInstruction): RksvCounterMode {
  if (instruction.typeOfReceipt === 'STORNO_BELEG') return 'storno';
  if (instruction.typeOfReceipt === 'TRAINING_BELEG') return 'training';
  return 'counted';
}

const SUM_OVERRIDES: ReadonlyArray<[keyof RksvTestOverride, RksvTaxSet]> = [
  ['sumA', 'normal'],
  ['sumB', 'ermaessigt1'],
  ['sumC', 'ermaessigt2'],
  ['sumD', 'null'],
  ['sumE', 'besonders'],
];

type TamperFields = NonNullable<RksvReceiptTamper['fields']>;
type Writable<T> = { -readonly [K in keyof T]: T[K] };

function tamperOf(override: RksvTestOverride): RksvReceiptTamper {
  const fields: Writable<TamperFields> = {};
  const field = <K extends keyof TamperFields>(key: K, value: TamperFields[K] | undefined) => {
    if (value !== undefined) fields[key] = value;
  };
  field('algorithmId', override.algorithmPrefix);
  field('zda', override.zda);
  field('kassenId', override.registerId);
  field('receiptNumber', override.receiptId);
  field('dateTime', override.dateTime);
  field('encryptedTurnoverCounter', override.encTurnoverCounter);
  field('certificateSerial', override.certSerial);
  field('chainValue', override.previousChain);
  const amounts: Partial<Record<RksvTaxSet, string>> = {};
  for (const [key, set] of SUM_OVERRIDES) {
    const value = override[key];
    if (typeof value === 'string') amounts[set] = value;
  }
  fields.amounts = amounts;

  const tamper: Writable<RksvReceiptTamper> = { fields };
  if (override.turnoverCounter !== undefined) tamper.turnoverCents = BigInt(override.turnoverCounter);
  if (override.turnoverCounterSize !== undefined) tamper.counterBytes = override.turnoverCounterSize;
  if (override.header !== undefined) tamper.jwsHeader = override.header;
  if (override.signature !== undefined) tamper.signatureSegment = override.signature;
  if (override.jwsOverride !== undefined) tamper.jws = override.jwsOverride;
  return tamper;
}

/** Replays `spec` through `src/regimes/at` with fresh software devices; see the module comment. */
export function replayRksvSpec(spec: RksvTestSpec, options: RksvReplayOptions = {}): RksvReplayResult {
  for (const instruction of spec.cashBoxInstructionList) {
    if (instruction.beginNewDEP === 'NEW_CLUSTER_DEP' || instruction.continueRegister !== undefined) {
      throw new Error(`${spec.simulationRunLabel ?? 'spec'}: GGS cluster specs are not supported`);
    }
  }
  const closed = options.closedSystem ?? spec.closedSystem ?? false;
  const useGroups =
    options.grouping === undefined ? spec.multipleGroups === true : options.grouping === 'per-certificate';
  const grouping: Dep7Grouping = useGroups ? 'per-certificate' : 'single';
  const devices = Array.from({ length: spec.numberOfSignatureDevices }, (_, index) =>
    closed ? closedSystemDevice(spec, index, useGroups) : openSystemDevice(spec, index, useGroups),
  );

  let state = createRegisterState({
    kassenId: spec.cashBoxId,
    aesKey: parseAesKey(spec.base64AesKey),
    counterBytes: options.turnoverCounterSize ?? spec.turnoverCounterSize ?? DEFAULT_TURNOVER_COUNTER_BYTES,
  });
  const receipts: RksvReplayReceipt[] = [];
  const entries: Dep7Entry[] = [];
  const parts: RksvReplayDep7[] = [];
  let partStart = 0;
  let annotation: number | undefined;

  const finishPart = (end: number, extras: Partial<RksvReplayDep7>) => {
    const dep = buildDep7(entries.slice(partStart, end), { grouping });
    parts.push({ ...extras, ...dep, ...(annotation ? { 'Umsatz-gesamt': annotation } : {}) });
    partStart = end;
  };
  let nextPartExtras: Partial<RksvReplayDep7> = {};

  for (const instruction of spec.cashBoxInstructionList) {
    const device = devices[instruction.usedSignatureDevice];
    if (device === undefined) throw new RangeError(`No signature device ${instruction.usedSignatureDevice}`);
    if (instruction.beginNewDEP === 'NEW_CONTINUED_DEP') {
      finishPart(entries.length, nextPartExtras);
      nextPartExtras = { 'Vorheriges-DEP': parts.length - 1, 'Fortgesetztes-DEP': true };
    }
    annotation = instruction.annotateTurnoverCounter;

    const signer = instruction.signatureDeviceDamaged ? unavailableSigner(device.identity) : device.signer;
    const amounts = amountsOf(instruction);
    let kind: RksvReceiptKind | null = null;
    let ruleViolation: RksvRuleCode | null = null;
    let result: ReturnType<typeof composeReceipt> | undefined;
    if (instruction.override === undefined) {
      kind = kindOf(instruction, state);
      try {
        result = issueReceipt(
          state,
          { kind, dateTime: instruction.dateToUse, receiptNumber: instruction.receiptIdentifier, amounts },
          signer,
        );
      } catch (error) {
        if (!(error instanceof RksvRuleError)) throw error;
        kind = null;
        ruleViolation = error.code;
      }
    }
    result ??= composeReceipt(
      state,
      {
        receiptNumber: instruction.receiptIdentifier,
        dateTime: instruction.dateToUse,
        amounts,
        counterMode: counterModeOf(instruction),
      },
      signer,
      instruction.override === undefined ? {} : tamperOf(instruction.override),
    );
    state = result.nextState;
    const { receipt } = result;
    entries.push({ jws: receipt.jws, device: device.groupEntry });
    receipts.push({
      receiptIdentifier: instruction.receiptIdentifier,
      jws: receipt.jws,
      qr: receipt.qr,
      ocr: receipt.ocr,
      kind,
      ruleViolation,
      tampered: instruction.override !== undefined,
      signatureDeviceFailed: receipt.signatureDeviceFailed,
      deviceIndex: instruction.usedSignatureDevice,
    });
  }
  finishPart(entries.length, nextPartExtras);

  const whole = buildDep7(entries, { grouping });
  return {
    dep7: annotation ? { ...whole, 'Umsatz-gesamt': annotation } : whole,
    dep7Parts: parts,
    container: buildCryptographicMaterialContainer(
      spec.base64AesKey,
      devices.flatMap((device) => device.containerEntries),
    ),
    receipts,
  };
}

const RKSV_SPEC_AMOUNT_KEYS = [
  'taxSetNormal',
  'taxSetErmaessigt1',
  'taxSetErmaessigt2',
  'taxSetNull',
  'taxSetBesonders',
];

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Checks the parts of a parsed spec the replay relies on and returns it typed. */
export function parseRksvTestSpec(value: unknown): RksvTestSpec {
  if (
    !isRecord(value) ||
    typeof value.cashBoxId !== 'string' ||
    typeof value.base64AesKey !== 'string' ||
    typeof value.companyID !== 'string' ||
    typeof value.numberOfSignatureDevices !== 'number' ||
    !Array.isArray(value.cashBoxInstructionList)
  ) {
    throw new RangeError('Not an RKSV test spec');
  }
  for (const instruction of value.cashBoxInstructionList as unknown[]) {
    if (
      !isRecord(instruction) ||
      typeof instruction.receiptIdentifier !== 'string' ||
      typeof instruction.dateToUse !== 'string' ||
      typeof instruction.usedSignatureDevice !== 'number' ||
      typeof instruction.signatureDeviceDamaged !== 'boolean' ||
      !isRecord(instruction.simplifiedReceipt) ||
      !RKSV_SPEC_AMOUNT_KEYS.every(
        (key) => typeof (instruction.simplifiedReceipt as Record<string, unknown>)[key] === 'number',
      )
    ) {
      throw new RangeError(`Malformed instruction in RKSV test spec: ${JSON.stringify(instruction)}`);
    }
  }
  // The remaining members are optional and read defensively by the replay.
  return value as unknown as RksvTestSpec;
}

/** Reads and checks a spec file. */
export function loadRksvTestSpec(path: string): RksvTestSpec {
  return parseRksvTestSpec(JSON.parse(readFileSync(path, 'utf8')) as unknown);
}

/** The five spec amounts in the order of the code's tax sets (for assertions). */
export function specAmounts(instruction: RksvTestInstruction): RksvAmounts {
  return amountsOf(instruction);
}
