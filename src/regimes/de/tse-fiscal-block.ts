/**
 * The German fiscal block of an operation (api.md §3, regime `tse`): what the TSE signs for each kind of receipt
 * (DSFinV-K processType/processData) and the fields and QR code a receipt must carry. Pure.
 * @module
 */
import {
  formatAmount,
  kassenbelegProcessData,
  paymentKindFor,
  PROCESS_TYPE_KASSENBELEG,
  PROCESS_TYPE_SONSTIGER_VORGANG,
  vatKeyFor,
  type PaymentMethod,
  type ProcessDataPayment,
  type VatCategory,
  type VatKey,
  type Vorgangstyp,
} from './process-data.js';
import { qrCodeData } from './qr-code.js';

/** A signed log as the operation stores it. */
export interface TseLogView {
  readonly transactionNumber: bigint;
  readonly signatureCounter: bigint;
  readonly logTime: Date;
  readonly signature: string;
  readonly processType: string;
  readonly processData: string;
}

export interface TseRegistrationView {
  readonly tse_serial: string;
  readonly client_id: string;
  readonly signature_algorithm: string;
  readonly time_format: string;
  readonly public_key: string;
}

export interface TseEvent {
  signed_at: string;
  transaction_counter: number;
  signature: string;
  process_type: string;
  process_data: string;
}

export interface TseFiscalBlock {
  regime: 'tse';
  fiscal_unit_id: string;
  certified: boolean;
  document_number: string | null;
  document_type: string | null;
  transmission_status: 'not_required';
  verification: { qr_data: string | null; url: null };
  tse_serial: string;
  client_id: string;
  signature_algorithm: string;
  time_format: string;
  public_key: string;
  transaction_number: number;
  start_event: TseEvent | null;
  end_event: TseEvent | null;
}

/** The start of every German transaction: a Kassenbeleg whose content is not known yet (empty processData). */
export const START_PROCESS = { processType: PROCESS_TYPE_KASSENBELEG, processData: '' } as const;

export interface GrossLine {
  readonly rate: string;
  readonly category: VatCategory;
  readonly gross: number;
}

export interface PaymentLine {
  readonly method: PaymentMethod;
  readonly direction: 'inbound' | 'outbound';
  readonly amount: number;
  readonly currency: string;
}

/**
 * processData of a receipt: gross per VAT key (signed by `sign`, e.g. −1 for a refund or a cancellation) and the
 * payments (inbound positive, outbound negative). `AV…` types other than AVTraining carry no payment
 * (DSFinV-K Anhang B), so their payments are left out.
 */
export function receiptProcess(
  vorgangstyp: Vorgangstyp,
  breakdown: readonly GrossLine[],
  payments: readonly PaymentLine[],
  sign: 1 | -1,
): { processType: string; processData: string } {
  const gross = new Map<VatKey, bigint>();
  for (const line of breakdown) {
    const key = vatKeyFor(line.rate, line.category);
    gross.set(key, (gross.get(key) ?? 0n) + BigInt(sign * line.gross));
  }
  const takesPayments = !vorgangstyp.startsWith('AV') || vorgangstyp === 'AVTraining';
  const processPayments: ProcessDataPayment[] = takesPayments
    ? payments.map((payment) => ({
        // The direction already gives the sign: money in is positive, money out (refunds, change) negative.
        amount: BigInt(payment.direction === 'inbound' ? payment.amount : -payment.amount),
        kind: paymentKindFor(payment.method),
        currency: payment.currency,
      }))
    : [];
  return {
    processType: PROCESS_TYPE_KASSENBELEG,
    processData: kassenbelegProcessData({ vorgangstyp, grossByVatKey: gross, payments: processPayments }),
  };
}

/** What the TSE signs to close a receipt's transaction, and the DSFinV-K receipt type it records. */
export interface TseReceipt {
  readonly processType: string;
  readonly processData: string;
  readonly documentType: Vorgangstyp;
}

