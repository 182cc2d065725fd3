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

/** Wall-clock fields, to the second. */
export interface ZonedParts {
  readonly year: number;
  readonly month: number;
  readonly day: number;
  readonly hour: number;
  readonly minute: number;
  readonly second: number;
}

/**
 * One formatter per zone (building one costs far more than using it; a process sees few zones), and the fields of
 * the last second it formatted: `formatToParts` costs about 30 µs on the sales path, and the fields cannot differ
 * within one second, so every other event of that second in the zone reuses them.
 */
interface ZoneClock {
  readonly format: Intl.DateTimeFormat;
  second: number;
  parts: ZonedParts | null;
}

const ZONE_CLOCKS = new Map<string, ZoneClock>();

function zoneClock(timeZone: string): ZoneClock {
  let clock = ZONE_CLOCKS.get(timeZone);
  if (clock === undefined) {
    const format = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    clock = { format, second: Number.NaN, parts: null };
    ZONE_CLOCKS.set(timeZone, clock);
  }
  return clock;
}

/** The wall-clock fields of `date` in an IANA time zone. */
export function zonedParts(date: Date, timeZone: string): ZonedParts {
  const clock = zoneClock(timeZone);
  const second = Math.floor(date.getTime() / 1000);
  if (clock.parts !== null && clock.second === second) return clock.parts;
  const parts = clock.format.formatToParts(date);
  const field = (type: string) => Number(parts.find((part) => part.type === type)?.value ?? 0);
  const fields: ZonedParts = Object.freeze({
    year: field('year'),
    month: field('month'),
    day: field('day'),
    hour: field('hour'),
    minute: field('minute'),
    second: field('second'),
  });
  clock.second = second;
  clock.parts = fields;
  return fields;
}

/** `YYYY-MM-DD` of `date` in the IANA time zone (the business day). */
export function businessDate(date: Date, timeZone: string): string {
  const { year, month, day } = zonedParts(date, timeZone);
  return `${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
}

/**
 * The instant a local wall-clock time has in a time zone: `zonedTimeToUtc('2026-03-01', '23:30', 'Europe/Berlin')` →
 * 2026-03-01T22:30:00Z. A time skipped by a DST change resolves to the instant after the gap.
 */
export function zonedTimeToUtc(date: string, time: string, timeZone: string): Date {
  const [year = 0, month = 1, day = 1] = date.split('-').map(Number);
  const [hour = 0, minute = 0] = time.split(':').map(Number);
  const wanted = Date.UTC(year, month - 1, day, hour, minute);
  const offsetAt = (instant: number) => {
    const p = zonedParts(new Date(instant), timeZone);
    return Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second) - instant;
  };
  // Two rounds settle the offset on either side of a DST change.
  let guess = wanted - offsetAt(wanted);
  guess = wanted - offsetAt(guess);
  return new Date(guess);
}
