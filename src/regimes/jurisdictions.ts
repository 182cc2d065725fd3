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

/**
 * DE: the serial number is the TSE client id, an ASN.1 PrintableString of at most 30 characters (TR-03151), which
 * has no `_`. AT: it is the Kassen-ID, written between the `_` separators of the receipt code, so it has no `_`
 * either. There the default serial number is the register id with `-` for `_`. Returns null when `serial` is
 * acceptable for the jurisdiction, else why not.
 */
export function serialNumberProblem(jurisdiction: Jurisdiction, serial: string): string | null {
  switch (jurisdiction) {
    case 'DE':
      return /^[A-Za-z0-9 '()+,\-./:=?]{1,30}$/.test(serial)
        ? null
        : "must be at most 30 characters of A–Z, a–z, 0–9, space and ' ( ) + , - . / : = ? (it is the TSE client id)";
    case 'AT':
      return serial.includes('_') ? 'must not contain "_" (it is the Kassen-ID of the RKSV receipt code)' : null;
    case 'IT':
    case 'FR':
    case 'NO':
    case 'SE':
      return null;
  }
}

export function defaultSerialNumber(jurisdiction: Jurisdiction, registerId: string): string {
  return jurisdiction === 'DE' || jurisdiction === 'AT' ? registerId.replace('_', '-') : registerId;
}

/**
 * Norway (kassasystemforskriften § 2-2) and Sweden (SKVFS 2014:9) count every drawer opening on the Z-report; an
 * opening outside a sale must say why, so there an opening without an operation needs a reason.
 */
const DRAWER_OPENING_NEEDS_REASON: ReadonlySet<Jurisdiction> = new Set(['NO', 'SE']);

export function drawerOpeningNeedsReason(jurisdiction: Jurisdiction): boolean {
  return DRAWER_OPENING_NEEDS_REASON.has(jurisdiction);
}

/** The language fiscal documents (Z-reports) are printed in: German for DE and AT, else English. */
export function documentLanguage(jurisdiction: Jurisdiction): 'de' | 'en' {
  return jurisdiction === 'DE' || jurisdiction === 'AT' ? 'de' : 'en';
}
