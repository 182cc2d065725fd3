import { describe, expect, it } from 'vitest';
import { open, seal } from './secret-box.js';

const KEY = Buffer.alloc(32, 0x11);
const OTHER_KEY = Buffer.alloc(32, 0x22);
const AD = 'idempotency_keys/key_01';
const HEADER_BYTES = 1 + 12 + 16; // version ‖ iv ‖ tag

/** `sealed` with the byte at `index` flipped. */
function flipByte(sealed: string, index: number): string {
  const bytes = Buffer.from(sealed, 'base64');
  bytes[index] = (bytes[index] ?? 0) ^ 0x01;
  return bytes.toString('base64');
}

describe('secret-box', () => {
  describe(seal.name, () => {
    it('writes version 1, a 12-byte IV, a 16-byte tag and a ciphertext as long as the plaintext', () => {
      const bytes = Buffer.from(seal(KEY, 'hello', AD), 'base64');
      expect(bytes[0]).toBe(1);
      expect(bytes.length).toBe(HEADER_BYTES + 5);
    });

    it('does not contain the plaintext', () => {
      const bytes = Buffer.from(seal(KEY, 'ofk_platform_test_secret', AD), 'base64');
      expect(bytes.includes(Buffer.from('ofk_platform_test_secret'))).toBe(false);
    });

    it('gives a different result each time (random IV)', () => {
      expect(seal(KEY, 'same', AD)).not.toBe(seal(KEY, 'same', AD));
    });
  });

  describe(open.name, () => {
    it.each(['', 'hello', '{"api_key":"ofk_org_live_abc"}', 'Grüße – 日本 – 🧾', 'x'.repeat(100_000)])(
      'round-trips %j',
      (plaintext) => {
        expect(open(KEY, seal(KEY, plaintext, AD), AD)).toBe(plaintext);
      },
    );

    it('round-trips with empty associated data', () => {
      expect(open(KEY, seal(KEY, 'body', ''), '')).toBe('body');
    });

    it('throws when one ciphertext byte is changed', () => {
      const sealed = seal(KEY, 'a response body', AD);
      expect(() => open(KEY, flipByte(sealed, HEADER_BYTES + 3), AD)).toThrow();
    });

    it('throws when the authentication tag is changed', () => {
      const sealed = seal(KEY, 'a response body', AD);
      expect(() => open(KEY, flipByte(sealed, 1 + 12), AD)).toThrow();
    });

    it('throws when the IV is changed', () => {
      const sealed = seal(KEY, 'a response body', AD);
      expect(() => open(KEY, flipByte(sealed, 1), AD)).toThrow();
    });

    it('refuses an unknown version byte', () => {
      const sealed = seal(KEY, 'a response body', AD);
      expect(() => open(KEY, flipByte(sealed, 0), AD)).toThrow('unsupported sealed-box version');
    });

    it('throws with different associated data (a ciphertext copied into another row)', () => {
      const sealed = seal(KEY, 'a response body', AD);
      expect(() => open(KEY, sealed, 'idempotency_keys/key_02')).toThrow();
    });

    it('throws with a different key', () => {
      const sealed = seal(KEY, 'a response body', AD);
      expect(() => open(OTHER_KEY, sealed, AD)).toThrow();
    });

    it('throws on a truncated box', () => {
      const sealed = seal(KEY, 'a response body', AD);
      const truncated = Buffer.from(sealed, 'base64')
        .subarray(0, HEADER_BYTES + 4)
        .toString('base64');
      expect(() => open(KEY, truncated, AD)).toThrow();
    });

    it('throws on an empty string', () => {
      expect(() => open(KEY, '', AD)).toThrow('unsupported sealed-box version');
    });
  });
});
