import { describe, expect, it } from 'vitest';
import { JURISDICTIONS } from '../regimes/jurisdictions.js';
import { defaultTimezone, isCountryCode, isTimezone } from './countries.js';

describe(isCountryCode.name, () => {
  it.each(['DE', 'AT', 'IT', 'FR', 'NO', 'SE', 'US', 'GB', 'CH', 'AX', 'ZW'])('accepts %s', (code) => {
    expect(isCountryCode(code)).toBe(true);
  });

  it.each(['XX', 'UK', 'EU', 'de', 'De', 'DEU', 'D', '', ' DE'])('refuses %j', (code) => {
    expect(isCountryCode(code)).toBe(false);
  });
});

describe(defaultTimezone.name, () => {
  it.each([
    ['DE', 'Europe/Berlin'],
    ['AT', 'Europe/Vienna'],
    ['IT', 'Europe/Rome'],
    ['FR', 'Europe/Paris'],
    ['NO', 'Europe/Oslo'],
    ['SE', 'Europe/Stockholm'],
  ])('gives %s the zone %s', (country, zone) => {
    expect(defaultTimezone(country)).toBe(zone);
  });

  it.each(['US', 'ES', 'PT', 'RU', 'XX', 'de'])('has no default for %s', (country) => {
    expect(defaultTimezone(country)).toBeNull();
  });

  it('has a default, known to the runtime, for every jurisdiction', () => {
    const zones = JURISDICTIONS.map(defaultTimezone);
    expect(zones.every((zone) => zone !== null && isTimezone(zone))).toBe(true);
  });
});

describe(isTimezone.name, () => {
  it.each([
    'Europe/Vienna',
    'UTC',
    'Etc/GMT+1',
    'Etc/GMT-14',
    'America/Argentina/Buenos_Aires',
    'America/Port-au-Prince',
  ])('accepts %s', (zone) => {
    expect(isTimezone(zone)).toBe(true);
  });

  it.each([
    'Mars/Olympus_Mons',
    'Europe/Atlantis',
    '',
    'Europe/Berlin ',
    '../etc/passwd',
    'Europe//Berlin',
    '+01:00',
    'CET;drop',
  ])('refuses %j', (zone) => {
    expect(isTimezone(zone)).toBe(false);
  });
});
