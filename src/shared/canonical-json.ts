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
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  // Members without a JSON form (undefined, functions, symbols) are dropped, as JSON.stringify does.
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined && typeof v !== 'function' && typeof v !== 'symbol')
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}
