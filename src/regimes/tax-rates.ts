/**
 * Which VAT rates each jurisdiction allows for each tax category on a given business day, as data. A line item's
 * `tax.rate` must be one of them (422 `invalid_tax_rate`); the table says nothing about *which* goods fall into which
 * category — that stays the merchant's decision.
 *
 * Coverage: from {@link TAX_RATES_COVERAGE_START} (rates already in force then start there, whatever their real age)
 * through what is enacted for 2027; an open `validUntil` means "no end enacted". Mainland rates only: Corsica and the
 * French overseas departments (art. 294–297 CGI) are not covered. Each row's `note` names the legal basis and marks
 * what could not be confirmed.
 * @module
 */
import type { Jurisdiction } from './jurisdictions.js';
import { isValidRate, rateEquals } from '../shared/money.js';

export const TAX_CATEGORIES = [
  'standard',
  'reduced',
  'super_reduced',
  'parking',
  'zero',
  'exempt',
  'not_taxable',
] as const;
export type TaxCategory = (typeof TAX_CATEGORIES)[number];

export interface TaxRatePeriod {
  readonly category: TaxCategory;
  /** Decimal fraction, `"0.19"`. */
  readonly rate: string;
  /** First business day the rate applies, `YYYY-MM-DD`, inclusive. */
  readonly validFrom: string;
  /** Last business day the rate applies, `YYYY-MM-DD`, inclusive; `null` while no end is enacted. */
  readonly validUntil: string | null;
  /** What the rate is and its legal source. */
  readonly note: string;
}

/** The first day the table speaks for; earlier dates allow no rate at all rather than a guessed one. */
export const TAX_RATES_COVERAGE_START = '2020-01-01';

const FROM_START = TAX_RATES_COVERAGE_START;

/** `zero`, `exempt` and `not_taxable` carry no tax anywhere: exactly rate `"0"`, in every jurisdiction. */
const NO_TAX: readonly TaxRatePeriod[] = [
  {
    category: 'zero',
    rate: '0',
    validFrom: FROM_START,
    validUntil: null,
    note: 'Zero rate: taxable supply taxed at 0 % (exports, intra-EU supplies, national zero ratings).',
  },
  {
    category: 'exempt',
    rate: '0',
    validFrom: FROM_START,
    validUntil: null,
    note: 'Exempt supply: no VAT charged (national exemptions such as health care, education, financial services).',
  },
  {
    category: 'not_taxable',
    rate: '0',
    validFrom: FROM_START,
    validUntil: null,
    note: 'Outside the scope of VAT (e.g. deposits refunded, multi-purpose vouchers, genuine tips).',
  },
];

