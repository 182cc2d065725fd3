/**
 * What each jurisdiction's law makes of a closing, as data the closing service reads without knowing the country:
 * which exports a closing produces, and how a closing's fiscal block is printed on the Z-report.
 * @module
 */
import type { RksvFiscalBlock } from './at/fiscal-block.js';
import { rksvClosingPrintLines } from './at/print.js';
import { tseClosingPrintLines, type TseClosingFiscalBlock } from './de/tse-fiscal-block.js';
import type { Jurisdiction } from './jurisdictions.js';

export type ClosingKind = 'daily' | 'shift' | 'monthly' | 'annual';

/** DE: the daily closing is the DSFinV-K Kassenabschluss; its DSFinV-K export is created with it. */
const EXPORTS_ON_CLOSING: Readonly<Record<Jurisdiction, Partial<Record<ClosingKind, readonly string[]>>>> = {
  DE: { daily: ['dsfinvk'] },
  AT: {},
  IT: {},
  FR: {},
  NO: {},
  SE: {},
};

/** The export types a completed closing of `kind` creates for exactly its period. */
export function exportsOnClosing(jurisdiction: Jurisdiction, kind: ClosingKind): readonly string[] {
  return EXPORTS_ON_CLOSING[jurisdiction][kind] ?? [];
}

export interface PrintedFiscalBlock {
  readonly title: string;
  readonly lines: ReadonlyArray<{ label: string; value: string }>;
  readonly qrData: string | null;
}

/** The closing's fiscal block as the Z-report prints it, by regime; null when there is none. */
export function closingFiscalPrint(
  fiscal: { readonly regime: string } | null,
  language: string,
): PrintedFiscalBlock | null {
  if (fiscal === null) return null;
  switch (fiscal.regime) {
    case 'tse':
      return tseClosingPrintLines(fiscal as TseClosingFiscalBlock, language);
    case 'rksv':
      // AT: the monthly and annual closings are the signed Monats-/Jahresbeleg.
      return rksvClosingPrintLines(fiscal as RksvFiscalBlock, language);
    default:
      return null;
  }
}

const TAX_ID_LABELS: Readonly<Record<string, { de: string; en: string }>> = {
  tax_number: { de: 'StNr.', en: 'Tax number' },
  vat_id: { de: 'USt-IdNr.', en: 'VAT id' },
};

/** How a fiscal identity field is labelled on documents. */
export function taxIdLabel(key: string, language: 'de' | 'en'): string {
  return TAX_ID_LABELS[key]?.[language] ?? key;
}
