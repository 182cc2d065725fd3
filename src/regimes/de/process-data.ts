/**
 * DSFinV-K process data: what a German till hands its TSE when a transaction finishes (processType `Kassenbeleg-V1`,
 * processData `<Vorgangstyp>^<gross per VAT rate>^<payments>`), the VAT keys (UST_SCHLUESSEL) behind it, and how cash
 * movements are recorded.
 *
 * Sources, BZSt DSFinV-K 2.x: Anhang I (processData format and worked examples), Anhang B (Vorgangstypen), Anhang C
 * (Geschäftsvorfälle). Where their text was not at hand, the reading of fiskaltrust's open-source middleware
 * (`QueueDE/Transactions/DSFinVKTransactionPayloadFactory.cs`, `Extensions/ReceiptRequestExtensions.cs`) and of
 * vendor manuals quoting the annexes (gastro-mis "processType und processData", "AVBelegabbruch") was used; each rule
 * below names the one it rests on.
 * @module
 */

/**
 * DSFinV-K UST_SCHLUESSEL (the key table of the DSFinV-K annex, as fiskaltrust's DE documentation and TWEECORE's
 * `vatkeys.go` list it): 1 = general rate (19 %), 2 = reduced rate (7 %), 3 = § 24(1) Nr. 3 UStG average rate
 * (10.7 %), 4 = § 24(1) Nr. 1 UStG average rate (5.5 %), 5 = not taxable ("Nicht Steuerbar"), 6 = tax-free
 * ("Umsatzsteuerfrei"; German zero-rated supplies are tax-free), 7 = not determinable. 21 and 22 are the 16 % and
 * 5 % rates of 2020-07-01 to 2020-12-31 once they were historical (during that half-year 1 and 2 were 16 %/5 %;
 * the DSFinV-K export tells the two apart by date). In processData, 5–7 share the fifth amount and a historical key
 * its base key's position, so the signed data is the same either way.
 */
export type VatKey = 1 | 2 | 3 | 4 | 5 | 6 | 7 | 21 | 22;

export type VatCategory = 'standard' | 'reduced' | 'super_reduced' | 'parking' | 'zero' | 'exempt' | 'not_taxable';

const RATE_PATTERN = /^(0|[1-9]\d*)(?:\.(\d+))?$/;

/** `"0.19"` → 19n/100n as numerator and denominator, for exact comparison. */
function parseDecimal(rate: string): { numerator: bigint; denominator: bigint } {
  const match = RATE_PATTERN.exec(rate);
  if (match === null) throw new RangeError(`Not a decimal fraction: ${JSON.stringify(rate)}`);
  const fraction = match[2] ?? '';
  return { numerator: BigInt((match[1] ?? '0') + fraction), denominator: 10n ** BigInt(fraction.length) };
}

// Keyed by the rate in thousandths (0.19 → 190), so lookups compare exact integers.
const KEY_BY_RATE_THOUSANDTHS: ReadonlyMap<bigint, VatKey> = new Map([
  [190n, 1],
  [70n, 2],
  [107n, 3],
  [55n, 4],
  [0n, 5],
  [160n, 21],
  [50n, 22],
]);

/**
 * The DSFinV-K VAT key for a rate (decimal fraction, `"0.19"`) and its category. Exempt and not-taxable supplies have
 * their own keys whatever the rate field says (it must be zero); any other rate must be one the keys list.
 */
export function vatKeyFor(rate: string, category: VatCategory): VatKey {
  const { numerator, denominator } = parseDecimal(rate);
  const isZero = numerator === 0n;
  switch (category) {
    case 'not_taxable':
    case 'exempt':
    case 'zero':
      if (!isZero) throw new RangeError(`A ${category} supply has the rate 0, got ${rate}`);
      return category === 'not_taxable' ? 5 : 6;
    case 'standard':
    case 'reduced':
    case 'super_reduced':
    case 'parking': {
      // Exact when the rate has at most three decimals in thousandths; otherwise it matches no key.
      const scaled = numerator * 1000n;
      const key = scaled % denominator === 0n ? KEY_BY_RATE_THOUSANDTHS.get(scaled / denominator) : undefined;
      if (key === undefined) throw new RangeError(`No DSFinV-K VAT key for the German rate ${rate}`);
      return key;
    }
  }
}

