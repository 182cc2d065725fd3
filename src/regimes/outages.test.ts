import { describe, expect, it } from 'vitest';
import { JURISDICTIONS } from './jurisdictions.js';
import { outageDurationSeconds, outageReportRequired, outageReportThresholdHours } from './outages.js';

const HOUR = 3600;

describe(outageReportThresholdHours.name, () => {
  it('is 48 hours in Austria (RKSV § 17 Abs. 4: report failures of more than 48 hours via FinanzOnline)', () => {
    expect(outageReportThresholdHours('AT')).toBe(48);
  });

  it.each(JURISDICTIONS.filter((j) => j !== 'AT'))('is null in %s (no reporting duty modelled)', (jurisdiction) => {
    expect(outageReportThresholdHours(jurisdiction)).toBeNull();
  });
});

describe(outageReportRequired.name, () => {
  it.each([
    [0, false],
    [47 * HOUR, false],
    [48 * HOUR, false],
    [48 * HOUR + 1, true],
    [49 * HOUR, true],
    [400 * HOUR, true],
  ])('AT: an outage of %i s must be reported: %s', (seconds, expected) => {
    expect(outageReportRequired('AT', seconds)).toBe(expected);
  });

  it.each(JURISDICTIONS.filter((j) => j !== 'AT'))('%s: never, however long', (jurisdiction) => {
    expect(outageReportRequired(jurisdiction, 10_000 * HOUR)).toBe(false);
  });
});

describe(outageDurationSeconds.name, () => {
  it('counts whole seconds, rounding down', () => {
    expect(outageDurationSeconds(new Date('2026-03-01T10:00:00.000Z'), new Date('2026-03-03T11:00:01.999Z'))).toBe(
      49 * HOUR + 1,
    );
  });

  it('is never negative when the end precedes the start', () => {
    expect(outageDurationSeconds(new Date('2026-03-01T10:00:01.000Z'), new Date('2026-03-01T10:00:00.000Z'))).toBe(0);
  });
});
