/**
 * The encrypted turnover counter "Stand-Umsatz-Zaehler-AES256-ICM" (Detailspezifikation Z 8, Z 9): the register's
 * running total in cents as a big-endian two's-complement number of 5 to 16 bytes, encrypted with AES-256 in ICM
 * (= CTR) mode under the register's AES key with IV = the first 16 bytes of SHA-256(Kassen-ID ‖ Belegnummer), and
 * Base64 encoded. Only as many cipher bytes as plaintext bytes are kept, so a reader learns the size from the length.
 * Storno and training receipts carry the Base64 of `STO` / `TRA` instead (Z 4).
 * @module
 */
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { base64Decode, base64Encode } from './encoding.js';

export const MIN_TURNOVER_COUNTER_BYTES = 5;
export const MAX_TURNOVER_COUNTER_BYTES = 16;
export const DEFAULT_TURNOVER_COUNTER_BYTES = 8;
export const AES_KEY_BYTES = 32;
/** Base64 of `STO`: the counter field of a storno receipt. */
export const STORNO_TURNOVER_COUNTER = 'U1RP';
/** Base64 of `TRA`: the counter field of a training receipt. */
export const TRAINING_TURNOVER_COUNTER = 'VFJB';
/** How many hash bytes the FinanzOnline check value of an AES key takes (AESCheckSum.java: N = 3). */
export const AES_KEY_CHECK_VALUE_BYTES = 3;

const IV_BYTES = 16;

function checkCounterBytes(size: number): void {
  if (!Number.isInteger(size) || size < MIN_TURNOVER_COUNTER_BYTES || size > MAX_TURNOVER_COUNTER_BYTES) {
    throw new RangeError(
      `A turnover counter has ${MIN_TURNOVER_COUNTER_BYTES} to ${MAX_TURNOVER_COUNTER_BYTES} bytes, not ${size}`,
    );
  }
}

function checkAesKey(aesKey: Buffer): void {
  if (aesKey.length !== AES_KEY_BYTES) throw new RangeError(`An RKSV AES key has 32 bytes, not ${aesKey.length}`);
}

/** A fresh random AES-256 key for a new register. */
export function generateAesKey(): Buffer {
  return randomBytes(AES_KEY_BYTES);
}

/** Decodes the Base64 AES key (as registered in FinanzOnline and kept in the crypto container); must be 32 bytes. */
export function parseAesKey(base64AesKey: string): Buffer {
  const key = base64Decode(base64AesKey);
  checkAesKey(key);
  return key;
}

/**
 * The optional check value FinanzOnline takes with a manually registered AES key (Mustercode AESCheckSum.java):
 * SHA-256 over the Base64 key *text*, its first `numberOfBytes` bytes in Base64 with any `=` removed.
 */
export function aesKeyCheckValue(base64AesKey: string, numberOfBytes = AES_KEY_CHECK_VALUE_BYTES): string {
  if (!Number.isInteger(numberOfBytes) || numberOfBytes < 1 || numberOfBytes > 32) {
    throw new RangeError(`A check value takes 1 to 32 hash bytes, not ${numberOfBytes}`);
  }
  const hash = createHash('sha256').update(base64AesKey, 'utf8').digest();
  return base64Encode(hash.subarray(0, numberOfBytes)).replace(/=+$/, '');
}

/** IV = first 16 bytes of SHA-256 over the UTF-8 of Kassen-ID immediately followed by Belegnummer. */
export function turnoverCounterIv(kassenId: string, receiptNumber: string): Buffer {
  return createHash('sha256')
    .update(kassenId + receiptNumber, 'utf8')
    .digest()
    .subarray(0, IV_BYTES);
}

/** `cents` as a big-endian two's-complement number of `size` bytes; throws when it does not fit. */
export function encodeTurnoverCounter(cents: bigint, size: number): Buffer {
  checkCounterBytes(size);
  const bits = BigInt(size * 8);
  const limit = 1n << (bits - 1n);
  if (cents < -limit || cents >= limit) throw new RangeError(`Turnover counter ${cents} does not fit in ${size} bytes`);
  let value = BigInt.asUintN(size * 8, cents);
  const bytes = Buffer.alloc(size);
  for (let index = size - 1; index >= 0; index--) {
    bytes[index] = Number(value & 0xffn);
    value >>= 8n;
  }
  return bytes;
}

/** The inverse of {@link encodeTurnoverCounter}. */
export function decodeTurnoverCounter(bytes: Buffer): bigint {
  checkCounterBytes(bytes.length);
  const unsigned = bytes.reduce((value, byte) => (value << 8n) | BigInt(byte), 0n);
  return BigInt.asIntN(bytes.length * 8, unsigned);
}

// CTR is its own inverse: the same keystream XOR encrypts and decrypts.
function aesIcm(aesKey: Buffer, iv: Buffer, data: Buffer): Buffer {
  checkAesKey(aesKey);
  const cipher = createCipheriv('aes-256-ctr', aesKey, iv);
  return Buffer.concat([cipher.update(data), cipher.final()]);
}

export interface TurnoverCounterContext {
  readonly aesKey: Buffer;
  readonly kassenId: string;
  readonly receiptNumber: string;
}

/** The Base64 field value for a turnover counter of `turnoverCents`, `counterBytes` wide. */
export function encryptTurnoverCounter(
  context: TurnoverCounterContext,
  turnoverCents: bigint,
  counterBytes = DEFAULT_TURNOVER_COUNTER_BYTES,
): string {
  const plaintext = encodeTurnoverCounter(turnoverCents, counterBytes);
  return base64Encode(aesIcm(context.aesKey, turnoverCounterIv(context.kassenId, context.receiptNumber), plaintext));
}

/**
 * Decrypts a counter field back to cents; its width is the decoded length. Throws a `RangeError` for `STO`/`TRA`
 * markers, malformed Base64 and widths outside 5–16 bytes.
 */
export function decryptTurnoverCounter(context: TurnoverCounterContext, field: string): bigint {
  if (field === STORNO_TURNOVER_COUNTER || field === TRAINING_TURNOVER_COUNTER) {
    throw new RangeError(`${field} marks a storno or training receipt and holds no counter`);
  }
  const ciphertext = base64Decode(field);
  checkCounterBytes(ciphertext.length);
  return decodeTurnoverCounter(
    aesIcm(context.aesKey, turnoverCounterIv(context.kassenId, context.receiptNumber), ciphertext),
  );
}
