import { describe, expect, it } from 'vitest';
import { checkFiscalIdentity, effectiveFiscalIdentity, luhnValid, type FiscalIdentity } from './fiscal-identity.js';

/** Every variant of `digits` with exactly one digit replaced by another one. */
function singleDigitChanges(digits: string): string[] {
  const variants: string[] = [];
  for (let i = 0; i < digits.length; i++) {
    for (let d = 0; d <= 9; d++) {
      if (String(d) !== digits[i]) variants.push(digits.slice(0, i) + String(d) + digits.slice(i + 1));
    }
  }
  return variants;
}

/**
 * A SIRET built for these tests: SIREN 732829320 + NIC 0001 + check digit 7. Luhn by hand, doubling every second
 * digit from the right: 7 +2 +0 +0 +0 +0 +2 +6 +9 +4 +8 +4 +3 +5 (7·2 = 14 → 5) = 50, divisible by 10.
 */
const SIRET = '73282932000017';

describe(luhnValid.name, () => {
  it('accepts the textbook Luhn number 79927398713', () => {
    expect(luhnValid('79927398713')).toBe(true);
  });

  it('refuses 79927398713 with its check digit changed', () => {
    expect(luhnValid('79927398710')).toBe(false);
  });

  it('accepts the hand-checked SIRET 73282932000017', () => {
    expect(luhnValid(SIRET)).toBe(true);
  });

  it('detects every single-digit change of a valid number', () => {
    const accepted = singleDigitChanges(SIRET).filter((variant) => luhnValid(variant));
    expect(accepted).toEqual([]);
  });

  it('accepts a string of zeros (digit sum 0)', () => {
    expect(luhnValid('0000000000')).toBe(true);
  });
});

