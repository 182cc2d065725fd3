/**
 * Canonical JSON: object keys sorted (by UTF-16 code units), no whitespace, so that equal values always give the
 * same bytes and hence the same hash.
 * @module
 */

/** `canonicalJson({ b: 1, a: [true, null] })` → `'{"a":[true,null],"b":1}'`. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    const encoded = JSON.stringify(value) as string | undefined;
    // undefined, functions and symbols have no JSON form: null in arrays and at the top, as JSON.stringify does.
    return encoded ?? 'null';
  }
  // Plain loops and string concatenation: this runs for every journal entry, on the hot path.
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i += 1) out += (i === 0 ? '' : ',') + canonicalJson(value[i]);
    return out + ']';
  }
  const record = value as Record<string, unknown>;
  // Default sort compares UTF-16 code units, as the format requires.
  const keys = Object.keys(record).sort();
  let out = '{';
  let first = true;
  for (const key of keys) {
    const member = record[key];
    // Members without a JSON form (undefined, functions, symbols) are dropped, as JSON.stringify does.
    if (member === undefined || typeof member === 'function' || typeof member === 'symbol') continue;
    out += (first ? '' : ',') + JSON.stringify(key) + ':' + canonicalJson(member);
    first = false;
  }
  return out + '}';
}
