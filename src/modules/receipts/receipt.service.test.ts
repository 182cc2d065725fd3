import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderReceiptPdf } from '../../documents/pdf/receipt-pdf.js';
import { rksvFiscalBlock, type RksvFiscalBlock } from '../../regimes/at/fiscal-block.js';
import { createRegisterState, issueReceipt, type RksvRegisterState } from '../../regimes/at/register.js';
import { createOpenSystemSoftwareDevice } from '../../regimes/at/signature-device.js';
import { generateAesKey } from '../../regimes/at/turnover-counter.js';
import { receiptFiscalFields } from '../../regimes/receipts.js';
import type { Tenant } from '../../shared/tenant.js';
import type { LocationService } from '../locations/location.service.js';
import type { Operation } from '../operations/operation.schemas.js';
import type { OrganizationService } from '../organizations/organization.service.js';
import type { RegisterService } from '../registers/register.service.js';
import type { Receipt } from './receipt.schemas.js';
import { createReceiptService, toPdfData } from './receipt.service.js';

const run = promisify(execFile);

// ---------------------------------------------------------------------------------------------------------------
// An Austrian register: real RKSV receipts from the regime module
// ---------------------------------------------------------------------------------------------------------------

const device = createOpenSystemSoftwareDevice();

/**
 * Startbeleg; a sale (Beleg 2, signed); a sale while the device has failed (3); the Sammelbeleg (4) and the sale
 * after it (5), which names it.
 */
function austrianBlocks(): { signed: RksvFiscalBlock; unsigned: RksvFiscalBlock; afterOutage: RksvFiscalBlock } {
  let state: RksvRegisterState = createRegisterState({ kassenId: 'KASSE-WIEN-1', aesKey: generateAesKey() });
  const next = (
    kind: 'start' | 'standard' | 'collective',
    dateTime: string,
    signed: boolean,
    collective: RksvFiscalBlock | null = null,
  ): RksvFiscalBlock => {
    const amounts = kind === 'standard' ? { normal: 1200n, ermaessigt1: 350n } : {};
    const result = issueReceipt(state, { kind, dateTime, amounts }, signed ? device.signer : null);
    state = result.nextState;
    return rksvFiscalBlock({ fiscalUnitId: 'fu_at', certified: false, receipt: result.receipt, collective });
  };
  next('start', '2026-07-01T08:00:00', true);
  const signed = next('standard', '2026-07-01T10:15:30', true);
  const unsigned = next('standard', '2026-07-01T10:20:00', false);
  const collective = next('collective', '2026-07-01T11:00:00', true);
  const afterOutage = next('standard', '2026-07-01T11:00:02', true, collective);
  return { signed, unsigned, afterOutage };
}

const AUSTRIAN_ADDRESS = { line1: 'Kärntner Straße 5', line2: null, city: 'Wien', postal_code: '1010', country: 'AT' };

function line(id: string, description: string, gross: number, rate: string) {
  return {
    id,
    position: 1,
    description,
    quantity: 1,
    unit: 'piece',
    unit_price_gross: gross,
    tax: { rate, category: rate === '0.2' ? ('standard' as const) : ('reduced' as const) },
    product_ref: null,
    flags: [],
    line_discounts: [],
    subtotal_gross: gross,
    line_discount_amount: 0,
    subtotal_after_line_discounts: gross,
    cart_discount_allocations: [],
    cart_discount_amount: 0,
    total_gross: gross,
  };
}

