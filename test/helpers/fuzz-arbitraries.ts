/**
 * fast-check arbitraries for hostile input: unicode edge strings, numbers at the limits of JSON and of the money
 * schema, impossible and extreme dates, malformed JSON, deep nesting, wrong content types, garbage headers and
 * query strings. Values that plain JSON cannot carry (`-0`, `1e400`, integer literals beyond 2^64) travel as
 * {@link RawJson} and are spliced into the serialized body.
 */
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';

/** A JSON literal sent exactly as written. */
export class RawJson {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

const RAW_MARK = `__fuzz_raw_${randomBytes(6).toString('hex')}_`;

/** `JSON.stringify`, with every {@link RawJson} written as its literal text. */
export function serializeBody(body: unknown): string {
  const raws: string[] = [];
  const text = JSON.stringify(body, (_key, value: unknown) => {
    if (value instanceof RawJson) {
      raws.push(value.text);
      return `${RAW_MARK}${raws.length - 1}`;
    }
    return value;
  });
  return raws.length === 0
    ? text
    : text.replace(new RegExp(`"${RAW_MARK}(\\d+)"`, 'g'), (_, i: string) => raws[Number(i)] ?? 'null');
}

// ---------------------------------------------------------------------------------------------------------------
// Strings

/** NUL, bidi overrides, 4-byte emoji and ZWJ sequences, combining marks, BOM, line separators, injection bait. */
export const UNICODE_EDGE_STRINGS: readonly string[] = [
  '\u0000',
  'a\u0000b',
  '\u202Egnp.exe\u202C',
  '\u200F\u05E9\u05DC\u05D5\u05DD',
  '\u0627\u0644\u0639\u0631\u0628\u064A\u0629 \u202B123\u202C',
  '\u{1F600}',
  '\u{1F468}\u200D\u{1F469}\u200D\u{1F467}\u200D\u{1F466}',
  '\u{1F1E9}\u{1F1EA}',
  '\u{1D54F}\u{1D550}\u2124',
  '\u{10FFFF}',
  '\uFEFF',
  '\u200B',
  '\u00A0',
  '\u2028\u2029',
  '\r\n',
  '\t',
  ' ',
  '  padded  ',
  'e\u0301',
  'I\u0307stanbul',
  'Stra\u00DFe',
  '\uFB03',
  '\u0085',
  '\u001B[31mred',
  '\u007F',
  '\uFFFD',
  '\uFFFF',
  'Z\u0338\u0322\u034E\u0344a\u0337l\u0336g\u0335o\u0334',
  '%00',
  '%s%n%x',
  '${jndi:ldap://x/a}',
  "'; DROP TABLE operations; --",
  '<script>alert(1)</script>',
  '\\',
  '"',
  '{}',
  'null',
  '__proto__',
];

/** Does the string contain NUL (U+0000)? */
export const hasNul = (text: string): boolean => text.includes('\u0000');

/**
 * Hostile strings for a field of at most `maxLength` code points: edge strings, arbitrary code points (no lone
 * surrogates: they are not valid JSON text), graphemes, and lengths at, just over and far over the limit made of
 * 4-byte characters (a limit counts code points, a database may count bytes).
 */
export function hostileString(maxLength: number | undefined): fc.Arbitrary<string> {
  const limit = maxLength ?? 255;
  return fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...UNICODE_EDGE_STRINGS) },
    { weight: 2, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }) },
    { weight: 1, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }) },
    {
      weight: 2,
      arbitrary: fc.constantFrom(
        '\u{1F600}'.repeat(limit),
        '\u{1F600}'.repeat(limit + 1),
        'x'.repeat(limit + 1),
        '\u202E'.repeat(limit),
        'x'.repeat(100_000),
      ),
    },
  );
}

// ---------------------------------------------------------------------------------------------------------------
// Numbers

/** Numbers at the limits: int32/int64/2^53 edges, the money maximum, IEEE extremes, 4+ decimals, and raw literals. */
export const BOUNDARY_NUMBERS: ReadonlyArray<number | RawJson> = [
  0,
  1,
  -1,
  0.5,
  -0.5,
  2 ** 31 - 1,
  2 ** 31,
  -(2 ** 31),
  2 ** 32,
  2 ** 53 - 1,
  2 ** 53,
  -(2 ** 53 - 1),
  -(2 ** 53),
  1e12,
  1e12 + 1,
  1e15,
  1e21,
  1e308,
  -1e308,
  Number.MAX_VALUE,
  Number.MIN_VALUE,
  Number.EPSILON,
  0.1 + 0.2,
  1.0001,
  0.0001,
  2.5555,
  999_999.9999,
  1_000_000,
  1_000_000.001,
  1e-7,
  new RawJson('-0'),
  new RawJson('-0.0'),
  new RawJson('1e400'),
  new RawJson('-1e400'),
  new RawJson('1E2'),
  new RawJson('1.0'),
  new RawJson('123456789012345678901234567890'),
  new RawJson('9007199254740993'),
  new RawJson('0.1e-400'),
  new RawJson('1.00000000000000000001'),
];

