import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import {
  allocateLargestRemainder,
  compareRates,
  isValidRate,
  normaliseRate,
  parseRate,
  quantityToThousandths,
  rateEquals,
  roundHalfUp,
  toSafeNumber,
} from './money.js';

describe(parseRate.name, () => {
  it.each([
    ['0.19', 19n, 100n],
    ['0.055', 55n, 1000n],
    ['0', 0n, 1n],
    ['0.10', 10n, 100n],
    ['1', 1n, 1n],
    ['1.000', 1000n, 1000n],
    ['0.1111', 1111n, 10000n],
    ['0.000001', 1n, 1000000n],
  ])('parses %s exactly', (rate, numerator, denominator) => {
    expect(parseRate(rate)).toEqual({ numerator, denominator });
  });

  it.each([
    '-0.19',
    '1.01',
    '2',
    '19',
    '0.1234567',
    '1.9e-1',
    '1e0',
    '.19',
    '0.',
    '00.19',
    '+0.19',
    ' 0.19',
    '0,19',
    '',
    'NaN',
    '0x1',
  ])('refuses %j', (rate) => {
    expect(() => parseRate(rate)).toThrow(RangeError);
    expect(isValidRate(rate)).toBe(false);
  });
});

describe(rateEquals.name, () => {
  it('compares numerically', () => {
    expect(rateEquals('0.190', '0.19')).toBe(true);
    expect(rateEquals('0', '0.000')).toBe(true);
    expect(rateEquals('0.19', '0.019')).toBe(false);
  });

  it('orders rates numerically', () => {
    expect(compareRates('0.2', '0.19')).toBe(1);
    expect(compareRates('0.055', '0.10')).toBe(-1);
    expect(compareRates('0.10', '0.1')).toBe(0);
  });
});

describe(normaliseRate.name, () => {
  it.each([
    ['0.19', '0.19'],
    ['0.190', '0.19'],
    ['0.1', '0.10'],
    ['0.055', '0.055'],
    ['0', '0.00'],
    ['1', '1.00'],
    ['0.049', '0.049'],
    ['0.000001', '0.000001'],
  ])('writes %s as %s', (rate, expected) => {
    expect(normaliseRate(rate)).toBe(expected);
  });
});

describe(roundHalfUp.name, () => {
  it.each([
    [5n, 2n, 3n],
    [-5n, 2n, -3n],
    [4n, 2n, 2n],
    [7n, 3n, 2n],
    [8n, 3n, 3n],
    [-7n, 3n, -2n],
    [-8n, 3n, -3n],
    [5n, -2n, -3n],
    [0n, 7n, 0n],
    [68_655n, 100n, 687n],
  ])('rounds %i / %i to %i', (n, d, expected) => {
    expect(roundHalfUp(n, d)).toBe(expected);
  });

  it('refuses division by zero', () => {
    expect(() => roundHalfUp(1n, 0n)).toThrow(RangeError);
  });

  test.prop([fc.bigInt(), fc.bigInt({ min: 1n })])('is symmetric, so a reversal nets to zero', (n, d) => {
    expect(roundHalfUp(-n, d)).toBe(-roundHalfUp(n, d));
  });

  test.prop([fc.bigInt(), fc.bigInt({ min: 1n })])('is within half a unit of the exact quotient', (n, d) => {
    const diff = roundHalfUp(n, d) * d - n;
    expect(2n * (diff < 0n ? -diff : diff) <= d).toBe(true);
  });
});

describe(quantityToThousandths.name, () => {
  it.each([
    [1, 1000n],
    [1.005, 1005n],
    [2.675, 2675n],
    [0.001, 1n],
    [0.5, 500n],
    [1.1, 1100n],
    [123456.789, 123456789n],
    [0, 0n],
    [-2.5, -2500n],
    [1e21, 10n ** 24n],
  ])('turns %d into %i thousandths', (q, expected) => {
    expect(quantityToThousandths(q)).toBe(expected);
  });

  it.each([0.1 + 0.2, 1.0005, 0.0001, 1e-7, Number.NaN, Number.POSITIVE_INFINITY, 1 / 3])('refuses %d', (q) => {
    expect(() => quantityToThousandths(q)).toThrow(RangeError);
  });

  it('does not fall for the float error of multiplying by 1000', () => {
    expect(1.005 * 1000).not.toBe(1005);
    expect(quantityToThousandths(1.005)).toBe(1005n);
  });

  test.prop([fc.integer({ min: 0, max: 1e12 })])('round-trips every quantity with three decimals', (thousandths) => {
    expect(quantityToThousandths(thousandths / 1000)).toBe(BigInt(thousandths));
  });
});