/** A completed sale of 12,00 € at 20 % and 3,50 € at 10 %, paid cash, completed when signed (Vienna, CEST). */
function austrianSale(fiscal: RksvFiscalBlock): Operation {
  const completedAt = new Date(`${fiscal.receipt_date_time}+02:00`).toISOString();
  return {
    id: 'op_01jk3m5x7z8q9r0s1t2v3w4x5y',
    object: 'operation',
    type: 'sale',
    state: 'completed',
    fiscal_state: 'succeeded',
    register_id: 'reg_1',
    location_id: 'loc_1',
    organization_id: 'org_1',
    external_id: null,
    sequence_number: Number(fiscal.receipt_number),
    cashier: { id: 'c1', display_name: 'Anna Huber' },
    data: {
      currency: 'EUR',
      line_items: [line('li_1', 'Wiener Schnitzel', 1200, '0.2'), line('li_2', 'Apfelstrudel', 350, '0.1')],
      cart_discounts: [],
      totals: {
        subtotal_gross: 1550,
        total_line_discounts: 0,
        subtotal_after_line_discounts: 1550,
        total_cart_discounts: 0,
        subtotal_after_all_discounts: 1550,
        rounding_adjustment: 0,
        total_gross: 1550,
        total_net: 1318,
        total_tax: 232,
        net_payable: 1550,
        tax_breakdown: [
          { rate: '0.2', category: 'standard', taxable_amount: 1000, tax_amount: 200, gross: 1200 },
          { rate: '0.1', category: 'reduced', taxable_amount: 318, tax_amount: 32, gross: 350 },
        ],
      },
      payments: [
        { id: 'pay_1', method: 'cash', direction: 'inbound', amount: 2000, currency: 'EUR' },
        { id: 'pay_2', method: 'cash', direction: 'outbound', amount: 450, currency: 'EUR' },
      ],
      customer: null,
    },
    fiscal,
    references: { original_operation_id: null, voided_by: null, reason: null },
    metadata: {},
    started_at: completedAt,
    completed_at: completedAt,
    created_at: completedAt,
    updated_at: completedAt,
  };
}

type RegisterRow = Awaited<ReturnType<RegisterService['findRow']>>;
type LocationRow = Awaited<ReturnType<LocationService['findRow']>>;
type Organization = Awaited<ReturnType<OrganizationService['get']>>;

/** The receipt service over one operation of an Austrian register. */
function serviceFor(operation: Operation) {
  return createReceiptService({
    operations: { get: () => Promise.resolve(operation) },
    registers: {
      findRow: () =>
        Promise.resolve({
          id: 'reg_1',
          location_id: 'loc_1',
          label: 'Kassa 1',
          serial_number: 'KASSE-WIEN-1',
          jurisdiction: 'AT',
        } as RegisterRow),
    },
    locations: {
      findRow: () =>
        Promise.resolve({
          id: 'loc_1',
          name: 'Café Łódź',
          address: JSON.stringify(AUSTRIAN_ADDRESS),
          timezone: 'Europe/Vienna',
          fiscal_identity: null,
        } as LocationRow),
    },
    organizations: {
      get: () =>
        Promise.resolve({
          id: 'org_1',
          legal_name: 'Café Łódź GmbH',
          trade_name: 'Café Łódź',
          tax_id: null,
          fiscal_identity: { vat_id: 'ATU12345678' },
          address: AUSTRIAN_ADDRESS,
        } as unknown as Organization),
    },
  });
}

const TENANT = {} as Tenant;

// ---------------------------------------------------------------------------------------------------------------
// Reading the PDF back: poppler's text and zbar's QR codes
// ---------------------------------------------------------------------------------------------------------------

let directory: string;
let files = 0;

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'receipt-service-'));
});

afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

async function readPdf(pdf: Buffer): Promise<{ text: string; qrCodes: string[] }> {
  const path = join(directory, `receipt-${++files}.pdf`);
  await writeFile(path, pdf);
  const { stdout: text } = await run('pdftotext', ['-layout', '-enc', 'UTF-8', path, '-']);
  const prefix = path.replace(/\.pdf$/, '');
  await run('pdftoppm', ['-r', '300', '-png', '-singlefile', path, prefix]);
  // QR codes only: zbar's other symbologies can take printed text for a barcode.
  const { stdout } = await run('zbarimg', ['--raw', '-q', '-Sdisable', '-Sqrcode.enable', `${prefix}.png`]).catch(
    (error: unknown) => {
      // zbarimg exits with 4 when it finds no symbol.
      if ((error as { code?: unknown }).code === 4) return { stdout: '' };
      throw error;
    },
  );
  return { text: text.replaceAll('\u00a0', ' '), qrCodes: stdout.split('\n').filter((row) => row !== '') };
}

const squeeze = (value: string): string => value.replace(/\s+/g, '');

// ---------------------------------------------------------------------------------------------------------------

