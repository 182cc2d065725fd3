import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { base32Decode, base32Encode, base64Decode, base64UrlDecode, base64UrlEncode } from './encoding.js';

describe('base32Encode / base32Decode', () => {
  // RFC 4648 §10 test vectors.
  const vectors: Array<[string, string]> = [
    ['', ''],
    ['f', 'MY======'],
    ['fo', 'MZXQ===='],
    ['foo', 'MZXW6==='],
    ['foob', 'MZXW6YQ='],
    ['fooba', 'MZXW6YTB'],
    ['foobar', 'MZXW6YTBOI======'],
  ];

  it('matches the RFC 4648 vectors both ways', () => {
    for (const [plain, encoded] of vectors) {
      expect(base32Encode(Buffer.from(plain, 'latin1'))).toBe(encoded);
      expect(base32Decode(encoded).toString('latin1')).toBe(plain);
    }
  });

  it('round-trips random bytes of every length up to 70', () => {
    for (let length = 0; length <= 70; length++) {
      const bytes = randomBytes(length);
      expect(base32Decode(base32Encode(bytes))).toEqual(bytes);
    }
  });

  it('refuses lower case, missing padding and non-zero spare bits', () => {
    expect(() => base32Decode('my======')).toThrow(RangeError);
    expect(() => base32Decode('MY')).toThrow(RangeError);
    expect(() => base32Decode('MZ======')).toThrow(/canonical/);
  });
});

describe('strict Base64 decoders', () => {
  it('decode canonical padded Base64 and refuse everything else', () => {
    expect(base64Decode('U1RP').toString()).toBe('STO');
    expect(base64Decode('YQ==').toString()).toBe('a');
    for (const bad of ['YQ', 'YR==', 'Y Q==', 'abc&', '==', 'ab-_']) {
      expect(() => base64Decode(bad)).toThrow(RangeError);
    }
  });

  it('decode unpadded Base64-URL and refuse padding and the standard alphabet', () => {
    expect(base64UrlEncode(Buffer.from([0xfb, 0xff]))).toBe('-_8');
    expect(base64UrlDecode('-_8')).toEqual(Buffer.from([0xfb, 0xff]));
    for (const bad of ['-_8=', '+/8', 'a', 'ab==', 'abc&']) expect(() => base64UrlDecode(bad)).toThrow(RangeError);
  });
});