export const boundaryNumber: fc.Arbitrary<number | RawJson> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...BOUNDARY_NUMBERS) },
  { weight: 1, arbitrary: fc.double({ noNaN: true, noDefaultInfinity: true }) },
  { weight: 1, arbitrary: fc.integer() },
  { weight: 1, arbitrary: fc.maxSafeInteger() },
);

/** Quantities with 4 to 9 decimals (the contract allows at most 3), positive and within the schema's maximum. */
export const overPreciseQuantity: fc.Arbitrary<number> = fc.oneof(
  fc.constantFrom(1.0001, 0.0001, 2.5555, 999_999.9999, 0.0005, 1.123456789),
  fc
    .tuple(fc.integer({ min: 0, max: 999_999 }), fc.integer({ min: 4, max: 9 }), fc.integer({ min: 1, max: 9 }))
    .map(([whole, decimals, digit]) => Number(`${whole}.${'0'.repeat(decimals - 1)}${digit}`)),
);

// ---------------------------------------------------------------------------------------------------------------
// Dates

/** Not RFC 3339 date-times at all, or impossible ones (Feb 30, month 13, hour 24…): always refused. */
export const INVALID_DATES: readonly string[] = [
  '2026-02-30T10:00:00Z',
  '2026-02-29T10:00:00Z',
  '2026-13-01T00:00:00Z',
  '2026-00-10T00:00:00Z',
  '2026-01-32T00:00:00Z',
  '2026-04-31T00:00:00Z',
  '2026-01-01T24:00:00Z',
  '2026-01-01T25:00:00Z',
  '2026-01-01T12:60:00Z',
  '2026-01-01T12:00:61Z',
  '2026-01-01T12:00:00+25:00',
  '2026-01-01',
  '2026-01-01T12:00:00',
  '12:00:00Z',
  '',
  'now',
  'yesterday',
  '0',
  '1767225600',
  '2026-01-01T12:00:00Z ',
  ' 2026-01-01T12:00:00Z',
  '\uFF12\uFF10\uFF12\uFF16-01-01T12:00:00Z',
  '+002026-01-01T12:00:00Z',
  '-000001-01-01T00:00:00Z',
  '20260101T120000Z',
];

/** Valid in form but at the edges of time: year 0 and 9999, leap second, ±14 h offsets, 1970, 2038, 2106. */
export const EXTREME_DATES: readonly string[] = [
  '0000-01-01T00:00:00Z',
  '0001-01-01T00:00:00Z',
  '0000-01-01T00:00:00+01:00',
  '9999-12-31T23:59:59Z',
  '9999-12-31T23:59:59.999-12:00',
  '1970-01-01T00:00:00Z',
  '1969-12-31T23:59:59.999Z',
  '2024-02-29T12:00:00Z',
  '2025-12-31T23:59:60Z',
  '2026-03-01T10:00:00+14:00',
  '2026-03-01T10:00:00-23:59',
  '2026-03-01t10:00:00z',
  '2026-03-01 10:00:00Z',
  '2026-03-01T10:00:00.123456789Z',
  '2038-01-19T03:14:08Z',
  '2106-02-07T06:28:16Z',
];

export const extremeDate: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...EXTREME_DATES) },
  {
    weight: 1,
    arbitrary: fc
      .date({ min: new Date('0000-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59Z'), noInvalidDate: true })
      .map((date) => date.toISOString()),
  },
);

// ---------------------------------------------------------------------------------------------------------------
// Bodies

/** `[[[…]]]`, `depth` levels. */
export const deepArray = (depth: number): string => '['.repeat(depth) + ']'.repeat(depth);

/** `{"key":{"key":…1…}}`, `depth` levels. */
export const deepObject = (depth: number, key = 'a'): string =>
  `{${JSON.stringify(key)}:`.repeat(depth) + '1' + '}'.repeat(depth);

/** Any JSON value, unicode keys and strings included. */
export const anyJson: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 4, stringUnit: 'binary' }),
  fc.jsonValue({ maxDepth: 2 }),
  fc.dictionary(fc.string({ unit: 'binary', maxLength: 20 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 8 }),
);

/**
 * Text that is not JSON, derived from a valid body's text so that it gets as far as the parser can go: strict
 * prefixes, trailing garbage, single quotes, trailing commas, comments, NaN, raw control characters in strings.
 */
