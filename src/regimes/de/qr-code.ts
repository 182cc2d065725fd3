/**
 * The receipt QR code of DSFinV-K Anhang I, version V0: twelve `;`-separated fields
 * `V0;<client>;<processType>;<processData>;<transaction>;<signature counter>;<start>;<log time>;<algorithm>;<time format>;<signature>;<public key>`.
 * @module
 */

export interface QrCodeFields {
  /** The till's serial number as registered with the TSE. */
  clientId: string;
  processType: string;
  processData: string;
  transactionNumber: bigint;
  signatureCounter: bigint;
  /** Start of the transaction (its StartTransaction log time). */
  startTime: Date;
  /** Log time of the FinishTransaction log, whose signature the code carries. */
  logTime: Date;
  /** e.g. `ecdsa-plain-SHA256`. */
  signatureAlgorithm: string;
  /** `unixTime`, `utcTime` or `generalizedTime`. */
  timeFormat: string;
  /** Base64 of the FinishTransaction signature. */
  signature: string;
  /** Base64 of the TSE public key (uncompressed point). */
  publicKey: string;
}

const VERSION = 'V0';
const FIELD_COUNT = 12;
// Fields after processData; counting them from the end lets processData itself contain ';' (Bestellung-V1 does).
const FIELDS_AFTER_PROCESS_DATA = 8;
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const DECIMAL = /^(0|[1-9]\d*)$/;

function isoTime(date: Date, name: string): string {
  if (Number.isNaN(date.getTime())) throw new RangeError(`${name} is not a valid date`);
  const text = date.toISOString();
  if (!ISO_TIME.test(text)) throw new RangeError(`${name} cannot be written as YYYY-MM-DDThh:mm:ss.fffZ`);
  return text;
}

function plainField(value: string, name: string): string {
  if (value.includes(';')) throw new Error(`QR code field ${name} must not contain ';': ${JSON.stringify(value)}`);
  return value;
}

/** The text of the receipt QR code. */
export function qrCodeData(f: QrCodeFields): string {
  if (f.transactionNumber < 0n || f.signatureCounter < 0n) {
    throw new RangeError('QR code counters must not be negative');
  }
  return [
    VERSION,
    plainField(f.clientId, 'clientId'),
    plainField(f.processType, 'processType'),
    f.processData,
    String(f.transactionNumber),
    String(f.signatureCounter),
    isoTime(f.startTime, 'startTime'),
    isoTime(f.logTime, 'logTime'),
    plainField(f.signatureAlgorithm, 'signatureAlgorithm'),
    plainField(f.timeFormat, 'timeFormat'),
    plainField(f.signature, 'signature'),
    plainField(f.publicKey, 'publicKey'),
  ].join(';');
}

function parseTime(text: string, name: string): Date {
  const date = new Date(text);
  if (!ISO_TIME.test(text) || Number.isNaN(date.getTime()) || date.toISOString() !== text) {
    throw new Error(`QR code field ${name} is not YYYY-MM-DDThh:mm:ss.fffZ: ${JSON.stringify(text)}`);
  }
  return date;
}

function parseCounter(text: string, name: string): bigint {
  if (!DECIMAL.test(text)) throw new Error(`QR code field ${name} is not a decimal number: ${JSON.stringify(text)}`);
  return BigInt(text);
}

function parseBase64(text: string, name: string): string {
  if (text.length === 0 || !BASE64.test(text)) {
    throw new Error(`QR code field ${name} is not Base64: ${JSON.stringify(text)}`);
  }
  return text;
}

/** Reads a V0 QR code; throws when it is not one. */
export function parseQrCodeData(text: string): QrCodeFields {
  const parts = text.split(';');
  if (parts.length < FIELD_COUNT) throw new Error(`QR code has ${parts.length} fields, expected ${FIELD_COUNT}`);
  if (parts[0] !== VERSION) throw new Error(`QR code version ${JSON.stringify(parts[0])} is not ${VERSION}`);
  const [
    transactionNumber,
    signatureCounter,
    startTime,
    logTime,
    signatureAlgorithm,
    timeFormat,
    signature,
    publicKey,
  ] = parts.slice(-FIELDS_AFTER_PROCESS_DATA);
  if (
    transactionNumber === undefined ||
    signatureCounter === undefined ||
    startTime === undefined ||
    logTime === undefined ||
    signatureAlgorithm === undefined ||
    timeFormat === undefined ||
    signature === undefined ||
    publicKey === undefined
  ) {
    throw new Error('QR code is truncated');
  }
  const clientId = parts[1] ?? '';
  const processType = parts[2] ?? '';
  if (clientId.length === 0) throw new Error('QR code has no client id');
  if (signatureAlgorithm.length === 0 || timeFormat.length === 0) {
    throw new Error('QR code lacks algorithm or time format');
  }
  return {
    clientId,
    processType,
    processData: parts.slice(3, parts.length - FIELDS_AFTER_PROCESS_DATA).join(';'),
    transactionNumber: parseCounter(transactionNumber, 'transactionNumber'),
    signatureCounter: parseCounter(signatureCounter, 'signatureCounter'),
    startTime: parseTime(startTime, 'startTime'),
    logTime: parseTime(logTime, 'logTime'),
    signatureAlgorithm,
    timeFormat,
    signature: parseBase64(signature, 'signature'),
    publicKey: parseBase64(publicKey, 'publicKey'),
  };
}
