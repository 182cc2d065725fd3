/**
 * The three RFC 4648 encodings the RKSV Detailspezifikation uses (its Z 1 "Standards"): BASE64 with padding in the
 * machine-readable code, BASE64-URL without padding in the JWS, and BASE32 with padding in the OCR code. The decoders
 * are strict — Node's own `Buffer.from(…, 'base64')` silently skips junk, which would let a malformed receipt parse.
 * @module
 */

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const BASE64_URL = /^[A-Za-z0-9_-]*$/;
const BASE32_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const BASE32 = /^(?:[A-Z2-7]{8})*(?:[A-Z2-7]{2}={6}|[A-Z2-7]{4}={4}|[A-Z2-7]{5}={3}|[A-Z2-7]{7}=)?$/;

export function base64Encode(bytes: Buffer): string {
  return bytes.toString('base64');
}

/** Decodes padded standard Base64; anything else — wrong alphabet, missing padding, non-zero spare bits — throws. */
export function base64Decode(text: string): Buffer {
  if (!BASE64.test(text)) throw new RangeError(`Not padded Base64: ${JSON.stringify(text)}`);
  const bytes = Buffer.from(text, 'base64');
  // Spare bits must be zero, else two texts would decode to the same bytes.
  if (bytes.toString('base64') !== text) throw new RangeError(`Not canonical Base64: ${JSON.stringify(text)}`);
  return bytes;
}

/** Base64-URL without padding, as JWS (RFC 7515 §2) requires. */
export function base64UrlEncode(bytes: Buffer): string {
  return bytes.toString('base64url');
}

/** Decodes unpadded Base64-URL; padding, the standard alphabet's `+`/`/` and non-canonical texts throw. */
export function base64UrlDecode(text: string): Buffer {
  if (!BASE64_URL.test(text) || text.length % 4 === 1) {
    throw new RangeError(`Not unpadded Base64-URL: ${JSON.stringify(text)}`);
  }
  const bytes = Buffer.from(text, 'base64url');
  if (bytes.toString('base64url') !== text) throw new RangeError(`Not canonical Base64-URL: ${JSON.stringify(text)}`);
  return bytes;
}

/** RFC 4648 BASE32 with `=` padding (what the Mustercode's commons-codec `Base32` writes). */
export function base32Encode(bytes: Buffer): string {
  let text = '';
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = ((buffer << 8) | byte) & 0xffff;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      text += BASE32_ALPHABET.charAt((buffer >> bits) & 0x1f);
    }
  }
  if (bits > 0) text += BASE32_ALPHABET.charAt((buffer << (5 - bits)) & 0x1f);
  return text + '='.repeat((8 - (text.length % 8)) % 8);
}

/** Decodes padded upper-case RFC 4648 BASE32; non-zero spare bits and wrong padding throw. */
export function base32Decode(text: string): Buffer {
  if (!BASE32.test(text)) throw new RangeError(`Not padded BASE32: ${JSON.stringify(text)}`);
  const digits = text.replace(/=+$/, '');
  const bytes: number[] = [];
  let buffer = 0;
  let bits = 0;
  for (const digit of digits) {
    buffer = ((buffer << 5) | BASE32_ALPHABET.indexOf(digit)) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      bytes.push((buffer >> bits) & 0xff);
    }
  }
  if ((buffer & ((1 << bits) - 1)) !== 0) throw new RangeError(`Not canonical BASE32: ${JSON.stringify(text)}`);
  return Buffer.from(bytes);
}
