import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startJobRunner } from '../src/jobs/worker.js';
import { createLogger } from '../src/logger.js';
import type { Closing } from '../src/modules/closings/closing.schemas.js';
import { TransmissionError } from '../src/modules/closings/closing.service.js';
import type { ClosingSummary } from '../src/modules/closings/closing-summary.js';
import type { Operation } from '../src/modules/operations/operation.schemas.js';
import { parseLogMessage } from '../src/regimes/de/log-message.js';
import { parseQrCodeData } from '../src/regimes/de/qr-code.js';
import { expectError } from './helpers/assertions.js';
import {
  closingsOf,
  logOpening,
  sale,
  SCENARIO_DAY_SUMMARY,
  SCENARIO_INTERNAL_NOTE,
  scenarioDay,
  triggerClosing,
  tseFiscalOf,
  type ScenarioDay,
} from './helpers/closings.js';
import { describeDb } from './helpers/engines.js';
import {
  createFiscalRegister,
  journalOf,
  line,
  publicKeyOfPoint,
  simulateFailure,
  tseLogs,
  verifyJournal,
  type FiscalRegisterFixture,
} from './helpers/fiscal.js';
import { checkDsfinvkExport, decimalToMinor } from './helpers/dsfinvk-check.js';
import { opensslVerify } from './helpers/independent-checks.js';
import { buildTestApp, ManualClock, type TestApp } from './helpers/test-app.js';

const silent = createLogger('silent');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The 19 %-only one-line day that follows the scenario day: 5.00 cash. */
const DAY_TWO_SUMMARY_FIGURES = {
  operation_count: 1,
  total_gross: 500,
  total_tax: 80,
  total_by_payment_method: { cash: 500 },
  tax_breakdown: [{ rate: '0.19', category: 'standard', taxable_amount: 420, tax_amount: 80 }],
};

/** Both days together: the scenario day plus 5.00 cash at 19 %: 19 % group 10.50 → tax round(167.65) = 168. */
const BOTH_DAYS_SUMMARY = {
  ...SCENARIO_DAY_SUMMARY,
  operation_count: 8,
  total_gross: 2340,
  total_tax: 252,
  total_by_payment_method: { card: 1500, cash: 840 },
  by_operation_type: { ...SCENARIO_DAY_SUMMARY.by_operation_type, sales: { count: 4, total_gross: 3390 } },
  tax_breakdown: [
    { rate: '0.19', category: 'standard', taxable_amount: 882, tax_amount: 168 },
    { rate: '0.07', category: 'reduced', taxable_amount: 1206, tax_amount: 84 },
  ],
};

