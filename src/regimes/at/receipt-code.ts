/**
 * The receipt's machine-readable code (Detailspezifikation Z 4, Z 5, Z 12–14) in its four forms:
 *
 * - JWS payload: `_R1-AT<n>_<Kassen-ID>_<Belegnummer>_<YYYY-MM-DDThh:mm:ss>_<5 amounts>_<Umsatzzähler>_<Zertifikat-
 *   Seriennummer>_<Sig-Voriger-Beleg>`, signed as a compact JWS with header `{"alg":"ES256"}` (Base64-URL, no padding);
 * - QR code: payload + `_` + the signature in standard Base64;
 * - OCR code: like the QR code, but the three Base64 fields (Umsatzzähler, Sig-Voriger-Beleg, Signatur) re-encoded as
 *   BASE32 (Z 14; Mustercode CashBoxUtils.getOCRCodeRepresentationFromJWSCompactRepresentation);
 * - URL: a base URL whose last path element is Base64-URL(first 8 bytes of SHA-256(UTF-8 QR code)), from which the QR
 *   code text must be retrievable with GET (BMF Mustercode wiki "Link statt QR-Code/OCR-Kette").
 *
 * Plus the chaining value Sig-Voriger-Beleg (Z 4): Base64(first 8 bytes of SHA-256(previous JWS compact string)),
 * or of SHA-256(Kassen-ID) for a register's first receipt.
 * @module
 */
import { createHash } from 'node:crypto';
import { RKSV_TAX_SETS, type RksvTaxSet } from './amounts.js';
import {
  base32Decode,
  base32Encode,
  base64Decode,
  base64Encode,
  base64UrlDecode,
  base64UrlEncode,
} from './encoding.js';
import { zonedParts } from '../../shared/time.js';

/** Registrierkassenalgorithmuskennzeichen suite R1: ES256, SHA-256 chaining over 8 bytes. */
export const RKSV_ALGORITHM_ID = 'R1';
/** The only JWS header suite R1 uses, exactly as serialised (the Mustercode hard-codes its Base64-URL). */
export const JWS_HEADER_ES256 = '{"alg":"ES256"}';
/** What a receipt carries instead of a signature while its signature device has failed (Z 4). */
export const SIGNATURE_DEVICE_FAILED_TEXT = 'Sicherheitseinrichtung ausgefallen';
export const SIGNATURE_DEVICE_FAILED_SIGNATURE = base64UrlEncode(Buffer.from(SIGNATURE_DEVICE_FAILED_TEXT, 'utf8'));
/** ES256 signatures are r‖s, 32 bytes each (RFC 7518 §3.4). */
export const ES256_SIGNATURE_BYTES = 64;

const CHAIN_VALUE_BYTES = 8;
const URL_HASH_BYTES = 8;
const PAYLOAD_SEGMENTS = 13;
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})$/;

/** The twelve payload fields, exactly as the code spells them (amounts stay text so any payload round-trips). */
export interface RksvReceiptFields {
  /** `R1`. */
  readonly algorithmId: string;
  /** Trust service provider: `AT0` closed system, `AT1` A-Trust, `AT2` GlobalTrust, `AT3` PrimeSign, … */
  readonly zda: string;
  readonly kassenId: string;
  readonly receiptNumber: string;
  /** Local time without zone, `YYYY-MM-DDThh:mm:ss`. */
  readonly dateTime: string;
  /** Betrag-Satz-* in the code's notation (`"12,34"`). */
  readonly amounts: Readonly<Record<RksvTaxSet, string>>;
  /** Base64 of the encrypted turnover counter, or `U1RP` (storno) / `VFJB` (training). */
  readonly encryptedTurnoverCounter: string;
  /** Hex serial of the signing certificate, or `<Ordnungsbegriff>-<Key-ID>` in a closed system. */
  readonly certificateSerial: string;
  /** Base64 of Sig-Voriger-Beleg. */
  readonly chainValue: string;
}

/** True for a well-formed `YYYY-MM-DDThh:mm:ss` naming a real calendar second (no leap second). */
export function isValidReceiptDateTime(text: string): boolean {
  const match = DATE_TIME.exec(text);
  if (match === null) return false;
  const [year, month, day, hour, minute, second] = match.slice(1).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const date = new Date(Date.UTC(year, month - 1, day, hour, minute, second));
  return (
    date.getUTCFullYear() === year &&
    date.getUTCMonth() === month - 1 &&
    date.getUTCDate() === day &&
    date.getUTCHours() === hour &&
    date.getUTCMinutes() === minute &&
    date.getUTCSeconds() === second
  );
}

