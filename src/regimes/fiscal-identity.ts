/**
 * A seller's fiscal identity per country (api.md §2): which identifiers a jurisdiction needs, and their format and
 * check digits, so that a mistyped VAT id is refused when it is entered rather than printed on every receipt.
 * @module
 */

export const FISCAL_IDENTITY_FIELDS = [
  'tax_number',
  'vat_id',
  'vat_number',
  'tax_code',
  'siret',
  'organization_number',
] as const;
export type FiscalIdentityField = (typeof FISCAL_IDENTITY_FIELDS)[number];
export type FiscalIdentity = Partial<Record<FiscalIdentityField, string>>;

export interface FiscalIdentityProblem {
  readonly field: FiscalIdentityField;
  readonly message: string;
}

interface FieldRule {
  readonly required: boolean;
  readonly check: (value: string) => string | null;
}

const digitsOnly = (value: string) => value.replace(/[\s./-]/g, '');

/** Luhn check over a digit string (SE organisationsnummer, FR SIRET/SIREN, IT partita IVA). */
export function luhnValid(digits: string): boolean {
  if (!/^\d+$/.test(digits)) return false;
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

/** DE USt-IdNr: `DE` + 9 digits, check digit per ISO 7064 MOD 11,10. */
function checkGermanVatId(value: string): string | null {
  if (!/^DE\d{9}$/.test(value)) return 'must be DE followed by 9 digits';
  let product = 10;
  for (const char of value.slice(2, 10)) {
    let sum = (Number(char) + product) % 10;
    if (sum === 0) sum = 10;
    product = (2 * sum) % 11;
  }
  const check = (11 - product) % 10;
  return check === Number(value[10]) ? null : 'has a wrong check digit';
}

/** DE Steuernummer: 10 to 13 digits, separators allowed (formats differ per federal state). */
function checkGermanTaxNumber(value: string): string | null {
  return /^[\d\s/]+$/.test(value) && /^\d{10,13}$/.test(digitsOnly(value)) ? null : 'must have 10 to 13 digits';
}

/** AT UID: `ATU` + 8 digits, the last a check digit (BMF algorithm). */
function checkAustrianVatId(value: string): string | null {
  if (!/^ATU\d{8}$/.test(value)) return 'must be ATU followed by 8 digits';
  const d = value.slice(3).split('').map(Number) as [number, number, number, number, number, number, number, number];
  const crossSum = (x: number) => Math.floor((2 * x) / 10) + ((2 * x) % 10);
  const s = d[0] + crossSum(d[1]) + d[2] + crossSum(d[3]) + d[4] + crossSum(d[5]) + d[6];
  return (10 - ((s + 4) % 10)) % 10 === d[7] ? null : 'has a wrong check digit';
}

function checkAustrianTaxNumber(value: string): string | null {
  return /^\d{9}$/.test(digitsOnly(value)) ? null : 'must have 9 digits';
}

/** IT partita IVA: 11 digits, Luhn. */
function checkItalianVatNumber(value: string): string | null {
  const v = value.replace(/^IT/, '');
  if (!/^\d{11}$/.test(v)) return 'must be 11 digits';
  return luhnValid(v) ? null : 'has a wrong check digit';
}

/** IT codice fiscale: 16 characters (persons) or 11 digits (entities). */
function checkItalianTaxCode(value: string): string | null {
  return /^[A-Z]{6}[0-9LMNPQRSTUV]{2}[A-Z][0-9LMNPQRSTUV]{2}[A-Z][0-9LMNPQRSTUV]{3}[A-Z]$/.test(value) ||
    /^\d{11}$/.test(value)
    ? null
    : 'must be a 16-character codice fiscale or 11 digits';
}

/** FR SIRET: 14 digits, Luhn (La Poste establishments use a digit sum divisible by 5 instead). */
function checkFrenchSiret(value: string): string | null {
  const v = digitsOnly(value);
  if (!/^\d{14}$/.test(v)) return 'must be 14 digits';
  const laPoste = v.startsWith('356000000') && v.split('').reduce((s, c) => s + Number(c), 0) % 5 === 0;
  return luhnValid(v) || laPoste ? null : 'has a wrong check digit';
}

/** FR numéro de TVA: `FR` + 2-character key + 9-digit SIREN; numeric keys are checked against the SIREN. */
function checkFrenchVatId(value: string): string | null {
  const match = /^FR([0-9A-HJ-NP-Z]{2})(\d{9})$/.exec(value);
  if (match === null) return 'must be FR, a 2-character key and the 9-digit SIREN';
  const [, key = '', siren = ''] = match;
  if (/^\d{2}$/.test(key) && Number(key) !== (12 + 3 * (Number(siren) % 97)) % 97) return 'has a wrong key';
  return null;
}

/** NO organisasjonsnummer: 9 digits, MOD 11 with weights 3 2 7 6 5 4 3 2. */
function checkNorwegianOrganizationNumber(value: string): string | null {
  const v = digitsOnly(value).replace(/^NO/, '').replace(/MVA$/, '');
  if (!/^\d{9}$/.test(v)) return 'must be 9 digits';
  const weights = [3, 2, 7, 6, 5, 4, 3, 2];
  const sum = weights.reduce((s, w, i) => s + w * Number(v[i]), 0);
  const check = 11 - (sum % 11);
  if (check === 10) return 'has a wrong check digit';
  return (check === 11 ? 0 : check) === Number(v[8]) ? null : 'has a wrong check digit';
}

/** SE organisationsnummer: 10 digits (`NNNNNN-NNNN`), Luhn. */
function checkSwedishOrganizationNumber(value: string): string | null {
  const v = digitsOnly(value);
  if (!/^\d{10}$/.test(v)) return 'must be 10 digits (NNNNNN-NNNN)';
  return luhnValid(v) ? null : 'has a wrong check digit';
}

const RULES: Readonly<Record<string, Partial<Record<FiscalIdentityField, FieldRule>>>> = {
  DE: {
    tax_number: { required: true, check: checkGermanTaxNumber },
    vat_id: { required: false, check: checkGermanVatId },
  },
  AT: {
    vat_id: { required: true, check: checkAustrianVatId },
    tax_number: { required: false, check: checkAustrianTaxNumber },
  },
  IT: {
    vat_number: { required: true, check: checkItalianVatNumber },
    tax_code: { required: true, check: checkItalianTaxCode },
  },
  FR: {
    siret: { required: true, check: checkFrenchSiret },
    vat_id: { required: true, check: checkFrenchVatId },
  },
  NO: { organization_number: { required: true, check: checkNorwegianOrganizationNumber } },
  SE: { organization_number: { required: true, check: checkSwedishOrganizationNumber } },
};

/**
 * Checks the identifiers given for a country. Fields the country does not use are refused; missing required
 * fields are reported only when `requireComplete` (they are needed before a fiscal unit is provisioned, not at
 * sign-up). Countries without rules accept any of the known fields unchecked.
 *
 * `checkFiscalIdentity('NO', { organization_number: '923609016' }, true)` → `[]`
 */
export function checkFiscalIdentity(
  country: string,
  identity: FiscalIdentity,
  requireComplete: boolean,
): FiscalIdentityProblem[] {
  const rules = RULES[country];
  if (rules === undefined) return [];
  const problems: FiscalIdentityProblem[] = [];
  for (const field of FISCAL_IDENTITY_FIELDS) {
    const rule = rules[field];
    const value = identity[field];
    if (rule === undefined) {
      if (value !== undefined) problems.push({ field, message: `is not used in ${country}` });
    } else if (value === undefined) {
      if (requireComplete && rule.required) problems.push({ field, message: `is required in ${country}` });
    } else {
      const problem = rule.check(value);
      if (problem !== null) problems.push({ field, message: problem });
    }
  }
  return problems;
}

/** True when the identity carries at least one identifier (`{}` and all-empty objects carry none). */
function hasIdentifier(identity: Readonly<Record<string, unknown>> | null | undefined): boolean {
  return identity != null && Object.values(identity).some((value) => typeof value === 'string' && value !== '');
}

/**
 * The fiscal identity that applies to a register: its location's, when the location has one, else its
 * organization's.
 *
 * A company registered in one country that runs a shop in another has a permanent establishment (Betriebsstätte)
 * there, with identifiers of that country's tax office: an Austrian GmbH (UID `ATU13585627`) with a branch in
 * Munich has a German Steuernummer for it. The location's identity replaces the organization's as a whole — it is
 * never merged field by field, since identifiers of two countries do not mix (both use `vat_id`).
 *
 * `effectiveFiscalIdentity({ vat_id: 'ATU13585627' }, { tax_number: '21/815/08150' })` → `{ tax_number: '21/815/08150' }`
 */
export function effectiveFiscalIdentity<
  O extends Readonly<Record<string, unknown>>,
  L extends Readonly<Record<string, unknown>>,
>(organizationIdentity: O | null | undefined, locationIdentity: L | null | undefined): O | L | null {
  if (locationIdentity != null && hasIdentifier(locationIdentity)) return locationIdentity;
  return organizationIdentity ?? null;
}
