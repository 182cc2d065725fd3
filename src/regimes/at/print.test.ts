import { describe, expect, it } from 'vitest';
import { closingFiscalPrint } from '../closings.js';
import { rksvFiscalBlock, type RksvFiscalBlock } from './fiscal-block.js';
import { printedReceiptDateTime, rksvClosingPrintLines, rksvReceiptFields } from './print.js';
import { createRegisterState, issueReceipt, type RksvReceiptInput, type RksvRegisterState } from './register.js';
import {
  createClosedSystemSoftwareDevice,
  createOpenSystemSoftwareDevice,
  type RksvSigner,
} from './signature-device.js';
import { generateAesKey } from './turnover-counter.js';

const open = createOpenSystemSoftwareDevice();
const closed = createClosedSystemSoftwareDevice({ companyId: 'U:ATU12345678', keyNumber: 1 });

/** Issues the receipts in order on a fresh register and returns each one's fiscal block. */
function issue(signer: RksvSigner, inputs: ReadonlyArray<RksvReceiptInput & { failed?: boolean }>): RksvFiscalBlock[] {
  let state: RksvRegisterState = createRegisterState({ kassenId: 'KASSE-1', aesKey: generateAesKey() });
  const blocks: RksvFiscalBlock[] = [];
  for (const { failed, ...input } of inputs) {
    const { receipt, nextState } = issueReceipt(state, input, failed === true ? null : signer);
    const previous = blocks.at(-1);
    blocks.push(
      rksvFiscalBlock({
        fiscalUnitId: 'fu_1',
        certified: false,
        receipt,
        collective: previous?.receipt_kind === 'collective' ? previous : null,
      }),
    );
    state = nextState;
  }
  return blocks;
}

const asMap = (fields: ReadonlyArray<{ label: string; value: string }>) =>
  Object.fromEntries(fields.map(({ label, value }) => [label, value]));

