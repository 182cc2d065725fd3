import { describe, expect, it } from 'vitest';
import {
  formatRksvAmount,
  isZeroAmounts,
  parseRksvAmount,
  rksvAmounts,
  sumAmounts,
  taxSetForRate,
  ZERO_AMOUNTS,
} from './amounts.js';

describe('formatRksvAmount / parseRksvAmount', () => {
  it('writes cents with a comma and two decimals, negative allowed', () => {
    expect(formatRksvAmount(123456n)).toBe('1234,56');
    expect(formatRksvAmount(-50n)).toBe('-0,50');
    expect(formatRksvAmount(0n)).toBe('0,00');
    expect(formatRksvAmount(7n)).toBe('0,07');
    expect(formatRksvAmount(-100000000000n)).toBe('-1000000000,00');
  });

  it('reads back what it writes', () => {
    for (const cents of [0n, 1n, -1n, 99n, 100n, -12345n, 9007199254740993n]) {
      expect(parseRksvAmount(formatRksvAmount(cents))).toBe(cents);
    }
  });

  it('refuses what ztp-at/RKSV refuses: leading zeros, thousands dots, missing decimals', () => {
    for (const bad of ['00,00', '1.200,34', '1,2', '12.34', '+1,00', '', ' 1,00']) {
      expect(() => parseRksvAmount(bad)).toThrow(RangeError);
    }
  });
});

describe('tax sets', () => {
  it('map the Austrian rates to their sets', () => {
    expect(taxSetForRate('20', '2026-01-01')).toBe('normal');
    expect(taxSetForRate('10', '2026-01-01')).toBe('ermaessigt1');
    expect(taxSetForRate('13', '2026-01-01')).toBe('ermaessigt2');
    expect(taxSetForRate('0', '2026-01-01')).toBe('null');
    expect(taxSetForRate('19', '2026-01-01')).toBe('besonders');
    expect(taxSetForRate('20.00', '2016-03-11')).toBe('normal');
  });

  it('book the 4.9 % food rate in Besonders from 2026-07-01 and refuse it before', () => {
    expect(taxSetForRate('4.9', '2026-07-01')).toBe('besonders');
    expect(taxSetForRate('4.90', '2027-12-31')).toBe('besonders');
    expect(() => taxSetForRate('4.9', '2026-06-30')).toThrow(/No RKSV tax set/);
  });

  it('refuse unknown rates and malformed input', () => {
    expect(() => taxSetForRate('5', '2020-08-01')).toThrow(/No RKSV tax set/);
    expect(() => taxSetForRate('0.2', '2026-01-01')).toThrow(/No RKSV tax set/);
    expect(() => taxSetForRate('20%', '2026-01-01')).toThrow(/percent/);
    expect(() => taxSetForRate('20', '1.1.2026')).toThrow(/YYYY-MM-DD/);
  });

  it('sum and test amounts', () => {
    const amounts = rksvAmounts({ normal: 1000n, besonders: -250n });
    expect(amounts.ermaessigt1).toBe(0n);
    expect(sumAmounts(amounts)).toBe(750n);
    expect(isZeroAmounts(amounts)).toBe(false);
    expect(isZeroAmounts(ZERO_AMOUNTS)).toBe(true);
  });
});