/** regimes.md §1.6, transcribed: every file and the columns it lists besides Z_KASSE_ID, Z_ERSTELLUNG, Z_NR. */
const DSFINVK_COLUMNS: Readonly<Record<string, readonly string[]>> = {
  'lines.csv': [
    'BON_ID',
    'POS_ZEILE',
    'GUTSCHEIN_NR',
    'ARTIKELTEXT',
    'POS_TERMINAL_ID',
    'GV_TYP',
    'GV_NAME',
    'INHAUS',
    'P_STORNO',
    'AGENTUR_ID',
    'ART_NR',
    'GTIN',
    'WARENGR_ID',
    'WARENGR',
    'MENGE',
    'FAKTOR',
    'EINHEIT',
    'STK_BR',
  ],
  'lines_vat.csv': ['BON_ID', 'POS_ZEILE', 'UST_SCHLUESSEL', 'POS_BRUTTO', 'POS_NETTO', 'POS_UST'],
  'itemamounts.csv': ['BON_ID', 'POS_ZEILE', 'TYP', 'UST_SCHLUESSEL', 'PF_BRUTTO', 'PF_NETTO', 'PF_UST'],
  'subitems.csv': [
    'BON_ID',
    'POS_ZEILE',
    'ZI_ART_NR',
    'ZI_GTIN',
    'ZI_NAME',
    'ZI_WARENGR_ID',
    'ZI_WARENGR',
    'ZI_MENGE',
    'ZI_FAKTOR',
    'ZI_EINHEIT',
    'ZI_UST_SCHLUESSEL',
    'ZI_BASISPREIS_BRUTTO',
    'ZI_BASISPREIS_NETTO',
    'ZI_BASISPREIS_UST',
  ],
  'transactions.csv': [
    'BON_ID',
    'BON_NR',
    'BON_TYP',
    'BON_NAME',
    'TERMINAL_ID',
    'BON_STORNO',
    'BON_START',
    'BON_ENDE',
    'BEDIENER_ID',
    'BEDIENER_NAME',
    'UMS_BRUTTO',
    'KUNDE_NAME',
    'KUNDE_ID',
    'KUNDE_TYP',
    'KUNDE_STRASSE',
    'KUNDE_PLZ',
    'KUNDE_ORT',
    'KUNDE_LAND',
    'KUNDE_USTID',
    'BON_NOTIZ',
  ],
  'transactions_vat.csv': ['BON_ID', 'UST_SCHLUESSEL', 'BON_BRUTTO', 'BON_NETTO', 'BON_UST'],
  'allocation_groups.csv': ['BON_ID', 'ABRECHNUNGSKREIS'],
  'datapayment.csv': ['BON_ID', 'ZAHLART_TYP', 'ZAHLART_NAME', 'ZAHLWAEH_CODE', 'ZAHLWAEH_BETRAG', 'BASISWAEH_BETRAG'],
  'references.csv': [
    'BON_ID',
    'POS_ZEILE',
    'REF_TYP',
    'REF_NAME',
    'REF_DATUM',
    'REF_Z_KASSE_ID',
    'REF_Z_NR',
    'REF_BON_ID',
  ],
  'transactions_tse.csv': [
    'BON_ID',
    'TSE_ID',
    'TSE_TANR',
    'TSE_TA_START',
    'TSE_TA_ENDE',
    'TSE_TA_VORGANGSART',
    'TSE_TA_SIGZ',
    'TSE_TA_SIG',
    'TSE_TA_FEHLER',
    'TSE_VORGANGSDATEN',
  ],
  'cashpointclosing.csv': [
    'Z_BUCHUNGSTAG',
    'TAXONOMIE_VERSION',
    'Z_START_ID',
    'Z_ENDE_ID',
    'NAME',
    'STRASSE',
    'PLZ',
    'ORT',
    'LAND',
    'STNR',
    'USTID',
    'Z_SE_ZAHLUNGEN',
    'Z_SE_BARZAHLUNGEN',
  ],
  'location.csv': ['LOC_NAME', 'LOC_STRASSE', 'LOC_PLZ', 'LOC_ORT', 'LOC_LAND', 'LOC_USTID'],
  'cashregister.csv': [
    'KASSE_BRAND',
    'KASSE_MODELL',
    'KASSE_SERIENNR',
    'KASSE_SW_BRAND',
    'KASSE_SW_VERSION',
    'KASSE_BASISWAEH_CODE',
    'KEINE_UST_ZUORDNUNG',
  ],
  'slaves.csv': [
    'TERMINAL_ID',
    'TERMINAL_BRAND',
    'TERMINAL_MODELL',
    'TERMINAL_SERIENNR',
    'TERMINAL_SW_BRAND',
    'TERMINAL_SW_VERSION',
  ],
  'pa.csv': [
    'AGENTUR_ID',
    'AGENTUR_NAME',
    'AGENTUR_STRASSE',
    'AGENTUR_PLZ',
    'AGENTUR_ORT',
    'AGENTUR_LAND',
    'AGENTUR_STNR',
    'AGENTUR_USTID',
  ],
  'vat.csv': ['UST_SCHLUESSEL', 'UST_SATZ', 'UST_BESCHR'],
  'tse.csv': [
    'TSE_ID',
    'TSE_SERIAL',
    'TSE_SIG_ALGO',
    'TSE_ZEITFORMAT',
    'TSE_PD_ENCODING',
    'TSE_PUBLIC_KEY',
    'TSE_ZERTIFIKAT_I',
    'TSE_ZERTIFIKAT_II',
    'TSE_ZERTIFIKAT_III',
    'TSE_ZERTIFIKAT_IV',
    'TSE_ZERTIFIKAT_V',
    'TSE_ZERTIFIKAT_VI',
    'TSE_ZERTIFIKAT_VII',
  ],
  'businesscases.csv': ['GV_TYP', 'GV_NAME', 'AGENTUR_ID', 'UST_SCHLUESSEL', 'Z_UMS_BRUTTO', 'Z_UMS_NETTO', 'Z_UST'],
  'payment.csv': ['ZAHLART_TYP', 'ZAHLART_NAME', 'Z_ZAHLART_BETRAG'],
  'cash_per_currency.csv': ['ZAHLART_WAEH', 'ZAHLART_BETRAG_WAEH'],
};

