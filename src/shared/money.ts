/**
 * Exact arithmetic on money in minor units. Amounts are integers (`4250` = 42.50 EUR), rates are decimal-fraction
 * strings (`"0.19"`), quantities carry at most three decimals. Everything in between is done in `bigint`, so no
 * binary-float error can ever reach an amount, and rounding happens once, where the rules say it does.
 * @module
 */

/** A rate as an exact fraction: `"0.055"` → `{ numerator: 55n, denominator: 1000n }` (not reduced). */
export interface Rate {
  readonly numerator: bigint;
  readonly denominator: bigint;
}

/** The most decimals a rate may have; six covers every VAT rate in use (`"0.1111"`) with room to spare. */
export const MAX_RATE_DECIMALS = 6;

// Plain decimal notation only: no sign, no exponent, no leading dot, no superfluous leading zeros.
const RATE_PATTERN = /^(0|[1-9]\d*)(?:\.(\d+))?$/;

/**
 * Parses a rate between 0 and 1 inclusive, written as a plain decimal fraction with at most six decimals:
 * `parseRate('0.19')` → `{ numerator: 19n, denominator: 100n }`. Throws a `RangeError` for anything else —
 * negative rates, rates above 1, exponent forms (`"1.9e-1"`), percentages (`"19"`), more than six decimals.
 */
export function parseRate(rate: string): Rate {
  const match = RATE_PATTERN.exec(rate);
  if (match === null) throw new RangeError(`Not a decimal fraction: ${JSON.stringify(rate)}`);
  const whole = match[1] ?? '0';
  const fraction = match[2] ?? '';
  if (fraction.length > MAX_RATE_DECIMALS) {
    throw new RangeError(`A rate has at most ${MAX_RATE_DECIMALS} decimals: ${JSON.stringify(rate)}`);
  }
  const denominator = 10n ** BigInt(fraction.length);
  const numerator = BigInt(whole + fraction);
  if (numerator > denominator) throw new RangeError(`A rate is at most 1: ${JSON.stringify(rate)}`);
  return { numerator, denominator };
}

/** True when `rate` is accepted by {@link parseRate}. */
export function isValidRate(rate: string): boolean {
  try {
    parseRate(rate);
    return true;
  } catch {
    return false;
  }
}

/** Numeric equality of two rates: `rateEquals('0.190', '0.19')` → `true`. Throws like {@link parseRate}. */
export function rateEquals(a: string, b: string): boolean {
  return compareRates(a, b) === 0;
}

/** Orders two rates numerically (negative when `a < b`), e.g. for sorting a tax breakdown. */
export function compareRates(a: string, b: string): number {
  const x = parseRate(a);
  const y = parseRate(b);
  const left = x.numerator * y.denominator;
  const right = y.numerator * x.denominator;
  return left === right ? 0 : left < right ? -1 : 1;
}

/**
 * The canonical spelling of a rate: trailing zeros dropped, but at least two decimals, so that one rate always
 * prints the same way whichever way a client wrote it: `'0.190'` → `'0.19'`, `'0.1'` → `'0.10'`,
 * `'0.055'` → `'0.055'`, `'0'` → `'0.00'`.
 */
export function normaliseRate(rate: string): string {
  const { numerator, denominator } = parseRate(rate);
  const decimals = denominator.toString().length - 1;
  const digits = numerator.toString().padStart(decimals + 1, '0');
  const whole = digits.slice(0, digits.length - decimals);
  const fraction = digits
    .slice(digits.length - decimals)
    .replace(/0+$/, '')
    .padEnd(2, '0');
  return `${whole}.${fraction}`;
}

/**
 * Divides and rounds half away from zero: `roundHalfUp(5n, 2n)` → `3n`, `roundHalfUp(-5n, 2n)` → `-3n`.
 *
 * Away from zero rather than towards +∞ so that rounding is symmetric: `roundHalfUp(-n, d) === -roundHalfUp(n, d)`.
 * A refund or a returned line priced with the same numbers as the sale therefore gets exactly the negated tax, and a
 * sale and its reversal always net to zero.
 */
