import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Operation } from '../src/modules/operations/operation.schemas.js';
import type { Receipt } from '../src/modules/receipts/receipt.schemas.js';
import { expectError } from './helpers/assertions.js';
import { describeDb } from './helpers/engines.js';
import { cashSale, createFiscalRegister, line, type FiscalRegisterFixture } from './helpers/fiscal.js';
import { buildTestApp, type TestApp } from './helpers/test-app.js';

/** Text of a PDF as poppler extracts it, and the QR code read back from its rendered page by zbar. */
function readPdf(pdf: Buffer): { text: string; qr: string } {
  const dir = mkdtempSync(join(tmpdir(), 'receipt-'));
  try {
    const file = join(dir, 'receipt.pdf');
    writeFileSync(file, pdf);
    const text = execFileSync('pdftotext', ['-layout', file, '-'], { encoding: 'utf8' });
    execFileSync('pdftoppm', ['-r', '300', '-png', '-singlefile', file, join(dir, 'page')]);
    // QR codes only: zbar's other symbologies can take printed text for a barcode.
    const qr = execFileSync('zbarimg', ['--raw', '-q', '-Sdisable', '-Sqrcode.enable', join(dir, 'page.png')], {
      encoding: 'utf8',
    }).trim();
    return { text, qr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describeDb('receipts', () => {
  let t: TestApp;
  let f: FiscalRegisterFixture;
  let sale: Operation;

  beforeAll(async () => {
    t = await buildTestApp();
    f = await createFiscalRegister(t);
    sale = await cashSale(f.registerApi, f.register.id, [line('Käsekuchen', 2, 350), line('Brötchen', 3, 45, '0.07')]);
  });
  afterAll(async () => {
    await t.close();
  });

  it('answers the canonical JSON receipt with issuer, lines, totals, payments and the TSE fields', async () => {
    const response = await f.registerApi.get<Receipt>(`/v1/operations/${sale.id}/receipt`);
    expect(response.status, response.text).toBe(200);
    const receipt = response.body;
    expect(receipt.id).toBe(sale.id.replace('op_', 'rcpt_'));
    expect(receipt.object).toBe('receipt');
    expect(receipt.certified).toBe(false);
    expect(receipt.issuer).toMatchObject({
      legal_name: 'Müller & Söhne Bäckerei GmbH',
      tax_number: '21/815/08150',
      vat_id: 'DE143454214',
      register_id: f.register.id,
      register_serial_number: f.register.serial_number,
    });
    expect(receipt.line_items.map((l) => [l.description, l.quantity, l.total_gross])).toEqual([
      ['Käsekuchen', 2, 700],
      ['Brötchen', 3, 135],
    ]);
    expect(receipt.totals?.tax_breakdown.map((b) => [b.rate, b.gross, b.tax_amount])).toEqual([
      ['0.19', 700, 112],
      ['0.07', 135, 9],
    ]);
    expect(receipt.payments).toMatchObject([{ method: 'cash', direction: 'inbound', amount: 835 }]);
    const fields = Object.fromEntries(receipt.fiscal_fields.map((field) => [field.label, field.value]));
    const end = sale.fiscal?.end_event as { signature: string; transaction_counter: number; signed_at: string };
    expect(fields).toMatchObject({
      'TSE-Seriennummer': f.unit.fiscal_registration.tse_serial,
      'TSE-Transaktion': String(sale.fiscal?.transaction_number),
      'TSE-Signatur': end.signature,
      'TSE-Signaturzähler': String(end.transaction_counter),
      'TSE-Stop': end.signed_at,
      'TSE-Zeitformat': 'unixTime',
      'TSE-Hashalgorithmus': 'ecdsa-plain-SHA256',
      'TSE-PublicKey': f.unit.fiscal_registration.public_key,
    });
    expect(receipt.fiscal?.verification.qr_data).toBe(sale.fiscal?.verification.qr_data);
  });

  it('renders an 80 mm PDF with every mandatory German field and a QR code that reads back exactly', async () => {
    const response = await f.registerApi.get(`/v1/operations/${sale.id}/receipt.pdf`);
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toBe('application/pdf');
    expect(response.raw.subarray(0, 5).toString()).toBe('%PDF-');
    const { text, qr } = readPdf(response.raw);
    for (const expected of [
      'Müller & Söhne Bäckerei GmbH',
      'Hauptstraße 1',
      'Käsekuchen',
      'Brötchen',
      '8,35 €',
      '19 %',
      'Bar',
      f.register.serial_number,
      String(f.unit.fiscal_registration.tse_serial).slice(0, 40),
      'TSE-Signaturzähler',
      'Nicht zertifizierte Software-TSE',
    ]) {
      expect(text, expected).toContain(expected);
    }
    // pdftotext may close up the narrow table column ("B7%").
    expect(text).toMatch(/B\s*7\s*%\s+1,26\s+0,09\s+1,35/);
    expect(text).toContain('2 Stk. × 3,50 €');
    expect(text).not.toContain('TRAINING');
    expect(qr).toBe(sale.fiscal?.verification.qr_data);
  });

  it('marks training receipts', async () => {
    const started = await f.registerApi.post<Operation>(`/v1/registers/${f.register.id}/sales`, {
      training: true,
      line_items: [line('Übungsartikel', 1, 100)],
    });
    const completed = await f.registerApi.post<Operation>(`/v1/sales/${started.body.id}/complete`, {
      payments: [{ method: 'cash', direction: 'inbound', amount: 100 }],
    });
    expect(completed.body.type).toBe('training');
    const pdf = await f.registerApi.get(`/v1/operations/${started.body.id}/receipt.pdf`);
    expect(readPdf(pdf.raw).text).toContain('TRAINING');
  });

  it('refuses a receipt before completion (409) and hides other tenants’ operations (404)', async () => {
    const open = await f.registerApi.post<Operation>(`/v1/registers/${f.register.id}/sales`, {});
    expectError(await f.registerApi.get(`/v1/operations/${open.body.id}/receipt`), 409, 'operation_not_completed');
    const other = await createFiscalRegister(t);
    expectError(await other.orgApi.get(`/v1/operations/${sale.id}/receipt`), 404, 'not_found');
    expectError(await other.registerApi.get(`/v1/operations/${sale.id}/receipt.pdf`), 404, 'not_found');
  });
});
