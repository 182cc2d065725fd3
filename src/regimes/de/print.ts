/**
 * What a German receipt prints of its fiscal block: the plain-text TSE fields (KassenSichV § 6, AEAO zu § 146a,
 * DSFinV-K Anhang I). The DSFinV-K QR code is the block's `verification.qr_data`. Pure.
 * @module
 */
import type { TseEvent } from './tse-fiscal-block.js';

/** The parts of a `tse` fiscal block a receipt prints; any of them may be missing on a stored block. */
export interface TseReceiptFieldsView {
  readonly client_id?: string | null;
  readonly tse_serial?: string | null;
  readonly transaction_number?: number | null;
  readonly time_format?: string | null;
  readonly signature_algorithm?: string | null;
  readonly public_key?: string | null;
  readonly start_event?: Pick<TseEvent, 'signed_at'> | null;
  readonly end_event?: Pick<TseEvent, 'signed_at' | 'transaction_counter' | 'signature'> | null;
}

/** The TSE fields of a receipt, in print order; fields the block lacks are left out. */
export function tseReceiptFields(block: TseReceiptFieldsView): Array<{ label: string; value: string }> {
  const start = block.start_event;
  const end = block.end_event;
  const fields: Array<[string, string | number | null | undefined]> = [
    ['Kassen-Seriennummer (ClientID)', block.client_id],
    ['TSE-Seriennummer', block.tse_serial],
    ['TSE-Transaktion', block.transaction_number],
    ['TSE-Start', start?.signed_at],
    ['TSE-Stop', end?.signed_at],
    ['TSE-Signaturzähler', end?.transaction_counter],
    ['TSE-Signatur', end?.signature],
    ['TSE-Zeitformat', block.time_format],
    ['TSE-Hashalgorithmus', block.signature_algorithm],
    ['TSE-PublicKey', block.public_key],
  ];
  return fields
    .filter((field): field is [string, string | number] => field[1] !== undefined && field[1] !== null)
    .map(([label, value]) => ({ label, value: String(value) }));
}