describe('Austrian (RKSV) receipts', () => {
  const blocks = austrianBlocks();

  it('carry the RKSV fields in the JSON receipt, and map to a German PDF of jurisdiction AT', async () => {
    const receipt: Receipt = await serviceFor(austrianSale(blocks.signed)).get(TENANT, 'op_1');
    expect(receipt.fiscal).toEqual(blocks.signed);
    expect(receipt.operation.document_number).toBe('2');
    expect(receipt.fiscal_fields).toEqual(receiptFiscalFields(blocks.signed));
    expect(receipt.fiscal_fields.map(({ label }) => label)).toEqual([
      'Kassen-ID',
      'Belegnummer',
      'Beleg-Datum/Uhrzeit',
      'Belegart',
      'Zertifikat-Seriennummer',
      'ZDA',
    ]);
    const data = toPdfData(receipt);
    expect(data.language).toBe('de');
    expect(data.jurisdiction).toBe('AT');
    expect(data.documentTitle).toBe('Beleg');
    expect(data.fiscal).toEqual({
      title: 'RKSV',
      fields: receipt.fiscal_fields,
      qrData: blocks.signed.verification.qr_data,
      certified: false,
      notice: 'Nicht zertifizierte Software-Signaturerstellungseinheit (Simulation)',
    });
  });

  it('print every field § 132a BAO and the RKSV require, and the machine-readable code as a QR code', async () => {
    const receipt = await serviceFor(austrianSale(blocks.signed)).get(TENANT, 'op_1');
    const { text, qrCodes } = await readPdf(await renderReceiptPdf(toPdfData(receipt)));
    for (const expected of [
      'Café Łódź GmbH',
      'Kärntner Straße 5',
      'UID-Nr. ATU12345678',
      'Beleg',
      '01.07.2026 10:15:30',
      'Wiener Schnitzel',
      'Apfelstrudel',
      '15,50 €',
      'Rückgeld',
      'RKSV',
      'Kassen-ID:',
      'KASSE-WIEN-1',
      'Belegnummer:',
      'Beleg-Datum/Uhrzeit:',
      'Belegart:',
      'Zertifikat-Seriennummer:',
      'ZDA:',
      'AT100',
    ]) {
      expect(text, expected).toContain(expected);
    }
    // The notice and the serial may wrap.
    expect(squeeze(text)).toContain(squeeze('Nicht zertifizierte Software-Signaturerstellungseinheit (Simulation)'));
    expect(squeeze(text)).toContain(device.signer.certificateSerial);
    expect(text).toMatch(/A\s*20\s*%\s+10,00\s+2,00\s+12,00/);
    expect(text).toMatch(/B\s*10\s*%\s+3,18\s+0,32\s+3,50/);
    // Addresses in the register's own country leave the country out.
    expect(text.split('\n').map((row) => row.trim())).not.toContain('AT');
    for (const absent of ['USt-IdNr.', 'TSE', 'Sicherheitseinrichtung ausgefallen', 'Sammelbeleg', 'TRAINING']) {
      expect(text, absent).not.toContain(absent);
    }
    expect(qrCodes).toEqual([blocks.signed.verification.qr_data]);
    expect(qrCodes[0]).toMatch(/^_R1-AT100_KASSE-WIEN-1_2_2026-07-01T10:15:30_12,00_3,50_0,00_0,00_0,00_/);
  });

  it('say "Sicherheitseinrichtung ausgefallen" when the signature device had failed', async () => {
    expect(blocks.unsigned.signed).toBe(false);
    const { text, qrCodes } = await readPdf(await serviceFor(austrianSale(blocks.unsigned)).pdf(TENANT, 'op_1'));
    expect(text).toContain('Hinweis:');
    expect(text).toContain('Sicherheitseinrichtung ausgefallen');
    expect(qrCodes).toEqual([blocks.unsigned.verification.qr_data]);
  });

  it('name the Sammelbeleg that precedes the first receipt after an outage', async () => {
    const { text, qrCodes } = await readPdf(await serviceFor(austrianSale(blocks.afterOutage)).pdf(TENANT, 'op_1'));
    expect(text).toContain('Sammelbeleg:');
    expect(text).toContain('Nr. 4 vorangestellt');
    expect(text).not.toContain('Sicherheitseinrichtung ausgefallen');
    expect(qrCodes).toEqual([blocks.afterOutage.verification.qr_data]);
  });
});
