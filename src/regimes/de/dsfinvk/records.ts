/**
 * Our data as DSFinV-K rows: one {@link ClosingRecords} per Kassenabschluss takes the closing's operations in
 * journal order and emits the rows of every table into a {@link RowSink}; the closing tables (Stamm_*, Z_*) follow
 * from what it has seen. Pure: no I/O, and memory does not grow with the number of operations.
 *
 * Mapping decisions (sources: DSFinV-K 2.x as quoted by pretix/python-dsfinvk, TWEECORE/dsfinvk and
 * opencore/dsfinvk-java; where the BMF text itself was not at hand, that is said at the rule):
 *
 * - Receipts (Bonkopf, BON_TYP): a completed sale, refund or exchange and every cash movement is a `Beleg`; a training
 *   sale `AVTraining`; a cancelled (aborted) operation `AVBelegabbruch`; a void is the new `Beleg` its TSE
 *   transaction signed, with BON_STORNO 1 and the original's amounts and payments negated (the void of a training
 *   sale: `AVTraining`). BON_TYP is read from the signed processData so the two never disagree. (DSFinV-K Tz. 4.2.2
 *   and Anhang I, as quoted by a public implementation's notes and by fiskaltrust's release notes: with a TSE a
 *   storno is a new `Beleg` with BON_STORNO 1 and negated amounts; AVBelegstorno "kann bei Systemen, die mit einer
 *   TSE abgesichert werden, nicht verwendet werden".) BON_ID is the operation id, BON_NR its sequence number, times are RFC 3339 in the
 *   location's time zone (DSFinV-K 2.4 p.64, per TWEECORE), TSE log times UTC with milliseconds (p.104).
 * - Amounts: a refund's lines and amounts are negative (MENGE negative, STK_BR the positive unit price); an
 *   exchange's new lines positive and its returned lines negative; a void repeats its original's lines with every
 *   amount negated (a refund's void is therefore positive); an aborted receipt keeps the amounts it was signed with.
 * - Closing totals (Z_GV_Typ, Z_Zahlart, Z_Waehrungen, Z_SE_*) take completed Belege and voids; training (and the
 *   voids of training) and aborted receipts add nothing: "Trainingsumsätze lösen weder eine kassenwirksame noch eine
 *   umsatzsteuerbehaftete Verbuchung aus" (Tz. 4.2.6), an aborted receipt took no payment. So the Z tables equal the
 *   closing summary of closing-summary.ts (api.md §6).
 * - Business cases (GV_TYP) per line: `Umsatz`; a line flagged `deposit` `Pfand` (given back: `PfandRueckzahlung`),
 *   `gift_card` `MehrzweckgutscheinKauf` when not taxable else `EinzweckgutscheinKauf`, `tip` `TrinkgeldAG` when
 *   taxable else `TrinkgeldAN`. Cash movements carry the GV_TYP of process-data.ts's `cashMovementProcess`
 *   (Anfangsbestand, Einzahlung, Auszahlung, Geldtransit, Privateinlage, Privatentnahme, DifferenzSollIst, TrinkgeldAN)
 *   and our kind as GV_NAME, so lines (GV_NAME empty) and cash movements stay apart in Z_GV_Typ.
 * - VAT keys (UST_SCHLUESSEL) follow the DSFinV-K key table (Anlage, as listed identically by fiskaltrust's DE
 *   documentation and TWEECORE's `vatkeys.go`): 1 general and 2 reduced rate in force when recorded, 5 not taxable
 *   ("Nicht Steuerbar"), 6 tax-free ("Umsatzsteuerfrei", also our `zero` category: German zero-rated supplies,
 *   exports and intra-EU, are steuerfrei), 11/12 the 19 %/7 % rates while 16 %/5 % were in force (2020-07-01 to
 *   2020-12-31), 21/22 those 16 %/5 % rates afterwards. process-data.ts's `vatKeyFor` uses the same table but
 *   without dates (16 %/5 % are always 21/22 there), which does not change the signed processData: a historical key
 *   shares its base key's position.
 * - Tax: per receipt, transactions_vat has the amounts the receipt printed (its tax_breakdown); each line's tax is its
 *   share by cumulative rounding, so a receipt's lines sum exactly to its header. Z_UST is extracted per VAT key from
 *   the closing's gross, half up, exactly as the summary's tax_breakdown, and split over the key's business cases.
 * - Discounts (Bonpos_Preisfindung): a discounted line has a `base_amount` row (its undiscounted price) and one
 *   `discount` row per line discount and per cart-discount share, negative; TYP spelled as 2.4 p.98 and pretix.
 * - Payments (ZAHLART_TYP, Anhang D as quoted by opencore): cash `Bar`; card `ECKarte` when its scheme is a debit
 *   scheme (girocard, Maestro, V PAY), else `Unbar` (we cannot tell a debit from a credit card); wallet and online
 *   `ElZahlungsdienstleister`; gift_card `Guthabenkarte`; voucher and other `Unbar`. ZAHLART_NAME is our method, so
 *   payment.csv maps back to the summary's methods. A receipt's payments are summed per type, name and currency
 *   (change is an outbound cash payment and so reduces cash); sums of zero are left out.
 * - References: a refund, exchange or void references its original as REF_TYP `Transaktion` with the original's
 *   Z_KASSE_ID, Z_NR and Z_ERSTELLUNG (REF_DATUM) and REF_BON_ID; Z_NR and date stay empty while the original's
 *   register has not closed it.
 * @module
 */