describe(rksvReceiptFields.name, () => {
  const [, sale, unsigned, collective, after, monthly] = issue(open.signer, [
    { kind: 'start', dateTime: '2026-07-01T08:00:00' },
    { kind: 'standard', dateTime: '2026-07-01T10:15:30', amounts: { normal: 1200n, ermaessigt1: 350n } },
    { kind: 'standard', dateTime: '2026-07-01T11:00:00', amounts: { normal: 500n }, failed: true },
    { kind: 'collective', dateTime: '2026-07-01T12:00:00' },
    { kind: 'standard', dateTime: '2026-07-01T12:00:05', amounts: { besonders: 490n } },
    { kind: 'monthly', dateTime: '2026-07-31T23:59:59' },
  ]) as [RksvFiscalBlock, RksvFiscalBlock, RksvFiscalBlock, RksvFiscalBlock, RksvFiscalBlock, RksvFiscalBlock];

  it('prints Kassen-ID, Belegnummer, the signed local time, Belegart, certificate serial and ZDA, in that order', () => {
    expect(rksvReceiptFields(sale)).toEqual([
      { label: 'Kassen-ID', value: 'KASSE-1' },
      { label: 'Belegnummer', value: '2' },
      { label: 'Beleg-Datum/Uhrzeit', value: '01.07.2026 10:15:30' },
      { label: 'Belegart', value: 'Beleg' },
      { label: 'Zertifikat-Seriennummer', value: open.signer.certificateSerial },
      { label: 'ZDA', value: 'AT100' },
    ]);
    // The printed values are the ones the machine-readable code signs.
    expect(sale.verification.qr_data).toContain(`_R1-AT100_KASSE-1_2_2026-07-01T10:15:30_12,00_3,50_`);
    expect(sale.verification.qr_data).toContain(`_${open.signer.certificateSerial}_`);
  });

  it('says "Sicherheitseinrichtung ausgefallen" on a receipt issued while the device had failed, only there', () => {
    expect(unsigned.signed).toBe(false);
    expect(rksvReceiptFields(unsigned).at(-1)).toEqual({
      label: 'Hinweis',
      value: 'Sicherheitseinrichtung ausgefallen',
    });
    for (const block of [sale, collective, after, monthly]) {
      expect(rksvReceiptFields(block).map(({ value }) => value)).not.toContain('Sicherheitseinrichtung ausgefallen');
    }
  });

  it('names the Sammelbeleg issued just before a receipt', () => {
    expect(asMap(rksvReceiptFields(collective))).toMatchObject({ Belegnummer: '4', Belegart: 'Sammelbeleg' });
    expect(after.collective_receipt?.receipt_number).toBe('4');
    expect(asMap(rksvReceiptFields(after))).toMatchObject({ Belegnummer: '5', Sammelbeleg: 'Nr. 4 vorangestellt' });
    expect(asMap(rksvReceiptFields(sale))).not.toHaveProperty('Sammelbeleg');
  });

  it('names the key id of a closed system', () => {
    const [start] = issue(closed.signer, [{ kind: 'start', dateTime: '2026-07-01T08:00:00' }]) as [RksvFiscalBlock];
    expect(asMap(rksvReceiptFields(start))).toMatchObject({
      'Schlüssel-ID': 'U:ATU12345678-K1',
      ZDA: 'AT0',
      Belegart: 'Startbeleg',
    });
    expect(asMap(rksvReceiptFields(start))).not.toHaveProperty('Zertifikat-Seriennummer');
  });

  it('prints the Monatsbeleg of a closing, with its machine-readable code', () => {
    const printed = closingFiscalPrint(monthly, 'de');
    expect(printed).toEqual(rksvClosingPrintLines(monthly, 'de'));
    expect(printed).toEqual({
      title: 'RKSV Monatsbeleg',
      lines: [
        { label: 'Kassen-ID', value: 'KASSE-1' },
        { label: 'Belegnummer', value: '6' },
        { label: 'Datum', value: '31.07.2026 23:59:59' },
        { label: 'Zertifikat-Seriennummer', value: open.signer.certificateSerial },
        { label: 'ZDA', value: 'AT100' },
        { label: 'Signiert', value: 'ja' },
      ],
      qrData: monthly.verification.qr_data,
    });
    expect(monthly.verification.qr_data).toMatch(/^_R1-AT100_KASSE-1_6_2026-07-31T23:59:59_0,00_/);
  });

  it('prints an unsigned closing receipt as such, in English too', () => {
    const [, failedMonthly] = issue(open.signer, [
      { kind: 'start', dateTime: '2026-07-01T08:00:00' },
      { kind: 'monthly', dateTime: '2026-07-31T23:59:59', failed: true },
    ]) as [RksvFiscalBlock, RksvFiscalBlock];
    const german = rksvClosingPrintLines(failedMonthly, 'de');
    expect(asMap(german.lines)).toMatchObject({ Signiert: 'nein (Sicherheitseinrichtung ausgefallen)' });
    const english = rksvClosingPrintLines(failedMonthly, 'en');
    expect(english.title).toBe('RKSV Monatsbeleg');
    expect(asMap(english.lines)).toMatchObject({
      'Cash register id': 'KASSE-1',
      'Receipt number': '2',
      Date: '2026-07-31 23:59:59',
      'Certificate serial number': open.signer.certificateSerial,
      Signed: 'no (Sicherheitseinrichtung ausgefallen)',
    });
  });
});

describe(printedReceiptDateTime.name, () => {
  it('reorders the signed local time without converting it, and passes anything else through', () => {
    expect(printedReceiptDateTime('2026-03-29T02:30:00', 'de')).toBe('29.03.2026 02:30:00');
    expect(printedReceiptDateTime('2026-03-29T02:30:00', 'en')).toBe('2026-03-29 02:30:00');
    expect(printedReceiptDateTime('not a time', 'de')).toBe('not a time');
  });
});