function toBigInt(amount: bigint | number): bigint {
  if (typeof amount === 'bigint') return amount;
  if (!Number.isSafeInteger(amount)) throw new RangeError(`Amount must be an integer in minor units, got ${amount}`);
  return BigInt(amount);
}

/** An amount in minor units with two decimals and a dot: `1250` → `"12.50"`, `-300` → `"-3.00"`. */
export function formatAmount(minor: bigint | number): string {
  return formatScaled(toBigInt(minor), 2);
}

/** `value / 10^digits` written with exactly two decimals; further decimals are cut off, as Anhang I prescribes. */
function formatScaled(value: bigint, digits: number): string {
  const negative = value < 0n;
  const magnitude = negative ? -value : value;
  const cents = digits >= 2 ? magnitude / 10n ** BigInt(digits - 2) : magnitude * 10n ** BigInt(2 - digits);
  const text = `${cents / 100n}.${String(cents % 100n).padStart(2, '0')}`;
  return negative && cents !== 0n ? `-${text}` : text;
}

const CURRENCY_PATTERN = /^[A-Z]{3}$/;

/** The number of minor-unit digits of an ISO 4217 currency (EUR 2, JPY 0, KWD 3). */
const MINOR_UNIT_DIGITS = new Map<string, number>();

function minorUnitDigits(currency: string): number {
  const known = MINOR_UNIT_DIGITS.get(currency);
  if (known !== undefined) return known;
  if (!CURRENCY_PATTERN.test(currency)) {
    throw new RangeError(`Not an ISO 4217 currency code: ${JSON.stringify(currency)}`);
  }
  // An Intl formatter is expensive to build; the answer per currency never changes.
  const digits =
    new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
  MINOR_UNIT_DIGITS.set(currency, digits);
  return digits;
}

export const PROCESS_TYPE_KASSENBELEG = 'Kassenbeleg-V1';
export const PROCESS_TYPE_SONSTIGER_VORGANG = 'SonstigerVorgang';

export type PaymentKind = 'Bar' | 'Unbar';

export interface ProcessDataPayment {
  /** Signed, in minor units of `currency` (a foreign-currency payment is written in that currency, not in EUR). */
  amount: bigint | number;
  kind: PaymentKind;
  /** ISO 4217; only a currency other than EUR is written. */
  currency: string;
}

export type Vorgangstyp =
  | 'Beleg'
  | 'AVTransfer'
  | 'AVBestellung'
  | 'AVTraining'
  | 'AVBelegstorno'
  | 'AVBelegabbruch'
  | 'AVSachbezug'
  | 'AVSonstige'
  | 'AVRechnung';

export type PaymentMethod = 'cash' | 'card' | 'wallet' | 'voucher' | 'gift_card' | 'online' | 'other';

/**
 * processData knows only cash and non-cash ("Bei den Zahlungen wird nur zwischen „Bar“ und „Unbar“ unterschieden").
 * A voucher taken as payment counts as non-cash; a till that books multi-purpose vouchers as the business case
 * MehrzweckgutscheinEinloesung instead (not taxable, fifth amount, negative) leaves it out of the payments.
 */
export function paymentKindFor(method: PaymentMethod): PaymentKind {
  return method === 'cash' ? 'Bar' : 'Unbar';
}

const BASE_CURRENCY = 'EUR';

/**
 * The five amounts of processData, in the order of Anhang I: general rate, reduced rate, the two § 24 UStG averages,
 * then 0 %. Anhang I has no position for keys 6 and 7; its own examples put not-taxable amounts in the fifth
 * ("Privateinlage 100 bar" → `Beleg^0.00_0.00_0.00_0.00_100.00^100.00:Bar`; AVTransfer to a hotel room with the
 * Forderungsentstehung −100 → `AVTransfer^100.00_0.00_0.00_0.00_-100.00^`), as does fiskaltrust for every rate other
 * than 19/7/10.7/5.5 %. Keys 11/12 are the general and reduced rate of their period, so they share positions 1/2.
 */