export function malformedJson(validText: string): fc.Arbitrary<string> {
  const object = validText.startsWith('{') ? validText : '{"a":1}';
  // JSON.parse accepts prototype keys; the server's parser must refuse them all the same.
  const malformed = (text: string) => {
    if (/__proto__|"constructor"/.test(text)) return true;
    try {
      JSON.parse(text);
      return false;
    } catch {
      return true;
    }
  };
  return fc
    .oneof(
      fc.integer({ min: 1, max: Math.max(1, object.length - 1) }).map((end) => object.slice(0, end)),
      fc.constantFrom('x', '}', ',', '{}', 'null', ']', '"').map((tail) => object + tail),
      fc.constant(object.replace('"', "'")),
      fc.constant(object.length > 2 ? `${object.slice(0, -1)},}` : '{,}'),
      fc.constant(`/* comment */${object}`),
      fc.constant(`{"a": NaN, ${object.slice(1)}`),
      fc.constant(`{"a": Infinity}`),
      fc.constant(`{"a": undefined}`),
      fc.constant(`{"a":\n"line\u0001break"}`),
      fc.constant(`{a: 1}`),
      fc.constant(`{"a": 01}`),
      fc.constant(`{"a": .5}`),
      fc.constant(`{"a": +1}`),
      fc.constant(`{"a": 0x10}`),
      fc.constant(`{"a": "\\x41"}`),
      fc.constant(`{"a": "\\u12"}`),
      fc.constant(`{"__proto__": {"polluted": true}}`),
      fc.constant(`{"constructor": {"prototype": {"polluted": true}}}`),
      fc.constant(`${'{"__proto__":'.repeat(2000)}1${'}'.repeat(2000)}`),
      fc.constant('\u0000'),
      fc.constant('[1, 2'),
      fc.constant('"unterminated'),
      fc.constant('tru'),
    )
    .filter(malformed);
}

/** Media types that are not JSON: every one must be answered 415. */
export const NON_JSON_CONTENT_TYPES: readonly string[] = [
  'text/plain',
  'text/plain; charset=utf-8',
  'text/html',
  'text/json',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=----fuzz',
  'application/xml',
  'application/octet-stream',
  'application/jsonx',
  'application/json2',
  'application/x-json',
  'image/png',
  'garbage',
  'json',
  'application',
  '/',
];

// ---------------------------------------------------------------------------------------------------------------
// Headers

/**
 * Authorization values that can never authenticate: wrong schemes, empty or truncated tokens, the valid key with
 * one character changed, its environment or kind swapped, overlong and non-ASCII values.
 */
export function badAuthorization(validKey: string): fc.Arbitrary<string | readonly string[]> {
  const secretStart = validKey.lastIndexOf('_') + 1;
  const flip = (index: number) => {
    const position = secretStart + (index % (validKey.length - secretStart));
    const char = validKey[position] === 'A' ? 'B' : 'A';
    return validKey.slice(0, position) + char + validKey.slice(position + 1);
  };
  return fc
    .oneof(
      fc.constantFrom(
        '',
        'Bearer',
        'Bearer ',
        'Basic dXNlcjpwYXNz',
        'Token abc',
        'Bearer null',
        'Bearer ofk_platform_test_',
        `Bearer ofk_platform_live_${'A'.repeat(40)}`,
        `Bearer ${validKey.replace('_test_', '_live_')}`,
        `Bearer ${validKey.replace('ofk_platform_', 'ofk_org_')}`,
        `Bearer ${validKey.slice(0, -1)}`,
        `Bearer ${validKey}x`,
        `Bearer ${validKey} ${validKey}`,
        validKey,
        `Bearer ${'A'.repeat(10_000)}`,
        `Bearer ${validKey}\u0000`,
        `Bearer \u{1F600}`,
      ),
      fc.nat().map((index) => `Bearer ${flip(index)}`),
      fc.string({ unit: 'binary-ascii', maxLength: 80 }),
      fc.string({ unit: 'binary', maxLength: 40 }).map((text) => `Bearer ${text}`),
      fc.constant(['Bearer a', 'Bearer b']),
    )
    .filter((value) => value !== `Bearer ${validKey}`);
}

/**
 * Idempotency-Key values outside 1–255 printable ASCII characters. (A header sent twice is not among them: Node
 * joins repeated headers into one value, `a, b`, which is a well-formed key.)
 */
export const badIdempotencyKey: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('', 'x'.repeat(256), 'x'.repeat(10_000), '\u0001', 'a\u007Fb', 'caf\u00E9', '\u{1F600}', 'a\tb'),
  fc
    .tuple(fc.string({ maxLength: 20 }), fc.integer({ min: 0, max: 31 }), fc.string({ maxLength: 20 }))
    .map(([before, control, after]) => `${before}${String.fromCharCode(control)}${after}`),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 30 }).filter((text) => !/^[\x20-\x7E]{1,255}$/.test(text)),
);

