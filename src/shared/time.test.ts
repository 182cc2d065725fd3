import { describe, expect, it } from 'vitest';
import { addHours, businessDate, normaliseTimestamp, toUtcString, zonedParts } from './time.js';

describe(toUtcString.name, () => {
  it('writes the epoch as a fixed-width UTC string', () => {
    expect(toUtcString(new Date(0))).toBe('1970-01-01T00:00:00.000Z');
  });

  it('always writes milliseconds', () => {
    expect(toUtcString(new Date(Date.UTC(2026, 0, 31, 23, 59, 59, 5)))).toBe('2026-01-31T23:59:59.005Z');
  });
});

describe(normaliseTimestamp.name, () => {
  it.each([
    ['2026-03-01T10:00:00+01:00', '2026-03-01T09:00:00.000Z'],
    ['2026-03-01T10:00:00-05:30', '2026-03-01T15:30:00.000Z'],
    ['2026-03-01T00:30:00+01:00', '2026-02-28T23:30:00.000Z'],
    ['2026-03-01T10:00:00Z', '2026-03-01T10:00:00.000Z'],
    ['2026-03-01T10:00:00.5Z', '2026-03-01T10:00:00.500Z'],
    ['2026-03-01T10:00:00.123456Z', '2026-03-01T10:00:00.123Z'],
    ['2026-03-01t10:00:00z', '2026-03-01T10:00:00.000Z'],
    ['2024-02-29T12:00:00Z', '2024-02-29T12:00:00.000Z'],
    ['2026-01-31T23:59:59.123Z', '2026-01-31T23:59:59.123Z'],
  ])('normalises %s to %s', (input, expected) => {
    expect(normaliseTimestamp(input)).toBe(expected);
  });

  it.each([
    '2026-03-01',
    '2026-03-01T10:00:00',
    '2026-03-01 10:00:00Z',
    '2026-03-01T10:00Z',
    '2026-03-01T10:00:00+0100',
    '2026-03-01T10:00:00+25:00',
    '2026-13-01T00:00:00Z',
    '2026-01-32T00:00:00Z',
    '1772359200',
    'now',
    '',
    ' 2026-03-01T10:00:00Z',
  ])('refuses %j', (input) => {
    expect(normaliseTimestamp(input)).toBeNull();
  });

  // BUG: RFC 3339 day-of-month is bounded by the month, but `new Date` rolls impossible dates over, so they are
  // accepted and silently moved to another day instead of returning null as documented.
  it('refuses 30 February (rolled over to 2 March)', () => {
    expect(normaliseTimestamp('2026-02-30T00:00:00Z')).toBeNull();
  });

  it('refuses 29 February in a common year (rolled over to 1 March)', () => {
    expect(normaliseTimestamp('2025-02-29T00:00:00Z')).toBeNull();
  });

  it('refuses 31 April (rolled over to 1 May)', () => {
    expect(normaliseTimestamp('2026-04-31T00:00:00Z')).toBeNull();
  });

  // BUG: RFC 3339 hours are 00–23; `24:00:00` is accepted and becomes midnight of the next day.
  it('refuses hour 24', () => {
    expect(normaliseTimestamp('2026-01-01T24:00:00Z')).toBeNull();
  });

  // BUG: the module promises fixed-width UTC strings so that text order is time order, but an offset that moves
  // the instant past year 9999 (or before year 0) yields the extended-year form of toISOString
  // (`+010000-01-01T04:00:00.000Z`), which sorts before `9999-…` as text.
  it('never returns anything but the fixed-width form', () => {
    const result = normaliseTimestamp('9999-12-31T23:00:00-05:00');
    expect(result === null || /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/.test(result)).toBe(true);
  });

  it('returns fixed-width strings for ordinary years', () => {
    const results = ['0001-01-01T00:00:00Z', '1999-12-31T23:59:59.999+00:00', '9999-12-31T23:59:59Z'].map(
      normaliseTimestamp,
    );
    expect(results).toEqual(['0001-01-01T00:00:00.000Z', '1999-12-31T23:59:59.999Z', '9999-12-31T23:59:59.000Z']);
  });
});