/** The receipt events of our operations that close a TSE transaction. */
export type TseReceiptEvent =
  | {
      readonly kind: 'complete';
      readonly operationType: 'sale' | 'training' | 'refund' | 'exchange';
      readonly breakdown: readonly GrossLine[];
      readonly payments: readonly PaymentLine[];
    }
  | { readonly kind: 'cancel'; readonly breakdown: readonly GrossLine[] }
  | {
      readonly kind: 'void';
      readonly originalType: string;
      readonly breakdown: readonly GrossLine[];
      /** The void's payments: the original's, reversed. */
      readonly payments: readonly PaymentLine[];
    };

/**
 * The DSFinV-K receipt of each event: a completed sale, refund or exchange is a `Beleg` (a refund's amounts
 * negative), a training sale `AVTraining`; a cancelled open operation is closed as an aborted receipt
 * (`AVBelegabbruch`) so the TSE's record stays complete. A void is a new `Beleg` that negates what the original
 * signed, payments included (a refund was signed negative, so its void is positive): DSFinV-K's `AVBelegstorno`
 * "kann bei Systemen, die mit einer TSE abgesichert werden, nicht verwendet werden" (quoted by fiskaly and
 * fiskaltrust); the DSFinV-K export marks it BON_STORNO. The void of a training sale is training too.
 */
export function tseReceipt(event: TseReceiptEvent): TseReceipt {
  switch (event.kind) {
    case 'complete': {
      const documentType = event.operationType === 'training' ? 'AVTraining' : 'Beleg';
      const sign = event.operationType === 'refund' ? -1 : 1;
      return { ...receiptProcess(documentType, event.breakdown, event.payments, sign), documentType };
    }
    case 'cancel':
      return { ...receiptProcess('AVBelegabbruch', event.breakdown, [], 1), documentType: 'AVBelegabbruch' };
    case 'void': {
      const documentType = event.originalType === 'training' ? 'AVTraining' : 'Beleg';
      const sign = event.originalType === 'refund' ? 1 : -1;
      return { ...receiptProcess(documentType, event.breakdown, event.payments, sign), documentType };
    }
  }
}

/** DSFinV-K document numbers: the year and the register's sequence number. */
export function tseDocumentNumber(sequenceNumber: bigint, at: Date): string {
  return `${at.getUTCFullYear()}-${String(sequenceNumber).padStart(6, '0')}`;
}

export function tseEvent(log: TseLogView): TseEvent {
  return {
    signed_at: log.logTime.toISOString(),
    transaction_counter: Number(log.signatureCounter),
    signature: log.signature,
    process_type: log.processType,
    process_data: log.processData,
  };
}

/** The fiscal block; with a finish log it carries the official 12-field `V0;…` QR code of that finish log. */
export function tseFiscalBlock(input: {
  fiscalUnitId: string;
  certified: boolean;
  registration: TseRegistrationView;
  documentNumber: string | null;
  documentType: string | null;
  start: TseLogView;
  finish: TseLogView | null;
}): TseFiscalBlock {
  const { registration, start, finish } = input;
  return {
    regime: 'tse',
    fiscal_unit_id: input.fiscalUnitId,
    certified: input.certified,
    document_number: input.documentNumber,
    document_type: input.documentType,
    transmission_status: 'not_required',
    verification: {
      qr_data:
        finish === null
          ? null
          : qrCodeData({
              clientId: registration.client_id,
              processType: finish.processType,
              processData: finish.processData,
              transactionNumber: finish.transactionNumber,
              signatureCounter: finish.signatureCounter,
              startTime: start.logTime,
              logTime: finish.logTime,
              signatureAlgorithm: registration.signature_algorithm,
              timeFormat: registration.time_format,
              signature: finish.signature,
              publicKey: registration.public_key,
            }),
      url: null,
    },
    tse_serial: registration.tse_serial,
    client_id: registration.client_id,
    signature_algorithm: registration.signature_algorithm,
    time_format: registration.time_format,
    public_key: registration.public_key,
    transaction_number: Number(start.transactionNumber),
    start_event: tseEvent(start),
    end_event: finish === null ? null : tseEvent(finish),
  };
}

/** Reads back a stored event (for a later finish after a start). */
export function tseLogFromEvent(event: TseEvent, transactionNumber: number): TseLogView {
  return {
    transactionNumber: BigInt(transactionNumber),
    signatureCounter: BigInt(event.transaction_counter),
    logTime: new Date(event.signed_at),
    signature: event.signature,
    processType: event.process_type,
    processData: event.process_data,
  };
}