import { parseRate, roundHalfUp } from '../../../shared/money.js';
import { zonedParts } from '../../../shared/time.js';
import { cashMovementProcess, type CashMovementKind } from '../process-data.js';
import { alpha3 } from './countries.js';
import { DsfinvkValueError, type Cell } from './csv.js';
import { CERTIFICATE_PART_COUNT, CERTIFICATE_PART_LENGTH, TAXONOMY_VERSION, type DsfinvkFile } from './tables.js';

// ---------------------------------------------------------------------------------------------------------------
// Input: the stored shapes this module reads (structural subsets of the operation and closing documents)
// ---------------------------------------------------------------------------------------------------------------

export interface LineItemInput {
  readonly description: string;
  readonly quantity: number;
  readonly unit?: string;
  readonly unit_price_gross: number;
  readonly tax: { readonly rate: string; readonly category: string };
  readonly product_ref?: string | null;
  readonly flags?: readonly string[];
  readonly line_discounts?: ReadonlyArray<{ readonly amount: number }>;
  readonly cart_discount_allocations?: ReadonlyArray<{ readonly amount: number }>;
  readonly subtotal_gross: number;
  readonly total_gross: number;
}

export interface TaxGroupInput {
  readonly rate: string;
  readonly category: string;
  readonly gross: number;
  readonly taxable_amount: number;
  readonly tax_amount: number;
}

export interface PaymentLineInput {
  readonly method: string;
  readonly direction: 'inbound' | 'outbound';
  readonly amount: number;
  readonly currency?: string;
  readonly card?: Readonly<Record<string, string>>;
}

export interface CustomerInput {
  readonly name?: string;
  readonly customer_ref?: string;
  readonly vat_id?: string;
  readonly address?: {
    readonly line1?: string;
    readonly line2?: string;
    readonly city?: string;
    readonly postal_code?: string;
    readonly country?: string;
  };
}

/** The operation's `data` document. */
export interface OperationDataInput {
  readonly currency?: string;
  readonly line_items?: readonly LineItemInput[];
  readonly returned_line_items?: readonly LineItemInput[];
  readonly totals?: { readonly total_gross: number; readonly tax_breakdown: readonly TaxGroupInput[] };
  readonly payments?: readonly PaymentLineInput[];
  readonly customer?: CustomerInput | null;
  readonly original_operation_type?: string;
  readonly kind?: string;
  readonly direction?: string;
  readonly amount?: number;
}

export interface TseEventInput {
  readonly signed_at: string;
  /** The signature counter of the log (named so in the API). */
  readonly transaction_counter: number;
  readonly signature: string;
  readonly process_type: string;
  readonly process_data: string;
}

/** The operation's `fiscal` document (regime `tse`). */
export interface TseBlockInput {
  readonly fiscal_unit_id: string;
  readonly transaction_number: number;
  readonly start_event: TseEventInput | null;
  readonly end_event: TseEventInput | null;
}

export type OperationTypeInput = 'sale' | 'refund' | 'exchange' | 'void' | 'cash_movement' | 'training';

/** Where the original of a refund, exchange or void was recorded. */
export interface OriginalInput {
  readonly operationId: string;
  /** The original register's Z_KASSE_ID. */
  readonly kasseId: string;
  /** The daily closing holding the original, or null while there is none. */
  readonly zNumber: bigint | null;
  readonly closedAt: string | null;
  readonly timeZone: string | null;
}

export interface ReceiptInput {
  readonly id: string;
  readonly type: OperationTypeInput;
  readonly state: 'open' | 'completed' | 'cancelled';
  readonly sequenceNumber: bigint;
  /** Stored UTC timestamps. */
  readonly startedAt: string;
  readonly endedAt: string;
  readonly cashier: { readonly id: string; readonly display_name: string } | null;
  readonly reason: string | null;
  readonly data: OperationDataInput;
  readonly fiscal: TseBlockInput | null;
  readonly original: OriginalInput | null;
}

export interface AddressInput {
  readonly street: string;
  readonly postalCode: string;
  readonly city: string;
  /** ISO 3166-1 alpha-2. */
  readonly country: string;
}

export interface TseInput {
  readonly fiscalUnitId: string;
  readonly serial: string;
  readonly signatureAlgorithm: string;
  readonly timeFormat: string;
  /** Base64. */
  readonly publicKey: string;
  /** Base64 DER. */
  readonly certificate: string;
}