describe(allocateLargestRemainder.name, () => {
  it('splits 100 over three equal weights as 34/33/33', () => {
    expect(allocateLargestRemainder(100n, [1n, 1n, 1n])).toEqual([34n, 33n, 33n]);
  });

  it('gives the leftover unit to the largest remainder', () => {
    // 10·1/6 = 1.67, 10·2/6 = 3.33, 10·3/6 = 5 → floors 1+3+5 = 9, the unit goes to the first (remainder .67).
    expect(allocateLargestRemainder(10n, [1n, 2n, 3n])).toEqual([2n, 3n, 5n]);
  });

  it('breaks ties towards the earlier index', () => {
    expect(allocateLargestRemainder(1n, [5n, 5n])).toEqual([1n, 0n]);
    expect(allocateLargestRemainder(2n, [1n, 1n, 1n])).toEqual([1n, 1n, 0n]);
  });

  it('spreads over all-zero weights evenly, extra units first', () => {
    expect(allocateLargestRemainder(5n, [0n, 0n, 0n])).toEqual([2n, 2n, 1n]);
    expect(allocateLargestRemainder(-5n, [0n, 0n, 0n])).toEqual([-2n, -2n, -1n]);
  });

  it('mirrors positive allocations for negative totals', () => {
    expect(allocateLargestRemainder(-100n, [1n, 1n, 1n])).toEqual([-34n, -33n, -33n]);
  });

  it('gives nothing to a zero weight', () => {
    expect(allocateLargestRemainder(7n, [0n, 3n, 0n])).toEqual([0n, 7n, 0n]);
  });

  it('handles no parts only for a zero total, and refuses negative weights', () => {
    expect(allocateLargestRemainder(0n, [])).toEqual([]);
    expect(() => allocateLargestRemainder(1n, [])).toThrow(RangeError);
    expect(() => allocateLargestRemainder(1n, [1n, -1n])).toThrow(RangeError);
  });

  const weights = fc.array(fc.bigInt({ min: 0n, max: 10n ** 15n }), { minLength: 1, maxLength: 20 });

  test.prop([fc.bigInt({ min: -(10n ** 15n), max: 10n ** 15n }), weights])('always sums exactly', (total, w) => {
    const parts = allocateLargestRemainder(total, w);
    expect(parts).toHaveLength(w.length);
    expect(parts.reduce((a, b) => a + b, 0n)).toBe(total);
  });

  test.prop([fc.bigInt({ min: 0n, max: 10n ** 15n }), weights])('is the exact share rounded down or up', (total, w) => {
    const sum = w.reduce((a, b) => a + b, 0n);
    fc.pre(sum > 0n);
    allocateLargestRemainder(total, w).forEach((part, i) => {
      const floor = (total * (w[i] ?? 0n)) / sum;
      expect(part === floor || part === floor + 1n).toBe(true);
    });
  });

  test.prop([fc.bigInt({ min: 0n, max: 10n ** 15n }), weights])('never exceeds a weight it fits in', (total, w) => {
    const sum = w.reduce((a, b) => a + b, 0n);
    fc.pre(sum > 0n && total <= sum);
    allocateLargestRemainder(total, w).forEach((part, i) => {
      expect(part <= (w[i] ?? 0n)).toBe(true);
    });
  });

  test.prop([fc.bigInt({ min: 0n, max: 10n ** 15n }), weights])('mirrors for the negated total', (total, w) => {
    expect(allocateLargestRemainder(-total, w)).toEqual(allocateLargestRemainder(total, w).map((p) => -p));
  });
});

describe(toSafeNumber.name, () => {
  it('converts safe integers and refuses the rest', () => {
    expect(toSafeNumber(4250n)).toBe(4250);
    expect(toSafeNumber(BigInt(Number.MAX_SAFE_INTEGER))).toBe(Number.MAX_SAFE_INTEGER);
    expect(() => toSafeNumber(BigInt(Number.MAX_SAFE_INTEGER) + 1n)).toThrow(RangeError);
    expect(() => toSafeNumber(BigInt(Number.MIN_SAFE_INTEGER) - 1n)).toThrow(RangeError);
  });
});