describeDb('closings', () => {
  let t: TestApp;
  const clock = new ManualClock();

  beforeAll(async () => {
    t = await buildTestApp({ clock });
  });
  afterAll(() => t.close());

  describe('the worked scenario: daily, shift, monthly and annual closings over two days', () => {
    let fx: FiscalRegisterFixture;
    let day: ScenarioDay;
    let daily1: Closing;
    let shift1: Closing;
    let daily2: Closing;
    let monthly1: Closing;
    let annual1: Closing;

    beforeAll(async () => {
      fx = await createFiscalRegister(t);
      day = await scenarioDay(fx.registerApi, fx.register.id, () => clock.now());
      daily1 = await triggerClosing(fx.registerApi, fx.register.id, { type: 'daily' });
      shift1 = await triggerClosing(fx.registerApi, fx.register.id, { type: 'shift' });
      clock.advance(3_600_000);
      await sale(fx.registerApi, fx.register.id, [line('Eis', 2, 250)]);
      daily2 = await triggerClosing(fx.registerApi, fx.register.id, {});
      monthly1 = await triggerClosing(fx.registerApi, fx.register.id, { type: 'monthly' });
      annual1 = await triggerClosing(fx.registerApi, fx.register.id, { type: 'annual' });
    });

    it('the first daily closing has the hand-computed figures of the day', () => {
      expect(daily1).toMatchObject({ object: 'closing', type: 'daily', state: 'completed', z_number: 1 });
      expect(daily1.summary).toEqual(SCENARIO_DAY_SUMMARY);
      // The values of total_by_payment_method sum to total_gross; tax_breakdown sums to total_tax.
      const summary = daily1.summary;
      expect(Object.values(summary.total_by_payment_method).reduce((a, b) => a + b, 0)).toBe(summary.total_gross);
      expect(summary.tax_breakdown.reduce((a, b) => a + b.tax_amount + b.taxable_amount, 0)).toBe(summary.total_gross);
      expect(day.training.type).toBe('training');
    });

    it('the shift closing covers the same period and figures as the first daily closing', () => {
      expect(shift1).toMatchObject({ type: 'shift', state: 'completed', z_number: 1 });
      expect(shift1.summary).toEqual(SCENARIO_DAY_SUMMARY);
      expect(shift1.period.from).toBe(daily1.period.from);
    });

    it('the second daily closing holds only the second day', () => {
      expect(daily2).toMatchObject({ type: 'daily', z_number: 2, state: 'completed' });
      expect(daily2.summary).toMatchObject(DAY_TWO_SUMMARY_FIGURES);
      expect(daily2.summary.by_operation_type.sales).toEqual({ count: 1, total_gross: 500 });
      expect(daily2.summary.cash_drawer_openings).toEqual({ count: 0, without_operation: 0 });
      expect(daily2.period.from).toBe(daily1.period.to);
    });

    it('the monthly and annual closings cover both days', () => {
      expect(monthly1).toMatchObject({ type: 'monthly', z_number: 1 });
      expect(annual1).toMatchObject({ type: 'annual', z_number: 1 });
      expect(monthly1.summary).toEqual(BOTH_DAYS_SUMMARY);
      expect(annual1.summary).toEqual(BOTH_DAYS_SUMMARY);
      // From the first fiscal unit's activation.
      expect(monthly1.period.from).toBe(fx.unit.provisioned_at);
      expect(annual1.period.from).toBe(fx.unit.provisioned_at);
    });

    it('every summary is reproducible operation by operation, bypassing the pre-aggregated totals', async () => {
      for (const closing of [daily1, shift1, daily2, monthly1, annual1]) {
        const recomputed = await fx.registerApi.get<ClosingSummary>(`/v1/closings/${closing.id}/summary/recompute`);
        expect(recomputed.status, recomputed.text).toBe(200);
        expect(recomputed.body).toEqual(closing.summary);
      }
    });

    it('the German closing is a TSE transaction whose signature openssl verifies with the QR code key', async () => {
      const fiscal = tseFiscalOf(daily1);
      expect(fiscal).toMatchObject({
        regime: 'tse',
        z_number: 1,
        tse_serial: fx.unit.fiscal_registration.tse_serial,
        dsfinvk_export_id: expect.stringMatching(/^exp_/) as unknown,
      });
      expect(typeof fiscal.signature).toBe('string');
      expect(Number.isInteger(fiscal.transaction_counter)).toBe(true);
      expect(fiscal.end_event.process_type).toBe('SonstigerVorgang');
      expect(fiscal.end_event.process_data).toBe('Kassenabschluss^Z_NR=1^UMS_BRUTTO=18.40');
      const logs = await tseLogs(t, { fiscalUnitId: fx.unit.id });
      const finish = logs.find((log) => log.signatureCounter === fiscal.transaction_counter);
      expect(finish?.operationType).toBe('FinishTransaction');
      const parsed = parseLogMessage(finish?.message ?? Buffer.alloc(0));
      expect(parsed.signatureValue.toString('base64')).toBe(fiscal.signature);
      const qr = parseQrCodeData(fiscal.verification.qr_data);
      const dir = mkdtempSync(join(tmpdir(), 'closing-sig-'));
      try {
        const pem = join(dir, 'pub.pem');
        writeFileSync(pem, publicKeyOfPoint(qr.publicKey).export({ type: 'spki', format: 'pem' }));
        expect(opensslVerify(dir, pem, parsed.dtbs, parsed.signatureValue)).toBe('Verified OK');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
      // Only the daily closing is the Kassenabschluss with its DSFinV-K export.
      expect(tseFiscalOf(shift1).dsfinvk_export_id).toBeNull();
      expect(tseFiscalOf(daily2).z_number).toBe(2);
    });

    it('the DSFinV-K export of the daily closing exists for exactly that closing', async () => {
      const exportId = tseFiscalOf(daily1).dsfinvk_export_id ?? '';
      const exported = await fx.orgApi.get<{ type: string; closing_id: string; from: string; to: string }>(
        `/v1/exports/${exportId}`,
      );
      expect(exported.status, exported.text).toBe(200);
      expect(exported.body).toMatchObject({
        type: 'dsfinvk',
        closing_id: daily1.id,
        from: daily1.period.from,
        to: daily1.period.to,
      });
    });

    it('the DSFinV-K archive of the day passes the DTD, the column lists and equals the closing', async () => {
      const exportId = tseFiscalOf(daily1).dsfinvk_export_id ?? '';
      const runner = startJobRunner({ ...t.container.jobRunner, pollMs: 20 }, silent);
      let state = '';
      try {
        for (let i = 0; i < 500 && state !== 'completed' && state !== 'failed'; i++) {
          await sleep(20);
          state = (await fx.orgApi.get<{ state: string }>(`/v1/exports/${exportId}`)).body.state;
        }
      } finally {
        await runner.stop();
      }
      expect(state).toBe('completed');
      const download = await fx.registerApi.get(`/v1/exports/${exportId}/download`);
      expect(download.status).toBe(200);
      const dir = mkdtempSync(join(tmpdir(), 'dsfinvk-'));
      try {
        writeFileSync(join(dir, 'export.tar'), download.raw);
        execFileSync('tar', ['-xf', 'export.tar'], { cwd: dir });
        rmSync(join(dir, 'export.tar'));
        const { tables, rows } = checkDsfinvkExport(dir);

        // Every file and column regimes.md §1.6 lists, in its order, is described by index.xml.
        for (const [file, columns] of Object.entries(DSFINVK_COLUMNS)) {
          const table = tables.find((candidate) => candidate.url === file);
          expect(table, file).toBeDefined();
          const names = table?.columns.map((column) => column.name) ?? [];
          expect(names.slice(0, 3), file).toEqual(['Z_KASSE_ID', 'Z_ERSTELLUNG', 'Z_NR']);
          expect(
            names.filter((name) => columns.includes(name)),
            file,
          ).toEqual(columns);
        }

        const all = (file: string) => rows[file] ?? [];
        // Z_NR and the register's serial key every row of every file.
        for (const table of tables) {
          for (const row of all(table.url)) {
            expect(row.Z_KASSE_ID, table.url).toBe(fx.register.serial_number);
            expect(row.Z_NR, table.url).toBe('1');
          }
        }
        // Every receipt of the period, with its TSE transaction.
        const operations = [day.cashSale, day.cardSale, day.voidedSale, day.refund, day.void, day.training];
        const bonIds = all('transactions.csv').map((row) => row.BON_ID);
        for (const op of operations) expect(bonIds).toContain(op.id);
        expect(bonIds).toHaveLength(8); // + the two cash movements
        for (const op of operations) {
          const tse = all('transactions_tse.csv').find((row) => row.BON_ID === op.id);
          expect(tse?.TSE_TANR).toBe(String(op.fiscal?.transaction_number));
          expect(tse?.TSE_TA_SIG).toBe(op.fiscal?.end_event?.signature);
          expect(tse?.TSE_VORGANGSDATEN).toBe(op.fiscal?.end_event?.process_data);
        }
        expect(all('transactions.csv').find((row) => row.BON_ID === day.void.id)?.BON_STORNO).toBe('1');
        expect(all('transactions.csv').find((row) => row.BON_ID === day.training.id)?.BON_TYP).toBe('AVTraining');
        const refundReference = all('references.csv').find((row) => row.BON_ID === day.refund.id);
        expect(refundReference).toMatchObject({ REF_BON_ID: day.cardSale.id, REF_Z_NR: '1' });

        // The Z totals equal the closing's.
        const minor = (value: string | undefined) => decimalToMinor(value ?? '');
        const revenue = all('businesscases.csv').filter((row) => row.GV_NAME === '');
        expect(revenue.reduce((sum, row) => sum + minor(row.Z_UMS_BRUTTO), 0)).toBe(daily1.summary.total_gross);
        expect(revenue.reduce((sum, row) => sum + minor(row.Z_UST), 0)).toBe(daily1.summary.total_tax);
        const paid = (name: string) =>
          all('payment.csv')
            .filter((row) => row.ZAHLART_NAME === name)
            .reduce((sum, row) => sum + minor(row.Z_ZAHLART_BETRAG), 0);
        const { cash_in_total: cashIn, cash_out_total: cashOut } = daily1.summary.by_operation_type.cash_movements;
        expect(paid('card')).toBe(daily1.summary.total_by_payment_method.card);
        expect(paid('cash')).toBe((daily1.summary.total_by_payment_method.cash ?? 0) + cashIn - cashOut);
        const closingRow = all('cashpointclosing.csv')[0];
        expect(minor(closingRow?.Z_SE_BARZAHLUNGEN)).toBe(340 + 5000 - 2000);
        expect(minor(closingRow?.Z_SE_ZAHLUNGEN)).toBe(1840 + 5000 - 2000);
        expect(closingRow).toMatchObject({ NAME: 'Müller & Söhne Bäckerei GmbH', STNR: '21/815/08150' });
        // A drawer opening's internal note appears in no file.
        for (const file of readdirSync(dir)) {
          expect(readFileSync(join(dir, file), 'utf8'), file).not.toContain(SCENARIO_INTERNAL_NOTE);
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }, 30_000);

    it('a DSFinV-K export over a date range holds every daily closing in it, each with its own Z_NR', async () => {
      const created = await fx.orgApi.post<{ id: string }>('/v1/exports', {
        type: 'dsfinvk',
        register_id: fx.register.id,
        from: daily1.period.from,
        to: daily2.period.to,
      });
      expect(created.status, created.text).toBe(202);
      const runner = startJobRunner({ ...t.container.jobRunner, pollMs: 20 }, silent);
      let state = '';
      try {
        for (let i = 0; i < 500 && state !== 'completed' && state !== 'failed'; i++) {
          await sleep(20);
          state = (await fx.orgApi.get<{ state: string }>(`/v1/exports/${created.body.id}`)).body.state;
        }
      } finally {
        await runner.stop();
      }
      expect(state).toBe('completed');
      const download = await fx.orgApi.get(`/v1/exports/${created.body.id}/download`);
      const dir = mkdtempSync(join(tmpdir(), 'dsfinvk-range-'));
      try {
        writeFileSync(join(dir, 'export.tar'), download.raw);
        execFileSync('tar', ['-xf', 'export.tar'], { cwd: dir });
        rmSync(join(dir, 'export.tar'));
        const { rows } = checkDsfinvkExport(dir);
        const closings = rows['cashpointclosing.csv'] ?? [];
        expect(closings.map((row) => row.Z_NR)).toEqual(['1', '2']);
        const secondDay = (rows['transactions.csv'] ?? []).filter((row) => row.Z_NR === '2');
        expect(secondDay).toHaveLength(1);
        expect(decimalToMinor(secondDay[0]?.UMS_BRUTTO ?? '')).toBe(500);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }, 30_000);

    it('z_numbers are gapless per type, and periods are continuous', async () => {
      const all = await closingsOf(fx.orgApi, fx.register.id);
      expect(all.map((c) => `${c.type}#${String(c.z_number)}`)).toEqual([
        'daily#1',
        'shift#1',
        'daily#2',
        'monthly#1',
        'annual#1',
      ]);
      const dailies = await closingsOf(fx.orgApi, fx.register.id, 'daily');
      expect(dailies.map((c) => c.z_number)).toEqual([1, 2]);
      for (let i = 1; i < dailies.length; i++) {
        expect(dailies[i]?.period.from).toBe(dailies[i - 1]?.period.to);
      }
    });

    it('closings are journaled and the journal verifies', async () => {
      const entries = await journalOf(fx.orgApi, fx.register.id);
      const types = entries.filter((e) => e.subject_id === daily1.id).map((e) => e.type);
      expect(types).toEqual(['closing.created', 'closing.completed']);
      expect((await verifyJournal(fx.orgApi, fx.register.id)).valid).toBe(true);
    });

    it('the Z-report PDF is A4 with the figures in German format and the QR code of the fiscal block', async () => {
      expect(daily1.links.pdf).toBe(`/v1/closings/${daily1.id}/pdf`);
      const response = await fx.registerApi.get(daily1.links.pdf);
      expect(response.status).toBe(200);
      expect(response.headers['content-type']).toBe('application/pdf');
      const dir = mkdtempSync(join(tmpdir(), 'zreport-'));
      try {
        const file = join(dir, 'z.pdf');
        writeFileSync(file, response.raw);
        const info = execFileSync('pdfinfo', [file], { encoding: 'utf8' });
        expect(info).toMatch(/Page size:\s+595\.\d+ x 841\.\d+ pts \(A4\)/);
        const text = execFileSync('pdftotext', ['-layout', file, '-'], { encoding: 'utf8' });
        for (const expected of [
          'Müller & Söhne Bäckerei GmbH',
          '21/815/08150',
          'DE143454214',
          fx.register.serial_number,
          '18,40 €',
          '15,00 €',
          '3,40 €',
          '50,00 €',
          '20,00 €',
        ]) {
          expect(text).toContain(expected);
        }
        // Long values wrap in their column; without the layout's spaces they read whole.
        const unwrapped = text.replace(/\s+/g, '');
        expect(unwrapped).toContain(fx.unit.fiscal_registration.tse_serial);
        expect(unwrapped).toContain(tseFiscalOf(daily1).signature);
        execFileSync('pdftoppm', ['-r', '150', '-png', file, join(dir, 'page')]);
        const pages = readdirSync(dir).filter((name) => name.endsWith('.png'));
        // zbarimg exits 4 on a page without a code; the QR code is on one of the pages.
        const codes = pages.flatMap((page) => {
          try {
            // QR codes only: zbar's other symbologies can take printed text for a barcode.
            return [
              execFileSync('zbarimg', ['--raw', '-q', '-Sdisable', '-Sqrcode.enable', join(dir, page)], {
                encoding: 'utf8',
              }).trim(),
            ];
          } catch {
            return [];
          }
        });
        expect(codes).toEqual([tseFiscalOf(daily1).verification.qr_data]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  describe('rules', () => {
    it('open operations block a daily closing (nothing changes) unless cancel_open_operations cancels them', async () => {
      const fx = await createFiscalRegister(t);
      await sale(fx.registerApi, fx.register.id, [line('Kaffee', 1, 250)]);
      const open = await fx.registerApi.post<Operation>(`/v1/registers/${fx.register.id}/sales`, {
        line_items: [line('Tee', 1, 200)],
      });
      expect(open.status).toBe(201);
      const journalBefore = (await journalOf(fx.orgApi, fx.register.id)).length;
      for (const type of ['daily', 'monthly', 'annual']) {
        expectError(
          await fx.registerApi.post(`/v1/registers/${fx.register.id}/closings`, { type }),
          409,
          'open_operations_exist',
        );
      }
      expect(await closingsOf(fx.orgApi, fx.register.id)).toEqual([]);
      expect(await journalOf(fx.orgApi, fx.register.id)).toHaveLength(journalBefore);

      // A shift closing does not need the register to be idle.
      const shift = await triggerClosing(fx.registerApi, fx.register.id, { type: 'shift' });
      expect(shift.summary.operation_count).toBe(1);

      const daily = await triggerClosing(fx.registerApi, fx.register.id, { cancel_open_operations: true });
      expect(daily.state).toBe('completed');
      const cancelled = await fx.registerApi.get<Operation>(`/v1/sales/${open.body.id}`);
      expect(cancelled.body.state).toBe('cancelled');
      expect(cancelled.body.fiscal?.document_type).toBe('AVBelegabbruch');
      // The aborted receipt adds nothing to the figures.
      expect(daily.summary.operation_count).toBe(1);
      expect(daily.summary.total_gross).toBe(250);
    });

    it('an empty period makes a closing with zero figures and the next z_number', async () => {
      const fx = await createFiscalRegister(t);
      const first = await triggerClosing(fx.registerApi, fx.register.id);
      const second = await triggerClosing(fx.registerApi, fx.register.id);
      expect([first.z_number, second.z_number]).toEqual([1, 2]);
      expect(second.summary).toMatchObject({ operation_count: 0, total_gross: 0, tax_breakdown: [] });
      expect(second.period.from).toBe(first.period.to);
    });

    it('an idempotent trigger makes one closing and one TSE transaction', async () => {
      const fx = await createFiscalRegister(t);
      await sale(fx.registerApi, fx.register.id, [line('Kaffee', 1, 250)]);
      const logsBefore = (await tseLogs(t, { fiscalUnitId: fx.unit.id })).length;
      const key = { 'idempotency-key': 'close-day-1' };
      const responses = await Promise.all(
        Array.from({ length: 8 }, () =>
          fx.registerApi.post<Closing>(`/v1/registers/${fx.register.id}/closings`, { type: 'daily' }, { headers: key }),
        ),
      );
      const created = responses.filter((r) => r.status === 201);
      expect(created.length).toBeGreaterThanOrEqual(1);
      for (const response of responses) expect([201, 409]).toContain(response.status);
      expect(new Set(created.map((r) => r.body.id)).size).toBe(1);
      const replay = await fx.registerApi.post<Closing>(
        `/v1/registers/${fx.register.id}/closings`,
        { type: 'daily' },
        { headers: key },
      );
      expect(replay.status).toBe(201);
      expect(replay.headers['idempotent-replayed']).toBe('true');
      expect(replay.text).toBe(created[0]?.text);
      expect(await closingsOf(fx.orgApi, fx.register.id)).toHaveLength(1);
      // One start and one finish log for the closing.
      expect((await tseLogs(t, { fiscalUnitId: fx.unit.id })).length).toBe(logsBefore + 2);
    });

    it('concurrent triggers without a key make gapless closings, each operation in exactly one', async () => {
      const fx = await createFiscalRegister(t);
      const work: Array<Promise<unknown>> = [];
      for (let i = 0; i < 6; i++) {
        work.push(sale(fx.registerApi, fx.register.id, [line('Wasser', 1, 100 + i)]));
        work.push(fx.registerApi.post(`/v1/registers/${fx.register.id}/closings`, { type: 'shift' }));
      }
      await Promise.all(work);
      await triggerClosing(fx.registerApi, fx.register.id, { type: 'shift' });
      const shifts = await closingsOf(fx.orgApi, fx.register.id, 'shift');
      expect(shifts.map((c) => c.z_number)).toEqual(shifts.map((_, i) => i + 1));
      expect(shifts.reduce((sum, c) => sum + c.summary.operation_count, 0)).toBe(6);
      expect(shifts.reduce((sum, c) => sum + c.summary.total_gross, 0)).toBe(600 + 15);
    });

    it('drawer openings count in the closing of the period they arrive in, whatever their occurred_at', async () => {
      const fx = await createFiscalRegister(t);
      await triggerClosing(fx.registerApi, fx.register.id);
      // Logged after an offline day: occurred yesterday, arrives now.
      await logOpening(fx.registerApi, fx.register.id, {
        occurred_at: new Date(clock.now().getTime() - 86_400_000).toISOString(),
        reason: 'Offline',
      });
      const closing = await triggerClosing(fx.registerApi, fx.register.id);
      expect(closing.summary.cash_drawer_openings).toEqual({ count: 1, without_operation: 1 });
    });

    it('a register key closes only its own register; other tenants see 404', async () => {
      const a = await createFiscalRegister(t);
      const b = await createFiscalRegister(t, {
        orgApi: a.orgApi,
        organizationId: a.organizationId,
        locationId: a.locationId,
      });
      const closing = await triggerClosing(a.registerApi, a.register.id);
      expectError(await b.registerApi.post(`/v1/registers/${a.register.id}/closings`, {}), 403, 'forbidden');
      expectError(await b.registerApi.get(`/v1/closings/${closing.id}`), 404, 'not_found');
      const other = await createFiscalRegister(t);
      expectError(await other.orgApi.get(`/v1/closings/${closing.id}`), 404, 'not_found');
      expectError(await other.orgApi.get(`/v1/closings/${closing.id}/pdf`), 404, 'not_found');
      expectError(await other.orgApi.post(`/v1/registers/${a.register.id}/closings`, {}), 404, 'not_found');
    });

    it('refuses bad bodies with a catalogue error and creates nothing', async () => {
      const fx = await createFiscalRegister(t);
      for (const body of [{ type: 'weekly' }, { cancel_open_operations: 'yes' }, { type: 'daily', extra: 1 }]) {
        expectError(
          await fx.registerApi.post(`/v1/registers/${fx.register.id}/closings`, body),
          400,
          'invalid_request',
        );
      }
      expect(await closingsOf(fx.orgApi, fx.register.id)).toEqual([]);
    });
  });

  describe('failures and retries', () => {
    it('a failing TSE leaves the closing failed (retryable, nothing signed); a manual retry completes it', async () => {
      const fx = await createFiscalRegister(t);
      await sale(fx.registerApi, fx.register.id, [line('Kaffee', 1, 250)]);
      const logsBefore = await tseLogs(t, { fiscalUnitId: fx.unit.id });
      await simulateFailure(fx.orgApi, fx.unit.id, 'fail');
      const failed = await triggerClosing(fx.registerApi, fx.register.id);
      expect(failed).toMatchObject({
        state: 'failed',
        z_number: 1,
        fiscal: null,
        completed_at: null,
        failure: { code: 'fiscalization_failed', retryable: true },
      });
      expect(failed.summary.total_gross).toBe(250);
      expect(await tseLogs(t, { fiscalUnitId: fx.unit.id })).toHaveLength(logsBefore.length);
      // No export was kept for it.
      const exports = await fx.orgApi.get<{ data: unknown[] }>(`/v1/exports?register_id=${fx.register.id}`);
      expect(exports.body.data).toEqual([]);

      expectError(
        await fx.registerApi.post(`/v1/registers/${fx.register.id}/closings`, {}),
        409,
        'closing_in_progress',
      );
      // A retry while the unit still fails answers the closing, failed again, with one more attempt.
      const again = await fx.registerApi.post<Closing>(`/v1/closings/${failed.id}/retry`, {});
      expect(again.status, again.text).toBe(200);
      expect(again.body).toMatchObject({ id: failed.id, state: 'failed', failure: { retryable: true } });

      await simulateFailure(fx.orgApi, fx.unit.id, 'none');
      const retried = await fx.registerApi.post<Closing>(`/v1/closings/${failed.id}/retry`, {});
      expect(retried.status, retried.text).toBe(200);
      expect(retried.body).toMatchObject({ id: failed.id, state: 'completed', z_number: 1, failure: null });
      expect(retried.body.summary).toEqual(failed.summary);
      expectError(await fx.registerApi.post(`/v1/closings/${failed.id}/retry`, {}), 409, 'closing_not_failed');
      const next = await triggerClosing(fx.registerApi, fx.register.id);
      expect(next.z_number).toBe(2);
    });

    it('the worker retries a failed closing with backoff until the unit signs again', async () => {
      const fx = await createFiscalRegister(t);
      await simulateFailure(fx.orgApi, fx.unit.id, 'stall');
      const failed = await triggerClosing(fx.registerApi, fx.register.id);
      expect(failed.failure).toMatchObject({ code: 'fiscal_unit_unavailable', retryable: true });
      const runner = startJobRunner({ ...t.container.jobRunner, pollMs: 20 }, silent);
      try {
        // Not before the backoff has passed.
        await sleep(300);
        expect((await fx.registerApi.get<Closing>(`/v1/closings/${failed.id}`)).body.state).toBe('failed');
        await simulateFailure(fx.orgApi, fx.unit.id, 'none');
        clock.advance(60_000);
        let state = 'failed';
        for (let i = 0; i < 250 && state !== 'completed'; i++) {
          await sleep(20);
          state = (await fx.registerApi.get<Closing>(`/v1/closings/${failed.id}`)).body.state;
        }
        expect(state).toBe('completed');
      } finally {
        await runner.stop();
      }
    }, 20_000);
    it('a closing left pending by a process that died before completing it is completed by the worker', async () => {
      const fx = await createFiscalRegister(t);
      await sale(fx.registerApi, fx.register.id, [line('Kaffee', 1, 250)]);
      await simulateFailure(fx.orgApi, fx.unit.id, 'fail');
      const closing = await triggerClosing(fx.registerApi, fx.register.id);
      await simulateFailure(fx.orgApi, fx.unit.id, 'none');
      // As the creating transaction leaves it, before any completion attempt.
      await t.database
        .executor()
        .updateTable('closings')
        .set({ state: 'pending', failure_code: null, failure_message: null, failure_retryable: null, attempts: 0 })
        .where('id', '=', closing.id)
        .execute();
      expectError(
        await fx.registerApi.post(`/v1/registers/${fx.register.id}/closings`, {}),
        409,
        'closing_in_progress',
      );
      const runner = startJobRunner({ ...t.container.jobRunner, pollMs: 20 }, silent);
      try {
        clock.advance(60_000);
        let state = 'pending';
        for (let i = 0; i < 250 && state !== 'completed'; i++) {
          await sleep(20);
          state = (await fx.registerApi.get<Closing>(`/v1/closings/${closing.id}`)).body.state;
        }
        expect(state).toBe('completed');
      } finally {
        await runner.stop();
      }
    }, 20_000);
  });

  describe('scheduled closings', () => {
    it('fire exactly once per slot, with several callers at once and after a restart', async () => {
      const fx = await createFiscalRegister(t);
      await sale(fx.registerApi, fx.register.id, [line('Kaffee', 1, 250)]);
      const open = await fx.registerApi.post<Operation>(`/v1/registers/${fx.register.id}/sales`, {
        line_items: [line('Tee', 1, 200)],
      });
      // Two minutes from now, in the location's time zone.
      const local = new Intl.DateTimeFormat('en-GB', {
        timeZone: 'Europe/Berlin',
        hour: '2-digit',
        minute: '2-digit',
        hourCycle: 'h23',
      }).format(new Date(clock.now().getTime() + 120_000));
      const patched = await fx.orgApi.patch<{ closing_schedule: { daily_at: string } }>(
        `/v1/registers/${fx.register.id}`,
        { closing_schedule: { daily_at: local } },
      );
      expect(patched.status, patched.text).toBe(200);
      expect(patched.body.closing_schedule).toEqual({ daily_at: local });

      // Not yet due.
      expect(await t.container.closings.runSchedules()).toBe(0);
      clock.advance(180_000);
      const counts = await Promise.all([
        t.container.closings.runSchedules(),
        t.container.closings.runSchedules(),
        t.container.closings.runSchedules(),
      ]);
      expect(counts.reduce((a, b) => a + b, 0)).toBe(1);
      expect(await t.container.closings.runSchedules()).toBe(0);

      // A second process on the same database (a restart) does not close the same slot again.
      const second = await buildTestApp({ clock, scratch: t.scratch, masterKey: t.masterKey });
      try {
        expect(await second.container.closings.runSchedules()).toBe(0);
      } finally {
        await second.close({ keepData: true });
      }
      const closings = await closingsOf(fx.orgApi, fx.register.id, 'daily');
      expect(closings).toHaveLength(1);
      expect(closings[0]?.scheduled_for).toMatch(new RegExp(`T${local}$`));
      expect(closings[0]?.summary.total_gross).toBe(250);
      // The open sale was cancelled by the scheduled closing.
      expect((await fx.registerApi.get<Operation>(`/v1/sales/${open.body.id}`)).body.state).toBe('cancelled');

      // The next day's slot fires again, once.
      clock.advance(86_400_000);
      expect(await t.container.closings.runSchedules()).toBe(1);
      expect(await closingsOf(fx.orgApi, fx.register.id, 'daily')).toHaveLength(2);
    });

    it('validates the schedule', async () => {
      const fx = await createFiscalRegister(t);
      for (const daily_at of ['24:00', '9:30', '12:60', '']) {
        expectError(
          await fx.orgApi.patch(`/v1/registers/${fx.register.id}`, { closing_schedule: { daily_at } }),
          400,
          'invalid_request',
        );
      }
      const cleared = await fx.orgApi.patch<{ closing_schedule: unknown }>(`/v1/registers/${fx.register.id}`, {
        closing_schedule: null,
      });
      expect(cleared.body.closing_schedule).toBeNull();
    });
  });
});

describeDb('closing transmission (regimes that transmit closings to an authority)', () => {
  let t: TestApp;
  const clock = new ManualClock();
  /** What the fake authority answers next; then it accepts. */
  const outcomes: Array<'retryable' | 'refused'> = [];
  const received: string[] = [];

  beforeAll(async () => {
    t = await buildTestApp({
      clock,
      closingTransmitters: new Map([
        [
          'DE',
          {
            transmits: (type) => type === 'daily',
            transmit: (closing) => {
              const outcome = outcomes.shift();
              if (outcome === 'retryable') return Promise.reject(new TransmissionError('Gateway timeout', true));
              if (outcome === 'refused') return Promise.reject(new TransmissionError('Rejected: bad totals', false));
              received.push(closing.id);
              return Promise.resolve();
            },
          },
        ],
      ]),
    });
  });
  afterAll(() => t.close());

  async function runJobsUntil(closingId: string, api: FiscalRegisterFixture['registerApi'], state: string) {
    const runner = startJobRunner({ ...t.container.jobRunner, pollMs: 20 }, silent);
    try {
      let current = '';
      for (let i = 0; i < 300 && current !== state; i++) {
        clock.advance(60_000);
        await sleep(20);
        current = (await api.get<Closing>(`/v1/closings/${closingId}`)).body.state;
      }
      return current;
    } finally {
      await runner.stop();
    }
  }

  it('a completed daily closing is transmitted by the worker, retried with backoff while retryable', async () => {
    const fx = await createFiscalRegister(t);
    await sale(fx.registerApi, fx.register.id, [line('Kaffee', 1, 250)]);
    outcomes.push('retryable', 'retryable');
    const closing = await triggerClosing(fx.registerApi, fx.register.id);
    expect(closing.state).toBe('completed');
    expect(await runJobsUntil(closing.id, fx.registerApi, 'transmitted')).toBe('transmitted');
    expect(received.filter((id) => id === closing.id)).toHaveLength(1);
    const types = (await journalOf(fx.orgApi, fx.register.id)).filter((e) => e.subject_id === closing.id);
    expect(types.map((e) => e.type)).toEqual([
      'closing.created',
      'closing.completed',
      'closing.transmission_failed',
      'closing.transmission_failed',
      'closing.transmitted',
    ]);
    // A shift closing is not transmitted.
    const shift = await triggerClosing(fx.registerApi, fx.register.id, { type: 'shift' });
    expect(shift.state).toBe('completed');
  }, 30_000);

  it('a refused transmission fails for good until retried by hand; it does not block the next closing', async () => {
    const fx = await createFiscalRegister(t);
    outcomes.push('refused');
    const closing = await triggerClosing(fx.registerApi, fx.register.id);
    expect(await runJobsUntil(closing.id, fx.registerApi, 'failed')).toBe('failed');
    const failed = (await fx.registerApi.get<Closing>(`/v1/closings/${closing.id}`)).body;
    expect(failed).toMatchObject({
      state: 'failed',
      failure: { code: 'transmission_failed', message: 'Rejected: bad totals', retryable: false },
    });
    expect(failed.completed_at).not.toBeNull();
    expect(failed.fiscal).not.toBeNull();
    const next = await triggerClosing(fx.registerApi, fx.register.id);
    expect(next.z_number).toBe(2);
    const retried = await fx.registerApi.post<Closing>(`/v1/closings/${closing.id}/retry`, {});
    expect(retried.status, retried.text).toBe(200);
    expect(retried.body).toMatchObject({ state: 'transmitted', failure: null });
    // Retrying re-sent it; it did not sign it again.
    expect(retried.body.fiscal).toEqual(failed.fiscal);
  }, 30_000);
});
