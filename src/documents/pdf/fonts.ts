/**
 * The fonts embedded in every PDF. The standard 14 PDF fonts know only WinAnsi, so € would be a gamble and Polish,
 * Czech or Greek names would be lost; DejaVu covers Latin, Greek and Cyrillic. The files come from the
 * `dejavu-fonts-ttf` package and are resolved through Node's module resolution, which finds them from `src/` under
 * tsx and from the compiled `dist/` alike.
 * @module
 */
/// <reference types="pdfkit" />
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

const FONT_FILES = {
  regular: 'dejavu-fonts-ttf/ttf/DejaVuSans.ttf',
  bold: 'dejavu-fonts-ttf/ttf/DejaVuSans-Bold.ttf',
  /** For signatures, keys and serials: fixed width keeps long base64 and hex values readable when wrapped. */
  mono: 'dejavu-fonts-ttf/ttf/DejaVuSansMono.ttf',
} as const;

/** A registered face; pass it to `doc.font()` after {@link registerFonts}. */
export type FontFace = keyof typeof FONT_FILES;

const FACES = Object.keys(FONT_FILES) as FontFace[];

/** The absolute path of a face's TTF file. */
export function fontPath(face: FontFace): string {
  return require.resolve(FONT_FILES[face]);
}

/** The one fontkit call used; fontkit is pdfkit's font engine, and pdfkit takes its parsed fonts as font sources. */
interface Fontkit {
  create(data: Uint8Array): object;
}

let parsed: Record<FontFace, PDFKit.Mixins.PDFFontSource> | undefined;

/**
 * Parses each file once per process. Given the bytes, pdfkit would parse the font again for every document, and
 * parsing DejaVu's layout tables is most of the time a receipt takes (about 25 ms against 4 ms with the fonts
 * kept). fontkit is loaded from pdfkit's own location, so it is the copy pdfkit was built against; fontkit fonts
 * hold no per-document state (pdfkit keeps the subset per document), so sharing them is safe.
 */
function parsedFonts(): Record<FontFace, PDFKit.Mixins.PDFFontSource> {
  if (parsed === undefined) {
    const fontkit = createRequire(require.resolve('pdfkit'))('fontkit') as Fontkit;
    const load = (face: FontFace) =>
      // pdfkit accepts a fontkit font (it checks for `layout`), which its type definitions do not list.
      fontkit.create(readFileSync(fontPath(face))) as unknown as PDFKit.Mixins.PDFFontSource;
    parsed = { regular: load('regular'), bold: load('bold'), mono: load('mono') };
  }
  return parsed;
}

/** Registers every face on a document under its {@link FontFace} name and selects the regular one. */
export function registerFonts(doc: PDFKit.PDFDocument): void {
  const fonts = parsedFonts();
  for (const face of FACES) doc.registerFont(face, fonts[face]);
  doc.font('regular');
}