/** What the TSE signs for a closing: a `SonstigerVorgang` naming the closing, its number and its net gross. */
export function tseClosingProcess(input: { closingType: string; zNumber: number; totalGross: number }): {
  processType: string;
  processData: string;
} {
  const kind = input.closingType === 'daily' ? 'Kassenabschluss' : `Abschluss-${input.closingType}`;
  return {
    processType: PROCESS_TYPE_SONSTIGER_VORGANG,
    processData: `${kind}^Z_NR=${String(input.zNumber)}^UMS_BRUTTO=${formatAmount(input.totalGross)}`,
  };
}

/**
 * The closing's fiscal block (api.md §6, regime `tse`): the first six fields are the contract; the rest are what an
 * auditor needs to verify the signature (both logs, the public key, the QR code of the closing's transaction).
 * `transaction_counter` is the signature counter of the finish log, as on operations' events.
 */
export interface TseClosingFiscalBlock {
  regime: 'tse';
  z_number: number;
  tse_serial: string;
  signature: string;
  transaction_counter: number;
  dsfinvk_export_id: string | null;
  fiscal_unit_id: string;
  certified: boolean;
  client_id: string;
  transaction_number: number;
  signature_algorithm: string;
  time_format: string;
  public_key: string;
  start_event: TseEvent;
  end_event: TseEvent;
  verification: { qr_data: string };
}

export function tseClosingFiscalBlock(input: {
  zNumber: number;
  fiscalUnitId: string;
  certified: boolean;
  registration: TseRegistrationView;
  start: TseLogView;
  finish: TseLogView;
  dsfinvkExportId: string | null;
}): TseClosingFiscalBlock {
  const operationBlock = tseFiscalBlock({
    fiscalUnitId: input.fiscalUnitId,
    certified: input.certified,
    registration: input.registration,
    documentNumber: null,
    documentType: null,
    start: input.start,
    finish: input.finish,
  });
  return {
    regime: 'tse',
    z_number: input.zNumber,
    tse_serial: input.registration.tse_serial,
    signature: input.finish.signature,
    transaction_counter: Number(input.finish.signatureCounter),
    dsfinvk_export_id: input.dsfinvkExportId,
    fiscal_unit_id: input.fiscalUnitId,
    certified: input.certified,
    client_id: input.registration.client_id,
    transaction_number: Number(input.finish.transactionNumber),
    signature_algorithm: input.registration.signature_algorithm,
    time_format: input.registration.time_format,
    public_key: input.registration.public_key,
    start_event: tseEvent(input.start),
    end_event: tseEvent(input.finish),
    verification: { qr_data: operationBlock.verification.qr_data ?? '' },
  };
}

/** The closing's TSE data as printed on the Z-report (German labels for `de`, English otherwise). */
export function tseClosingPrintLines(
  block: TseClosingFiscalBlock,
  language: string,
): { title: string; lines: Array<{ label: string; value: string }>; qrData: string } {
  const de = language === 'de';
  const label = (german: string, english: string) => (de ? german : english);
  return {
    title: label('TSE-Daten des Abschlusses', 'TSE data of the closing'),
    lines: [
      { label: label('TSE-Seriennummer', 'TSE serial number'), value: block.tse_serial },
      { label: label('Kassen-Seriennummer (Client-ID)', 'Client id'), value: block.client_id },
      { label: label('Transaktionsnummer', 'Transaction number'), value: String(block.transaction_number) },
      { label: label('Signaturzähler', 'Signature counter'), value: String(block.transaction_counter) },
      { label: label('Start', 'Start'), value: block.start_event.signed_at },
      { label: label('Ende', 'End'), value: block.end_event.signed_at },
      { label: label('Vorgangsart', 'Process type'), value: block.end_event.process_type },
      { label: label('Vorgangsdaten', 'Process data'), value: block.end_event.process_data },
      { label: label('Signaturalgorithmus', 'Signature algorithm'), value: block.signature_algorithm },
      { label: label('Zeitformat', 'Time format'), value: block.time_format },
      { label: label('Signatur', 'Signature'), value: block.signature },
      { label: label('Öffentlicher Schlüssel', 'Public key'), value: block.public_key },
    ],
    qrData: block.verification.qr_data,
  };
}