export function roundHalfUp(numerator: bigint, denominator: bigint): bigint {
  if (denominator === 0n) throw new RangeError('Division by zero');
  const negative = numerator < 0n !== denominator < 0n;
  const n = numerator < 0n ? -numerator : numerator;
  const d = denominator < 0n ? -denominator : denominator;
  let quotient = n / d;
  if ((n % d) * 2n >= d) quotient += 1n;
  return negative ? -quotient : quotient;
}

// What `String(number)` produces: an optional sign, digits, optional fraction, optional exponent.
const NUMBER_PATTERN = /^(-?)(\d+)(?:\.(\d+))?(?:e([+-]\d+))?$/;

/**
 * A quantity as an exact count of thousandths: `quantityToThousandths(1.005)` → `1005n`. Throws a `RangeError` for
 * non-finite numbers and for more than three decimals.
 *
 * Works on the number's shortest decimal spelling (`String(1.005)` is `"1.005"`), never on `q * 1000` alone:
 * `1.005 * 1000` is `1004.9999999999999` in binary floating point. A value carrying float noise such as
 * `0.1 + 0.2` (`0.30000000000000004`) really has more than three decimals and is refused, not silently rounded.
 */
export function quantityToThousandths(q: number): bigint {
  if (!Number.isFinite(q)) throw new RangeError(`Not a finite quantity: ${String(q)}`);
  const match = NUMBER_PATTERN.exec(String(q));
  if (match === null) throw new RangeError(`Unexpected number format: ${String(q)}`);
  const sign = match[1] === '-' ? -1n : 1n;
  const fraction = match[3] ?? '';
  const digits = BigInt((match[2] ?? '0') + fraction);
  // Power of ten that turns `digits` into thousandths.
  const shift = Number(match[4] ?? '0') - fraction.length + 3;
  if (shift >= 0) return sign * digits * 10n ** BigInt(shift);
  const divisor = 10n ** BigInt(-shift);
  if (digits % divisor !== 0n) throw new RangeError(`A quantity has at most 3 decimals: ${String(q)}`);
  return sign * (digits / divisor);
}

/**
 * Splits `total` into parts proportional to `weights` that sum exactly to `total` (largest-remainder method):
 * `allocateLargestRemainder(100n, [1n, 1n, 1n])` → `[34n, 33n, 33n]`.
 *
 * Each part is first rounded towards zero; the units still missing go, one each, to the parts with the largest
 * remainders, ties to the earlier index. When all weights are zero the total is spread as evenly as possible, the
 * extra units again to the earliest parts. A negative total is split like its absolute value and negated, so an
 * allocation and its reversal mirror each other. No part ever exceeds its exact proportional share rounded up, so with
 * `|total| ≤ Σ weights` no part exceeds its weight. Weights must be non-negative.
 */
export function allocateLargestRemainder(total: bigint, weights: readonly bigint[]): bigint[] {
  if (weights.some((w) => w < 0n)) throw new RangeError('Allocation weights must not be negative');
  if (weights.length === 0) {
    if (total === 0n) return [];
    throw new RangeError('Cannot allocate a non-zero total over no parts');
  }
  const sign = total < 0n ? -1n : 1n;
  const amount = total * sign;
  const weightSum = weights.reduce((sum, w) => sum + w, 0n);
  if (weightSum === 0n) {
    const count = BigInt(weights.length);
    const base = amount / count;
    const extra = amount % count;
    return weights.map((_, i) => sign * (base + (BigInt(i) < extra ? 1n : 0n)));
  }
  const shares = weights.map((w) => (amount * w) / weightSum);
  const remainders = weights.map((w) => (amount * w) % weightSum);
  let missing = amount - shares.reduce((sum, s) => sum + s, 0n);
  const order = weights
    .map((_, i) => i)
    .sort((a, b) => {
      const ra = remainders[a] ?? 0n;
      const rb = remainders[b] ?? 0n;
      return ra === rb ? a - b : ra > rb ? -1 : 1;
    });
  for (const i of order) {
    if (missing === 0n) break;
    shares[i] = (shares[i] ?? 0n) + 1n;
    missing -= 1n;
  }
  return shares.map((s) => sign * s);
}

/** Converts an exact amount back to a JSON number, refusing anything a double cannot hold exactly. */
export function toSafeNumber(value: bigint): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw new RangeError(`Amount beyond the safe integer range: ${value.toString()}`);
  }
  return Number(value);
}
