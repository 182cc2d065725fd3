/**
 * The five RKSV tax sets (Detailspezifikation Z 4: Betrag-Satz-Normal, -Ermaessigt-1, -Ermaessigt-2, -Null,
 * -Besonders), which VAT rate goes into which, and the amount notation of the machine-readable code: euros with a
 * comma and exactly two decimals, optionally negative (`"1234,56"`, `"-0,50"`, `"0,00"`), no thousands separator.
 * @module
 */

export const RKSV_TAX_SETS = ['normal', 'ermaessigt1', 'ermaessigt2', 'null', 'besonders'] as const;
export type RksvTaxSet = (typeof RKSV_TAX_SETS)[number];

/** Gross amounts in cents per tax set; a missing set counts as zero. */
export type RksvAmounts = Readonly<Record<RksvTaxSet, bigint>>;

export const ZERO_AMOUNTS: RksvAmounts = { normal: 0n, ermaessigt1: 0n, ermaessigt2: 0n, null: 0n, besonders: 0n };

/** Completes a partial set of amounts with zeros. */
export function rksvAmounts(amounts: Partial<Record<RksvTaxSet, bigint>> = {}): RksvAmounts {
  return { ...ZERO_AMOUNTS, ...amounts };
}

/** What the receipt adds to the turnover counter: the sum over all five sets. */
export function sumAmounts(amounts: RksvAmounts): bigint {
  return RKSV_TAX_SETS.reduce((sum, set) => sum + amounts[set], 0n);
}

export function isZeroAmounts(amounts: RksvAmounts): boolean {
  return RKSV_TAX_SETS.every((set) => amounts[set] === 0n);
}

/** `123456n` → `"1234,56"`, `-50n` → `"-0,50"`, `0n` → `"0,00"`. */
export function formatRksvAmount(cents: bigint): string {
  const magnitude = cents < 0n ? -cents : cents;
  const euros = magnitude / 100n;
  const rest = (magnitude % 100n).toString().padStart(2, '0');
  return `${cents < 0n ? '-' : ''}${euros.toString()},${rest}`;
}

// The notation ztp-at/RKSV's verifier accepts (utils.getReceiptFloat): no `+`, no leading zeros, no thousands dots.
const RKSV_AMOUNT = /^(-?)(0|[1-9]\d*),(\d\d)$/;

/** Parses the code's notation back to cents: `"-0,50"` → `-50n`. Throws a `RangeError` on `"00,00"`, `"1.200,34"`. */
export function parseRksvAmount(text: string): bigint {
  const match = RKSV_AMOUNT.exec(text);
  if (match === null) throw new RangeError(`Not an RKSV amount (like "1234,56"): ${JSON.stringify(text)}`);
  const cents = BigInt((match[2] ?? '') + (match[3] ?? ''));
  return match[1] === '-' ? -cents : cents;
}

export interface RksvTaxSetRate {
  /** VAT rate in percent, as written: `"20"`, `"4.9"`. */
  readonly ratePercent: string;
  readonly taxSet: RksvTaxSet;
  /** First business day, `YYYY-MM-DD`, inclusive. */
  readonly validFrom: string | null;
  readonly note: string;
}

/**
 * Which rate is booked in which tax set. The four named sets are fixed by the Detailspezifikation (Z 4);
 * "Besonders" takes the 19 % of Jungholz and Mittelberg (§ 10 Abs. 4 UStG 1994) and, from 2026-07-01, the 4.9 %
 * basic-food rate (BMF note of 2026-03-13 in the Mustercode README). Rates not listed (e.g. the 2020–2021 COVID 5 %,
 * whose RKSV mapping we could not confirm) are refused rather than guessed.
 */
export const RKSV_TAX_SET_RATES: readonly RksvTaxSetRate[] = [
  { ratePercent: '20', taxSet: 'normal', validFrom: null, note: 'Normalsteuersatz, § 10 Abs. 1 UStG 1994.' },
  { ratePercent: '10', taxSet: 'ermaessigt1', validFrom: null, note: 'Ermäßigter Steuersatz, § 10 Abs. 2 UStG.' },
  { ratePercent: '13', taxSet: 'ermaessigt2', validFrom: null, note: 'Ermäßigter Steuersatz, § 10 Abs. 3 UStG.' },
  { ratePercent: '0', taxSet: 'null', validFrom: null, note: 'Steuerfrei / 0 %.' },
  { ratePercent: '19', taxSet: 'besonders', validFrom: null, note: 'Jungholz und Mittelberg, § 10 Abs. 4 UStG.' },
  {
    ratePercent: '4.9',
    taxSet: 'besonders',
    validFrom: '2026-07-01',
    note: 'Basic-food rate from 2026-07-01, booked in Betrag-Satz-Besonders per the BMF.',
  },
];

const PERCENT = /^(0|[1-9]\d*)(?:\.(\d+))?$/;
const BUSINESS_DATE = /^\d{4}-\d{2}-\d{2}$/;

// "4.90" and "4.9" are the same rate; compare the digits without trailing fractional zeros.
function canonicalPercent(rate: string): string {
  const match = PERCENT.exec(rate);
  if (match === null) throw new RangeError(`Not a VAT rate in percent (like "20" or "4.9"): ${JSON.stringify(rate)}`);
  const fraction = (match[2] ?? '').replace(/0+$/, '');
  return fraction === '' ? (match[1] ?? '') : `${match[1] ?? ''}.${fraction}`;
}

/**
 * The tax set a VAT rate is booked in on `businessDate` (`YYYY-MM-DD`): `taxSetForRate('10', '2026-01-05')` →
 * `'ermaessigt1'`. Throws a `RangeError` for rates RKSV has no set for on that day.
 */
export function taxSetForRate(ratePercent: string, businessDate: string): RksvTaxSet {
  if (!BUSINESS_DATE.test(businessDate)) throw new RangeError(`Not a YYYY-MM-DD date: ${JSON.stringify(businessDate)}`);
  const rate = canonicalPercent(ratePercent);
  // ISO dates compare correctly as strings.
  const row = RKSV_TAX_SET_RATES.find(
    (candidate) =>
      candidate.ratePercent === rate && (candidate.validFrom === null || candidate.validFrom <= businessDate),
  );
  if (row === undefined) throw new RangeError(`No RKSV tax set for ${rate} % on ${businessDate}`);
  return row.taxSet;
}
