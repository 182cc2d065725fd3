import { describe, expect, it } from 'vitest';
import { isValidRate } from '../shared/money.js';
import { JURISDICTIONS, type Jurisdiction } from './jurisdictions.js';
import {
  allowedTaxRates,
  isAllowedTaxRate,
  TAX_CATEGORIES,
  TAX_RATES,
  TAX_RATES_COVERAGE_START,
  type TaxCategory,
} from './tax-rates.js';

const TODAY = '2026-11-21';

function sorted(rates: string[]): string[] {
  return [...rates].sort();
}

function addDays(date: string, days: number): string {
  const d = new Date(`${date}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

describe('current rates', () => {
  it.each<[Jurisdiction, TaxCategory, string[]]>([
    ['DE', 'standard', ['0.19']],
    ['DE', 'reduced', ['0.07']],
    ['DE', 'super_reduced', []],
    ['AT', 'standard', ['0.20']],
    ['AT', 'reduced', ['0.049', '0.10', '0.13']],
    ['AT', 'parking', ['0.13']],
    ['IT', 'standard', ['0.22']],
    ['IT', 'reduced', ['0.05', '0.10']],
    ['IT', 'super_reduced', ['0.04']],
    ['FR', 'standard', ['0.20']],
    ['FR', 'reduced', ['0.055', '0.10']],
    ['FR', 'super_reduced', ['0.021']],
    ['NO', 'standard', ['0.25']],
    ['NO', 'reduced', ['0.1111', '0.12', '0.15']],
    ['SE', 'standard', ['0.25']],
    ['SE', 'reduced', ['0.06', '0.12']],
  ])('%s %s on the day of writing', (jurisdiction, category, expected) => {
    expect(sorted(allowedTaxRates(jurisdiction, category, TODAY))).toEqual(sorted(expected));
  });

  it.each(JURISDICTIONS)('%s allows exactly 0 for zero, exempt and not_taxable', (jurisdiction) => {
    for (const category of ['zero', 'exempt', 'not_taxable'] as const) {
      expect(allowedTaxRates(jurisdiction, category, TODAY)).toEqual(['0']);
      expect(isAllowedTaxRate(jurisdiction, category, '0', TODAY)).toBe(true);
      expect(isAllowedTaxRate(jurisdiction, category, '0.00', TODAY)).toBe(true);
      expect(isAllowedTaxRate(jurisdiction, category, '0.19', TODAY)).toBe(false);
    }
    expect(isAllowedTaxRate(jurisdiction, 'standard', '0', TODAY)).toBe(false);
  });

  it('stays in force through what is enacted for 2027', () => {
    expect(allowedTaxRates('DE', 'standard', '2027-12-31')).toEqual(['0.19']);
    expect(sorted(allowedTaxRates('SE', 'reduced', '2027-12-31'))).toEqual(['0.06', '0.12']);
    expect(allowedTaxRates('AT', 'reduced', '2027-06-30')).toContain('0.049');
  });
});

describe('period boundaries', () => {
  it.each<[Jurisdiction, TaxCategory, string, string[]]>([
    // DE: temporary 16 % / 5 % in the second half of 2020.
    ['DE', 'standard', '2020-06-30', ['0.19']],
    ['DE', 'standard', '2020-07-01', ['0.16']],
    ['DE', 'standard', '2020-12-31', ['0.16']],
    ['DE', 'standard', '2021-01-01', ['0.19']],
    ['DE', 'reduced', '2020-06-30', ['0.07']],
    ['DE', 'reduced', '2020-07-01', ['0.05']],
    ['DE', 'reduced', '2020-12-31', ['0.05']],
    ['DE', 'reduced', '2021-01-01', ['0.07']],
    // AT: COVID-19 5 % from July 2020 to the end of 2021; 4.9 % for basic food from July 2026.
    ['AT', 'reduced', '2020-06-30', ['0.10', '0.13']],
    ['AT', 'reduced', '2020-07-01', ['0.05', '0.10', '0.13']],
    ['AT', 'reduced', '2021-12-31', ['0.05', '0.10', '0.13']],
    ['AT', 'reduced', '2022-01-01', ['0.10', '0.13']],
    ['AT', 'reduced', '2026-06-30', ['0.10', '0.13']],
    ['AT', 'reduced', '2026-07-01', ['0.049', '0.10', '0.13']],
    // NO: low rate cut from 12 % to 6 % from April 2020 to September 2021.
    ['NO', 'reduced', '2020-03-31', ['0.1111', '0.12', '0.15']],
    ['NO', 'reduced', '2020-04-01', ['0.06', '0.1111', '0.15']],
    ['NO', 'reduced', '2021-09-30', ['0.06', '0.1111', '0.15']],
    ['NO', 'reduced', '2021-10-01', ['0.1111', '0.12', '0.15']],
    // SE: the food cut moves food between existing rates; the allowed set does not change.
    ['SE', 'reduced', '2026-03-31', ['0.06', '0.12']],
    ['SE', 'reduced', '2026-04-01', ['0.06', '0.12']],
    ['SE', 'reduced', '2028-01-01', ['0.06', '0.12']],
  ])('%s %s on %s', (jurisdiction, category, date, expected) => {
    expect(sorted(allowedTaxRates(jurisdiction, category, date))).toEqual(sorted(expected));
  });

  it('allows nothing before the table’s coverage', () => {
    expect(allowedTaxRates('DE', 'standard', addDays(TAX_RATES_COVERAGE_START, -1))).toEqual([]);
    expect(allowedTaxRates('DE', 'zero', addDays(TAX_RATES_COVERAGE_START, -1))).toEqual([]);
    expect(allowedTaxRates('DE', 'standard', TAX_RATES_COVERAGE_START)).toEqual(['0.19']);
  });
});

describe(isAllowedTaxRate.name, () => {
  it('accepts an allowed rate, compared numerically', () => {
    expect(isAllowedTaxRate('DE', 'standard', '0.19', TODAY)).toBe(true);
    expect(isAllowedTaxRate('DE', 'standard', '0.190', TODAY)).toBe(true);
    expect(isAllowedTaxRate('FR', 'reduced', '0.0550', TODAY)).toBe(true);
  });

  it('refuses a wrong rate and a rate of another category', () => {
    expect(isAllowedTaxRate('DE', 'standard', '0.20', TODAY)).toBe(false);
    expect(isAllowedTaxRate('DE', 'reduced', '0.19', TODAY)).toBe(false);
    expect(isAllowedTaxRate('IT', 'reduced', '0.04', TODAY)).toBe(false);
  });

  it('refuses a rate that is valid only on another date', () => {
    expect(isAllowedTaxRate('DE', 'standard', '0.16', TODAY)).toBe(false);
    expect(isAllowedTaxRate('DE', 'standard', '0.16', '2020-09-15')).toBe(true);
    expect(isAllowedTaxRate('DE', 'standard', '0.19', '2020-09-15')).toBe(false);
    expect(isAllowedTaxRate('AT', 'reduced', '0.049', '2026-01-15')).toBe(false);
    expect(isAllowedTaxRate('NO', 'reduced', '0.06', TODAY)).toBe(false);
  });

  it('refuses what is not a rate at all', () => {
    expect(isAllowedTaxRate('DE', 'standard', '19', TODAY)).toBe(false);
    expect(isAllowedTaxRate('DE', 'standard', '1.9e-1', TODAY)).toBe(false);
    expect(isAllowedTaxRate('DE', 'standard', '', TODAY)).toBe(false);
  });

  it.each(['2026-02-30', '2026-13-01', '20261121', '2026-11-21T00:00:00Z', ''])('throws for the date %j', (date) => {
    expect(() => isAllowedTaxRate('DE', 'standard', '0.19', date)).toThrow(RangeError);
  });
});

describe('TAX_RATES', () => {
  const isDay = (date: string): boolean => addDays(date, 0) === date;

  it.each(JURISDICTIONS)('%s rows are well-formed', (jurisdiction) => {
    for (const row of TAX_RATES[jurisdiction]) {
      expect(TAX_CATEGORIES).toContain(row.category);
      expect(isValidRate(row.rate)).toBe(true);
      expect(isDay(row.validFrom)).toBe(true);
      if (row.validUntil !== null) {
        expect(isDay(row.validUntil)).toBe(true);
        expect(row.validFrom <= row.validUntil).toBe(true);
      }
      expect(row.note.length).toBeGreaterThan(10);
    }
  });

  it.each(JURISDICTIONS)('%s has exactly one standard rate on every day from 2020 through 2027', (jurisdiction) => {
    const edges = TAX_RATES[jurisdiction].flatMap((row) =>
      [row.validFrom, row.validUntil].filter((d): d is string => d !== null),
    );
    const probes = [...edges.flatMap((d) => [addDays(d, -1), d, addDays(d, 1)]), '2027-12-31'].filter(
      (d) => d >= TAX_RATES_COVERAGE_START,
    );
    for (const day of probes) {
      expect(allowedTaxRates(jurisdiction, 'standard', day), day).toHaveLength(1);
    }
  });

  it.each(JURISDICTIONS)('%s has no overlapping rows for one category and rate', (jurisdiction) => {
    const rows = TAX_RATES[jurisdiction];
    rows.forEach((a, i) => {
      rows.slice(i + 1).forEach((b) => {
        if (a.category !== b.category || a.rate !== b.rate) return;
        const aEnd = a.validUntil ?? '9999-12-31';
        const bEnd = b.validUntil ?? '9999-12-31';
        expect(a.validFrom > bEnd || b.validFrom > aEnd, `${a.category} ${a.rate}`).toBe(true);
      });
    });
  });
});
