/**
 * Issue: an Austrian register's realistic day over HTTP — Startbeleg, sales at every tax set, a refund and a void
 * (Storno), training, a cancelled sale, a cash movement, null receipts, a signature-unit outage of more than 48 hours
 * and its Sammelbeleg, a unit replacement, the monthly and annual closings and the Schlussbeleg — then the DEP7
 * export, checked by the independent verifier (test/helpers/rksv-verifier.ts, which shares no code with the
 * signer). A German register of the same organization works beside it.
 */
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startJobRunner, type Worker } from '../src/jobs/worker.js';
import { createLogger } from '../src/logger.js';
import type { Closing } from '../src/modules/closings/closing.schemas.js';
import type { Export } from '../src/modules/exports/export.schemas.js';
import type { FiscalUnit } from '../src/modules/fiscal-units/fiscal-unit.schemas.js';
import type { Operation } from '../src/modules/operations/operation.schemas.js';
import type { Register } from '../src/modules/registers/register.schemas.js';
import type { Page } from '../src/shared/pagination.js';
import type { ApiClient } from './helpers/api-client.js';
import { expectError } from './helpers/assertions.js';
import { triggerClosing } from './helpers/closings.js';
import { describeDb } from './helpers/engines.js';
import { createLocation, createOrganization, createPlatform, createRegister } from './helpers/factories.js';
import { atLine, rksv, type RksvBlock } from './helpers/austria.js';
import { cashSale, simulateFailure, verifyJournal } from './helpers/fiscal.js';
import { verifyDep7 } from './helpers/rksv-verifier.js';
import { buildTestApp, ManualClock, type TestApp } from './helpers/test-app.js';

interface Outage {
  fiscal_unit_id: string;
  ongoing: boolean;
  report_required: boolean;
  report_threshold_hours: number | null;
  ended_at: string | null;
}

const HOUR = 3_600_000;

/** Base64 of the first 3 bytes of SHA-256 over the Base64 key text (the Mustercode's AESCheckSum), computed here. */
const checkValue = (keyBase64: string) =>
  createHash('sha256').update(keyBase64, 'utf8').digest().subarray(0, 3).toString('base64');

/** The receipt's payload fields, read from the JWS independently of the server. */
function payloadFields(jws: string): string[] {
  const payload = Buffer.from(jws.split('.')[1] ?? '', 'base64url').toString('utf8');
  return payload.split('_');
}