const POSITION_BY_KEY: Readonly<Record<VatKey, number>> = { 1: 0, 21: 0, 2: 1, 22: 1, 3: 2, 4: 3, 5: 4, 6: 4, 7: 4 };
const VAT_KEYS = [1, 2, 3, 4, 5, 6, 7, 21, 22] as const satisfies readonly VatKey[];

type GrossByVatKey = ReadonlyMap<VatKey, bigint> | Partial<Record<VatKey, bigint>>;

function isMap(gross: GrossByVatKey): gross is ReadonlyMap<VatKey, bigint> {
  return gross instanceof Map;
}

function grossOf(gross: GrossByVatKey, key: VatKey): bigint {
  return (isMap(gross) ? gross.get(key) : gross[key]) ?? 0n;
}

/**
 * The processData of a `Kassenbeleg-V1` transaction: `Beleg^12.50_0.00_0.00_0.00_0.00^12.50:Bar`.
 *
 * Payments: summed per kind and currency ("Bei mehreren Zahlungsarten sind diese entsprechend zu akkumulieren"),
 * groups that sum to zero left out, cash before non-cash and within each EUR before other currencies in alphabetical
 * order (the order fiskaltrust's sorted keys give), joined with `_`; a currency is written only when it is not EUR.
 * No payment at all leaves the last part empty, as in Anhang I's aborted receipt `AVBelegabbruch^0.00_0.00_0.00_0.00_0.00^`.
 * Anhang B: "Bei allen Vorgangstypen, die mit AV beginnen (Ausnahme: AVTraining), ist nur die Zahlart „Keine“ möglich",
 * so those throw when given a payment. A cancelled receipt is a new `Beleg` with every amount negated (AVBelegstorno
 * is not for systems with a TSE, per fiskaly's reading of the annex).
 */
export function kassenbelegProcessData(input: {
  vorgangstyp: Vorgangstyp;
  grossByVatKey: GrossByVatKey;
  payments: readonly ProcessDataPayment[];
}): string {
  const positions = [0n, 0n, 0n, 0n, 0n];
  for (const key of VAT_KEYS) {
    const position = POSITION_BY_KEY[key];
    positions[position] = (positions[position] ?? 0n) + grossOf(input.grossByVatKey, key);
  }

  const sums = new Map<string, { kind: PaymentKind; currency: string; amount: bigint }>();
  for (const payment of input.payments) {
    const currency = payment.currency.toUpperCase();
    minorUnitDigits(currency); // rejects what is not an ISO 4217 code before it is summed
    const groupKey = `${payment.kind}:${currency}`;
    const group = sums.get(groupKey) ?? { kind: payment.kind, currency, amount: 0n };
    group.amount += toBigInt(payment.amount);
    sums.set(groupKey, group);
  }
  const kindOrder: Readonly<Record<PaymentKind, number>> = { Bar: 0, Unbar: 1 };
  const groups = [...sums.values()]
    .filter((group) => group.amount !== 0n)
    .sort(
      (a, b) =>
        kindOrder[a.kind] - kindOrder[b.kind] ||
        Number(b.currency === BASE_CURRENCY) - Number(a.currency === BASE_CURRENCY) ||
        (a.currency < b.currency ? -1 : a.currency > b.currency ? 1 : 0),
    );
  if (groups.length > 0 && input.vorgangstyp.startsWith('AV') && input.vorgangstyp !== 'AVTraining') {
    throw new Error(`${input.vorgangstyp} takes no payment (DSFinV-K Anhang B: only Zahlart "Keine")`);
  }

  const payments = groups.map((group) => {
    const amount = formatScaled(group.amount, minorUnitDigits(group.currency));
    return group.currency === BASE_CURRENCY ? `${amount}:${group.kind}` : `${amount}:${group.kind}:${group.currency}`;
  });
  return `${input.vorgangstyp}^${positions.map((gross) => formatAmount(gross)).join('_')}^${payments.join('_')}`;
}

