import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson } from './canonical-json.js';
import { entryHash, GENESIS_HASH, payloadHash } from './hash-chain.js';

// Vectors computed independently, with Python's hashlib and with openssl (the recipes in docs/architecture.md).
const PAYLOAD = '{"a":1}';
const PAYLOAD_HASH = '015abd7f5cc57a2dd94b7590f04ad8084273905ee33ec5cebeae62276a97f862';

describe('hash chain', () => {
  it('has a genesis hash of 64 zeros', () => {
    expect(GENESIS_HASH).toBe('0'.repeat(64));
  });

  it('hashes the payload text as UTF-8', () => {
    expect(payloadHash(PAYLOAD)).toBe(PAYLOAD_HASH);
    expect(payloadHash(canonicalJson({ a: 1 }))).toBe(PAYLOAD_HASH);
    expect(payloadHash('"ä"')).toBe(
      createHash('sha256')
        .update(Buffer.from([0x22, 0xc3, 0xa4, 0x22]))
        .digest('hex'),
    );
  });

  it('hashes prev_hash (32 bytes) ‖ seq (8 bytes big-endian) ‖ payload_hash (32 bytes)', () => {
    expect(entryHash(GENESIS_HASH, 1n, PAYLOAD_HASH)).toBe(
      'd105cd8286ee5762f7295fc32a39cecc36f8b07eecb7b06f0a40fe04c09af3ed',
    );
    expect(entryHash('ab'.repeat(32), 2n ** 40n + 7n, PAYLOAD_HASH)).toBe(
      'fd6220b7f60cc4cd10f6e03f21de4e43c62f41fe910b5964d7fca8fe122601f7',
    );
  });

  it('equals SHA-256 over the 72-byte concatenation', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 1n, max: 2n ** 64n - 1n }),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.string(),
        (seq, prev, payload) => {
          const seqBytes = Buffer.alloc(8);
          seqBytes.writeBigUInt64BE(seq);
          const ph = payloadHash(payload);
          const expected = createHash('sha256')
            .update(Buffer.concat([Buffer.from(prev), seqBytes, Buffer.from(ph, 'hex')]))
            .digest('hex');
          expect(entryHash(Buffer.from(prev).toString('hex'), seq, ph)).toBe(expected);
        },
      ),
    );
  });

  it('changes with every input', () => {
    const base = entryHash(GENESIS_HASH, 1n, PAYLOAD_HASH);
    expect(entryHash(GENESIS_HASH, 2n, PAYLOAD_HASH)).not.toBe(base);
    expect(entryHash('1'.padStart(64, '0'), 1n, PAYLOAD_HASH)).not.toBe(base);
    expect(entryHash(GENESIS_HASH, 1n, payloadHash('{"a":2}'))).not.toBe(base);
  });

  it('refuses malformed hashes and sequence numbers out of range', () => {
    expect(() => entryHash('00', 1n, PAYLOAD_HASH)).toThrow(RangeError);
    expect(() => entryHash(GENESIS_HASH.toUpperCase().replace(/0$/, 'A'), 1n, PAYLOAD_HASH)).toThrow(RangeError);
    expect(() => entryHash(GENESIS_HASH, 1n, `${PAYLOAD_HASH.slice(0, 63)}g`)).toThrow(RangeError);
    expect(() => entryHash(GENESIS_HASH, 0n, PAYLOAD_HASH)).toThrow(RangeError);
    expect(() => entryHash(GENESIS_HASH, 2n ** 64n, PAYLOAD_HASH)).toThrow(RangeError);
  });
});