export interface ClosingInput {
  /** Z_KASSE_ID: the register's serial number. */
  readonly kasseId: string;
  readonly zNumber: bigint;
  /** The closing's cut (its period end), stored UTC. */
  readonly closedAt: string;
  /** The location's IANA time zone. */
  readonly timeZone: string;
  /** The register's currency (KASSE_BASISWAEH_CODE). */
  readonly currency: string;
  readonly company: {
    readonly name: string;
    readonly address: AddressInput | null;
    readonly taxNumber: string;
    readonly vatId: string;
  };
  readonly location: { readonly name: string; readonly address: AddressInput | null; readonly vatId: string };
  readonly register: {
    readonly serialNumber: string;
    readonly brand: string;
    readonly model: string;
    readonly softwareBrand: string;
    readonly softwareVersion: string;
  };
  /** The register's TSEs, in TSE_ID order (1, 2, …). */
  readonly tses: readonly TseInput[];
}

/** Receives the encoded rows; `key` comes first and holds for every row after it. */
export interface RowSink {
  key(kasseId: string, erstellung: string, zNumber: bigint): void;
  row(file: DsfinvkFile, cells: readonly Cell[]): void;
}

// ---------------------------------------------------------------------------------------------------------------
// VAT keys
// ---------------------------------------------------------------------------------------------------------------

export type DsfinvkVatKey = 1 | 2 | 5 | 6 | 11 | 12 | 21 | 22;

export const VAT_KEY_DESCRIPTIONS: Readonly<Record<DsfinvkVatKey, string>> = {
  1: 'Regelsteuersatz',
  2: 'Ermäßigter Steuersatz',
  5: 'Nicht Steuerbar',
  6: 'Umsatzsteuerfrei',
  11: 'Historischer allgemeiner Steuersatz (§ 12 Abs. 1 UStG)',
  12: 'Historischer ermäßigter Steuersatz (§ 12 Abs. 2 UStG)',
  21: 'Historischer allgemeiner Steuersatz (§ 12 Abs. 1 UStG)',
  22: 'Historischer ermäßigter Steuersatz (§ 12 Abs. 2 UStG)',
};

/** The rate in thousandths (`"0.19"` → 190), or undefined when it has more decimals than that. */
function thousandths(rate: string): number | undefined {
  const { numerator, denominator } = parseRate(rate);
  const scaled = numerator * 1000n;
  return scaled % denominator === 0n ? Number(scaled / denominator) : undefined;
}

/**
 * The UST_SCHLUESSEL of a line's rate and category, given the business day it was recorded on (which decides
 * whether 16 %/5 % or 19 %/7 % was the rate in force). Throws for a rate the key table has no key for.
 */
export function dsfinvkVatKey(rate: string, category: string, businessDay: string): DsfinvkVatKey {
  const value = thousandths(rate);
  const cut2020 = businessDay >= '2020-07-01' && businessDay <= '2020-12-31';
  switch (category) {
    case 'not_taxable':
    case 'exempt':
    case 'zero':
      if (value !== 0) break;
      return category === 'not_taxable' ? 5 : 6;
    case 'standard':
      if (value === 190) return cut2020 ? 11 : 1;
      if (value === 160) return cut2020 ? 1 : 21;
      break;
    case 'reduced':
      if (value === 70) return cut2020 ? 12 : 2;
      if (value === 50) return cut2020 ? 2 : 22;
      break;
  }
  throw new DsfinvkValueError(`No DSFinV-K VAT key for the ${category} rate ${rate}`);
}

// ---------------------------------------------------------------------------------------------------------------
// Payments
// ---------------------------------------------------------------------------------------------------------------

export type ZahlartTyp =
  'Bar' | 'Unbar' | 'Keine' | 'ECKarte' | 'Kreditkarte' | 'ElZahlungsdienstleister' | 'Guthabenkarte';

const DEBIT_SCHEMES = new Set(['girocard', 'ec', 'maestro', 'vpay', 'v pay', 'v-pay']);

