/**
 * Timestamps are stored and returned as fixed-width UTC strings (`2026-01-31T23:59:59.123Z`), so that text order
 * is time order in both database engines.
 * @module
 */

/** `toUtcString(new Date(0))` → `'1970-01-01T00:00:00.000Z'`. */
export function toUtcString(date: Date): string {
  return date.toISOString();
}

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/**
 * Normalises an RFC 3339 timestamp with any offset to the stored UTC form, or returns null if it is not one.
 * Impossible dates (30 February, hour 24) are refused rather than rolled over, and so are instants outside the
 * years 0001–9999 in UTC, whose ISO form would not be fixed-width.
 * `normaliseTimestamp('2026-03-01T10:00:00+01:00')` → `'2026-03-01T09:00:00.000Z'`.
 */
export function normaliseTimestamp(value: string): string | null {
  const match = RFC3339.exec(value);
  if (match === null) return null;
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const offset = match[8] ?? 'Z';
  const offsetValid =
    offset.toUpperCase() === 'Z' || (Number(offset.slice(1, 3)) <= 23 && Number(offset.slice(4, 6)) <= 59);
  if (
    month < 1 ||
    month > 12 ||
    day < 1 ||
    day > daysInMonth(year, month) ||
    hour > 23 ||
    minute > 59 ||
    second > 59 ||
    !offsetValid
  ) {
    return null;
  }
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return null;
  const utcYear = date.getUTCFullYear();
  return utcYear >= 1 && utcYear <= 9999 ? date.toISOString() : null;
}

/** Adds hours to a date: `addHours(new Date(0), 1).toISOString()` → `'1970-01-01T01:00:00.000Z'`. */
export function addHours(date: Date, hours: number): Date {
  return new Date(date.getTime() + hours * 3_600_000);
}