export const TAX_RATES: Readonly<Record<Jurisdiction, readonly TaxRatePeriod[]>> = {
  DE: [
    {
      category: 'standard',
      rate: '0.19',
      validFrom: FROM_START,
      validUntil: '2020-06-30',
      note: 'Regelsteuersatz, § 12 Abs. 1 UStG.',
    },
    {
      category: 'standard',
      rate: '0.16',
      validFrom: '2020-07-01',
      validUntil: '2020-12-31',
      note: 'Temporary COVID-19 cut of the general rate, § 28 Abs. 1 UStG (Zweites Corona-Steuerhilfegesetz).',
    },
    {
      category: 'standard',
      rate: '0.19',
      validFrom: '2021-01-01',
      validUntil: null,
      note: 'Regelsteuersatz, § 12 Abs. 1 UStG, again after the 2020 cut.',
    },
    {
      category: 'reduced',
      rate: '0.07',
      validFrom: FROM_START,
      validUntil: '2020-06-30',
      note: 'Ermäßigter Steuersatz, § 12 Abs. 2 UStG (food, books, public transport, …).',
    },
    {
      category: 'reduced',
      rate: '0.05',
      validFrom: '2020-07-01',
      validUntil: '2020-12-31',
      note: 'Temporary COVID-19 cut of the reduced rate, § 28 Abs. 2 UStG; restaurant food included (§ 12 Abs. 2 Nr. 15).',
    },
    {
      category: 'reduced',
      rate: '0.07',
      validFrom: '2021-01-01',
      validUntil: null,
      note:
        'Ermäßigter Steuersatz, § 12 Abs. 2 UStG. Also covers restaurant food 2021-01-01..2023-12-31 and, permanently, ' +
        'from 2026-01-01 (§ 12 Abs. 2 Nr. 15 UStG, Steueränderungsgesetz 2025) and gas/district heating ' +
        '2022-10-01..2024-03-31 — same rate, so no separate rows.',
    },
    ...NO_TAX,
  ],
  AT: [
    {
      category: 'standard',
      rate: '0.20',
      validFrom: FROM_START,
      validUntil: null,
      note: 'Normalsteuersatz, § 10 Abs. 1 UStG 1994.',
    },
    {
      category: 'reduced',
      rate: '0.10',
      validFrom: FROM_START,
      validUntil: null,
      note: 'Ermäßigter Steuersatz, § 10 Abs. 2 UStG 1994 (food, accommodation, books, passenger transport, …).',
    },
    {
      category: 'reduced',
      rate: '0.13',
      validFrom: FROM_START,
      validUntil: null,
      note: 'Second reduced rate, § 10 Abs. 3 UStG 1994 (plants, animals, firewood, cultural events, …).',
    },
    {
      category: 'parking',
      rate: '0.13',
      validFrom: FROM_START,
      validUntil: null,
      note:
        'Parking rate as listed for Austria in the European Commission table "VAT rates applied in the Member ' +
        'States" (13 %). Which supplies it covers (reportedly wine sold by its producer) is UNCONFIRMED.',
    },
    {
      category: 'reduced',
      rate: '0.05',
      validFrom: '2020-07-01',
      validUntil: '2021-12-31',
      note:
        'Temporary COVID-19 rate for gastronomy, accommodation, culture and publications, § 28 Abs. 52 UStG 1994 ' +
        '(BGBl. I Nr. 60/2020, extended to 2021-12-31; periodicals only until 2020-12-31) — BMF FAQ.',
    },
    {
      category: 'reduced',
      rate: '0.049',
      validFrom: '2026-07-01',
      validUntil: null,
      note:
        'Reduced rate for selected basic food (milk, butter, yoghurt, eggs, vegetables, fruit, rice, flour, pasta, ' +
        'bread, salt) from 2026-07-01, announced as permanent; product list adopted by the Ministerrat on ' +
        '2026-01-28, parliamentary approval reported. The BGBl. citation and UStG paragraph are UNCONFIRMED.',
    },
    ...NO_TAX,
  ],
  IT: [
    {
      category: 'standard',
      rate: '0.22',
      validFrom: FROM_START,
      validUntil: null,
      note: 'Aliquota ordinaria, art. 16 DPR 633/1972.',
    },
    {
      category: 'reduced',
      rate: '0.10',
      validFrom: FROM_START,
      validUntil: null,
      note: 'Aliquota ridotta, DPR 633/1972 Tabella A parte III (restaurants, hotels, some food, energy, …).',
    },
    {
      category: 'reduced',
      rate: '0.05',
      validFrom: FROM_START,
      validUntil: null,
      note: 'Aliquota ridotta, DPR 633/1972 Tabella A parte II-bis (social services, some food, …).',
    },
    {
      category: 'super_reduced',
      rate: '0.04',
      validFrom: FROM_START,
      validUntil: null,
      note: 'Aliquota minima, DPR 633/1972 Tabella A parte II (basic food, books, newspapers, …).',
    },
    ...NO_TAX,
  ],
  FR: [
    {
      category: 'standard',
      rate: '0.20',
      validFrom: FROM_START,
      validUntil: null,
      note: 'Taux normal, art. 278 CGI (mainland France).',
    },
    {
      category: 'reduced',
      rate: '0.10',
      validFrom: FROM_START,
      validUntil: null,
      note: 'Taux intermédiaire, art. 279 CGI (restaurants, passenger transport, hotels, …).',
    },
    {
      category: 'reduced',
      rate: '0.055',
      validFrom: FROM_START,
      validUntil: null,
      note: 'Taux réduit, art. 278-0 bis CGI (food, books, energy subscriptions, …).',
    },
    {
      category: 'super_reduced',
      rate: '0.021',
      validFrom: FROM_START,
      validUntil: null,
      note: 'Taux particulier, art. 281 quater ff. CGI (reimbursable medicines, press, …).',
    },
    ...NO_TAX,
  ],
  NO: [
    {
      category: 'standard',
      rate: '0.25',
      validFrom: FROM_START,
      validUntil: null,
      note: 'Alminnelig sats, merverdiavgiftsloven § 5-1 and the Storting’s annual VAT decision.',
    },
    {
      category: 'reduced',
      rate: '0.15',
      validFrom: FROM_START,
      validUntil: null,
      note: 'Redusert sats for næringsmidler (food and non-alcoholic drinks), merverdiavgiftsloven § 5-2.',
    },
    {
      category: 'reduced',
      rate: '0.12',
      validFrom: FROM_START,
      validUntil: '2020-03-31',
      note: 'Lav sats: passenger transport, accommodation, cinema, museums, broadcasting (merverdiavgiftsloven kap. 5).',
    },
    {
      category: 'reduced',
      rate: '0.06',
      validFrom: '2020-04-01',
      validUntil: '2021-09-30',
      note:
        'Temporary COVID-19 cut of the low rate from 12 % to 6 % (Storting decisions 2020; extended to ' +
        '2021-09-30, Finansdepartementet press release 2021).',
    },
    {
      category: 'reduced',
      rate: '0.12',
      validFrom: '2021-10-01',
      validUntil: null,
      note:
        'Lav sats again after the COVID-19 cut (merverdiavgiftsloven kap. 5). Confirmed for 2026 (Storting VAT decision); ' +
        'the 2027 decision is adopted in December and is UNCONFIRMED (assumed unchanged).',
    },
    {
      category: 'reduced',
      rate: '0.1111',
      validFrom: FROM_START,
      validUntil: null,
      note: 'Sats for viltlevende marine ressurser (raw fish sold by fishermen), merverdiavgiftsloven § 5-8.',
    },
    ...NO_TAX,
  ],
  SE: [
    {
      category: 'standard',
      rate: '0.25',
      validFrom: FROM_START,
      validUntil: null,
      note: 'Normalskattesats, mervärdesskattelagen (2023:200; before 2023-07-01 ML 1994:200).',
    },
    {
      category: 'reduced',
      rate: '0.12',
      validFrom: FROM_START,
      validUntil: null,
      note: 'Reduced rate, mervärdesskattelagen (hotels, restaurant services; food until 2026-03-31 and again from 2028-01-01).',
    },
    {
      category: 'reduced',
      rate: '0.06',
      validFrom: FROM_START,
      validUntil: null,
      note:
        'Reduced rate, mervärdesskattelagen (books, newspapers, passenger transport, culture, sports); also food from ' +
        '2026-04-01 to 2027-12-31 under the temporary food VAT cut (Prop. 2025/26:55).',
    },
    ...NO_TAX,
  ],
};

