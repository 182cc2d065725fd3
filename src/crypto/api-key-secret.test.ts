import { describe, expect, it } from 'vitest';
import type { Environment, KeyKind } from '../shared/tenant.js';
import { SECRET_LENGTH, digestsEqual, generateApiKey, hashApiKey, maskApiKey, parseApiKey } from './api-key-secret.js';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const KINDS: readonly [KeyKind, string][] = [
  ['setup', 'setup'],
  ['platform', 'platform'],
  ['organization', 'org'],
  ['register', 'reg'],
];
const ENVIRONMENTS: readonly Environment[] = ['test', 'live'];
const secret = (length: number) => 'a'.repeat(length);

describe(generateApiKey.name, () => {
  it.each(KINDS)('writes a %s key as ofk_%s_<env>_<40 base62 characters>', (kind, token) => {
    expect(generateApiKey(kind, 'live')).toMatch(new RegExp(`^ofk_${token}_live_[0-9A-Za-z]{40}$`));
  });

  it('uses a 40-character secret', () => {
    expect(SECRET_LENGTH).toBe(40);
    expect(generateApiKey('platform', 'test').slice('ofk_platform_test_'.length)).toHaveLength(40);
  });

  it('gives a different key every time', () => {
    const keys = new Set(Array.from({ length: 100 }, () => generateApiKey('register', 'test')));
    expect(keys.size).toBe(100);
  });

  it('uses every base62 character, about equally often, over 2000 keys', () => {
    const counts = new Map<string, number>();
    for (let i = 0; i < 2000; i++) {
      for (const char of generateApiKey('platform', 'test').slice('ofk_platform_test_'.length)) {
        counts.set(char, (counts.get(char) ?? 0) + 1);
      }
    }
    expect(Array.from(counts.keys()).sort().join('')).toBe(BASE62.split('').sort().join(''));
    // 80 000 characters: 1290 expected per character, standard deviation ≈ 35.6; ± 6σ never fails by chance but
    // catches a modulo bias (characters 0–7 would get 5/256 instead of 4/256, ≈ 1560 each).
    const outside = [...counts.entries()].filter(([, n]) => n < 1076 || n > 1504);
    expect(outside).toEqual([]);
  });
});

describe(parseApiKey.name, () => {
  it.each(KINDS.flatMap(([kind]) => ENVIRONMENTS.map((environment) => [kind, environment] as const)))(
    'reads back the kind and environment of a generated %s/%s key',
    (kind, environment) => {
      expect(parseApiKey(generateApiKey(kind, environment))).toEqual({ kind, environment });
    },
  );

  it('accepts secrets of 32 to 128 characters', () => {
    expect(parseApiKey(`ofk_org_test_${secret(32)}`)).toEqual({ kind: 'organization', environment: 'test' });
    expect(parseApiKey(`ofk_org_test_${secret(128)}`)).toEqual({ kind: 'organization', environment: 'test' });
  });

  it.each([
    ['a secret of 31 characters', `ofk_org_test_${secret(31)}`],
    ['a secret of 129 characters', `ofk_org_test_${secret(129)}`],
    ['the long kind name', `ofk_organization_test_${secret(40)}`],
    ['an unknown kind', `ofk_admin_test_${secret(40)}`],
    ['an unknown environment', `ofk_org_prod_${secret(40)}`],
    ['a non-base62 character', `ofk_org_test_${secret(39)}-`],
    ['another prefix', `sk_org_test_${secret(40)}`],
    ['upper-case prefix', `OFK_org_test_${secret(40)}`],
    ['a trailing newline', `ofk_org_test_${secret(40)}\n`],
    ['leading whitespace', ` ofk_org_test_${secret(40)}`],
    ['the empty string', ''],
    ['a masked key', 'ofk_org_test_…aaaa'],
  ])('refuses %s', (_, key) => {
    expect(parseApiKey(key)).toBeNull();
  });
});

describe(hashApiKey.name, () => {
  const pepper = Buffer.alloc(32, 1);
  const key = `ofk_platform_test_${secret(40)}`;

  it('is HMAC-SHA256 in hex (RFC 4231 test case 2)', () => {
    expect(hashApiKey(Buffer.from('Jefe'), 'what do ya want for nothing?')).toBe(
      '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
    );
  });

  it('is deterministic', () => {
    expect(hashApiKey(pepper, key)).toBe(hashApiKey(Buffer.alloc(32, 1), key));
  });

  it('differs per pepper', () => {
    expect(hashApiKey(pepper, key)).not.toBe(hashApiKey(Buffer.alloc(32, 2), key));
  });

  it('differs per key', () => {
    expect(hashApiKey(pepper, key)).not.toBe(hashApiKey(pepper, `${key.slice(0, -1)}b`));
  });
});

describe(digestsEqual.name, () => {
  const digest = hashApiKey(Buffer.alloc(32, 1), 'ofk_platform_test_x');

  it('is true for the same digest', () => {
    expect(digestsEqual(digest, digest.slice(0))).toBe(true);
  });

  it('is false when one hex digit differs', () => {
    const other = `${digest.slice(0, -1)}${digest.endsWith('0') ? '1' : '0'}`;
    expect(digestsEqual(digest, other)).toBe(false);
  });

  it('is false for digests of different lengths (instead of throwing)', () => {
    expect(digestsEqual(digest, digest.slice(0, 62))).toBe(false);
  });
});

describe(maskApiKey.name, () => {
  it.each(KINDS)('shows the %s prefix and the last four characters', (kind, token) => {
    expect(maskApiKey(kind, 'live', 'x9Qz')).toBe(`ofk_${token}_live_…x9Qz`);
  });

  it('matches the start and end of the key it masks', () => {
    const key = generateApiKey('organization', 'test');
    const masked = maskApiKey('organization', 'test', key.slice(-4));
    expect([masked.split('…')[0], masked.split('…')[1]]).toEqual(['ofk_org_test_', key.slice(-4)]);
  });
});
