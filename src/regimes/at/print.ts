/**
 * What Austrian documents print of an RKSV fiscal block: the receipt's plain-text fields (§ 132a BAO
 * Belegerteilungspflicht, § 9 and § 10 RKSV, Detailspezifikation) and a closing's Monats-/Jahresbeleg on the
 * Z-report. The machine-readable code printed beside them is the block's `verification.qr_data`. Pure.
 *
 * A receipt issued while the signature device had failed carries "Sicherheitseinrichtung ausgefallen" instead of a
 * signature (§ 17 Abs. 4 RKSV) and says so in print; a receipt issued just after the device signed again is
 * preceded by its Sammelbeleg, which the receipt names.
 * @module
 */
import type { RksvFiscalBlock } from './fiscal-block.js';
import { SIGNATURE_DEVICE_FAILED_TEXT } from './receipt-code.js';
import { CLOSED_SYSTEM_ZDA } from './signature-device.js';

export interface PrintedField {
  label: string;
  value: string;
}

const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}:\d{2}:\d{2})$/;

/** The signed local time `YYYY-MM-DDThh:mm:ss` as printed: `31.01.2026 14:05:09` in German, else `2026-01-31 14:05:09`. */
export function printedReceiptDateTime(dateTime: string, language: string): string {
  const match = DATE_TIME.exec(dateTime);
  if (match === null) return dateTime;
  const [, year, month, day, time] = match as unknown as [string, string, string, string, string];
  return language === 'de' ? `${day}.${month}.${year} ${time}` : `${year}-${month}-${day} ${time}`;
}

/** A closed system names its key (`U:ATU12345678-K1`), an open one its certificate's serial. */
function isClosedSystem(block: Pick<RksvFiscalBlock, 'zda'>): boolean {
  return block.zda === CLOSED_SYSTEM_ZDA;
}

/** `Nr. 17 vorangestellt`: the Sammelbeleg issued just before a receipt. */
function collectiveNote(collective: RksvFiscalBlock, language: string): string {
  return language === 'de'
    ? `Nr. ${collective.receipt_number} vorangestellt`
    : `No. ${collective.receipt_number}, issued just before`;
}

/**
 * The RKSV fields of a receipt, in print order: Kassen-ID, Belegnummer, Beleg-Datum/Uhrzeit (the signed local
 * time), Belegart, Zertifikat-Seriennummer (open system) or Schlüssel-ID (closed system), ZDA; then the Sammelbeleg
 * it follows, if any, and "Sicherheitseinrichtung ausgefallen" when it went out unsigned. Austrian receipts are
 * printed in German.
 */
export function rksvReceiptFields(block: RksvFiscalBlock): PrintedField[] {
  const fields: PrintedField[] = [
    { label: 'Kassen-ID', value: block.cash_register_id },
    { label: 'Belegnummer', value: block.receipt_number },
    { label: 'Beleg-Datum/Uhrzeit', value: printedReceiptDateTime(block.receipt_date_time, 'de') },
    { label: 'Belegart', value: block.document_type },
    { label: isClosedSystem(block) ? 'Schlüssel-ID' : 'Zertifikat-Seriennummer', value: block.certificate_serial },
    { label: 'ZDA', value: block.zda },
  ];
  // `?? null`: a block stored before the field existed has none.
  const collective = block.collective_receipt ?? null;
  if (collective !== null) {
    fields.push({ label: 'Sammelbeleg', value: collectiveNote(collective, 'de') });
  }
  if (!block.signed) fields.push({ label: 'Hinweis', value: SIGNATURE_DEVICE_FAILED_TEXT });
  return fields;
}

/**
 * A closing's RKSV receipt (the Monats- or Jahresbeleg) as the Z-report prints it, German labels for `de`, English
 * otherwise; the QR code is the receipt's machine-readable code.
 */
export function rksvClosingPrintLines(
  block: RksvFiscalBlock,
  language: string,
): { title: string; lines: PrintedField[]; qrData: string } {
  const de = language === 'de';
  const label = (german: string, english: string): string => (de ? german : english);
  const lines: PrintedField[] = [
    { label: label('Kassen-ID', 'Cash register id'), value: block.cash_register_id },
    { label: label('Belegnummer', 'Receipt number'), value: block.receipt_number },
    { label: label('Datum', 'Date'), value: printedReceiptDateTime(block.receipt_date_time, language) },
    {
      label: isClosedSystem(block)
        ? label('Schlüssel-ID', 'Key id')
        : label('Zertifikat-Seriennummer', 'Certificate serial number'),
      value: block.certificate_serial,
    },
    { label: 'ZDA', value: block.zda },
    {
      label: label('Signiert', 'Signed'),
      value: block.signed ? label('ja', 'yes') : `${label('nein', 'no')} (${SIGNATURE_DEVICE_FAILED_TEXT})`,
    },
  ];
  const collective = block.collective_receipt ?? null;
  if (collective !== null) {
    lines.push({
      label: label('Sammelbeleg', 'Collective receipt'),
      value: collectiveNote(collective, language),
    });
  }
  return { title: `RKSV ${block.document_type}`, lines, qrData: block.verification.qr_data };
}