const DATE_PATTERN = /^(\d{4})-(\d{2})-(\d{2})$/;

// Business days are compared as text, which is only sound for real, zero-padded calendar dates.
function assertBusinessDay(date: string): void {
  const match = DATE_PATTERN.exec(date);
  const parsed = match === null ? null : new Date(`${date}T00:00:00Z`);
  if (parsed === null || Number.isNaN(parsed.getTime()) || parsed.toISOString().slice(0, 10) !== date) {
    throw new RangeError(`Not a business day (YYYY-MM-DD): ${JSON.stringify(date)}`);
  }
}

function inForce(period: TaxRatePeriod, date: string): boolean {
  return period.validFrom <= date && (period.validUntil === null || date <= period.validUntil);
}

/**
 * The rates a jurisdiction allows for a category on a business day, as written in the table, without duplicates:
 * `allowedTaxRates('DE', 'standard', '2020-08-01')` → `['0.16']`. Throws a `RangeError` for a malformed date.
 */
export function allowedTaxRates(jurisdiction: Jurisdiction, category: TaxCategory, date: string): string[] {
  assertBusinessDay(date);
  const rates: string[] = [];
  for (const period of TAX_RATES[jurisdiction]) {
    if (period.category !== category || !inForce(period, date)) continue;
    if (!rates.some((rate) => rateEquals(rate, period.rate))) rates.push(period.rate);
  }
  return rates;
}

/**
 * True when `rate` (compared numerically: `"0.190"` = `"0.19"`) is allowed for the category on that business day.
 * A rate that is not a valid decimal fraction is simply not allowed; a malformed date throws a `RangeError`.
 */
export function isAllowedTaxRate(
  jurisdiction: Jurisdiction,
  category: TaxCategory,
  rate: string,
  date: string,
): boolean {
  const allowed = allowedTaxRates(jurisdiction, category, date);
  return isValidRate(rate) && allowed.some((candidate) => rateEquals(candidate, rate));
}
