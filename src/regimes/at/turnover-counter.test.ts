import { createCipheriv, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  aesKeyCheckValue,
  decodeTurnoverCounter,
  decryptTurnoverCounter,
  encodeTurnoverCounter,
  encryptTurnoverCounter,
  generateAesKey,
  parseAesKey,
  STORNO_TURNOVER_COUNTER,
  TRAINING_TURNOVER_COUNTER,
  turnoverCounterIv,
} from './turnover-counter.js';

// The Mustercode test suites' AES key; the expected values come from the DEP ztp-at/RKSV generated with it
// (shared/conformance-artifacts/austria/generated-sample) and from Python's hashlib.
const MUSTERCODE_KEY = 'WQRtiiya3hYh/Uz44Bv3x8ETl1nrH6nCdErn69g5/lU=';
const context = { aesKey: parseAesKey(MUSTERCODE_KEY), kassenId: 'CASHBOX-DEMO-1', receiptNumber: '' };

describe('turnover counter encryption', () => {
  it('reproduces counters ztp-at/RKSV wrote for the Mustercode key', () => {
    expect(turnoverCounterIv('CASHBOX-DEMO-1', 'CASHBOX-DEMO-1-Receipt-ID-1').toString('hex')).toBe(
      '4229bc5028e623692c1e7ae498b47f3f',
    );
    expect(encryptTurnoverCounter({ ...context, receiptNumber: 'CASHBOX-DEMO-1-Receipt-ID-1' }, 0n)).toBe(
      '4r1iIdZGeAQ=',
    );
    // Receipt 7 of the sample follows 504,01 € of turnover (receipt 6, failed device).
    expect(decryptTurnoverCounter({ ...context, receiptNumber: 'CASHBOX-DEMO-1-Receipt-ID-7' }, 'albA1g2F6vI=')).toBe(
      50501n,
    );
  });

  it('agrees with the Mustercode formulation: AES-ECB(IV) as keystream, XORed with the plaintext', () => {
    const key = generateAesKey();
    for (let size = 5; size <= 16; size++) {
      const receipt = { aesKey: key, kassenId: 'K-1', receiptNumber: String(size) };
      const cents = -(10n ** BigInt(size)) + 7n;
      const ecb = createCipheriv('aes-256-ecb', key, null).setAutoPadding(false);
      const keystream = ecb.update(turnoverCounterIv('K-1', String(size)));
      const plain = encodeTurnoverCounter(cents, size);
      const expected = Buffer.from(plain.map((byte, index) => byte ^ (keystream[index] ?? 0)));
      const field = encryptTurnoverCounter(receipt, cents, size);
      expect(Buffer.from(field, 'base64')).toEqual(expected);
      expect(decryptTurnoverCounter(receipt, field)).toBe(cents);
    }
  });

  it('writes big-endian two’s complement and refuses values that do not fit', () => {
    expect(encodeTurnoverCounter(-1n, 5).toString('hex')).toBe('ffffffffff');
    expect(encodeTurnoverCounter(258n, 8).toString('hex')).toBe('0000000000000102');
    expect(encodeTurnoverCounter(2n ** 39n - 1n, 5).toString('hex')).toBe('7fffffffff');
    expect(() => encodeTurnoverCounter(2n ** 39n, 5)).toThrow(/does not fit/);
    expect(() => encodeTurnoverCounter(-(2n ** 39n) - 1n, 5)).toThrow(/does not fit/);
    expect(decodeTurnoverCounter(Buffer.from('ffffffffffffff85', 'hex'))).toBe(-123n);
    expect(() => encodeTurnoverCounter(0n, 4)).toThrow(/5 to 16/);
    expect(() => encodeTurnoverCounter(0n, 17)).toThrow(/5 to 16/);
  });

  it('refuses markers, malformed Base64 and impossible widths on decryption', () => {
    expect(() => decryptTurnoverCounter(context, STORNO_TURNOVER_COUNTER)).toThrow(/storno or training/);
    expect(() => decryptTurnoverCounter(context, TRAINING_TURNOVER_COUNTER)).toThrow(/storno or training/);
    expect(() => decryptTurnoverCounter(context, 'X5hMYA==')).toThrow(/5 to 16/);
    expect(() => decryptTurnoverCounter(context, 'abc&')).toThrow(RangeError);
  });

  it('needs a 32-byte key', () => {
    expect(() => parseAesKey(randomBytes(16).toString('base64'))).toThrow(/32 bytes/);
    expect(() => encryptTurnoverCounter({ ...context, aesKey: randomBytes(31) }, 0n)).toThrow(/32 bytes/);
  });
});

describe('aesKeyCheckValue', () => {
  it('is Base64 of the first 3 bytes of SHA-256 over the Base64 key text, without padding (AESCheckSum.java)', () => {
    expect(aesKeyCheckValue(MUSTERCODE_KEY)).toBe('omRR');
    expect(aesKeyCheckValue(MUSTERCODE_KEY, 4)).toMatch(/^[A-Za-z0-9+/]{6}$/);
  });
});
