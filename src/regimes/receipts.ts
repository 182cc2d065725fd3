/**
 * What each regime's law makes of a receipt, as data the receipts service reads without knowing the country: the
 * fiscal fields a receipt must print, the language it is printed in, the heading of its fiscal section and the
 * notice an uncertified signing device adds. Dispatches on the fiscal block's `regime` (api.md §3). Pure.
 * @module
 */
import type { RksvFiscalBlock } from './at/fiscal-block.js';
import { rksvReceiptFields } from './at/print.js';
import { tseReceiptFields, type TseReceiptFieldsView } from './de/print.js';
import { documentLanguage, type Jurisdiction } from './jurisdictions.js';

/** A fiscal block as a receipt holds it: regime-specific beyond these. */
export interface ReceiptFiscalView {
  readonly regime: string;
  readonly certified: boolean;
}

/** The jurisdiction of each regime (api.md §3). */
const REGIME_JURISDICTIONS: ReadonlyMap<string, Jurisdiction> = new Map([
  ['tse', 'DE'],
  ['rksv', 'AT'],
  ['rt', 'IT'],
  ['nf525', 'FR'],
  ['saft_no', 'NO'],
  ['se_cu', 'SE'],
]);

/** The heading of the printed fiscal section; other regimes print their regime name. */
const TITLES: ReadonlyMap<string, string> = new Map([
  ['tse', 'TSE'],
  ['rksv', 'RKSV'],
]);

type Language = 'de' | 'en';

/** What a receipt of an uncertified (simulated) signing device says about it. */
const UNCERTIFIED_NOTICES: ReadonlyMap<string, Readonly<Record<Language, string>>> = new Map([
  [
    'tse',
    { de: 'Nicht zertifizierte Software-TSE (Simulation)', en: 'Uncertified software signing device (simulation)' },
  ],
  [
    'rksv',
    {
      de: 'Nicht zertifizierte Software-Signaturerstellungseinheit (Simulation)',
      en: 'Uncertified software signature creation device (simulation)',
    },
  ],
]);
const UNCERTIFIED_NOTICE_DEFAULT: Readonly<Record<Language, string>> = {
  de: 'Nicht zertifizierte Sicherheitseinrichtung (Simulation)',
  en: 'Uncertified software signing device (simulation)',
};

/**
 * The jurisdiction whose law the receipt follows, from its fiscal block; `other` without one or for a regime this
 * server does not know. The receipt PDF leaves out the country of addresses in this jurisdiction.
 */
export function receiptJurisdiction(fiscal: Pick<ReceiptFiscalView, 'regime'> | null): Jurisdiction | 'other' {
  return (fiscal === null ? undefined : REGIME_JURISDICTIONS.get(fiscal.regime)) ?? 'other';
}

/** German for DE (`tse`) and AT (`rksv`) receipts, English otherwise. */
export function receiptLanguage(fiscal: Pick<ReceiptFiscalView, 'regime'> | null): Language {
  const jurisdiction = receiptJurisdiction(fiscal);
  return jurisdiction === 'other' ? 'en' : documentLanguage(jurisdiction);
}

/** The fields the regime requires printed on a receipt, in print order; none for a regime without such a list. */
export function receiptFiscalFields(
  fiscal: Pick<ReceiptFiscalView, 'regime'> | null,
): Array<{ label: string; value: string }> {
  if (fiscal === null) return [];
  switch (fiscal.regime) {
    case 'tse':
      return tseReceiptFields(fiscal as TseReceiptFieldsView);
    case 'rksv':
      return rksvReceiptFields(fiscal as RksvFiscalBlock);
    default:
      return [];
  }
}

/** The heading of the receipt's fiscal section: `TSE`, `RKSV`, else the regime's name. */
export function receiptFiscalTitle(fiscal: Pick<ReceiptFiscalView, 'regime'>): string {
  return TITLES.get(fiscal.regime) ?? fiscal.regime;
}

/** The notice an uncertified (simulated) signing device puts on the receipt; null for a certified one. */
export function receiptFiscalNotice(fiscal: ReceiptFiscalView, language: Language): string | null {
  if (fiscal.certified) return null;
  return (UNCERTIFIED_NOTICES.get(fiscal.regime) ?? UNCERTIFIED_NOTICE_DEFAULT)[language];
}
