/**
 * The independent check: a day of real operations, exported as the TR-03151 TAR, verified by tools that
 * share no code with the signer — openssl (signatures, with the public key taken from a receipt's QR code) and
 * `tar` — plus gapless counters and the sale's finish log carrying exactly the QR's process data and signature.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startJobRunner, type Worker } from '../src/jobs/worker.js';
import { createLogger } from '../src/logger.js';
import type { Export } from '../src/modules/exports/export.schemas.js';
import type { Operation } from '../src/modules/operations/operation.schemas.js';
import { describeDb } from './helpers/engines.js';
import { opensslVerify } from './helpers/independent-checks.js';
import {
  cashSale,
  createFiscalRegister,
  line,
  P256_SPKI_PREFIX,
  type FiscalRegisterFixture,
} from './helpers/fiscal.js';
import { buildTestApp, type TestApp } from './helpers/test-app.js';

/** Minimal DER walk of the log message's outer SEQUENCE, written here so the check shares nothing with the signer. */
function topLevelElements(message: Buffer): Array<{ tag: number; start: number; end: number; value: Buffer }> {
  const readLength = (at: number): [number, number] => {
    const first = message[at] ?? 0;
    if (first < 0x80) return [first, at + 1];
    const count = first & 0x7f;
    let length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + (message[at + 1 + i] ?? 0);
    return [length, at + 1 + count];
  };
  const [outerLength, contentStart] = readLength(1);
  const elements = [];
  let at = contentStart;
  while (at < contentStart + outerLength) {
    const tag = message[at] ?? 0;
    const [length, valueStart] = readLength(at + 1);
    elements.push({
      tag,
      start: at,
      end: valueStart + length,
      value: message.subarray(valueStart, valueStart + length),
    });
    at = valueStart + length;
  }
  return elements;
}

describeDb('TSE TAR export of real operations, verified independently', () => {
  let t: TestApp;
  let f: FiscalRegisterFixture;
  let runner: Worker;
  let sale: Operation;
  let dir: string;

  beforeAll(async () => {
    t = await buildTestApp();
    runner = startJobRunner({ ...t.container.jobRunner, pollMs: 20 }, createLogger('silent'));
    f = await createFiscalRegister(t);
    dir = mkdtempSync(join(tmpdir(), 'tse-export-'));
  });
  afterAll(async () => {
    await runner.stop();
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('exports every log of the day; each verifies with openssl and the QR public key; counters are gapless', async () => {
    const api = f.registerApi;
    const from = new Date(Date.now() - 60_000).toISOString();
    sale = await cashSale(api, f.register.id, [line('Käsekuchen', 1, 350), line('Brötchen', 4, 45, '0.07')]);
    await cashSale(api, f.register.id);
    const cancelled = await api.post<Operation>(`/v1/registers/${f.register.id}/sales`, {
      line_items: [line('Torte', 1, 2000)],
    });
    await api.post(`/v1/sales/${cancelled.body.id}/cancel`, { reason: 'Kunde gegangen' });
    await api.post(`/v1/registers/${f.register.id}/cash-movements`, { direction: 'in', kind: 'pay_in', amount: 5000 });
    await api.post(`/v1/registers/${f.register.id}/voids`, { original_operation_id: sale.id, reason: 'Falsch' });
    const to = new Date(Date.now() + 60_000).toISOString();

    const created = await f.orgApi.post<Export>('/v1/exports', {
      type: 'tse_tar',
      register_id: f.register.id,
      from,
      to,
    });
    expect(created.status, created.text).toBe(202);
    let exported = created.body;
    for (let i = 0; i < 500 && exported.state !== 'completed' && exported.state !== 'failed'; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      exported = (await f.orgApi.get<Export>(`/v1/exports/${exported.id}`)).body;
    }
    expect(exported.state).toBe('completed');
    const download = await f.orgApi.get(`/v1/exports/${exported.id}/download`);
    expect(download.status).toBe(200);
    const archive = join(dir, 'export.tar');
    writeFileSync(archive, download.raw);
    execFileSync('tar', ['-xf', archive, '-C', dir]);
    const names = readdirSync(dir).filter((name) => name !== 'export.tar');

    // The public key comes from the receipt's QR code, nowhere else.
    const qr = String(sale.fiscal?.verification.qr_data).split(';');
    expect(qr).toHaveLength(12);
    const point = Buffer.from(qr[11] ?? '', 'base64');
    writeFileSync(join(dir, 'pub.der'), Buffer.concat([P256_SPKI_PREFIX, point]));
    execFileSync('openssl', [
      'pkey',
      '-pubin',
      '-inform',
      'DER',
      '-in',
      join(dir, 'pub.der'),
      '-out',
      join(dir, 'pub.pem'),
    ]);

    const logs = names.filter((name) => name.endsWith('.log'));
    // 2 system logs at provisioning; start+finish for 3 sales, the cash movement and the void.
    expect(logs).toHaveLength(2 + 2 * 5);
    const counters: number[] = [];
    const transactions = new Map<number, string[]>();
    for (const name of logs) {
      const message = readFileSync(join(dir, name));
      const elements = topLevelElements(message);
      const signature = elements.at(-1);
      expect(signature?.tag).toBe(0x04);
      // DTBS: every field from version to logTime, exactly as in the file.
      const first = elements[0];
      const dtbs = message.subarray(first?.start ?? 0, signature?.start ?? 0);
      expect(opensslVerify(dir, join(dir, 'pub.pem'), dtbs, signature?.value ?? Buffer.alloc(0)), name).toBe(
        'Verified OK',
      );
      const counter = Number(/_Sig-(\d+)_/.exec(name)?.[1]);
      counters.push(counter);
      const transaction = /_No-(\d+)_(Start|Finish)_/.exec(name);
      if (transaction !== null) {
        const number = Number(transaction[1]);
        transactions.set(number, [...(transactions.get(number) ?? []), transaction[2] ?? '']);
      }
    }
    expect(counters.sort((a, b) => a - b)).toEqual(Array.from({ length: logs.length }, (_, i) => i + 1));
    expect([...transactions.keys()].sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5]);
    for (const phases of transactions.values()) expect(phases.sort()).toEqual(['Finish', 'Start']);

    // The sale's finish log carries exactly the QR's process data and signature.
    const finishName = logs.find((name) => name.includes(`_Sig-${qr[5]}_`) && name.includes('_Finish_'));
    expect(finishName).toBeDefined();
    const finish = readFileSync(join(dir, finishName ?? ''));
    const fields = topLevelElements(finish);
    const processData = fields.find((element) => element.tag === 0x82)?.value.toString('utf8');
    const processType = fields.find((element) => element.tag === 0x83)?.value.toString('utf8');
    expect(processType).toBe(qr[2]);
    expect(processData).toBe(qr[3]);
    expect(fields.at(-1)?.value.toString('base64')).toBe(qr[10]);
    expect(processData).toBe('Beleg^3.50_1.80_0.00_0.00_0.00^5.30:Bar');

    // info.csv and the certificate of the TSE (its key is the one in the QR code).
    expect(names).toContain('info.csv');
    const certificate = names.find((name) => name.endsWith('_X509.pem'));
    expect(certificate).toBe(`${String(f.unit.fiscal_registration.tse_serial).toUpperCase()}_X509.pem`);
    const certificateKey = execFileSync('openssl', ['x509', '-in', join(dir, certificate ?? ''), '-noout', '-pubkey'], {
      encoding: 'utf8',
    });
    expect(certificateKey).toBe(readFileSync(join(dir, 'pub.pem'), 'utf8'));
  });
});
