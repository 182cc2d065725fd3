/**
 * The fiscal jurisdictions a register can belong to, and what follows from each for the register itself: the
 * currency its books are kept in. Country law beyond that lives in `regimes/<cc>/`.
 * @module
 */

export const JURISDICTIONS = ['DE', 'AT', 'IT', 'FR', 'NO', 'SE'] as const;
export type Jurisdiction = (typeof JURISDICTIONS)[number];

const CURRENCIES: Readonly<Record<Jurisdiction, string>> = {
  DE: 'EUR',
  AT: 'EUR',
  IT: 'EUR',
  FR: 'EUR',
  NO: 'NOK',
  SE: 'SEK',
};

/** The national currency a register's books are kept in: `jurisdictionCurrency('NO')` → `'NOK'`. */
export function jurisdictionCurrency(jurisdiction: Jurisdiction): string {
  return CURRENCIES[jurisdiction];
}
