/**
 * The URL form of Austrian receipt codes (RKSV Detailspezifikation; BMF Mustercode "Link statt QR-Code/OCR-Kette"):
 * with OPENFISKAL_PUBLIC_URL set, every receipt's `verification.url` is `<public url>/v1/rksv-receipts/<hash>`, the
 * hash being Base64-URL of the first 8 bytes of SHA-256 over the QR code text (computed here independently), and
 * GET of that path answers the QR code text to anyone, without a key. Without the setting the URL is null.
 */
import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backfillRksvUrlHashes } from '../src/db/migrations/0007-rksv-receipt-url.js';
import type { Operation } from '../src/modules/operations/operation.schemas.js';
import { expectError } from './helpers/assertions.js';
import { atLine, createAustrianRegister, rksv, type AustrianRegisterFixture } from './helpers/austria.js';
import { describeDb } from './helpers/engines.js';
import { cashSale } from './helpers/fiscal.js';
import { buildTestApp, type TestApp } from './helpers/test-app.js';

const PUBLIC_URL = 'https://fiscal.example.com';
const BASE = `${PUBLIC_URL}/v1/rksv-receipts`;

/** Base64-URL (no padding) of the first 8 bytes of SHA-256 over the QR code text. */
const urlHashOf = (qr: string) => createHash('sha256').update(qr, 'utf8').digest().subarray(0, 8).toString('base64url');

describeDb('Austrian receipt URLs', () => {
  describe('with OPENFISKAL_PUBLIC_URL', () => {
    let t: TestApp;
    let f: AustrianRegisterFixture;
    let sale: Operation;

    beforeAll(async () => {
      t = await buildTestApp({ publicUrl: `${PUBLIC_URL}/` });
      f = await createAustrianRegister(t);
      sale = await cashSale(f.registerApi, f.register.id, [atLine('Melange', 2, 450, '0.10')]);
    });
    afterAll(() => t.close());

    it("gives a sale's receipt the URL <public url>/v1/rksv-receipts/<hash of its QR code>", () => {
      const block = rksv(sale.fiscal);
      const hash = urlHashOf(block.verification.qr_data);
      expect(hash).toMatch(/^[A-Za-z0-9_-]{11}$/);
      expect(block.url_hash).toBe(hash);
      expect(block.verification.url).toBe(`${BASE}/${hash}`);
    });

    it('answers GET of that path without any key with exactly the QR code text, as text/plain', async () => {
      const block = rksv(sale.fiscal);
      const path = new URL(block.verification.url ?? '').pathname;
      expect(path).toBe(`/v1/rksv-receipts/${block.url_hash}`);
      const response = await t.api.get(path);
      expect(response.status, response.text).toBe(200);
      expect(response.headers['content-type']).toBe('text/plain; charset=utf-8');
      expect(response.text).toBe(block.verification.qr_data);
      expect(response.text.startsWith(`_R1-AT100_${f.register.serial_number}_2_`)).toBe(true);
    });

    it('publishes every kind of receipt: the Startbeleg, a Storno and a Nullbeleg', async () => {
      const start = rksv((f.unit.fiscal_registration as { start_receipt: unknown }).start_receipt);
      const voided = await f.registerApi.post<Operation>(`/v1/registers/${f.register.id}/voids`, {
        original_operation_id: sale.id,
        reason: 'Falsch gebucht',
      });
      expect(voided.status, voided.text).toBe(201);
      const nullReceipt = await f.registerApi.post<{ fiscal: unknown }>(
        `/v1/registers/${f.register.id}/null-receipts`,
        {},
      );
      expect(nullReceipt.status, nullReceipt.text).toBe(201);
      const blocks = [start, rksv(voided.body.fiscal), rksv(nullReceipt.body.fiscal)];
      expect(blocks.map((block) => block.receipt_kind)).toEqual(['start', 'storno', 'null']);
      for (const block of blocks) {
        const hash = urlHashOf(block.verification.qr_data);
        expect(block.verification.url).toBe(`${BASE}/${hash}`);
        const response = await t.api.get(`/v1/rksv-receipts/${hash}`);
        expect(response.status, response.text).toBe(200);
        expect(response.text).toBe(block.verification.qr_data);
      }
    });

    it('answers a well-formed hash no receipt has with 404 not_found', async () => {
      const unknown = urlHashOf('_R1-AT100_nowhere');
      expectError(await t.api.get(`/v1/rksv-receipts/${unknown}`), 404, 'not_found');
      // One character changed of a real hash.
      const real = rksv(sale.fiscal).url_hash;
      const changed = `${real.slice(0, 10)}${real.endsWith('A') ? 'B' : 'A'}`;
      expectError(await t.api.get(`/v1/rksv-receipts/${changed}`), 404, 'not_found');
    });

    it.each([
      ['too short', 'abc'],
      ['too long', 'AAAAAAAAAAAA'],
      ['standard Base64', 'AAAAAAAAAA%2B'],
      ['padded', 'AAAAAAAAAA%3D'],
      ['a dot', 'AAAAAAAAAA.'],
    ])('refuses a malformed hash (%s) with 400 invalid_request naming it', async (_, hash) => {
      expectError(await t.api.get(`/v1/rksv-receipts/${hash}`), 400, 'invalid_request', 'urlHash');
    });

    it('finds receipts stored before the URL hash was (migration 0007 fills it in)', async () => {
      const executor = t.database.executor();
      const stored = async () =>
        executor
          .selectFrom('rksv_receipts')
          .select(['url_hash', 'jws'])
          .where('register_id', '=', f.register.id)
          .orderBy('receipt_number')
          .execute();
      const before = await stored();
      expect(before.length).toBeGreaterThanOrEqual(4);
      await executor
        .updateTable('rksv_receipts')
        .set({ url_hash: null })
        .where('register_id', '=', f.register.id)
        .execute();
      const hash = rksv(sale.fiscal).url_hash;
      expectError(await t.api.get(`/v1/rksv-receipts/${hash}`), 404, 'not_found');

      // What migration 0007 runs (on a migrated database it finds only the rows nulled here).
      expect(await backfillRksvUrlHashes(executor as unknown as Kysely<unknown>)).toBe(before.length);
      expect(await stored()).toEqual(before);
      const response = await t.api.get(`/v1/rksv-receipts/${hash}`);
      expect(response.status, response.text).toBe(200);
      expect(response.text).toBe(rksv(sale.fiscal).verification.qr_data);
    });
  });

  describe('without OPENFISKAL_PUBLIC_URL', () => {
    let t: TestApp;

    beforeAll(async () => {
      t = await buildTestApp();
    });
    afterAll(() => t.close());

    it('gives receipts no URL, but still the URL hash, and still answers it', async () => {
      const f = await createAustrianRegister(t);
      const start = rksv((f.unit.fiscal_registration as { start_receipt: unknown }).start_receipt);
      const sale = rksv((await cashSale(f.registerApi, f.register.id, [atLine('Kipferl', 1, 180, '0.10')])).fiscal);
      for (const block of [start, sale]) {
        expect(block.verification.url).toBeNull();
        expect(block.url_hash).toBe(urlHashOf(block.verification.qr_data));
      }
      const response = await t.api.get(`/v1/rksv-receipts/${sale.url_hash}`);
      expect(response.status, response.text).toBe(200);
      expect(response.text).toBe(sale.verification.qr_data);
    });
  });
});