export type CashMovementKind =
  | 'opening_float'
  | 'pay_in'
  | 'pay_out'
  | 'drop'
  | 'tip_out'
  | 'private_deposit'
  | 'private_withdrawal'
  | 'transfer'
  | 'correction';

export type CashMovementDirection = 'in' | 'out';

/** DSFinV-K Anhang C business case (GV_TYP) of each cash movement, and the direction it must have if it has one. */
const CASH_MOVEMENTS: Readonly<
  Record<CashMovementKind, { businessCase: string; direction: CashMovementDirection | null }>
> = {
  opening_float: { businessCase: 'Anfangsbestand', direction: 'in' },
  pay_in: { businessCase: 'Einzahlung', direction: 'in' },
  pay_out: { businessCase: 'Auszahlung', direction: 'out' },
  drop: { businessCase: 'Geldtransit', direction: null },
  tip_out: { businessCase: 'TrinkgeldAN', direction: 'out' },
  private_deposit: { businessCase: 'Privateinlage', direction: 'in' },
  private_withdrawal: { businessCase: 'Privatentnahme', direction: 'out' },
  transfer: { businessCase: 'Geldtransit', direction: null },
  correction: { businessCase: 'DifferenzSollIst', direction: null },
};

/**
 * How a cash movement is signed by the TSE. Every one is a `Kassenbeleg-V1` receipt of Vorgangstyp `Beleg`: it
 * changes how the business's assets are composed, which is when DSFinV-K prescribes "Beleg" ("Der Vorgangstyp „Beleg“
 * ist immer dann zu wählen, wenn eine Änderung der Vermögenszusammensetzung des Betriebes aus dem Vorgang
 * resultiert"); AVTransfer is for processes "die zwar in der Kasse erfasst, aber für den Abrechnungsprozess nicht
 * weiterverarbeitet werden sollen" and takes no payment, so it cannot carry cash. Anhang I's examples sign a private
 * deposit as `Beleg^0.00_0.00_0.00_0.00_100.00^100.00:Bar` and a private withdrawal or a deposit into the business
 * bank account as `Beleg^0.00_0.00_0.00_0.00_-100.00^-100.00:Bar`; fiskaltrust signs "cash deposit / pay-in /
 * pay-out / exchange" the same way. The amount is not taxable, hence the fifth position; money into the drawer is
 * positive, money out negative.
 *
 * `amountMinor` is the positive amount moved, in minor units of `currency`. For a currency other than EUR the gross
 * position needs the EUR value, given as `baseAmountMinor`.
 */
export function cashMovementProcess(
  kind: CashMovementKind,
  direction: CashMovementDirection,
  amountMinor: bigint | number,
  currency: string,
  baseAmountMinor?: bigint | number,
): { processType: string; processData: string; businessCase: string } {
  const movement = CASH_MOVEMENTS[kind];
  if (movement.direction !== null && movement.direction !== direction) {
    throw new Error(`A ${kind} cash movement goes ${movement.direction}, not ${direction}`);
  }
  const amount = toBigInt(amountMinor);
  if (amount <= 0n) throw new RangeError(`A cash movement moves a positive amount, got ${amount}`);
  const code = currency.toUpperCase();
  let base: bigint;
  if (code === BASE_CURRENCY) {
    base = amount;
  } else {
    if (baseAmountMinor === undefined) throw new Error(`A ${code} cash movement needs its EUR value (baseAmountMinor)`);
    base = toBigInt(baseAmountMinor);
    if (base <= 0n) throw new RangeError(`baseAmountMinor must be positive, got ${base}`);
  }
  const sign = direction === 'in' ? 1n : -1n;
  return {
    processType: PROCESS_TYPE_KASSENBELEG,
    processData: kassenbelegProcessData({
      vorgangstyp: 'Beleg',
      grossByVatKey: new Map<VatKey, bigint>([[6, sign * base]]),
      payments: [{ amount: sign * amount, kind: 'Bar', currency: code }],
    }),
    businessCase: movement.businessCase,
  };
}
