import fc, { type JsonValue } from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson } from './canonical-json.js';

/** JSON has no -0: `JSON.stringify(-0)` is `0`, and `toEqual` tells 0 from -0. */
function withoutNegativeZero(value: JsonValue): JsonValue {
  if (typeof value === 'number') return value === 0 ? 0 : value;
  if (Array.isArray(value)) return value.map(withoutNegativeZero);
  if (value === null || typeof value !== 'object') return value;
  const result: Record<string, JsonValue> = Object.fromEntries(
    Object.entries(value).flatMap(([k, v]) => (v === undefined ? [] : [[k, withoutNegativeZero(v)]])),
  );
  return result;
}

/** A copy of `value` whose objects were built with their keys in a pseudo-random order drawn from `seed`. */
function withShuffledKeys(value: JsonValue, seed: number): JsonValue {
  let state = seed >>> 0;
  const random = () => {
    // mulberry32
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const shuffle = (v: JsonValue): JsonValue => {
    if (Array.isArray(v)) return v.map(shuffle);
    if (v === null || typeof v !== 'object') return v;
    const entries = Object.entries(v);
    for (let i = entries.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      const a = entries[i];
      const b = entries[j];
      if (a !== undefined && b !== undefined) [entries[i], entries[j]] = [b, a];
    }
    const shuffled: Record<string, JsonValue> = Object.fromEntries(
      entries.flatMap(([k, inner]) => (inner === undefined ? [] : [[k, shuffle(inner)]])),
    );
    return shuffled;
  };
  return shuffle(value);
}

describe(canonicalJson.name, () => {
  describe('examples', () => {
    it('sorts keys and writes no whitespace', () => {
      expect(canonicalJson({ b: 1, a: [true, null] })).toBe('{"a":[true,null],"b":1}');
    });

    it('sorts nested objects, also inside arrays', () => {
      expect(canonicalJson({ z: { y: 1, x: [{ d: 1, c: 2 }] }, a: 'A' })).toBe(
        '{"a":"A","z":{"x":[{"c":2,"d":1}],"y":1}}',
      );
    });

    it('sorts keys by UTF-16 code units (digits < upper case < lower case, "10" < "9")', () => {
      expect(canonicalJson({ b: 0, aa: 0, a: 0, B: 0, 9: 0, 10: 0 })).toBe('{"10":0,"9":0,"B":0,"a":0,"aa":0,"b":0}');
    });

    it('sorts an astral character (surrogate pair) before U+FF61, as UTF-16 code units do', () => {
      expect(canonicalJson({ '\uff61': 1, '😀': 2 })).toBe('{"😀":2,"｡":1}');
    });

    it('writes primitives like JSON.stringify', () => {
      expect([null, true, false, 0, -0, 1.5, 1e21, 'a"b\\c\n', ''].map(canonicalJson)).toEqual([
        'null',
        'true',
        'false',
        '0',
        '0',
        '1.5',
        '1e+21',
        '"a\\"b\\\\c\\n"',
        '""',
      ]);
    });

    it('writes empty containers', () => {
      expect([canonicalJson({}), canonicalJson([]), canonicalJson({ a: {} })]).toEqual(['{}', '[]', '{"a":{}}']);
    });

    it('drops undefined object members like JSON.stringify', () => {
      expect(canonicalJson({ a: undefined, b: 1 })).toBe('{"b":1}');
    });

    it('writes undefined array elements and non-finite numbers as null, like JSON.stringify', () => {
      expect(canonicalJson([undefined, Number.NaN, Number.POSITIVE_INFINITY])).toBe('[null,null,null]');
    });

    it('writes a top-level undefined as null', () => {
      expect(canonicalJson(undefined)).toBe('null');
    });

    // BUG: the module comment says functions and symbols "as object members … are dropped like JSON.stringify",
    // but only `undefined` members are filtered out; function and symbol members are written as `null`
    // (`canonicalJson({ a: () => 1 })` → '{"a":null}', JSON.stringify gives '{}'). Not reachable from parsed
    // JSON bodies, but the implementation contradicts its own documentation.
    it('drops function and symbol object members like JSON.stringify', () => {
      expect(canonicalJson({ a: () => 1, b: Symbol('s'), c: 1 })).toBe('{"c":1}');
    });
  });

  describe('properties', () => {
    it('parses back to the same JSON value', () => {
      fc.assert(
        fc.property(fc.jsonValue(), (value) => {
          expect(JSON.parse(canonicalJson(value))).toEqual(withoutNegativeZero(value));
        }),
        { numRuns: 500 },
      );
    });

    it('does not depend on the order keys were inserted in', () => {
      fc.assert(
        fc.property(fc.jsonValue(), fc.integer(), (value, seed) => {
          expect(canonicalJson(withShuffledKeys(value, seed))).toBe(canonicalJson(value));
        }),
        { numRuns: 500 },
      );
    });

    it('is a fixed point: canonicalising the parsed output gives the same text', () => {
      fc.assert(
        fc.property(fc.jsonValue(), (value) => {
          const text = canonicalJson(value);
          expect(canonicalJson(JSON.parse(text))).toBe(text);
        }),
        { numRuns: 300 },
      );
    });

    it('gives different text for objects that differ in one value', () => {
      fc.assert(
        fc.property(fc.dictionary(fc.string(), fc.integer()), fc.string(), fc.integer(), (object, key, value) => {
          const changed = { ...object, [key]: value };
          const other = { ...object, [key]: value + 1 };
          expect(canonicalJson(changed)).not.toBe(canonicalJson(other));
        }),
        { numRuns: 200 },
      );
    });
  });
});