/** The receipt time as the code wants it: wall-clock time in `timeZone` (default Vienna), without zone. */
export function formatReceiptDateTime(instant: Date, timeZone = 'Europe/Vienna'): string {
  if (Number.isNaN(instant.getTime())) throw new RangeError('Not a valid date');
  const { year, month, day, hour, minute, second } = zonedParts(instant, timeZone);
  const two = (value: number) => String(value).padStart(2, '0');
  const text = `${String(year).padStart(4, '0')}-${two(month)}-${two(day)}T${two(hour)}:${two(minute)}:${two(second)}`;
  if (!isValidReceiptDateTime(text)) throw new RangeError(`Cannot write ${instant.toISOString()} as a receipt time`);
  return text;
}

/** Sig-Voriger-Beleg: chains to the previous receipt's full JWS, or to the Kassen-ID for the first receipt. */
export function chainValue(previousJws: string | null, kassenId: string): string {
  const input = previousJws ?? kassenId;
  return base64Encode(createHash('sha256').update(input, 'utf8').digest().subarray(0, CHAIN_VALUE_BYTES));
}

/** The JWS payload (= the code without its signature). */
export function buildReceiptPayload(fields: RksvReceiptFields): string {
  return [
    '',
    `${fields.algorithmId}-${fields.zda}`,
    fields.kassenId,
    fields.receiptNumber,
    fields.dateTime,
    ...RKSV_TAX_SETS.map((set) => fields.amounts[set]),
    fields.encryptedTurnoverCounter,
    fields.certificateSerial,
    fields.chainValue,
  ].join('_');
}

/**
 * Splits a payload into its fields. Checks the structure only (13 `_`-separated segments, the first empty, an
 * `R<n>-<ZDA>` prefix); whether the values are valid is for a verifier to judge.
 */
export function parseReceiptPayload(payload: string): RksvReceiptFields {
  const segments = payload.split('_');
  if (segments.length !== PAYLOAD_SEGMENTS || segments[0] !== '') {
    throw new RangeError(`An RKSV payload has 12 fields after a leading "_": ${JSON.stringify(payload)}`);
  }
  const suite = (segments[1] ?? '').split('-');
  if (suite.length !== 2) throw new RangeError(`Not an R<n>-<ZDA> suite: ${JSON.stringify(segments[1])}`);
  const field = (index: number) => segments[index] ?? '';
  return {
    algorithmId: suite[0] ?? '',
    zda: suite[1] ?? '',
    kassenId: field(2),
    receiptNumber: field(3),
    dateTime: field(4),
    amounts: { normal: field(5), ermaessigt1: field(6), ermaessigt2: field(7), null: field(8), besonders: field(9) },
    encryptedTurnoverCounter: field(10),
    certificateSerial: field(11),
    chainValue: field(12),
  };
}

/** The bytes an ES256 device signs: `b64url(header).b64url(payload)` (RFC 7515 §5.1). */
export function jwsSigningInput(payload: string, header = JWS_HEADER_ES256): string {
  return `${base64UrlEncode(Buffer.from(header, 'utf8'))}.${base64UrlEncode(Buffer.from(payload, 'utf8'))}`;
}

/** The compact JWS; `signature` is raw r‖s, or `null` for a receipt whose signature device had failed. */
export function assembleJws(payload: string, signature: Buffer | null, header = JWS_HEADER_ES256): string {
  const signatureText = signature === null ? SIGNATURE_DEVICE_FAILED_SIGNATURE : base64UrlEncode(signature);
  return `${jwsSigningInput(payload, header)}.${signatureText}`;
}

export interface ParsedJws {
  /** The decoded header JSON text. */
  readonly header: string;
  readonly payload: string;
  readonly fields: RksvReceiptFields;
  /** `b64url(header).b64url(payload)` exactly as in the JWS — what the signature covers. */
  readonly signingInput: string;
  /** The raw signature bytes (r‖s), or the bytes of "Sicherheitseinrichtung ausgefallen". */
  readonly signature: Buffer;
  readonly signatureDeviceFailed: boolean;
}

