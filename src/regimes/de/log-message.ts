/**
 * TR-03151 log messages as a TSE writes and exports them: the data to be signed (DTBS), the signature, the assembled
 * message, a parser that also reads certified TSEs' exports, and the TAR member names. The layout follows the BSI's
 * own TSE simulator byte for byte: certifiedData fields are IMPLICIT `[0]`…`[6]` directly in the outer SEQUENCE,
 * transaction logs carry an empty `[4]` additionalExternalData and no `[6]`, logTime is unixTime.
 * @module
 */
import { createHash, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import {
  TAG_INTEGER,
  TAG_OCTET_STRING,
  TAG_OID,
  TAG_SEQUENCE,
  childrenOf,
  decodeInteger,
  decodeOid,
  encodeContextPrimitive,
  encodeInteger,
  encodeOctetString,
  encodeOid,
  encodeSequence,
  encodeTlv,
  hexByte,
  integerContent,
  octetsOf,
  printableStringContent,
  readElement,
  type DerElement,
} from '../../crypto/der.js';

export const OID_TRANSACTION_LOG = '0.4.0.127.0.7.3.7.1.1';
export const OID_SYSTEM_LOG = '0.4.0.127.0.7.3.7.1.2';
export const OID_AUDIT_LOG = '0.4.0.127.0.7.3.7.1.3';
export const OID_ECDSA_PLAIN_SHA256 = '0.4.0.127.0.7.1.1.4.1.3';
export const SIGNATURE_ALGORITHM_NAME = 'ecdsa-plain-SHA256';
export const TIME_FORMAT = 'unixTime';

const LOG_MESSAGE_VERSION = 2n;
// The constant leading and trailing fields, encoded once: a TSE signs at the till's pace.
const VERSION_FIELD = encodeInteger(LOG_MESSAGE_VERSION);
const TRANSACTION_LOG_TYPE_FIELD = encodeOid(OID_TRANSACTION_LOG);
const SYSTEM_LOG_TYPE_FIELD = encodeOid(OID_SYSTEM_LOG);
const SIGNATURE_ALGORITHM_FIELD = encodeSequence(encodeOid(OID_ECDSA_PLAIN_SHA256));
// additionalExternalData: reserved by TR-03151; the BSI simulator writes it empty.
const ADDITIONAL_EXTERNAL_DATA_FIELD = encodeContextPrimitive(4, Buffer.alloc(0));
const SERIAL_NUMBER_BYTES = 32;
const P256_COORDINATE_BYTES = 32;

// BSI TR-03111 plain ECDSA (r‖s) with the hash the OID names; certified TSEs use SHA-256 (P-256) or SHA-384 (P-384).
const HASH_BY_SIGNATURE_ALGORITHM: Readonly<Record<string, string>> = {
  '0.4.0.127.0.7.1.1.4.1.2': 'sha224',
  [OID_ECDSA_PLAIN_SHA256]: 'sha256',
  '0.4.0.127.0.7.1.1.4.1.4': 'sha384',
  '0.4.0.127.0.7.1.1.4.1.5': 'sha512',
};

export type TransactionOperation = 'StartTransaction' | 'UpdateTransaction' | 'FinishTransaction';

export interface TransactionLogFields {
  operationType: TransactionOperation;
  clientId: string;
  processData: Buffer;
  processType: string;
  transactionNumber: bigint;
  serialNumber: Buffer;
  signatureCounter: bigint;
  /** Unix seconds. */
  logTime: bigint;
}

export interface SystemLogFields {
  /** The operation in the BSI simulator's spelling: `Initialize`, `RegisterClient`, `UpdateTime`, `DisableSecureElement`, … */
  operationType: string;
  /** The content of `[1]`, as {@link systemOperationData} builds it. */
  systemOperationData: Buffer;
  serialNumber: Buffer;
  signatureCounter: bigint;
  /** Unix seconds. */
  logTime: bigint;
}

/**
 * The operations whose systemOperationData this module builds. Each field is an IMPLICIT context tag, numbered as in
 * TR-03151 Annex A and encoded like the BSI simulator does (its `[1]` content is the concatenated fields, without an
 * enclosing SEQUENCE). `RegisterClient`/`DeregisterClient` carry `[1] clientId` as read by konfidas' TTC checker.
 */
export type SystemOperation =
  | { operationType: 'Initialize'; description: string }
  | { operationType: 'RegisterClient'; clientId: string }
  | { operationType: 'DeregisterClient'; clientId: string }
  | { operationType: 'DisableSecureElement'; timeOfDeactivation: bigint }
  | { operationType: 'UpdateTime'; timeBeforeUpdate: bigint; timeAfterUpdate: bigint }
  | { operationType: 'AuthenticateUser'; userId: string; role: UserRole | null; authenticationResult: boolean }
  | { operationType: 'LogOut'; userId: string; logOutCause: number };

/** TR-03151 user roles, numbered as the BSI simulator encodes the ENUMERATED. */
export type UserRole = 'admin' | 'timeAdmin';
const ROLE_VALUES: Readonly<Record<UserRole, bigint>> = { admin: 0n, timeAdmin: 1n };

/** The DER content of systemOperationData `[1]` for one operation. */
export function systemOperationData(operation: SystemOperation): Buffer {
  switch (operation.operationType) {
    case 'Initialize':
      return encodeContextPrimitive(1, printableStringContent(operation.description));
    case 'RegisterClient':
    case 'DeregisterClient':
      return encodeContextPrimitive(1, printableStringContent(operation.clientId));
    case 'DisableSecureElement':
      return encodeContextPrimitive(1, integerContent(operation.timeOfDeactivation));
    case 'UpdateTime':
      return Buffer.concat([
        encodeContextPrimitive(1, integerContent(operation.timeBeforeUpdate)),
        encodeContextPrimitive(2, integerContent(operation.timeAfterUpdate)),
      ]);
    case 'AuthenticateUser':
      return Buffer.concat([
        encodeContextPrimitive(1, printableStringContent(operation.userId)),
        // The simulator writes an empty [2] when the user id is not one the TSE manages.
        encodeContextPrimitive(
          2,
          operation.role === null ? Buffer.alloc(0) : integerContent(ROLE_VALUES[operation.role]),
        ),
        encodeContextPrimitive(3, Buffer.of(operation.authenticationResult ? 0xff : 0x00)),
      ]);
    case 'LogOut':
      return Buffer.concat([
        encodeContextPrimitive(1, printableStringContent(operation.userId)),
        encodeContextPrimitive(2, integerContent(BigInt(operation.logOutCause))),
      ]);
  }
}

function requireCounter(name: string, value: bigint, minimum: bigint): void {
  if (value < minimum) throw new RangeError(`${name} must be at least ${minimum}, got ${value}`);
}

function commonTail(serialNumber: Buffer, signatureCounter: bigint, logTime: bigint): Buffer[] {
  if (serialNumber.length !== SERIAL_NUMBER_BYTES) {
    throw new RangeError(`serialNumber must be ${SERIAL_NUMBER_BYTES} bytes (SHA-256), got ${serialNumber.length}`);
  }
  requireCounter('signatureCounter', signatureCounter, 1n);
  requireCounter('logTime', logTime, 0n);
  return [
    encodeOctetString(serialNumber),
    SIGNATURE_ALGORITHM_FIELD,
    encodeInteger(signatureCounter),
    encodeInteger(logTime),
  ];
}

/** The DTBS of a transaction log: the concatenated DER fields from version to logTime, i.e. exactly what is signed. */
export function encodeTransactionLogDtbs(fields: TransactionLogFields): Buffer {
  // A '/' would turn the log's TAR member name into a path, so such a client could never be exported.
  if (fields.clientId.length === 0 || fields.clientId.includes('/')) {
    throw new Error(`clientId must be a non-empty PrintableString without '/': ${JSON.stringify(fields.clientId)}`);
  }
  requireCounter('transactionNumber', fields.transactionNumber, 1n);
  return Buffer.concat([
    VERSION_FIELD,
    TRANSACTION_LOG_TYPE_FIELD,
    encodeContextPrimitive(0, printableStringContent(fields.operationType)),
    encodeContextPrimitive(1, printableStringContent(fields.clientId)),
    encodeContextPrimitive(2, fields.processData),
    encodeContextPrimitive(3, printableStringContent(fields.processType)),
    ADDITIONAL_EXTERNAL_DATA_FIELD,
    encodeContextPrimitive(5, integerContent(fields.transactionNumber)),
    ...commonTail(fields.serialNumber, fields.signatureCounter, fields.logTime),
  ]);
}

/** The DTBS of a system log. */
export function encodeSystemLogDtbs(fields: SystemLogFields): Buffer {
  return Buffer.concat([
    VERSION_FIELD,
    SYSTEM_LOG_TYPE_FIELD,
    encodeContextPrimitive(0, printableStringContent(fields.operationType)),
    encodeContextPrimitive(1, fields.systemOperationData),
    ...commonTail(fields.serialNumber, fields.signatureCounter, fields.logTime),
  ]);
}

function assertP256(key: KeyObject, expectedType: 'private' | 'public'): void {
  if (
    key.type !== expectedType ||
    key.asymmetricKeyType !== 'ec' ||
    key.asymmetricKeyDetails?.namedCurve !== 'prime256v1'
  ) {
    throw new Error(`Expected a P-256 ${expectedType} key`);
  }
}

/** ECDSA P-256 over SHA-256 of `dtbs`, as plain `r‖s` (64 bytes). */
export function signDtbs(dtbs: Buffer, privateKey: KeyObject): Buffer {
  assertP256(privateKey, 'private');
  return sign('sha256', dtbs, { key: privateKey, dsaEncoding: 'ieee-p1363' });
}

/** The exported log message: `SEQUENCE { dtbs…, OCTET STRING signatureValue }`. */
export function assembleLogMessage(dtbs: Buffer, signatureValue: Buffer): Buffer {
  return encodeTlv(TAG_SEQUENCE, Buffer.concat([dtbs, encodeOctetString(signatureValue)]));
}

export interface ParsedLogMessage {
  version: number;
  certifiedDataType: string;
  logType: 'transaction' | 'system' | 'audit';
  operationType: string;
  clientId: string | null;
  processData: Buffer | null;
  processType: string | null;
  transactionNumber: bigint | null;
  systemOperationData: Buffer | null;
  serialNumber: Buffer;
  /** The signature algorithm's OID in dotted notation. */
  signatureAlgorithm: string;
  signatureCounter: bigint;
  /** Unix seconds. */
  logTime: bigint;
  signatureValue: Buffer;
  /** The signed bytes exactly as they appear in the message: every field from version to logTime. */
  dtbs: Buffer;
  /** Tag sequence of the top-level fields, e.g. ['02','06','80','81','82','83','84','85','04','30','02','02','04'] for structure comparisons */
  structure: string[];
}

const LOG_TYPES: Readonly<Record<string, ParsedLogMessage['logType']>> = {
  [OID_TRANSACTION_LOG]: 'transaction',
  [OID_SYSTEM_LOG]: 'system',
  [OID_AUDIT_LOG]: 'audit',
};

function describeTag(element: DerElement | undefined): string {
  return element === undefined ? 'end of message' : `tag 0x${hexByte(element.tag)}`;
}

function latin1(bytes: Buffer): string {
  return bytes.toString('latin1');
}

/** Parses an exported log message; throws an Error naming the first field that does not fit TR-03151. */
export function parseLogMessage(bytes: Buffer): ParsedLogMessage {
  const outer = readElement(bytes, 0);
  if (outer.tag !== TAG_SEQUENCE) throw new Error(`Log message must be a SEQUENCE, found ${describeTag(outer)}`);
  if (outer.end !== bytes.length) throw new Error(`Log message has ${bytes.length - outer.end} bytes after its end`);
  const fields = childrenOf(outer);
  let index = 0;
  const next = (): DerElement | undefined => fields[index];
  const take = (tag: number, name: string): DerElement => {
    const element = fields[index];
    if (element?.tag !== tag) {
      throw new Error(`Log message field ${name}: expected tag 0x${hexByte(tag)}, found ${describeTag(element)}`);
    }
    index++;
    return element;
  };

  const versionValue = decodeInteger(take(TAG_INTEGER, 'version').content);
  if (versionValue !== LOG_MESSAGE_VERSION) throw new Error(`Unsupported log message version ${versionValue}`);
  const certifiedDataType = decodeOid(take(TAG_OID, 'certifiedDataType').content);
  const logType = LOG_TYPES[certifiedDataType];
  if (logType === undefined) throw new Error(`Unknown certifiedDataType ${certifiedDataType}`);

  // certifiedData: context-specific [n] fields, each at most once and in ascending order.
  const certified = new Map<number, DerElement>();
  for (let element = next(); element?.tagClass === 'context'; element = next()) {
    const last = Math.max(-1, ...certified.keys());
    if (element.tagNumber <= last) throw new Error(`certifiedData field [${element.tagNumber}] out of order`);
    certified.set(element.tagNumber, element);
    index++;
  }
  const text = (n: number): string | null => {
    const element = certified.get(n);
    return element === undefined ? null : latin1(octetsOf(element));
  };
  const required = (n: number, name: string): DerElement => {
    const element = certified.get(n);
    if (element === undefined) throw new Error(`${logType} log lacks [${n}] ${name}`);
    return element;
  };

  let operationType = '';
  let clientId: string | null = null;
  let processData: Buffer | null = null;
  let processType: string | null = null;
  let transactionNumber: bigint | null = null;
  let systemOperationDataValue: Buffer | null = null;
  if (logType === 'transaction') {
    operationType = latin1(octetsOf(required(0, 'operationType')));
    clientId = latin1(octetsOf(required(1, 'clientId')));
    const processDataElement = certified.get(2);
    processData = processDataElement === undefined ? null : Buffer.from(octetsOf(processDataElement));
    processType = text(3);
    transactionNumber = decodeInteger(octetsOf(required(5, 'transactionNumber')));
  } else if (logType === 'system') {
    operationType = latin1(octetsOf(required(0, 'operationType')));
    const data = certified.get(1);
    systemOperationDataValue = data === undefined ? null : Buffer.from(octetsOf(data));
  }

  const serialNumber = Buffer.from(take(TAG_OCTET_STRING, 'serialNumber').content);
  const algorithm = childrenOf(take(TAG_SEQUENCE, 'signatureAlgorithm'));
  const algorithmOid = algorithm[0];
  if (algorithmOid?.tag !== TAG_OID) throw new Error('Log message field signatureAlgorithm: no algorithm OID');
  const signatureAlgorithm = decodeOid(algorithmOid.content);
  if (logType === 'audit') take(TAG_OCTET_STRING, 'seAuditData');
  const signatureCounter = decodeInteger(take(TAG_INTEGER, 'signatureCounter').content);
  const logTimeElement = next();
  if (logTimeElement?.tag !== TAG_INTEGER) {
    throw new Error(
      `Log message field logTime: only unixTime (INTEGER) is supported, found ${describeTag(logTimeElement)}`,
    );
  }
  const logTime = decodeInteger(take(TAG_INTEGER, 'logTime').content);
  const signatureElement = take(TAG_OCTET_STRING, 'signatureValue');
  if (index !== fields.length) {
    throw new Error(`Log message has ${fields.length - index} unexpected fields after signatureValue`);
  }

  return {
    version: Number(versionValue),
    certifiedDataType,
    logType,
    operationType,
    clientId,
    processData,
    processType,
    transactionNumber,
    systemOperationData: systemOperationDataValue,
    serialNumber,
    signatureAlgorithm,
    signatureCounter,
    logTime,
    signatureValue: Buffer.from(signatureElement.content),
    // Child offsets are relative to the outer content, so this is everything before the signatureValue TLV.
    dtbs: Buffer.from(outer.content.subarray(0, signatureElement.start)),
    structure: fields.map((field) => hexByte(field.tag)),
  };
}

/** True when the message's signature verifies over its DTBS with `publicKey`; throws for an unknown algorithm. */
export function verifyLogMessage(message: ParsedLogMessage, publicKey: KeyObject): boolean {
  const hash = HASH_BY_SIGNATURE_ALGORITHM[message.signatureAlgorithm];
  if (hash === undefined) throw new Error(`Unsupported signature algorithm ${message.signatureAlgorithm}`);
  return verify(hash, message.dtbs, { key: publicKey, dsaEncoding: 'ieee-p1363' }, message.signatureValue);
}

function assertUncompressedPoint(point: Buffer): void {
  if (point.length !== 1 + 2 * P256_COORDINATE_BYTES || point[0] !== 0x04) {
    throw new Error('Expected an uncompressed P-256 point (65 bytes starting with 04)');
  }
}

/** The TSE serial number: SHA-256 over the uncompressed public key point. */
export function tseSerialNumber(publicKeyPoint: Buffer): Buffer {
  assertUncompressedPoint(publicKeyPoint);
  return createHash('sha256').update(publicKeyPoint).digest();
}

/** The uncompressed point `04‖X‖Y` of a P-256 public key. */
export function publicKeyPoint(publicKey: KeyObject): Buffer {
  assertP256(publicKey, 'public');
  const jwk = publicKey.export({ format: 'jwk' });
  if (typeof jwk.x !== 'string' || typeof jwk.y !== 'string') throw new Error('EC public key without coordinates');
  const coordinate = (value: string): Buffer => {
    const bytes = Buffer.from(value, 'base64url');
    return Buffer.concat([Buffer.alloc(P256_COORDINATE_BYTES - bytes.length), bytes]);
  };
  return Buffer.concat([Buffer.of(0x04), coordinate(jwk.x), coordinate(jwk.y)]);
}

/** The P-256 public key for an uncompressed point; throws when the point is not on the curve. */
export function publicKeyFromPoint(point: Buffer): KeyObject {
  assertUncompressedPoint(point);
  return createPublicKey({
    key: {
      kty: 'EC',
      crv: 'P-256',
      x: point.subarray(1, 1 + P256_COORDINATE_BYTES).toString('base64url'),
      y: point.subarray(1 + P256_COORDINATE_BYTES).toString('base64url'),
    },
    format: 'jwk',
  });
}

const FILE_NAME_OPERATIONS: Readonly<Record<TransactionOperation, string>> = {
  StartTransaction: 'Start',
  UpdateTransaction: 'Update',
  FinishTransaction: 'Finish',
};

function isTransactionOperation(operationType: string): operationType is TransactionOperation {
  return Object.hasOwn(FILE_NAME_OPERATIONS, operationType);
}

/**
 * The TAR member name of a log message, as the BSI simulator and certified TSEs name them:
 * `Unixt_<t>_Sig-<n>_Log-Tra_No-<n>_<Start|Update|Finish>_Client-<id>.log`, `Unixt_<t>_Sig-<n>_Log-Sys_<Operation>.log`,
 * `Unixt_<t>_Sig-<n>_Log-Aud.log`.
 */
export function logFileName(
  message: Pick<
    ParsedLogMessage,
    'logType' | 'operationType' | 'logTime' | 'signatureCounter' | 'transactionNumber' | 'clientId'
  >,
): string {
  const prefix = `Unixt_${message.logTime}_Sig-${message.signatureCounter}`;
  switch (message.logType) {
    case 'transaction': {
      const { operationType, transactionNumber, clientId } = message;
      if (!isTransactionOperation(operationType)) throw new Error(`Not a transaction operation: ${operationType}`);
      if (transactionNumber === null || clientId === null) throw new Error('Transaction log without number or client');
      if (clientId.includes('/')) {
        throw new Error(`clientId cannot be part of a file name: ${JSON.stringify(clientId)}`);
      }
      return `${prefix}_Log-Tra_No-${transactionNumber}_${FILE_NAME_OPERATIONS[operationType]}_Client-${clientId}.log`;
    }
    case 'system':
      if (!/^[A-Za-z0-9]+$/.test(message.operationType)) {
        throw new Error(`System operation cannot be part of a file name: ${JSON.stringify(message.operationType)}`);
      }
      return `${prefix}_Log-Sys_${message.operationType}.log`;
    case 'audit':
      return `${prefix}_Log-Aud.log`;
  }
}
