import { describe, expect, it } from 'vitest';
import { rksvFiscalBlock, type RksvFiscalBlock } from './at/fiscal-block.js';
import { createRegisterState, issueReceipt } from './at/register.js';
import { createOpenSystemSoftwareDevice } from './at/signature-device.js';
import { generateAesKey } from './at/turnover-counter.js';
import {
  receiptFiscalFields,
  receiptFiscalNotice,
  receiptFiscalTitle,
  receiptJurisdiction,
  receiptLanguage,
} from './receipts.js';

const device = createOpenSystemSoftwareDevice();

/** A Startbeleg, then a sale: signed, or issued with the device failed. */
function austrianSale(signed: boolean): RksvFiscalBlock {
  const initial = createRegisterState({ kassenId: 'KASSE-1', aesKey: generateAesKey() });
  const start = issueReceipt(initial, { kind: 'start', dateTime: '2026-07-01T08:00:00' }, device.signer);
  const { receipt } = issueReceipt(
    start.nextState,
    { kind: 'standard', dateTime: '2026-07-01T10:15:30', amounts: { normal: 1200n } },
    signed ? device.signer : null,
  );
  return rksvFiscalBlock({ fiscalUnitId: 'fu_1', certified: false, receipt });
}

const TSE_BLOCK = {
  regime: 'tse',
  certified: false,
  client_id: 'K-0001',
  tse_serial: 'a3f1',
  transaction_number: 12,
  time_format: 'unixTime',
  signature_algorithm: 'ecdsa-plain-SHA256',
  public_key: 'BPUB',
  start_event: { signed_at: '2026-01-31T13:05:02.000Z' },
  end_event: { signed_at: '2026-01-31T13:05:09.000Z', transaction_counter: 34, signature: 'SIG' },
};

describe('receipts by regime', () => {
  it('gives an RKSV receipt the Austrian fields, in German', () => {
    const block = austrianSale(true);
    expect(receiptFiscalFields(block)).toEqual([
      { label: 'Kassen-ID', value: 'KASSE-1' },
      { label: 'Belegnummer', value: '2' },
      { label: 'Beleg-Datum/Uhrzeit', value: '01.07.2026 10:15:30' },
      { label: 'Belegart', value: 'Beleg' },
      { label: 'Zertifikat-Seriennummer', value: device.signer.certificateSerial },
      { label: 'ZDA', value: 'AT100' },
    ]);
    expect(receiptLanguage(block)).toBe('de');
    expect(receiptJurisdiction(block)).toBe('AT');
    expect(receiptFiscalTitle(block)).toBe('RKSV');
    expect(receiptFiscalNotice(block, 'de')).toBe(
      'Nicht zertifizierte Software-Signaturerstellungseinheit (Simulation)',
    );
    expect(receiptFiscalNotice({ ...block, certified: true }, 'de')).toBeNull();
  });

  it('adds "Sicherheitseinrichtung ausgefallen" to an RKSV receipt issued unsigned', () => {
    const block = austrianSale(false);
    expect(block.signed).toBe(false);
    expect(receiptFiscalFields(block)).toContainEqual({
      label: 'Hinweis',
      value: 'Sicherheitseinrichtung ausgefallen',
    });
  });

  it('keeps the German TSE fields, title and notice as they were', () => {
    expect(receiptFiscalFields(TSE_BLOCK)).toEqual([
      { label: 'Kassen-Seriennummer (ClientID)', value: 'K-0001' },
      { label: 'TSE-Seriennummer', value: 'a3f1' },
      { label: 'TSE-Transaktion', value: '12' },
      { label: 'TSE-Start', value: '2026-01-31T13:05:02.000Z' },
      { label: 'TSE-Stop', value: '2026-01-31T13:05:09.000Z' },
      { label: 'TSE-Signaturzähler', value: '34' },
      { label: 'TSE-Signatur', value: 'SIG' },
      { label: 'TSE-Zeitformat', value: 'unixTime' },
      { label: 'TSE-Hashalgorithmus', value: 'ecdsa-plain-SHA256' },
      { label: 'TSE-PublicKey', value: 'BPUB' },
    ]);
    // A block without its end event (not yet finished) prints what it has.
    const started = { ...TSE_BLOCK, end_event: null };
    expect(receiptFiscalFields(started).map(({ label }) => label)).not.toContain('TSE-Stop');
    expect(receiptLanguage(TSE_BLOCK)).toBe('de');
    expect(receiptJurisdiction(TSE_BLOCK)).toBe('DE');
    expect(receiptFiscalTitle(TSE_BLOCK)).toBe('TSE');
    expect(receiptFiscalNotice(TSE_BLOCK, 'de')).toBe('Nicht zertifizierte Software-TSE (Simulation)');
    expect(receiptFiscalNotice(TSE_BLOCK, 'en')).toBe('Uncertified software signing device (simulation)');
  });

  it('prints English and no fields without a known regime', () => {
    expect(receiptFiscalFields(null)).toEqual([]);
    expect(receiptLanguage(null)).toBe('en');
    expect(receiptJurisdiction(null)).toBe('other');
    const unknown = { regime: 'toString', certified: false };
    expect(receiptFiscalFields(unknown)).toEqual([]);
    expect(receiptLanguage(unknown)).toBe('en');
    expect(receiptJurisdiction(unknown)).toBe('other');
    expect(receiptFiscalTitle(unknown)).toBe('toString');
    expect(receiptFiscalNotice(unknown, 'en')).toBe('Uncertified software signing device (simulation)');
    expect(receiptJurisdiction({ regime: 'rt' })).toBe('IT');
    expect(receiptLanguage({ regime: 'rt' })).toBe('en');
  });
});
