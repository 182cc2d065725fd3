/**
 * The Austrian fiscal block (api.md §3, regime `rksv`) of an operation, a closing or a null receipt: the receipt as
 * issued, its machine-readable code in the three forms, and what it names. Pure.
 * @module
 */
import type { RksvTaxSet } from './amounts.js';
import type { RksvIssuedReceipt, RksvReceiptKind } from './register.js';
import { formatRksvAmount } from './amounts.js';
import { receiptUrl, receiptUrlHash } from './receipt-code.js';

/** The German name of each receipt kind, as documents print it. */
export const RKSV_DOCUMENT_TYPES: Readonly<Record<RksvReceiptKind, string>> = {
  standard: 'Beleg',
  storno: 'Stornobeleg',
  training: 'Trainingsbeleg',
  start: 'Startbeleg',
  monthly: 'Monatsbeleg',
  annual: 'Jahresbeleg',
  closing: 'Schlussbeleg',
  null: 'Nullbeleg',
  collective: 'Sammelbeleg',
};

export interface RksvFiscalBlock {
  regime: 'rksv';
  fiscal_unit_id: string;
  certified: boolean;
  /** The Belegnummer. */
  document_number: string;
  document_type: string;
  transmission_status: 'not_required';
  /**
   * `qr_data`: the machine-readable code `_R1-AT…` (QR form). `url`: its URL form, `<base>/<url_hash>`, where this
   * server answers GET with `qr_data` (`GET /v1/rksv-receipts/{urlHash}` under OPENFISKAL_PUBLIC_URL); null when the
   * server has no public URL configured.
   */
  verification: { qr_data: string; url: string | null };
  receipt_kind: RksvReceiptKind;
  /** Kassen-ID: the register's serial number. */
  cash_register_id: string;
  receipt_number: string;
  /** Local time as signed, `YYYY-MM-DDThh:mm:ss`. */
  receipt_date_time: string;
  /** Gross per tax set, with comma decimals as the code writes them. */
  amounts: Record<RksvTaxSet, string>;
  zda: string;
  /** Hex certificate serial (open system) or key id `U:<UID>-K<n>` (closed system). */
  certificate_serial: string;
  /** False when issued with "Sicherheitseinrichtung ausgefallen". */
  signed: boolean;
  /** The JWS compact serialisation (DEP7 `Belege-kompakt`). */
  jws: string;
  /** The OCR form (Base32 fields). */
  ocr_data: string;
  /** The last path element of the URL form: Base64-URL of the first 8 bytes of SHA-256(QR code). */
  url_hash: string;
  /** The Sammelbeleg issued just before this receipt when the device signed again after an outage. */
  collective_receipt: RksvFiscalBlock | null;
}

export function rksvFiscalBlock(input: {
  fiscalUnitId: string;
  certified: boolean;
  receipt: RksvIssuedReceipt;
  collective?: RksvFiscalBlock | null;
  /** Where receipts' QR code texts are published (`verification.url` = this + `/` + `url_hash`); null or absent: none. */
  receiptBaseUrl?: string | null;
}): RksvFiscalBlock {
  const { receipt } = input;
  const baseUrl = input.receiptBaseUrl ?? null;
  const amounts = receipt.amounts;
  return {
    regime: 'rksv',
    fiscal_unit_id: input.fiscalUnitId,
    certified: input.certified,
    document_number: receipt.receiptNumber,
    document_type: RKSV_DOCUMENT_TYPES[receipt.kind],
    transmission_status: 'not_required',
    verification: { qr_data: receipt.qr, url: baseUrl === null ? null : receiptUrl(baseUrl, receipt.qr) },
    receipt_kind: receipt.kind,
    cash_register_id: receipt.fields.kassenId,
    receipt_number: receipt.receiptNumber,
    receipt_date_time: receipt.dateTime,
    amounts: {
      normal: formatRksvAmount(amounts.normal),
      ermaessigt1: formatRksvAmount(amounts.ermaessigt1),
      ermaessigt2: formatRksvAmount(amounts.ermaessigt2),
      null: formatRksvAmount(amounts.null),
      besonders: formatRksvAmount(amounts.besonders),
    },
    zda: receipt.fields.zda,
    certificate_serial: receipt.fields.certificateSerial,
    signed: !receipt.signatureDeviceFailed,
    jws: receipt.jws,
    ocr_data: receipt.ocr,
    url_hash: receiptUrlHash(receipt.qr),
    collective_receipt: input.collective ?? null,
  };
}