describe(checkFiscalIdentity.name, () => {
  describe('real published identifiers', () => {
    it.each<[string, FiscalIdentity]>([
      ['DE', { vat_id: 'DE143454214' }], // SAP SE
      ['DE', { vat_id: 'DE811128135' }],
      ['AT', { vat_id: 'ATU13585627' }],
      ['NO', { organization_number: '923609016' }], // Equinor ASA
      ['NO', { organization_number: '974760673' }],
      ['SE', { organization_number: '556012-5790' }], // AB Volvo
      ['IT', { vat_number: '00743110157' }],
      ['IT', { vat_number: '00159560366' }],
      ['FR', { vat_id: 'FR40303265045' }], // key 40 = (12 + 3 · (303265045 mod 97)) mod 97
    ])('accepts %s %o', (country, identity) => {
      expect(checkFiscalIdentity(country, identity, false)).toEqual([]);
    });
  });

  describe('one digit changed', () => {
    it.each<[string, FiscalIdentity]>([
      ['DE', { vat_id: 'DE143454215' }],
      ['DE', { vat_id: 'DE811128136' }],
      ['AT', { vat_id: 'ATU13585628' }],
      ['NO', { organization_number: '923609017' }],
      ['NO', { organization_number: '974760674' }],
      ['SE', { organization_number: '556012-5791' }],
      ['IT', { vat_number: '00743110158' }],
      ['IT', { vat_number: '00159560367' }],
      ['FR', { siret: '73282932000018' }],
    ])('refuses %s %o with "has a wrong check digit"', (country, identity) => {
      const [field] = Object.keys(identity);
      expect(checkFiscalIdentity(country, identity, false)).toEqual([{ field, message: 'has a wrong check digit' }]);
    });

    it('refuses every single-digit change of the German VAT id DE143454214', () => {
      const accepted = singleDigitChanges('143454214').filter(
        (digits) => checkFiscalIdentity('DE', { vat_id: `DE${digits}` }, false).length === 0,
      );
      expect(accepted).toEqual([]);
    });

    it('refuses every single-digit change of the Norwegian organisasjonsnummer 923609016', () => {
      const accepted = singleDigitChanges('923609016').filter(
        (digits) => checkFiscalIdentity('NO', { organization_number: digits }, false).length === 0,
      );
      expect(accepted).toEqual([]);
    });
  });

  describe('wrong shape', () => {
    it.each<[string, FiscalIdentity, string]>([
      ['DE', { vat_id: 'DE12345678' }, 'must be DE followed by 9 digits'],
      ['DE', { vat_id: '143454214' }, 'must be DE followed by 9 digits'],
      ['DE', { tax_number: '12345' }, 'must have 10 to 13 digits'],
      ['DE', { tax_number: '21-815-08150' }, 'must have 10 to 13 digits'],
      ['AT', { vat_id: 'AT13585627' }, 'must be ATU followed by 8 digits'],
      ['AT', { tax_number: '1234567' }, 'must have 9 digits'],
      ['IT', { vat_number: '0074311015' }, 'must be 11 digits'],
      ['IT', { tax_code: 'RSSMRA85T10A562' }, 'must be a 16-character codice fiscale or 11 digits'],
      ['FR', { siret: '7328293200001' }, 'must be 14 digits'],
      ['FR', { vat_id: 'FR 40 303265045' }, 'must be FR, a 2-character key and the 9-digit SIREN'],
      ['NO', { organization_number: '92360901' }, 'must be 9 digits'],
      ['SE', { organization_number: '556012-579' }, 'must be 10 digits (NNNNNN-NNNN)'],
    ])('refuses %s %o: %s', (country, identity, message) => {
      const [field] = Object.keys(identity);
      expect(checkFiscalIdentity(country, identity, false)).toEqual([{ field, message }]);
    });
  });

  describe('accepted notations', () => {
    it('accepts a German Steuernummer with slashes and spaces', () => {
      expect(checkFiscalIdentity('DE', { tax_number: '21/815/08150' }, false)).toEqual([]);
    });

    it('accepts an Austrian Steuernummer with separators', () => {
      expect(checkFiscalIdentity('AT', { tax_number: '12-345/6789' }, false)).toEqual([]);
    });

    it('accepts an Italian partita IVA with the IT prefix', () => {
      expect(checkFiscalIdentity('IT', { vat_number: 'IT00743110157' }, false)).toEqual([]);
    });

    it('accepts an Italian codice fiscale of a person and of an entity', () => {
      expect(checkFiscalIdentity('IT', { tax_code: 'RSSMRA85T10A562S' }, false)).toEqual([]);
      expect(checkFiscalIdentity('IT', { tax_code: '00743110157' }, false)).toEqual([]);
    });

    it('accepts a Norwegian number with spaces, NO prefix and MVA suffix', () => {
      expect(checkFiscalIdentity('NO', { organization_number: '923 609 016' }, false)).toEqual([]);
      expect(checkFiscalIdentity('NO', { organization_number: 'NO923609016MVA' }, false)).toEqual([]);
    });

    it('accepts a Swedish organisationsnummer without the hyphen', () => {
      expect(checkFiscalIdentity('SE', { organization_number: '5560125790' }, false)).toEqual([]);
    });

    it('accepts a SIRET written with spaces', () => {
      expect(checkFiscalIdentity('FR', { siret: '732 829 320 00017' }, false)).toEqual([]);
    });
  });

  describe('Norwegian MOD 11 edge cases', () => {
    it('accepts check digit 0 when the remainder is 0 (weighted sum 11)', () => {
      expect(checkFiscalIdentity('NO', { organization_number: '100000040' }, false)).toEqual([]);
    });

    it('refuses every number whose MOD 11 check would be 10 (weighted sum 12)', () => {
      const problems = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'].map((last) =>
        checkFiscalIdentity('NO', { organization_number: `10000030${last}` }, false),
      );
      expect(problems.every((p) => p.length === 1 && p[0]?.message === 'has a wrong check digit')).toBe(true);
    });
  });

  describe('French SIRET and VAT key', () => {
    it('accepts the hand-checked SIRET', () => {
      expect(checkFiscalIdentity('FR', { siret: SIRET }, false)).toEqual([]);
    });

    it('accepts a La Poste SIRET (356000000…) whose digit sum is divisible by 5 though not Luhn-valid', () => {
      expect(luhnValid('35600000000010')).toBe(false);
      expect(checkFiscalIdentity('FR', { siret: '35600000000010' }, false)).toEqual([]);
    });

    it('refuses a La Poste SIRET whose digit sum is not divisible by 5', () => {
      expect(checkFiscalIdentity('FR', { siret: '35600000000020' }, false)).toEqual([
        { field: 'siret', message: 'has a wrong check digit' },
      ]);
    });

    it('does not apply the La Poste exception to other SIRENs', () => {
      // Digit sum 15, not Luhn-valid, but the SIREN is not 356000000.
      expect(checkFiscalIdentity('FR', { siret: '35500000000020' }, false)).toEqual([
        { field: 'siret', message: 'has a wrong check digit' },
      ]);
    });

    it('refuses a numeric VAT key that does not match the SIREN', () => {
      expect(checkFiscalIdentity('FR', { vat_id: 'FR41303265045' }, false)).toEqual([
        { field: 'vat_id', message: 'has a wrong key' },
      ]);
    });

    it('accepts the VAT key 44 for SIREN 732829320', () => {
      // (12 + 3 · (732829320 mod 97)) mod 97 = 44
      expect(checkFiscalIdentity('FR', { vat_id: 'FR44732829320' }, false)).toEqual([]);
    });

    it('accepts an alphanumeric VAT key without checking it', () => {
      expect(checkFiscalIdentity('FR', { vat_id: 'FRAB303265045' }, false)).toEqual([]);
    });
  });

  describe('fields a country does not use', () => {
    it('refuses organization_number in DE', () => {
      expect(checkFiscalIdentity('DE', { organization_number: '923609016' }, false)).toEqual([
        { field: 'organization_number', message: 'is not used in DE' },
      ]);
    });

    it('refuses siret in IT and vat_id in NO', () => {
      expect(checkFiscalIdentity('IT', { siret: SIRET }, false)).toEqual([
        { field: 'siret', message: 'is not used in IT' },
      ]);
      expect(checkFiscalIdentity('NO', { vat_id: 'NO923609016MVA' }, false)).toEqual([
        { field: 'vat_id', message: 'is not used in NO' },
      ]);
    });
  });

  describe('required fields', () => {
    it('does not report missing required fields without requireComplete', () => {
      expect(checkFiscalIdentity('IT', {}, false)).toEqual([]);
    });

    it('reports every missing required field with requireComplete', () => {
      expect(checkFiscalIdentity('IT', {}, true)).toEqual([
        { field: 'vat_number', message: 'is required in IT' },
        { field: 'tax_code', message: 'is required in IT' },
      ]);
    });

    it('does not require optional fields (DE vat_id, AT tax_number)', () => {
      expect(checkFiscalIdentity('DE', { tax_number: '2181508150' }, true)).toEqual([]);
      expect(checkFiscalIdentity('AT', { vat_id: 'ATU13585627' }, true)).toEqual([]);
    });

    it('reports the required German tax_number when only the vat_id is given', () => {
      expect(checkFiscalIdentity('DE', { vat_id: 'DE143454214' }, true)).toEqual([
        { field: 'tax_number', message: 'is required in DE' },
      ]);
    });

    it('accepts a complete French identity', () => {
      expect(checkFiscalIdentity('FR', { siret: SIRET, vat_id: 'FR44732829320' }, true)).toEqual([]);
    });
  });

  it('reports several problems at once, in field order', () => {
    expect(checkFiscalIdentity('DE', { vat_id: 'DE143454215', siret: SIRET, tax_number: '1' }, true)).toEqual([
      { field: 'tax_number', message: 'must have 10 to 13 digits' },
      { field: 'vat_id', message: 'has a wrong check digit' },
      { field: 'siret', message: 'is not used in DE' },
    ]);
  });

  it('accepts anything for a country without rules', () => {
    expect(checkFiscalIdentity('US', { siret: 'garbage', vat_id: '', tax_code: '?' }, true)).toEqual([]);
  });
});

describe(effectiveFiscalIdentity.name, () => {
  const organization: FiscalIdentity = { vat_id: 'ATU13585627' };
  const establishment: FiscalIdentity = { tax_number: '21/815/08150' };

  it("uses the location's identity (the Betriebsstätte's) when it has one", () => {
    expect(effectiveFiscalIdentity(organization, establishment)).toBe(establishment);
  });

  it("replaces the organization's identity as a whole, never merging fields", () => {
    expect(effectiveFiscalIdentity(organization, establishment)).toEqual({ tax_number: '21/815/08150' });
  });

  it.each([
    ['null', null],
    ['undefined', undefined],
    ['empty', {}],
    ['without any value', { vat_id: undefined }],
    ['with only empty strings', { tax_number: '' }],
  ])("falls back to the organization's identity when the location's is %s", (_, location) => {
    expect(effectiveFiscalIdentity(organization, location)).toBe(organization);
  });

  it('is null when neither has one', () => {
    expect(effectiveFiscalIdentity(null, null)).toBeNull();
    expect(effectiveFiscalIdentity(undefined, {})).toBeNull();
  });

  it("uses the location's identity when the organization has none", () => {
    expect(effectiveFiscalIdentity(null, establishment)).toBe(establishment);
  });
});