describeDb('Austria: an RKSV register’s day, exported as DEP7 and verified independently', () => {
  let t: TestApp;
  let runner: Worker;
  let dir: string;
  const clock = new ManualClock('2026-11-30T08:00:00Z');
  let orgApi: ApiClient;
  let api: ApiClient;
  let register: Register;
  let unit: FiscalUnit;
  let aesKey: string;
  /** Every receipt block the API handed out, in issue order (the DEP must hold exactly these). */
  const issued: RksvBlock[] = [];
  let organizationId: string;

  const collect = (block: RksvBlock | null | undefined) => {
    if (block === null || block === undefined) return;
    collect(block.collective_receipt);
    issued.push(block);
  };
  const tick = (minutes = 1) => {
    clock.advance(minutes * 60_000);
  };

  beforeAll(async () => {
    t = await buildTestApp({ clock, signingTimeoutMs: 500 });
    runner = startJobRunner({ ...t.container.jobRunner, pollMs: 20 }, createLogger('silent'));
    dir = mkdtempSync(join(tmpdir(), 'austria-'));
    const platform = await createPlatform(t);
    const organization = await createOrganization(platform.api, {
      legal_name: 'Wiener Kaffeehaus GmbH',
      country: 'AT',
      fiscal_identity: { vat_id: 'ATU13585627' },
      address: { line1: 'Stephansplatz 1', city: 'Wien', postal_code: '1010', country: 'AT' },
    });
    organizationId = organization.id;
    orgApi = platform.api.forOrganization(organization.id);
    const vienna = await createLocation(orgApi, organization.id, {
      name: 'Wien Innere Stadt',
      timezone: 'Europe/Vienna',
      address: { line1: 'Stephansplatz 1', city: 'Wien', postal_code: '1010', country: 'AT' },
    });
    register = await createRegister(orgApi, vienna.id, { label: 'Kassa 1', jurisdiction: 'AT' });
  });
  afterAll(async () => {
    await runner.stop();
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a Kassen-ID with "_" and defaults to the register id without it', async () => {
    expect(register.serial_number).toBe(register.id.replace('_', '-'));
    const location = (await orgApi.get<Page<{ id: string }>>(`/v1/organizations/${organizationId}/locations`)).body
      .data[0];
    expectError(
      await orgApi.post(`/v1/locations/${location?.id ?? ''}/registers`, {
        label: 'Kassa X',
        jurisdiction: 'AT',
        serial_number: 'KASSA_2',
      }),
      422,
      'validation_error',
      'serial_number',
    );
  });

  it('provisions software_rksv: signed Startbeleg, AES key shown once with its check value', async () => {
    const response = await orgApi.post<{
      fiscal_unit: FiscalUnit;
      register_api_key: string;
      registration_secrets: { aes_key: string } | null;
    }>(`/v1/registers/${register.id}/fiscal-units`, { issue_register_credential: true });
    expect(response.status, response.text).toBe(201);
    unit = response.body.fiscal_unit;
    api = orgApi.as(response.body.register_api_key);
    expect(unit).toMatchObject({ provider: 'software_rksv', jurisdiction: 'AT', certified: false, state: 'active' });
    aesKey = response.body.registration_secrets?.aes_key ?? '';
    expect(Buffer.from(aesKey, 'base64')).toHaveLength(32);
    const registration = unit.fiscal_registration as Record<string, unknown>;
    expect(registration).toMatchObject({
      regime: 'rksv',
      system: 'open',
      cash_register_id: register.serial_number,
      zda: 'AT100',
      aes_key_check_value: checkValue(aesKey),
    });
    const start = rksv(registration.start_receipt);
    expect(start).toMatchObject({ receipt_kind: 'start', document_type: 'Startbeleg', signed: true });
    expect(start.amounts).toEqual({
      normal: '0,00',
      ermaessigt1: '0,00',
      ermaessigt2: '0,00',
      null: '0,00',
      besonders: '0,00',
    });
    collect(start);
    // Shown once: neither the unit nor the journal carries the key.
    const again = await orgApi.get(`/v1/fiscal-units/${unit.id}`);
    expect(again.text).not.toContain(aesKey);
    const journal = await orgApi.get(`/v1/registers/${register.id}/journal?limit=200`);
    expect(journal.text).not.toContain(aesKey);
  });

  let saleA: Operation;
  let saleB: Operation;

  it('signs sales at each tax set, in local time, with the code in the QR, OCR and JWS forms', async () => {
    tick(60);
    saleA = await cashSale(api, register.id, [
      atLine('Melange', 2, 450, '0.10'),
      atLine('Sachertorte', 1, 590, '0.10'),
      atLine('Zeitung', 1, 300, '0.20', 'standard'),
    ]);
    const a = rksv(saleA.fiscal);
    expect(a).toMatchObject({ receipt_kind: 'standard', document_type: 'Beleg', signed: true, receipt_number: '2' });
    expect(a.amounts).toMatchObject({ normal: '3,00', ermaessigt1: '14,90', ermaessigt2: '0,00' });
    // 09:00 UTC is 10:00 in Vienna in November.
    expect(a.receipt_date_time).toBe('2026-11-30T10:00:00');
    expect(
      a.verification.qr_data.startsWith(`_R1-AT100_${register.serial_number}_2_2026-11-30T10:00:00_3,00_14,90_`),
    ).toBe(true);
    expect(payloadFields(a.jws).slice(1, 5)).toEqual(['R1-AT100', register.serial_number, '2', '2026-11-30T10:00:00']);
    expect(a.ocr_data).toMatch(/^_R1-AT100_/);
    collect(a);

    tick();
    saleB = await cashSale(api, register.id, [
      atLine('Blumen', 1, 1300, '0.13'),
      atLine('Milch', 2, 149, '0.049'),
      atLine('Pfand', 1, 100, '0', 'exempt'),
    ]);
    const b = rksv(saleB.fiscal);
    expect(b.amounts).toMatchObject({ ermaessigt2: '13,00', besonders: '2,98', null: '1,00' });
    collect(b);
  });

  it('issues Storno receipts for a refund and a void, a Trainingsbeleg, and nothing for cancels and cash movements', async () => {
    tick();
    const refund = await api.post<Operation>(`/v1/registers/${register.id}/refunds`, {
      original_operation_id: saleA.id,
      line_items: [{ line_item_id: saleA.data.line_items?.[0]?.id ?? '', quantity: 1 }],
    });
    expect(refund.status, refund.text).toBe(201);
    const refunded = await api.post<Operation>(`/v1/refunds/${refund.body.id}/complete`, {
      payments: [{ method: 'cash', direction: 'outbound', amount: 450 }],
    });
    expect(refunded.status, refunded.text).toBe(200);
    const r = rksv(refunded.body.fiscal);
    expect(r).toMatchObject({ receipt_kind: 'storno', document_type: 'Stornobeleg', signed: true });
    expect(r.amounts.ermaessigt1).toBe('-4,50');
    expect(payloadFields(r.jws)[10]).toBe('U1RP'); // Base64("STO")
    collect(r);

    tick();
    const voided = await api.post<Operation>(`/v1/registers/${register.id}/voids`, {
      original_operation_id: saleB.id,
      reason: 'Falsch boniert',
    });
    expect(voided.status, voided.text).toBe(201);
    const v = rksv(voided.body.fiscal);
    expect(v).toMatchObject({ receipt_kind: 'storno' });
    expect(v.amounts).toMatchObject({ ermaessigt2: '-13,00', besonders: '-2,98', null: '-1,00' });
    collect(v);

    tick();
    const training = await api.post<Operation>(`/v1/registers/${register.id}/sales`, {
      training: true,
      line_items: [atLine('Übungskaffee', 1, 350, '0.10')],
    });
    const trained = await api.post<Operation>(`/v1/sales/${training.body.id}/complete`, {
      payments: [{ method: 'cash', direction: 'inbound', amount: 350 }],
    });
    expect(trained.status, trained.text).toBe(200);
    const tr = rksv(trained.body.fiscal);
    expect(tr).toMatchObject({ receipt_kind: 'training', document_type: 'Trainingsbeleg' });
    expect(payloadFields(tr.jws)[10]).toBe('VFJB'); // Base64("TRA")
    collect(tr);

    const open = await api.post<Operation>(`/v1/registers/${register.id}/sales`, {
      line_items: [atLine('Strudel', 1, 420, '0.10')],
    });
    const cancelled = await api.post<Operation>(`/v1/sales/${open.body.id}/cancel`, { reason: 'Gast gegangen' });
    expect(cancelled.status, cancelled.text).toBe(200);
    expect(cancelled.body).toMatchObject({ state: 'cancelled', fiscal_state: 'succeeded', fiscal: null });

    const float = await api.post<Operation>(`/v1/registers/${register.id}/cash-movements`, {
      direction: 'in',
      kind: 'opening_float',
      amount: 10_000,
    });
    expect(float.status, float.text).toBe(201);
    expect(float.body).toMatchObject({ state: 'completed', fiscal: null });
  });

  it('issues a Nullbeleg on demand', async () => {
    tick();
    const response = await api.post<{ object: string; fiscal: RksvBlock }>(
      `/v1/registers/${register.id}/null-receipts`,
      {},
    );
    expect(response.status, response.text).toBe(201);
    expect(response.body.object).toBe('null_receipt');
    expect(response.body.fiscal).toMatchObject({ receipt_kind: 'null', document_type: 'Nullbeleg', signed: true });
    collect(response.body.fiscal);
  });

  it('keeps selling through a signature-unit outage, reports it after 48 h and issues the Sammelbeleg', async () => {
    await simulateFailure(orgApi, unit.id, 'fail');
    tick();
    const during = await cashSale(api, register.id, [atLine('Einspänner', 1, 520, '0.10')]);
    const d = rksv(during.fiscal);
    expect(d.signed).toBe(false);
    expect(Buffer.from(d.jws.split('.')[2] ?? '', 'base64url').toString('utf8')).toBe(
      'Sicherheitseinrichtung ausgefallen',
    );
    collect(d);
    expect((await orgApi.get<FiscalUnit>(`/v1/fiscal-units/${unit.id}`)).body.state).toBe('error');

    const outagesNow = await orgApi.get<Page<Outage>>(`/v1/registers/${register.id}/outages`);
    expect(outagesNow.status, outagesNow.text).toBe(200);
    expect(outagesNow.body.data).toMatchObject([
      { fiscal_unit_id: unit.id, ongoing: true, report_required: false, report_threshold_hours: 48 },
    ]);
    clock.advance(49 * HOUR);
    const late = await orgApi.get<Page<Outage>>(`/v1/registers/${register.id}/outages`);
    expect(late.body.data).toMatchObject([{ ongoing: true, report_required: true }]);
    tick();
    const another = await cashSale(api, register.id, [atLine('Verlängerter', 1, 380, '0.10')]);
    expect(rksv(another.fiscal).signed).toBe(false);
    collect(rksv(another.fiscal));

    await simulateFailure(orgApi, unit.id, 'none');
    tick();
    const after = await cashSale(api, register.id, [atLine('Apfelstrudel', 1, 480, '0.10')]);
    const sammel = rksv(after.fiscal).collective_receipt;
    expect(sammel).toMatchObject({ receipt_kind: 'collective', document_type: 'Sammelbeleg', signed: true });
    expect(rksv(after.fiscal).signed).toBe(true);
    collect(rksv(after.fiscal));
    expect((await orgApi.get<FiscalUnit>(`/v1/fiscal-units/${unit.id}`)).body.state).toBe('active');
    const ended = await orgApi.get<Page<Outage>>(`/v1/registers/${register.id}/outages`);
    expect(ended.body.data).toMatchObject([{ ongoing: false, report_required: true }]);
    expect(ended.body.data[0]?.ended_at).not.toBeNull();
  });

  let replacement: FiscalUnit;

  it('replaces the signature unit: the chain goes on under a new certificate, without a second Startbeleg', async () => {
    tick();
    const response = await orgApi.post<{ new_binding: FiscalUnit; old_binding: FiscalUnit }>(
      `/v1/registers/${register.id}/fiscal-units/replace`,
      { reason: 'Signaturkarte getauscht' },
    );
    expect(response.status, response.text).toBe(200);
    replacement = response.body.new_binding;
    const registration = replacement.fiscal_registration as Record<string, unknown>;
    expect(registration.start_receipt ?? null).toBeNull();
    expect(registration.certificate_serial).not.toBe(
      (unit.fiscal_registration as Record<string, unknown>).certificate_serial,
    );
    tick();
    const sale = await cashSale(api, register.id, [atLine('Kleiner Brauner', 2, 330, '0.10')]);
    const s = rksv(sale.fiscal);
    expect(s.certificate_serial).toBe(registration.certificate_serial);
    collect(s);
  });

  it('signs the Monatsbeleg and the Jahresbeleg as the monthly and annual closings’ fiscal blocks', async () => {
    tick();
    const monthly = await triggerClosing(api, register.id, { type: 'monthly' });
    const completedMonthly = await waitForClosing(api, monthly.id);
    const m = rksv(completedMonthly.fiscal);
    expect(m).toMatchObject({ regime: 'rksv', receipt_kind: 'monthly', document_type: 'Monatsbeleg', signed: true });
    collect(m);

    clock.advance(31 * 24 * HOUR); // 2026-12-31 / 2027-01-01 local
    const annual = await triggerClosing(api, register.id, { type: 'annual' });
    const completedAnnual = await waitForClosing(api, annual.id);
    const y = rksv(completedAnnual.fiscal);
    expect(y).toMatchObject({ receipt_kind: 'annual', document_type: 'Jahresbeleg', signed: true });
    collect(y);
    // A daily closing signs nothing in Austria.
    tick();
    const daily = await waitForClosing(api, (await triggerClosing(api, register.id, { type: 'daily' })).id);
    expect(daily.fiscal).toBeNull();
  });

  it('issues the Schlussbeleg on decommissioning; the Kassen-ID cannot be provisioned again', async () => {
    tick();
    const response = await orgApi.post<FiscalUnit>(`/v1/fiscal-units/${replacement.id}/decommission`, {
      reason: 'Kassa außer Betrieb',
    });
    expect(response.status, response.text).toBe(200);
    const again = await orgApi.post(`/v1/registers/${register.id}/fiscal-units`, {});
    expectError(again, 422, 'validation_error');
  });

  it('exports DEP7 with the crypto container; the independent verifier accepts every receipt', async () => {
    const created = await orgApi.post<Export>('/v1/exports', {
      type: 'dep7',
      register_id: register.id,
      from: '2026-11-01T00:00:00Z',
      to: '2027-02-01T00:00:00Z',
    });
    expect(created.status, created.text).toBe(202);
    const done = await waitForExport(orgApi, created.body.id);
    expect(done.state, JSON.stringify(done)).toBe('completed');
    const download = await orgApi.get(`/v1/exports/${created.body.id}/download`);
    expect(download.status).toBe(200);
    const tarFile = join(dir, 'dep7.tar');
    writeFileSync(tarFile, download.raw);
    const names = execFileSync('tar', ['-tf', tarFile], { encoding: 'utf8' }).trim().split('\n').sort();
    expect(names).toEqual(['cryptographicMaterialContainer.json', 'dep7.json']);
    execFileSync('tar', ['-xmf', tarFile, '-C', dir]);
    const dep = JSON.parse(readFileSync(join(dir, 'dep7.json'), 'utf8')) as {
      'Belege-Gruppe': Array<{ 'Belege-kompakt': string[]; Signaturzertifikat: string }>;
    };
    const container = JSON.parse(readFileSync(join(dir, 'cryptographicMaterialContainer.json'), 'utf8')) as {
      base64AESKey: string;
    };
    expect(container.base64AESKey).toBe(aesKey);

    const result = verifyDep7(dep, container);
    expect(result.errors).toEqual([]);
    expect(result.valid).toBe(true);

    // Two certificates → two groups; every receipt the API handed out, in order, then the Schlussbeleg.
    const groups = dep['Belege-Gruppe'];
    expect(groups).toHaveLength(2);
    const all = groups.flatMap((group) => group['Belege-kompakt']);
    expect(all.slice(0, issued.length)).toEqual(issued.map((block) => block.jws));
    expect(all).toHaveLength(issued.length + 1);
    expect(result.receipts).toBe(all.length);
    const numbers = all.map((jws) => Number(payloadFields(jws)[3]));
    expect(numbers).toEqual(numbers.map((_, i) => i + 1));

    // The turnover counter is every amount of every receipt except training.
    const cents = (text: string) => BigInt(text.replace(',', '').replace('-', '')) * (text.startsWith('-') ? -1n : 1n);
    const expected = issued
      .filter((block) => block.receipt_kind !== 'training')
      .flatMap((block) => Object.values(block.amounts))
      .reduce((sum, amount) => sum + cents(amount), 0n);
    expect(result.turnoverCounterCents).toBe(expected);
    expect(expected).toBe(300n + 1490n + 1300n + 298n + 100n - 450n - 1300n - 298n - 100n + 520n + 380n + 480n + 660n);
  });

  it('prints the Austrian fields on the receipt, with the code in the QR', async () => {
    const receipt = await api.get<{
      issuer: { vat_id: string | null };
      fiscal_fields: Array<{ label: string; value: string }>;
      fiscal: { verification: { qr_data: string } } | null;
    }>(`/v1/operations/${saleA.id}/receipt`);
    expect(receipt.status, receipt.text).toBe(200);
    expect(receipt.body.issuer.vat_id).toBe('ATU13585627');
    const fields = Object.fromEntries(receipt.body.fiscal_fields.map((field) => [field.label, field.value]));
    expect(fields).toMatchObject({ 'Kassen-ID': register.serial_number, Belegnummer: '2' });
    expect(receipt.body.fiscal?.verification.qr_data).toBe(rksv(saleA.fiscal).verification.qr_data);
  });

  it('runs a German register of the same organization side by side, with its branch’s German identity', async () => {
    const berlin = await createLocation(orgApi, organizationId, {
      name: 'Berlin Mitte',
      timezone: 'Europe/Berlin',
      address: { line1: 'Torstraße 1', city: 'Berlin', postal_code: '10119', country: 'DE' },
      fiscal_identity: { tax_number: '21/815/08150', vat_id: 'DE143454214' },
    });
    const german = await createRegister(orgApi, berlin.id, { label: 'Kasse Berlin', jurisdiction: 'DE' });
    const provisioned = await orgApi.post<{ fiscal_unit: FiscalUnit; registration_secrets: unknown }>(
      `/v1/registers/${german.id}/fiscal-units`,
      {},
    );
    expect(provisioned.status, provisioned.text).toBe(201);
    expect(provisioned.body.fiscal_unit.provider).toBe('software_tse');
    expect(provisioned.body.registration_secrets).toBeNull();
    tick();
    const sale = await cashSale(orgApi, german.id);
    expect(sale.fiscal).toMatchObject({ regime: 'tse' });
    expect(sale.fiscal?.verification.qr_data?.startsWith('V0;')).toBe(true);
    const receipt = await orgApi.get<{ issuer: { tax_number: string | null; vat_id: string | null } }>(
      `/v1/operations/${sale.id}/receipt`,
    );
    expect(receipt.body.issuer).toMatchObject({ tax_number: '21/815/08150', vat_id: 'DE143454214' });
    // What is Austrian law stays Austrian, and the other way round.
    expectError(await orgApi.post(`/v1/registers/${german.id}/null-receipts`, {}), 422, 'regime_not_supported');
    const range = { from: '2026-11-01T00:00:00Z', to: '2027-02-01T00:00:00Z' };
    expectError(
      await orgApi.post('/v1/exports', { type: 'dep7', register_id: german.id, ...range }),
      422,
      'validation_error',
      'type',
    );
    expectError(
      await orgApi.post('/v1/exports', { type: 'tse_tar', register_id: register.id, ...range }),
      422,
      'validation_error',
      'type',
    );
  });

  it('runs a closed system too: ZDA AT0, key id U:<UID>-K<n>, public key in the container', async () => {
    const location = (await orgApi.get<Page<{ id: string }>>(`/v1/organizations/${organizationId}/locations`)).body
      .data[0];
    const closedRegister = await createRegister(orgApi, location?.id ?? '', { label: 'Kassa 2', jurisdiction: 'AT' });
    const provisioned = await orgApi.post<{ fiscal_unit: FiscalUnit }>(
      `/v1/registers/${closedRegister.id}/fiscal-units`,
      { options: { system: 'closed' } },
    );
    expect(provisioned.status, provisioned.text).toBe(201);
    expect(provisioned.body.fiscal_unit.fiscal_registration).toMatchObject({
      system: 'closed',
      zda: 'AT0',
      certificate_serial: 'U:ATU13585627-K1',
      certificate: null,
    });
    tick();
    const sale = await cashSale(orgApi, closedRegister.id, [atLine('Espresso', 1, 290, '0.10')]);
    expect(rksv(sale.fiscal).verification.qr_data).toMatch(/^_R1-AT0_/);
    const created = await orgApi.post<Export>('/v1/exports', {
      type: 'dep7',
      register_id: closedRegister.id,
      from: '2026-11-01T00:00:00Z',
      to: '2027-02-01T00:00:00Z',
    });
    expect(created.status, created.text).toBe(202);
    expect((await waitForExport(orgApi, created.body.id)).state).toBe('completed');
    const tarFile = join(dir, 'closed.tar');
    writeFileSync(tarFile, (await orgApi.get(`/v1/exports/${created.body.id}/download`)).raw);
    const out = mkdtempSync(join(dir, 'closed-'));
    execFileSync('tar', ['-xmf', tarFile, '-C', out]);
    const dep = JSON.parse(readFileSync(join(out, 'dep7.json'), 'utf8')) as unknown;
    const container = JSON.parse(readFileSync(join(out, 'cryptographicMaterialContainer.json'), 'utf8')) as {
      certificateOrPublicKeyMap: Record<string, { signatureDeviceType: string }>;
    };
    expect(container.certificateOrPublicKeyMap['U:ATU13585627-K1']?.signatureDeviceType).toBe('PUBLIC_KEY');
    const result = verifyDep7(dep, container);
    expect(result.errors).toEqual([]);
    expect(result.receipts).toBe(2); // Startbeleg and the sale
    expect(result.turnoverCounterCents).toBe(290n);
  });

  it('keeps the journal intact through all of it', async () => {
    const verification = await verifyJournal(orgApi, register.id);
    expect(verification.valid).toBe(true);
  });
});

async function waitForClosing(api: ApiClient, id: string): Promise<Closing> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const closing = (await api.get<Closing>(`/v1/closings/${id}`)).body;
    if (closing.state === 'completed' || closing.state === 'failed' || Date.now() > deadline) return closing;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

async function waitForExport(api: ApiClient, id: string): Promise<Export> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const exported = (await api.get<Export>(`/v1/exports/${id}`)).body;
    if (exported.state === 'completed' || exported.state === 'failed' || Date.now() > deadline) return exported;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
