/**
 * Timestamps are stored and returned as fixed-width UTC strings (`2026-01-31T23:59:59.123Z`), so that text order
 * is time order in both database engines.
 * @module
 */

/** `toUtcString(new Date(0))` → `'1970-01-01T00:00:00.000Z'`. */
export function toUtcString(date: Date): string {
  return date.toISOString();
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/**
 * Normalises an RFC 3339 timestamp with any offset to the stored UTC form, or returns null if it is not one.
 * `normaliseTimestamp('2026-03-01T10:00:00+01:00')` → `'2026-03-01T09:00:00.000Z'`.
 */
export function normaliseTimestamp(value: string): string | null {
  if (!RFC3339.test(value)) return null;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}

/** Adds hours to a date: `addHours(new Date(0), 1).toISOString()` → `'1970-01-01T01:00:00.000Z'`. */
export function addHours(date: Date, hours: number): Date {
  return new Date(date.getTime() + hours * 3_600_000);
}