describe(addHours.name, () => {
  it('adds whole hours', () => {
    expect(addHours(new Date(0), 1).toISOString()).toBe('1970-01-01T01:00:00.000Z');
  });

  it('adds days worth of hours across a month end', () => {
    expect(addHours(new Date('2026-01-31T12:00:00Z'), 24 * 7).toISOString()).toBe('2026-02-07T12:00:00.000Z');
  });

  it('subtracts negative and adds fractional hours', () => {
    expect(addHours(new Date(0), -1.5).toISOString()).toBe('1969-12-31T22:30:00.000Z');
  });

  it('does not change the given date', () => {
    const date = new Date(0);
    addHours(date, 5);
    expect(date.getTime()).toBe(0);
  });
});

describe(zonedParts.name, () => {
  /** The fields as a fresh formatter gives them, without any reuse. */
  function reference(date: Date, timeZone: string) {
    const parts = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    }).formatToParts(date);
    const { year, month, day, hour, minute, second } = Object.fromEntries(
      parts.filter((part) => part.type !== 'literal').map((part) => [part.type, Number(part.value)]),
    );
    return { year, month, day, hour, minute, second };
  }

  it('gives the wall clock across the spring DST change in Berlin, second by second', () => {
    // 2026-03-29 01:00:00Z: 01:59:59 CET is followed by 03:00:00 CEST.
    expect(zonedParts(new Date('2026-03-29T00:59:59.999Z'), 'Europe/Berlin')).toEqual({
      year: 2026,
      month: 3,
      day: 29,
      hour: 1,
      minute: 59,
      second: 59,
    });
    expect(zonedParts(new Date('2026-03-29T01:00:00.000Z'), 'Europe/Berlin')).toEqual({
      year: 2026,
      month: 3,
      day: 29,
      hour: 3,
      minute: 0,
      second: 0,
    });
  });

  it('answers every millisecond of a second alike, and the next second anew', () => {
    const base = Date.UTC(2026, 11, 31, 22, 59, 59);
    for (const ms of [0, 1, 499, 998, 999]) {
      expect(zonedParts(new Date(base + ms), 'Europe/Vienna').hour).toBe(23);
    }
    // One millisecond later it is the next year in Vienna.
    expect(zonedParts(new Date(base + 1000), 'Europe/Vienna')).toEqual(
      reference(new Date(base + 1000), 'Europe/Vienna'),
    );
    expect(businessDate(new Date(base + 999), 'Europe/Vienna')).toBe('2026-12-31');
    expect(businessDate(new Date(base + 1000), 'Europe/Vienna')).toBe('2027-01-01');
  });

  it('matches a fresh formatter for interleaved zones and instants, before the epoch too', () => {
    const zones = ['Europe/Berlin', 'America/New_York', 'Asia/Kolkata', 'Australia/Lord_Howe', 'UTC'];
    const instants = [
      -1,
      -1000,
      -1001,
      0,
      Date.UTC(2026, 9, 25, 0, 59, 59, 999),
      Date.UTC(2026, 9, 25, 1, 0, 0, 0),
      Date.UTC(2026, 9, 25, 1, 0, 0, 1),
      Date.UTC(2026, 10, 1, 5, 59, 59, 500),
      Date.UTC(2026, 10, 1, 6, 0, 0, 500),
    ];
    for (const instant of [...instants, ...instants.slice().reverse()]) {
      for (const zone of zones) {
        expect(zonedParts(new Date(instant), zone), `${new Date(instant).toISOString()} in ${zone}`).toEqual(
          reference(new Date(instant), zone),
        );
      }
    }
  });

  it('refuses an invalid date as Intl does', () => {
    expect(() => zonedParts(new Date(Number.NaN), 'Europe/Berlin')).toThrow(RangeError);
  });
});