/** Splits and decodes a compact JWS receipt; malformed segments throw a `RangeError`. */
export function parseJws(jws: string): ParsedJws {
  const segments = jws.split('.');
  if (segments.length !== 3) throw new RangeError('A compact JWS has three "."-separated segments');
  const [headerSegment = '', payloadSegment = '', signatureSegment = ''] = segments;
  const header = decodeUtf8(base64UrlDecode(headerSegment), 'JWS header');
  const payload = decodeUtf8(base64UrlDecode(payloadSegment), 'JWS payload');
  return {
    header,
    payload,
    fields: parseReceiptPayload(payload),
    signingInput: `${headerSegment}.${payloadSegment}`,
    signature: base64UrlDecode(signatureSegment),
    signatureDeviceFailed: signatureSegment === SIGNATURE_DEVICE_FAILED_SIGNATURE,
  };
}

function decodeUtf8(bytes: Buffer, what: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new RangeError(`${what} is not UTF-8`);
  }
}

/** True when the JWS carries the failed-device marker instead of a signature. */
export function isSignatureDeviceFailed(jws: string): boolean {
  return jws.split('.')[2] === SIGNATURE_DEVICE_FAILED_SIGNATURE;
}

/** QR code text: payload + `_` + Base64 (standard alphabet, padded) of the signature. */
export function jwsToQr(jws: string): string {
  const parsed = parseJws(jws);
  return `${parsed.payload}_${base64Encode(parsed.signature)}`;
}

export interface ParsedQr {
  readonly payload: string;
  readonly fields: RksvReceiptFields;
  readonly signature: Buffer;
}

/** Splits a QR code text into payload fields and signature bytes. */
export function parseQr(qr: string): ParsedQr {
  const cut = qr.lastIndexOf('_');
  if (cut < 0) throw new RangeError('A QR code ends in "_<signature>"');
  const payload = qr.slice(0, cut);
  return { payload, fields: parseReceiptPayload(payload), signature: base64Decode(qr.slice(cut + 1)) };
}

/** Back from QR code to the compact JWS (header is always `{"alg":"ES256"}` in suite R1). */
export function qrToJws(qr: string): string {
  const parsed = parseQr(qr);
  return `${jwsSigningInput(parsed.payload)}.${base64UrlEncode(parsed.signature)}`;
}

/** OCR code text: the QR code with Umsatzzähler, Sig-Voriger-Beleg and Signatur re-encoded from Base64 to BASE32. */
export function qrToOcr(qr: string): string {
  const { fields, signature } = parseQr(qr);
  const ocrFields: RksvReceiptFields = {
    ...fields,
    encryptedTurnoverCounter: base32Encode(base64Decode(fields.encryptedTurnoverCounter)),
    chainValue: base32Encode(base64Decode(fields.chainValue)),
  };
  return `${buildReceiptPayload(ocrFields)}_${base32Encode(signature)}`;
}

/** Back from OCR code to QR code. */
export function ocrToQr(ocr: string): string {
  const cut = ocr.lastIndexOf('_');
  if (cut < 0) throw new RangeError('An OCR code ends in "_<signature>"');
  const fields = parseReceiptPayload(ocr.slice(0, cut));
  const qrFields: RksvReceiptFields = {
    ...fields,
    encryptedTurnoverCounter: base64Encode(base32Decode(fields.encryptedTurnoverCounter)),
    chainValue: base64Encode(base32Decode(fields.chainValue)),
  };
  return `${buildReceiptPayload(qrFields)}_${base64Encode(base32Decode(ocr.slice(cut + 1)))}`;
}

export function jwsToOcr(jws: string): string {
  return qrToOcr(jwsToQr(jws));
}

/** The last path element of the receipt URL: Base64-URL (no padding) of the first 8 bytes of SHA-256(QR code). */
export function receiptUrlHash(qr: string): string {
  return base64UrlEncode(createHash('sha256').update(qr, 'utf8').digest().subarray(0, URL_HASH_BYTES));
}

/**
 * The URL form: `baseUrl` (where this server publishes QR code texts) + `/` + {@link receiptUrlHash}. The server
 * behind it must answer GET with the QR code text.
 */
export function receiptUrl(baseUrl: string, qr: string): string {
  const base = new URL(baseUrl);
  if (base.protocol !== 'https:' && base.protocol !== 'http:') throw new RangeError('A receipt URL is http(s)');
  if (base.search !== '' || base.hash !== '') throw new RangeError('The hash must be the last path element');
  return `${base.href.replace(/\/+$/, '')}/${receiptUrlHash(qr)}`;
}
