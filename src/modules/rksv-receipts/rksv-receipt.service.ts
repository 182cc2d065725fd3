/**
 * The URL form of Austrian receipt codes (RKSV Detailspezifikation; BMF Mustercode "Link statt QR-Code/OCR-Kette"):
 * a receipt may carry, instead of its code, a URL whose last path element is the code's URL hash, and the server
 * behind that URL answers GET with the code's QR text. Anyone holding the receipt may open it; it discloses nothing
 * the receipt does not already show.
 * @module
 */
import { AppError } from '../../errors/app-error.js';
import { jwsToQr } from '../../regimes/at/receipt-code.js';
import type { RksvReceiptRepository } from './rksv-receipt.repository.js';

/** Where the receipts are published, below the server's public URL (OPENFISKAL_PUBLIC_URL). */
export const RKSV_RECEIPTS_PATH = '/v1/rksv-receipts';

/** The base of the receipt URLs for a public URL, or null without one. */
export function rksvReceiptBaseUrl(publicUrl: string | null): string | null {
  return publicUrl === null ? null : `${publicUrl}${RKSV_RECEIPTS_PATH}`;
}

export interface RksvReceiptServiceDeps {
  readonly repository: Pick<RksvReceiptRepository, 'findJwsByUrlHash'>;
}

export function createRksvReceiptService({ repository }: RksvReceiptServiceDeps) {
  return {
    /** The QR code text of the receipt with this URL hash; 404 `not_found` when there is none. */
    async qrCode(urlHash: string): Promise<string> {
      const jws = await repository.findJwsByUrlHash(urlHash);
      if (jws === undefined) throw new AppError('not_found', { message: `No receipt has the URL hash ${urlHash}.` });
      return jwsToQr(jws);
    },
  };
}

export type RksvReceiptService = ReturnType<typeof createRksvReceiptService>;
