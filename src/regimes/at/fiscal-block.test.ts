import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { rksvFiscalBlock } from './fiscal-block.js';
import { createRegisterState, issueReceipt } from './register.js';
import { createOpenSystemSoftwareDevice } from './signature-device.js';
import { generateAesKey } from './turnover-counter.js';

const device = createOpenSystemSoftwareDevice();
const { receipt } = issueReceipt(
  createRegisterState({ kassenId: 'KASSE-1', aesKey: generateAesKey() }),
  { kind: 'start', dateTime: '2026-07-01T08:00:00' },
  device.signer,
);

/** The URL hash computed here: Base64-URL of the first 8 bytes of SHA-256 over the QR code text. */
const independentHash = (qr: string) =>
  createHash('sha256').update(qr, 'utf8').digest().subarray(0, 8).toString('base64url');

describe(rksvFiscalBlock.name, () => {
  it('has no receipt URL without a base URL', () => {
    const block = rksvFiscalBlock({ fiscalUnitId: 'fu_1', certified: false, receipt });
    expect(block.verification).toEqual({ qr_data: receipt.qr, url: null });
    const explicit = rksvFiscalBlock({ fiscalUnitId: 'fu_1', certified: false, receipt, receiptBaseUrl: null });
    expect(explicit.verification.url).toBeNull();
    expect(block.url_hash).toBe(independentHash(receipt.qr));
  });

  it('gives the URL form under a base URL: the base, then the URL hash as the last path element', () => {
    const block = rksvFiscalBlock({
      fiscalUnitId: 'fu_1',
      certified: false,
      receipt,
      receiptBaseUrl: 'https://fiscal.example.com/v1/rksv-receipts',
    });
    expect(block.url_hash).toMatch(/^[A-Za-z0-9_-]{11}$/);
    expect(block.verification).toEqual({
      qr_data: receipt.qr,
      url: `https://fiscal.example.com/v1/rksv-receipts/${independentHash(receipt.qr)}`,
    });
  });
});
