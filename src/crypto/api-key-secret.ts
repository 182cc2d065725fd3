/**
 * API key strings: `ofk_<kind>_<env>_<secret>`, secret = 40 random base62 characters (≈ 238 bits).
 * Only an HMAC-SHA256 of the whole key under the server's pepper is stored; lookups compare digests, and the
 * final comparison is constant-time.
 * @module
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Environment, KeyKind } from '../shared/tenant.js';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
export const SECRET_LENGTH = 40;

const KIND_TOKENS = { setup: 'setup', platform: 'platform', organization: 'org', register: 'reg' } as const;
const KEY_SHAPE = /^ofk_(setup|platform|org|reg)_(test|live)_([0-9A-Za-z]{32,128})$/;

export interface ParsedApiKey {
  readonly kind: KeyKind;
  readonly environment: Environment;
}

/** A fresh key, e.g. `generateApiKey('platform', 'test')` → `ofk_platform_test_3kXf…`. */
export function generateApiKey(kind: KeyKind, environment: Environment): string {
  return `ofk_${KIND_TOKENS[kind]}_${environment}_${randomBase62(SECRET_LENGTH)}`;
}

/** Reads the kind and environment of a key, or null when the string does not have the shape of one. */
export function parseApiKey(key: string): ParsedApiKey | null {
  const match = KEY_SHAPE.exec(key);
  if (match === null) return null;
  const kind = (Object.keys(KIND_TOKENS) as KeyKind[]).find((k) => KIND_TOKENS[k] === match[1]);
  if (kind === undefined) return null;
  return { kind, environment: match[2] === 'live' ? 'live' : 'test' };
}

/** Hex HMAC-SHA256 of the key under the pepper: what the database stores and indexes. */
export function hashApiKey(pepper: Buffer, key: string): string {
  return createHmac('sha256', pepper).update(key, 'utf8').digest('hex');
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

/** Constant-time equality of two hex SHA-256 digests; anything that is not one is unequal. */
export function digestsEqual(a: string, b: string): boolean {
  if (!SHA256_HEX.test(a) || !SHA256_HEX.test(b)) return false;
  return timingSafeEqual(Buffer.from(a, 'hex'), Buffer.from(b, 'hex'));
}

/** What listings show: the prefix and the last four characters, e.g. `ofk_platform_test_…x9Qz`. */
export function maskApiKey(kind: KeyKind, environment: Environment, last4: string): string {
  return `ofk_${KIND_TOKENS[kind]}_${environment}_…${last4}`;
}

/** Uniform random base62 characters (rejection sampling: no modulo bias). */
function randomBase62(length: number): string {
  let out = '';
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      if (byte < 248) out += BASE62.charAt(byte % 62);
      if (out.length === length) break;
    }
  }
  return out;
}
