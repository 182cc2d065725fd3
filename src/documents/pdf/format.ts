/**
 * Number and date formatting for printed documents. Amounts are integer minor units and are formatted from an exact
 * decimal string, never through a float division, so `105` is always `1,05 €` and never `1,0499999 €`.
 * @module
 */

export type Language = 'de' | 'en';

/** en-US rather than en-GB: it prints `€1,234.50` and `$1.00`, where en-GB would print `US$1.00`. */
const LOCALES: Record<Language, string> = { de: 'de-DE', en: 'en-US' };

// Building an Intl formatter costs far more than using one; a receipt formats dozens of numbers.
const formatters = new Map<string, Intl.NumberFormat>();

function numberFormat(key: string, locale: string, options: Intl.NumberFormatOptions): Intl.NumberFormat {
  let format = formatters.get(key);
  if (format === undefined) {
    format = new Intl.NumberFormat(locale, options);
    formatters.set(key, format);
  }
  return format;
}

function currencyFormat(currency: string, language: Language): Intl.NumberFormat {
  return numberFormat(`currency|${language}|${currency}`, LOCALES[language], { style: 'currency', currency });
}

/** The number of minor units digits of an ISO 4217 currency: 2 for EUR, 0 for JPY, 3 for KWD. */
export function currencyDigits(currency: string): number {
  return currencyFormat(currency, 'en').resolvedOptions().maximumFractionDigits ?? 2;
}

/** `minorToDecimal(-105, 2)` → `'-1.05'`. */
export function minorToDecimal(amount: number, digits: number): `${number}` {
  if (!Number.isSafeInteger(amount)) throw new RangeError(`amount must be an integer of minor units: ${amount}`);
  const sign = amount < 0 ? '-' : '';
  const units = Math.abs(amount)
    .toString()
    .padStart(digits + 1, '0');
  if (digits === 0) return `${sign}${units}` as `${number}`;
  return `${sign}${units.slice(0, -digits)}.${units.slice(-digits)}` as `${number}`;
}

/** `formatMoney(123450, 'EUR', 'de')` → `'1.234,50 €'` (with a no-break space); in en `'€1,234.50'`. */
export function formatMoney(amount: number, currency: string, language: Language): string {
  return currencyFormat(currency, language).format(minorToDecimal(amount, currencyDigits(currency)));
}

/** An amount without the currency sign, for table columns: `formatAmount(123450, 'EUR', 'de')` → `'1.234,50'`. */
export function formatAmount(amount: number, currency: string, language: Language): string {
  const digits = currencyDigits(currency);
  return numberFormat(`amount|${language}|${digits}`, LOCALES[language], {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  }).format(minorToDecimal(amount, digits));
}

/** `formatQuantity(0.5, 'de')` → `'0,5'`; at most three decimals (grams of a kilogram). */
export function formatQuantity(quantity: number, language: Language): string {
  return numberFormat(`quantity|${language}`, LOCALES[language], { maximumFractionDigits: 3 }).format(quantity);
}

const DECIMAL = /^-?\d+(\.\d+)?$/;

/** A tax rate given as a decimal fraction: `formatRate('0.19', 'de')` → `'19 %'`, in en `'19%'`; else as given. */
export function formatRate(rate: string, language: Language): string {
  if (!DECIMAL.test(rate)) return rate;
  return numberFormat(`rate|${language}`, LOCALES[language], { style: 'percent', maximumFractionDigits: 2 }).format(
    rate as `${number}`,
  );
}

const dateFormats = new Map<string, Intl.DateTimeFormat>();

interface LocalTime {
  year: string;
  month: string;
  day: string;
  hour: string;
  minute: string;
  second: string;
}

/** The wall-clock fields of a UTC timestamp in an IANA zone, from en-US parts so that no locale data matters. */
function localTime(date: Date, timezone: string): LocalTime {
  let format = dateFormats.get(timezone);
  if (format === undefined) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone: timezone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
    });
    dateFormats.set(timezone, format);
  }
  const part: Partial<Record<Intl.DateTimeFormatPartTypes, string>> = {};
  for (const { type, value } of format.formatToParts(date)) part[type] = value;
  const { year = '', month = '', day = '', hour = '', minute = '', second = '' } = part;
  return { year, month, day, hour, minute, second };
}

function parseTimestamp(utc: string): Date {
  const date = new Date(utc);
  if (Number.isNaN(date.getTime())) throw new RangeError(`not a timestamp: ${utc}`);
  return date;
}

/**
 * A UTC timestamp as wall-clock time in an IANA zone, to the second: in de `'31.01.2026 14:05:09'`, in en the
 * unambiguous `'2026-01-31 14:05:09'`. Assembled from parts so that it does not depend on the runtime's locale data.
 */
export function formatLocalDateTime(utc: string, timezone: string, language: Language): string {
  const { year, month, day, hour, minute, second } = localTime(parseTimestamp(utc), timezone);
  const time = `${hour}:${minute}:${second}`;
  return language === 'de' ? `${day}.${month}.${year} ${time}` : `${year}-${month}-${day} ${time}`;
}

/**
 * The zone's offset from UTC at that instant: `formatUtcOffset('2026-07-31T22:30:00Z', 'Europe/Berlin')` →
 * `'UTC+02:00'`, `'UTC'` for none. Tells apart the two 02:30 of the night summer time ends.
 */
export function formatUtcOffset(utc: string, timezone: string): string {
  const date = parseTimestamp(utc);
  const local = localTime(date, timezone);
  const wallClock = Date.UTC(
    Number(local.year),
    Number(local.month) - 1,
    Number(local.day),
    Number(local.hour),
    Number(local.minute),
    Number(local.second),
  );
  // The parts have no milliseconds; offsets are whole minutes.
  const minutes = Math.round((wallClock - Math.floor(date.getTime() / 1000) * 1000) / 60_000);
  if (minutes === 0) return 'UTC';
  const sign = minutes < 0 ? '-' : '+';
  const hours = String(Math.floor(Math.abs(minutes) / 60)).padStart(2, '0');
  return `UTC${sign}${hours}:${String(Math.abs(minutes) % 60).padStart(2, '0')}`;
}
