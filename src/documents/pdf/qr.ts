/**
 * QR codes for the printed documents: encoded once, drawn as vector squares.
 * @module
 */
/// <reference types="pdfkit" />
import { create as createQrCode, type BitMatrix } from 'qrcode';

/**
 * The modules of a QR code of `data`, error correction M. One byte-mode segment: the data is mostly base64, and
 * qrcode's search for an optimal mix of modes costs more than all the rest of the encoding for, at most, a rarely
 * saved version step.
 */
export function qrModules(data: string): BitMatrix {
  return createQrCode([{ mode: 'byte', data: Buffer.from(data, 'utf8') }], { errorCorrectionLevel: 'M' }).modules;
}

/**
 * Draws the modules as a `size` × `size` square at (`left`, `top`), without the quiet zone. Vector squares rather
 * than an embedded bitmap: sharp at any printer resolution (viewers smooth upscaled bitmaps), no PNG to encode and
 * decode, and a few milliseconds faster. Runs of dark modules in a row become one rectangle, all filled as one path.
 */
export function drawQr(doc: PDFKit.PDFDocument, modules: BitMatrix, left: number, top: number, size: number): void {
  const count = modules.size;
  const module = size / count;
  for (let row = 0; row < count; row++) {
    let col = 0;
    while (col < count) {
      if (modules.get(row, col) === 0) {
        col++;
        continue;
      }
      const start = col;
      while (col < count && modules.get(row, col) !== 0) col++;
      doc.rect(left + start * module, top + row * module, (col - start) * module, module);
    }
  }
  doc.fill('black');
}