/** Any OpenFiskal-Organization value, also well-formed ids of no organization and the header sent twice. */
export function badOrganizationHeader(ownOrganizationId: string, unknownOrganizationId: string) {
  return fc.oneof(
    fc.constantFrom(
      '',
      ' ',
      'org_',
      'null',
      unknownOrganizationId,
      `${ownOrganizationId} `,
      ownOrganizationId.toUpperCase(),
    ),
    fc.string({ unit: 'binary-ascii', maxLength: 60 }),
    fc.string({ unit: 'binary', maxLength: 30 }),
    fc.constant([ownOrganizationId, ownOrganizationId]),
  );
}

// ---------------------------------------------------------------------------------------------------------------
// Query strings

export interface BadQuery {
  /** The encoded query string, without `?`. */
  readonly query: string;
  /** The parameter the answer must name. */
  readonly param: string;
}

const q = (name: string, value: string) => `${encodeURIComponent(name)}=${encodeURIComponent(value)}`;

/**
 * A list query with exactly one invalid parameter (out-of-range limit, garbage cursor, non-date from/to, bad
 * order or filter, unknown or repeated parameter), the others valid. `knownNames` are the endpoint's parameters,
 * `enumParams` those with a fixed set of values.
 */
export function badListQuery(
  knownNames: readonly string[],
  enumParams: ReadonlyMap<string, readonly string[]>,
): fc.Arbitrary<BadQuery> {
  const known = new Set(knownNames);
  const validExtra = fc.constantFrom('', 'limit=1', 'limit=200', 'order=desc', 'order=asc', 'limit=50&order=asc');
  const bad = fc.oneof(
    fc
      .constantFrom('0', '-1', '201', '1000', 'abc', '1.5', 'NaN', 'Infinity', '', '-0', '1e3', '99999999999999999999')
      .map((value): BadQuery => ({ query: q('limit', value), param: 'limit' })),
    fc
      .oneof(fc.string({ unit: 'binary', minLength: 1, maxLength: 60 }), fc.constant('x'.repeat(501)))
      .map((value): BadQuery => ({ query: q('cursor', value), param: 'cursor' })),
    fc
      .tuple(fc.constantFrom('from', 'to'), fc.constantFrom(...INVALID_DATES))
      .map(([name, value]): BadQuery => ({ query: q(name, value), param: name })),
    fc
      .constantFrom('ASC', 'DESC', 'up', '', 'asc ', 'random', '1')
      .map((value): BadQuery => ({ query: q('order', value), param: 'order' })),
    fc
      .oneof(
        fc.constantFrom('__proto__', 'constructor', 'hasOwnProperty', 'toString', 'page', 'offset', 'LIMIT'),
        fc
          .string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 20 })
          .filter((name) => /^[A-Za-z_][\w.-]*$/.test(name)),
      )
      .filter((name) => !known.has(name))
      .map((name): BadQuery => ({ query: q(name, 'x'), param: name })),
    fc
      .constantFrom(
        ['limit', 'limit=1&limit=2'],
        ['order', 'order=asc&order=desc'],
        ['from', 'from=2026-01-01T00:00:00Z&from=2026-01-02T00:00:00Z'],
        ['to', 'to=2026-01-01T00:00:00Z&to=2026-01-01T00:00:00Z'],
      )
      .map(([param, query]): BadQuery => ({ query, param })),
    ...[...enumParams.entries()].map(([name, values]) =>
      fc
        .oneof(fc.constantFrom('bogus', '', 'ALL', `${values[0] ?? 'x'} `), fc.string({ maxLength: 10 }))
        .filter((value) => !values.includes(value))
        .map((value): BadQuery => ({ query: q(name, value), param: name })),
    ),
  );
  return fc.tuple(bad, validExtra).map(([{ query, param }, extra]) => {
    // A repeated parameter's first occurrence must not be the valid extra one.
    const clash = extra.split('&').some((part) => part.startsWith(`${param}=`));
    return { query: extra === '' || clash ? query : `${extra}&${query}`, param };
  });
}

/** Any query string at all: known and unknown names, repeated names, arbitrary (validly %-encoded) values. */
export function anyQuery(names: readonly string[]): fc.Arbitrary<string> {
  const name = fc.oneof(
    fc.constantFrom(...names, '__proto__', 'constructor'),
    fc.string({ unit: 'binary', maxLength: 12 }),
  );
  const value = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 40 }),
    fc.constantFrom('', '0', '-1', '201', 'desc', ...EXTREME_DATES, ...INVALID_DATES),
  );
  return fc
    .array(fc.tuple(name, value, fc.boolean()), { maxLength: 6 })
    .map((pairs) => pairs.map(([key, text, bare]) => (bare ? encodeURIComponent(key) : q(key, text))).join('&'));
}