/** ZAHLART_TYP of a payment method (see the module comment for why). */
export function zahlartTyp(method: string, card?: Readonly<Record<string, string>>): ZahlartTyp {
  switch (method) {
    case 'cash':
      return 'Bar';
    case 'card': {
      const scheme = card?.scheme?.trim().toLowerCase();
      return scheme !== undefined && DEBIT_SCHEMES.has(scheme) ? 'ECKarte' : 'Unbar';
    }
    case 'wallet':
    case 'online':
      return 'ElZahlungsdienstleister';
    case 'gift_card':
      return 'Guthabenkarte';
    default:
      return 'Unbar';
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------------------------

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

interface VatInfo {
  readonly key: DsfinvkVatKey;
  readonly rate: string;
  readonly numerator: number;
  readonly denominator: number;
  readonly taxable: boolean;
  readonly category: string;
}

/** Tax contained in a gross amount, half up (away from zero), as closing-summary.ts and pricing.ts extract it. */
function taxOfGross(gross: number, vat: VatInfo): number {
  if (vat.numerator === 0 || gross === 0) return 0;
  const magnitude = gross < 0 ? -gross : gross;
  const divisor = vat.denominator + vat.numerator;
  const product = magnitude * vat.numerator;
  let tax: number;
  if (product <= MAX_SAFE) {
    const rest = product % divisor;
    tax = (product - rest) / divisor + (rest * 2 >= divisor ? 1 : 0);
  } else {
    tax = Number(roundHalfUp(BigInt(magnitude) * BigInt(vat.numerator), BigInt(divisor)));
  }
  return gross < 0 ? -tax : tax;
}

function add(a: number, b: number): number {
  const sum = a + b;
  if (!Number.isSafeInteger(sum)) throw new DsfinvkValueError(`Sum beyond ${MAX_SAFE}`);
  return sum;
}

/** RFC 3339 in an IANA time zone, to the second; offsets are cached per quarter hour (zones change on those). */
class LocalTime {
  private readonly offsets = new Map<number, number>();

  constructor(readonly timeZone: string) {}

  private offsetMinutes(ms: number): number {
    const bucket = Math.floor(ms / 900_000);
    const cached = this.offsets.get(bucket);
    if (cached !== undefined) return cached;
    const instant = bucket * 900_000;
    const field = zonedParts(new Date(instant), this.timeZone);
    const wall = Date.UTC(field.year, field.month - 1, field.day, field.hour, field.minute, field.second);
    const offset = Math.round((wall - instant) / 60_000);
    this.offsets.set(bucket, offset);
    return offset;
  }

  private local(utc: string): { wall: string; offset: number } {
    const ms = Date.parse(utc);
    if (Number.isNaN(ms)) throw new DsfinvkValueError(`Not a timestamp: ${JSON.stringify(utc)}`);
    const offset = this.offsetMinutes(ms);
    return { wall: new Date(ms + offset * 60_000).toISOString(), offset };
  }

  // The last UTC minute written and its local form: offsets are whole minutes, so only the seconds change within it.
  private lastMinute = '';
  private lastLocalMinute = '';
  private lastOffset = '';

  /** `2026-03-01T09:30:00.000Z` in Europe/Berlin → `2026-03-01T10:30:00+01:00`. */
  rfc3339(utc: string): string {
    const stored = utc.length === 24 && utc.endsWith('Z');
    if (stored && utc.startsWith(this.lastMinute) && this.lastMinute !== '') {
      return this.lastLocalMinute + utc.slice(16, 19) + this.lastOffset;
    }
    const { wall, offset } = this.local(utc);
    const magnitude = Math.abs(offset);
    const hh = String(Math.floor(magnitude / 60)).padStart(2, '0');
    const mm = String(magnitude % 60).padStart(2, '0');
    const suffix = `${offset < 0 ? '-' : '+'}${hh}:${mm}`;
    if (stored) {
      this.lastMinute = utc.slice(0, 16);
      this.lastLocalMinute = wall.slice(0, 16);
      this.lastOffset = suffix;
    }
    return wall.slice(0, 19) + suffix;
  }

  /** The local calendar day, `YYYY-MM-DD`. */
  day(utc: string): string {
    return this.local(utc).wall.slice(0, 10);
  }
}

const BON_TYPES = new Set([
  'Beleg',
  'AVTransfer',
  'AVBestellung',
  'AVTraining',
  'AVBelegstorno',
  'AVBelegabbruch',
  'AVSachbezug',
  'AVSonstige',
  'AVRechnung',
]);

/** The Vorgangstyp the TSE signed (`Beleg^…` → `Beleg`), if the processData has a known one. */
function signedVorgangstyp(fiscal: TseBlockInput | null): string | undefined {
  const data = fiscal?.end_event?.process_data;
  if (data === undefined) return undefined;
  const end = data.indexOf('^');
  const type = end < 0 ? data : data.slice(0, end);
  return BON_TYPES.has(type) ? type : undefined;
}

function street(address: { readonly line1?: string; readonly line2?: string } | undefined): string {
  if (address === undefined) return '';
  const line1 = address.line1 ?? '';
  const line2 = address.line2 ?? '';
  return line2 === '' ? line1 : line1 === '' ? line2 : `${line1}, ${line2}`;
}

function country3(alpha2: string | undefined, where: string): string {
  if (alpha2 === undefined || alpha2 === '') return '';
  const code = alpha3(alpha2);
  if (code === undefined) throw new DsfinvkValueError(`${where}: not an ISO 3166-1 country: ${JSON.stringify(alpha2)}`);
  return code;
}

/** EINHEIT: our default unit `piece` is a German receipt's `Stück`. */
function unitName(unit: string | undefined): string {
  return unit === undefined || unit === 'piece' ? 'Stück' : unit;
}

/** GV_TYP of a receipt line; `givenBack` for lines recorded negative (refunded, returned). */
function lineBusinessCase(line: LineItemInput, vat: VatInfo, givenBack: boolean): string {
  const flags = line.flags ?? [];
  if (flags.length === 0) return 'Umsatz';
  if (flags.includes('deposit')) return givenBack ? 'PfandRueckzahlung' : 'Pfand';
  if (flags.includes('gift_card')) return vat.taxable ? 'EinzweckgutscheinKauf' : 'MehrzweckgutscheinKauf';
  if (flags.includes('tip')) return vat.taxable ? 'TrinkgeldAG' : 'TrinkgeldAN';
  return 'Umsatz';
}

const CASH_MOVEMENT_KINDS = new Set<string>([
  'opening_float',
  'pay_in',
  'pay_out',
  'drop',
  'tip_out',
  'private_deposit',
  'private_withdrawal',
  'transfer',
  'correction',
]);

/** A cash movement's VAT key: not taxable, "Nicht Steuerbar". */
const CASH_MOVEMENT_VAT: VatInfo = {
  key: 5,
  rate: '0',
  numerator: 0,
  denominator: 1,
  taxable: false,
  category: 'not_taxable',
};

interface BusinessCaseSum {
  readonly gvTyp: string;
  readonly gvName: string;
  readonly vat: VatInfo;
  gross: number;
}

interface PaymentSum {
  readonly typ: ZahlartTyp;
  readonly name: string;
  readonly currency: string;
  amount: number;
}

/** What a closing's records added up to, for progress and logs. */
export interface ClosingRecordsResult {
  readonly receipts: number;
  readonly firstBonId: string | null;
  readonly lastBonId: string | null;
}

// ---------------------------------------------------------------------------------------------------------------
// The closing
// ---------------------------------------------------------------------------------------------------------------

/** Emits the rows of one Kassenabschluss: {@link addReceipt} per operation in journal order, then {@link finish}. */
export class ClosingRecords {
  private readonly time: LocalTime;
  private readonly businessDay: string;
  private readonly otherZones = new Map<string, LocalTime>();
  private readonly vatCache = new Map<string, VatInfo>();
  private readonly usedVat = new Map<DsfinvkVatKey, VatInfo>();
  private readonly tseIds = new Map<string, number>();
  private readonly businessCases = new Map<string, BusinessCaseSum>();
  private readonly payments = new Map<string, PaymentSum>();
  private readonly cashByCurrency = new Map<string, number>();
  /** Per receipt: the running gross of each VAT key over its lines. */
  private readonly lineGross = new Map<DsfinvkVatKey, number>();
  private allPayments = 0;
  private cashPayments = 0;
  private receipts = 0;
  private firstBonId: string | null = null;
  private lastBonId: string | null = null;
  private finished = false;

  constructor(
    private readonly closing: ClosingInput,
    private readonly sink: RowSink,
  ) {
    this.time = new LocalTime(closing.timeZone);
    this.businessDay = this.time.day(closing.closedAt);
    closing.tses.forEach((tse, index) => this.tseIds.set(tse.fiscalUnitId, index + 1));
    sink.key(closing.kasseId, this.time.rfc3339(closing.closedAt), closing.zNumber);
  }

  private vat(rate: string, category: string): VatInfo {
    const cacheKey = `${rate}|${category}`;
    let info = this.vatCache.get(cacheKey);
    if (info === undefined) {
      const key = dsfinvkVatKey(rate, category, this.businessDay);
      const { numerator, denominator } = parseRate(rate);
      info = {
        key,
        rate,
        numerator: Number(numerator),
        denominator: Number(denominator),
        taxable: numerator !== 0n,
        category,
      };
      this.vatCache.set(cacheKey, info);
    }
    return info;
  }

  private useVat(vat: VatInfo): void {
    if (!this.usedVat.has(vat.key)) this.usedVat.set(vat.key, vat);
  }

  private addBusinessCase(gvTyp: string, gvName: string, vat: VatInfo, gross: number): void {
    const mapKey = `${gvTyp}\u0000${gvName}\u0000${vat.key}`;
    const sum = this.businessCases.get(mapKey);
    if (sum === undefined) this.businessCases.set(mapKey, { gvTyp, gvName, vat, gross });
    else sum.gross = add(sum.gross, gross);
  }

  /** One operation finished in this closing (completed or cancelled). */
  addReceipt(receipt: ReceiptInput): void {
    if (this.finished) throw new Error('The closing is finished');
    try {
      this.receipt(receipt);
    } catch (error) {
      if (error instanceof DsfinvkValueError) throw new DsfinvkValueError(`${receipt.id}: ${error.message}`);
      throw error;
    }
  }

  private receipt(r: ReceiptInput): void {
    if (r.state === 'open') throw new Error('An open operation is no receipt yet');
    const bonId = r.id;
    const data = r.data;
    const cancelled = r.state === 'cancelled';
    const originalType = data.original_operation_type;
    const isTraining = r.type === 'training' || (r.type === 'void' && originalType === 'training');
    // Only what changes the business's assets counts in the closing (see the module comment).
    const counts = !cancelled && !isTraining;

    let bonTyp: string;
    let umsBrutto: number;
    if (r.type === 'cash_movement') {
      umsBrutto = this.cashMovement(r, bonId, counts);
      bonTyp = signedVorgangstyp(r.fiscal) ?? 'Beleg';
    } else {
      // The sign of the sold lines as recorded: a refund gives back, a void undoes its original, an aborted receipt
      // keeps what it was signed with.
      let sign: 1 | -1 = 1;
      if (!cancelled && r.type === 'refund') sign = -1;
      if (!cancelled && r.type === 'void') sign = originalType === 'refund' ? 1 : -1;
      const soldGivenBack = r.type === 'refund' || (r.type === 'void' && originalType === 'refund');
      this.lines(bonId, data, sign, soldGivenBack, counts);
      umsBrutto = sign * (data.totals?.total_gross ?? 0);
      this.receiptVat(bonId, data, sign);
      if (!cancelled) this.receiptPayments(bonId, data.payments ?? [], counts);
      const derived = cancelled ? 'AVBelegabbruch' : r.type === 'training' ? 'AVTraining' : 'Beleg';
      bonTyp = signedVorgangstyp(r.fiscal) ?? derived;
    }

    const customer = data.customer ?? undefined;
    this.sink.row('transactions.csv', [
      bonId,
      r.sequenceNumber,
      bonTyp,
      '',
      '',
      r.type === 'void' ? '1' : '0',
      this.time.rfc3339(r.startedAt),
      this.time.rfc3339(r.endedAt),
      r.cashier?.id ?? '',
      r.cashier?.display_name ?? '',
      umsBrutto,
      customer?.name ?? '',
      customer?.customer_ref ?? '',
      '',
      street(customer?.address),
      customer?.address?.postal_code ?? '',
      customer?.address?.city ?? '',
      country3(customer?.address?.country, 'KUNDE_LAND'),
      customer?.vat_id ?? '',
      r.reason ?? '',
    ]);

    if (r.original !== null) this.reference(bonId, r.original);
    this.tseTransaction(bonId, r.fiscal);

    this.receipts++;
    this.firstBonId ??= bonId;
    this.lastBonId = bonId;
  }

  private lines(bonId: string, data: OperationDataInput, sign: 1 | -1, soldGivenBack: boolean, counts: boolean): void {
    this.lineGross.clear();
    const sold = this.emitLines(bonId, data.line_items ?? [], 0, sign, soldGivenBack, counts);
    // Returned lines of an exchange run against its sold lines; they were given back as recorded.
    this.emitLines(bonId, data.returned_line_items ?? [], sold, sign === 1 ? -1 : 1, true, counts);
  }

  /** Writes lines from position `after + 1` on; returns the last position. */
  private emitLines(
    bonId: string,
    lines: readonly LineItemInput[],
    after: number,
    sign: 1 | -1,
    givenBack: boolean,
    counts: boolean,
  ): number {
    let position = after;
    for (const line of lines) {
      position++;
      const pos = String(position);
      const vat = this.vat(line.tax.rate, line.tax.category);
      this.useVat(vat);
      const gvTyp = lineBusinessCase(line, vat, givenBack);
      const gross = sign * line.total_gross;
      this.sink.row('lines.csv', [
        bonId,
        pos,
        '',
        line.description,
        '',
        gvTyp,
        '',
        '0',
        '0',
        0,
        line.product_ref ?? '',
        '',
        '',
        '',
        sign * Math.round(line.quantity * 1000),
        null,
        unitName(line.unit),
        line.unit_price_gross,
      ]);
      // The line's tax is its share of the running gross of its VAT key on this receipt.
      const before = this.lineGross.get(vat.key) ?? 0;
      const running = add(before, gross);
      this.lineGross.set(vat.key, running);
      const tax = taxOfGross(running, vat) - taxOfGross(before, vat);
      this.sink.row('lines_vat.csv', [bonId, pos, vat.key, gross, gross - tax, tax]);
      this.priceFinding(bonId, pos, line, vat, sign);
      if (counts) this.addBusinessCase(gvTyp, '', vat, gross);
    }
    return position;
  }

  private priceFinding(bonId: string, pos: string, line: LineItemInput, vat: VatInfo, sign: 1 | -1): void {
    const lineDiscounts = line.line_discounts ?? [];
    const cartShares = line.cart_discount_allocations ?? [];
    if (lineDiscounts.length === 0 && cartShares.length === 0) return;
    const row = (typ: string, gross: number) => {
      const tax = taxOfGross(gross, vat);
      this.sink.row('itemamounts.csv', [bonId, pos, typ, vat.key, gross, gross - tax, tax]);
    };
    row('base_amount', sign * line.subtotal_gross);
    for (const discount of lineDiscounts) row('discount', -sign * discount.amount);
    for (const share of cartShares) row('discount', -sign * share.amount);
  }

  /** transactions_vat: the receipt's printed amounts per VAT key. */
  private receiptVat(bonId: string, data: OperationDataInput, sign: 1 | -1): void {
    const perKey = new Map<DsfinvkVatKey, { gross: number; net: number; tax: number }>();
    for (const group of data.totals?.tax_breakdown ?? []) {
      const vat = this.vat(group.rate, group.category);
      this.useVat(vat);
      const sum = perKey.get(vat.key) ?? { gross: 0, net: 0, tax: 0 };
      sum.gross = add(sum.gross, sign * group.gross);
      sum.net = add(sum.net, sign * group.taxable_amount);
      sum.tax = add(sum.tax, sign * group.tax_amount);
      perKey.set(vat.key, sum);
    }
    for (const [key, sum] of perKey) this.sink.row('transactions_vat.csv', [bonId, key, sum.gross, sum.net, sum.tax]);
  }

  private receiptPayments(bonId: string, payments: readonly PaymentLineInput[], counts: boolean): void {
    const groups = new Map<string, PaymentSum>();
    for (const payment of payments) {
      const currency = payment.currency ?? this.closing.currency;
      if (currency !== this.closing.currency) {
        throw new DsfinvkValueError(`a ${currency} payment on a ${this.closing.currency} register has no base amount`);
      }
      const typ = zahlartTyp(payment.method, payment.card);
      const mapKey = `${typ}\u0000${payment.method}\u0000${currency}`;
      const signed = payment.direction === 'inbound' ? payment.amount : -payment.amount;
      const group = groups.get(mapKey);
      if (group === undefined) groups.set(mapKey, { typ, name: payment.method, currency, amount: signed });
      else group.amount = add(group.amount, signed);
    }
    for (const group of groups.values()) {
      if (group.amount === 0) continue;
      this.paymentRow(bonId, group, counts);
    }
  }

  private paymentRow(bonId: string, payment: PaymentSum, counts: boolean): void {
    this.sink.row('datapayment.csv', [bonId, payment.typ, payment.name, payment.currency, null, payment.amount]);
    if (!counts) return;
    const mapKey = `${payment.typ}\u0000${payment.name}`;
    const sum = this.payments.get(mapKey);
    if (sum === undefined) this.payments.set(mapKey, { ...payment });
    else sum.amount = add(sum.amount, payment.amount);
    this.allPayments = add(this.allPayments, payment.amount);
    if (payment.typ === 'Bar') {
      this.cashPayments = add(this.cashPayments, payment.amount);
      this.cashByCurrency.set(payment.currency, add(this.cashByCurrency.get(payment.currency) ?? 0, payment.amount));
    }
  }

  /** A cash movement: one line of its business case, not taxable, paid in or out in cash. Returns UMS_BRUTTO. */
  private cashMovement(r: ReceiptInput, bonId: string, counts: boolean): number {
    const { kind, direction, amount } = r.data;
    const currency = r.data.currency ?? this.closing.currency;
    if (
      kind === undefined ||
      !CASH_MOVEMENT_KINDS.has(kind) ||
      (direction !== 'in' && direction !== 'out') ||
      amount === undefined
    ) {
      throw new DsfinvkValueError('a cash movement without kind, direction and amount');
    }
    if (currency !== this.closing.currency) {
      throw new DsfinvkValueError(`a ${currency} cash movement on a ${this.closing.currency} register`);
    }
    // The same business case the TSE signed for it.
    const { businessCase } = cashMovementProcess(kind as CashMovementKind, direction, amount, currency);
    const gross = direction === 'in' ? amount : -amount;
    const vat = CASH_MOVEMENT_VAT;
    this.useVat(vat);
    this.sink.row('lines.csv', [
      bonId,
      '1',
      '',
      businessCase,
      '',
      businessCase,
      kind,
      '0',
      '0',
      0,
      '',
      '',
      '',
      '',
      direction === 'in' ? 1000 : -1000,
      null,
      '',
      amount,
    ]);
    this.sink.row('lines_vat.csv', [bonId, '1', vat.key, gross, gross, 0]);
    this.sink.row('transactions_vat.csv', [bonId, vat.key, gross, gross, 0]);
    if (counts) this.addBusinessCase(businessCase, kind, vat, gross);
    this.paymentRow(bonId, { typ: 'Bar', name: 'cash', currency, amount: gross }, counts);
    return gross;
  }

  private reference(bonId: string, original: OriginalInput): void {
    let date = '';
    if (original.closedAt !== null) {
      const zone = original.timeZone ?? this.closing.timeZone;
      let time = zone === this.closing.timeZone ? this.time : this.otherZones.get(zone);
      if (time === undefined) {
        time = new LocalTime(zone);
        this.otherZones.set(zone, time);
      }
      date = time.rfc3339(original.closedAt);
    }
    this.sink.row('references.csv', [
      bonId,
      '',
      'Transaktion',
      '',
      date,
      original.kasseId,
      original.zNumber,
      original.operationId,
    ]);
  }

  private tseTransaction(bonId: string, fiscal: TseBlockInput | null): void {
    const end = fiscal?.end_event ?? null;
    if (fiscal === null || end === null) return;
    const tseId = this.tseIds.get(fiscal.fiscal_unit_id);
    if (tseId === undefined) {
      throw new DsfinvkValueError(`signed by ${fiscal.fiscal_unit_id}, not a TSE of the register`);
    }
    this.sink.row('transactions_tse.csv', [
      bonId,
      tseId,
      fiscal.transaction_number,
      fiscal.start_event?.signed_at ?? '',
      end.signed_at,
      end.process_type,
      end.transaction_counter,
      end.signature,
      '',
      // Optional, and signed data must not be cut: left out if it does not fit.
      end.process_data.length <= 1000 ? end.process_data : '',
    ]);
  }

  /** Writes the closing's master data and totals; call once, after the last receipt. */
  finish(): ClosingRecordsResult {
    if (this.finished) throw new Error('The closing is finished');
    this.finished = true;
    const { closing, sink } = this;
    const company = closing.company;
    sink.row('cashpointclosing.csv', [
      this.businessDay,
      TAXONOMY_VERSION,
      this.firstBonId ?? '',
      this.lastBonId ?? '',
      company.name,
      company.address?.street ?? '',
      company.address?.postalCode ?? '',
      company.address?.city ?? '',
      country3(company.address?.country, 'LAND'),
      company.taxNumber,
      company.vatId,
      this.allPayments,
      this.cashPayments,
    ]);
    const location = closing.location;
    sink.row('location.csv', [
      location.name,
      location.address?.street ?? '',
      location.address?.postalCode ?? '',
      location.address?.city ?? '',
      country3(location.address?.country, 'LOC_LAND'),
      location.vatId,
    ]);
    const register = closing.register;
    sink.row('cashregister.csv', [
      register.brand,
      register.model,
      register.serialNumber,
      register.softwareBrand,
      register.softwareVersion,
      closing.currency,
      '0',
    ]);
    closing.tses.forEach((tse, index) => {
      const parts: string[] = [];
      for (let i = 0; i < CERTIFICATE_PART_COUNT; i++) {
        parts.push(tse.certificate.slice(i * CERTIFICATE_PART_LENGTH, (i + 1) * CERTIFICATE_PART_LENGTH));
      }
      if (tse.certificate.length > CERTIFICATE_PART_COUNT * CERTIFICATE_PART_LENGTH) {
        throw new DsfinvkValueError(`the certificate of TSE ${tse.serial} is longer than TSE_ZERTIFIKAT_I–VII`);
      }
      sink.row('tse.csv', [
        index + 1,
        tse.serial,
        tse.signatureAlgorithm,
        tse.timeFormat,
        'UTF-8',
        tse.publicKey,
        ...parts,
      ]);
    });
    for (const key of [...this.usedVat.keys()].sort((a, b) => a - b)) {
      const vat = this.usedVat.get(key) as VatInfo;
      // UST_SATZ in percent with two decimals, i.e. in hundredths of a percent.
      sink.row('vat.csv', [key, Math.round((vat.numerator * 10_000) / vat.denominator), VAT_KEY_DESCRIPTIONS[key]]);
    }
    // Tax per VAT key from the key's total gross (as the summary extracts it per group), shared over the key's
    // business cases by cumulative rounding, so Σ Z_UST is exactly the closing's tax.
    const cumulative = new Map<DsfinvkVatKey, number>();
    for (const sum of this.businessCases.values()) {
      const before = cumulative.get(sum.vat.key) ?? 0;
      const after = add(before, sum.gross);
      cumulative.set(sum.vat.key, after);
      const tax = taxOfGross(after, sum.vat) - taxOfGross(before, sum.vat);
      sink.row('businesscases.csv', [sum.gvTyp, sum.gvName, 0, sum.vat.key, sum.gross, sum.gross - tax, tax]);
    }
    for (const sum of this.payments.values()) sink.row('payment.csv', [sum.typ, sum.name, sum.amount]);
    if (!this.cashByCurrency.has(closing.currency)) this.cashByCurrency.set(closing.currency, 0);
    for (const [currency, amount] of this.cashByCurrency) sink.row('cash_per_currency.csv', [currency, amount]);
    return { receipts: this.receipts, firstBonId: this.firstBonId, lastBonId: this.lastBonId };
  }
}
