/**
 * The journal's hash chain (api.md §8; docs/architecture.md, "The journal"). Every value is lowercase hex SHA-256:
 *
 * - `payload_hash = SHA-256(UTF-8 bytes of the canonical JSON payload)`
 * - `entry_hash = SHA-256(prev_hash ‖ seq ‖ payload_hash)` over exactly 72 bytes: the 32 raw bytes of `prev_hash`,
 *   `seq` as an unsigned 64-bit big-endian integer, the 32 raw bytes of `payload_hash`.
 *
 * Fixed-width binary fields leave no room for ambiguous concatenations, and the encoding is a one-liner to recompute
 * (`hashlib.sha256(bytes.fromhex(prev) + struct.pack('>Q', seq) + bytes.fromhex(ph))`).
 * @module
 */
import { createHash } from 'node:crypto';

/** The `prev_hash` of a register's first entry. */
export const GENESIS_HASH = '0'.repeat(64);

const HASH = /^[0-9a-f]{64}$/;
const MAX_SEQ = 2n ** 64n - 1n;

/** Hex SHA-256 of the payload text as stored (it must already be canonical JSON). */
export function payloadHash(canonicalJson: string): string {
  return createHash('sha256').update(canonicalJson, 'utf8').digest('hex');
}

function hashBytes(name: string, hex: string): Buffer {
  // Buffer.from(hex) silently stops at the first non-hex character; a malformed hash must not shorten the input.
  if (!HASH.test(hex)) throw new RangeError(`${name} is not 64 lowercase hex digits: ${JSON.stringify(hex)}`);
  return Buffer.from(hex, 'hex');
}

/** Hex SHA-256 of `prev_hash (32 bytes) ‖ seq (8 bytes, big-endian) ‖ payload_hash (32 bytes)`. */
export function entryHash(prevHash: string, seq: bigint, payloadHashHex: string): string {
  if (seq < 1n || seq > MAX_SEQ) throw new RangeError(`seq ${String(seq)} is outside 1..2^64-1`);
  const seqBytes = Buffer.alloc(8);
  seqBytes.writeBigUInt64BE(seq);
  return createHash('sha256')
    .update(hashBytes('prev_hash', prevHash))
    .update(seqBytes)
    .update(hashBytes('payload_hash', payloadHashHex))
    .digest('hex');
}
