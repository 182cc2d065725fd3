/**
 * The 20 tables of the DSFinV-K export (BMF "Digitale Schnittstelle der Finanzverwaltung für Kassensysteme",
 * DFKA taxonomy), as data: file, table name, and the columns in file order with their GDPdU types.
 *
 * Version followed: DSFinV-K 2.4. Table order, column order, `MaxLength` and `Accuracy` are those of the reference
 * `index.xml` BZSt ships with the 2.4 package. That file was not at hand here; they were taken from two independent
 * open-source readings of it (TWEECORE/dsfinvk `schema/tables_gen.go`, generated from it, and a TypeScript export
 * whose column catalogue says it was grepped from it; both agree) and cross-checked against pretix/python-dsfinvk
 * `dsfinvk/models.py` (taxonomy 2.1, same columns). Where 2.1 and 2.4 differ, 2.4 wins: `Z_ERSTELLUNG`, `BON_START`,
 * `BON_ENDE`, `REF_DATUM` and the TSE log times are AlphaNumeric(30), `Z_BUCHUNGSTAG` (25), `TSE_SIG_ALGO` (21),
 * `TSE_ZEITFORMAT` (31), `TSE_VORGANGSDATEN` (1000), `ZI_NAME` (60). The reference declares `TSE_ZERTIFIKAT_I` and
 * `_II` and lets an export add further parts; like pretix we always declare I–VII, which holds a certificate of
 * 7000 base64 characters.
 *
 * Every table starts with the closing's key Z_KASSE_ID, Z_ERSTELLUNG, Z_NR.
 * @module
 */

/** What to do with a value longer than `MaxLength`: free text may be cut, anything that identifies must not. */
export type Overflow = 'truncate' | 'refuse';

export interface AlphaNumericColumn {
  readonly name: string;
  readonly description: string;
  readonly type: 'AlphaNumeric';
  /** In characters (Unicode code points). */
  readonly maxLength: number;
  readonly overflow: Overflow;
}

export interface NumericColumn {
  readonly name: string;
  readonly description: string;
  readonly type: 'Numeric';
  /** Decimals written, always exactly this many (GDPdU `Accuracy`; 0 = integer). */
  readonly accuracy: number;
  /** Our values are integers in units of 10^-scale: 0 for counters, 2 for money (minor units), 3 for quantities. */
  readonly scale: number;
}

/** Not used by DSFinV-K (its timestamps are AlphaNumeric), but the GDPdU standard has it and index.xml can say it. */
export interface DateColumn {
  readonly name: string;
  readonly description: string;
  readonly type: 'Date';
  readonly format: string;
}

export type DsfinvkColumn = AlphaNumericColumn | NumericColumn | DateColumn;

export const DSFINVK_FILES = [
  'cashpointclosing.csv',
  'location.csv',
  'cashregister.csv',
  'slaves.csv',
  'pa.csv',
  'tse.csv',
  'vat.csv',
  'businesscases.csv',
  'payment.csv',
  'cash_per_currency.csv',
  'transactions.csv',
  'datapayment.csv',
  'lines.csv',
  'itemamounts.csv',
  'subitems.csv',
  'transactions_tse.csv',
  'transactions_vat.csv',
  'lines_vat.csv',
  'allocation_groups.csv',
  'references.csv',
] as const;
export type DsfinvkFile = (typeof DSFINVK_FILES)[number];

export interface DsfinvkTable {
  readonly file: DsfinvkFile;
  /** The DSFinV-K table name, e.g. `Bonpos`. */
  readonly name: string;
  readonly description: string;
  readonly columns: readonly DsfinvkColumn[];
}

/** The DFKA taxonomy version these tables are (cashpointclosing.TAXONOMIE_VERSION). */
export const TAXONOMY_VERSION = '2.4';

/** The number of key columns every table starts with. */
export const KEY_COLUMN_COUNT = 3;

const alpha = (name: string, description: string, maxLength: number): AlphaNumericColumn => ({
  name,
  description,
  type: 'AlphaNumeric',
  maxLength,
  overflow: 'refuse',
});
const text = (name: string, description: string, maxLength: number): AlphaNumericColumn => ({
  ...alpha(name, description, maxLength),
  overflow: 'truncate',
});
const integer = (name: string, description: string): NumericColumn => ({
  name,
  description,
  type: 'Numeric',
  accuracy: 0,
  scale: 0,
});
const money = (name: string, description: string, accuracy: 2 | 5): NumericColumn => ({
  name,
  description,
  type: 'Numeric',
  accuracy,
  scale: 2,
});
const quantity = (name: string, description: string): NumericColumn => ({
  name,
  description,
  type: 'Numeric',
  accuracy: 3,
  scale: 3,
});

const KEY: readonly DsfinvkColumn[] = [
  alpha('Z_KASSE_ID', 'ID der (Abschluss-) Kasse', 50),
  alpha('Z_ERSTELLUNG', 'Zeitpunkt des Kassenabschlusses', 30),
  integer('Z_NR', 'Nr. des Kassenabschlusses'),
];
const BON_ID = alpha('BON_ID', 'Vorgangs-ID', 40);
const POS_ZEILE = alpha('POS_ZEILE', 'Zeilennummer', 50);
const UST_SCHLUESSEL = integer('UST_SCHLUESSEL', 'ID des USt-Satzes');

const CERTIFICATE_PARTS = ['I', 'II', 'III', 'IV', 'V', 'VI', 'VII'] as const;
/** Characters per TSE_ZERTIFIKAT_* column. */
export const CERTIFICATE_PART_LENGTH = 1000;
export const CERTIFICATE_PART_COUNT = CERTIFICATE_PARTS.length;

const table = (file: DsfinvkFile, name: string, description: string, columns: DsfinvkColumn[]): DsfinvkTable => ({
  file,
  name,
  description,
  columns: [...KEY, ...columns],
});

export const DSFINVK_TABLES: readonly DsfinvkTable[] = [
  // Stammdatenmodul
  table('cashpointclosing.csv', 'Stamm_Abschluss', 'Stammdaten des Kassenabschlusses', [
    alpha('Z_BUCHUNGSTAG', 'Vom Erstellungsdatum abweichender Verbuchungstag', 25),
    alpha('TAXONOMIE_VERSION', 'Version der DFKA-Taxonomie-Kasse', 10),
    alpha('Z_START_ID', 'Erste BON_ID im Abschluss', 40),
    alpha('Z_ENDE_ID', 'Letzte BON_ID im Abschluss', 40),
    text('NAME', 'Name des Unternehmens', 60),
    text('STRASSE', 'Straße', 60),
    text('PLZ', 'Postleitzahl', 10),
    text('ORT', 'Ort', 62),
    alpha('LAND', 'Land', 3),
    alpha('STNR', 'Steuernummer des Unternehmens', 20),
    alpha('USTID', 'USTID', 15),
    money('Z_SE_ZAHLUNGEN', 'Summe aller Zahlungen', 2),
    money('Z_SE_BARZAHLUNGEN', 'Summe aller Barzahlungen', 2),
  ]),
  table('location.csv', 'Stamm_Orte', 'Stammdaten der Betriebsstätte', [
    text('LOC_NAME', 'Name des Standortes', 60),
    text('LOC_STRASSE', 'Straße', 60),
    text('LOC_PLZ', 'Postleitzahl', 10),
    text('LOC_ORT', 'Ort', 62),
    alpha('LOC_LAND', 'Land', 3),
    alpha('LOC_USTID', 'USTID', 15),
  ]),
  table('cashregister.csv', 'Stamm_Kassen', 'Stammdaten der Kasse', [
    text('KASSE_BRAND', 'Marke der Kasse', 50),
    text('KASSE_MODELL', 'Modellbezeichnung', 50),
    alpha('KASSE_SERIENNR', 'Seriennummer der Kasse', 70),
    text('KASSE_SW_BRAND', 'Markenbezeichnung der Software', 50),
    text('KASSE_SW_VERSION', 'Version der Software', 50),
    alpha('KASSE_BASISWAEH_CODE', 'Basiswährung der Kasse', 3),
    alpha('KEINE_UST_ZUORDNUNG', 'UmsatzsteuerNichtErmittelbar (bei späterem Zahlungseingang)', 1),
  ]),
  table('slaves.csv', 'Stamm_Terminals', 'Stammdaten der Erfassungsterminals', [
    alpha('TERMINAL_ID', 'ID des Terminals', 50),
    text('TERMINAL_BRAND', 'Marke der Terminals', 50),
    text('TERMINAL_MODELL', 'Modellbezeichnung des Terminals', 50),
    alpha('TERMINAL_SERIENNR', 'Seriennummer des Terminals', 70),
    text('TERMINAL_SW_BRAND', 'Markenbezeichnung der Software', 50),
    text('TERMINAL_SW_VERSION', 'Version der Software', 50),
  ]),
  table('pa.csv', 'Stamm_Agenturen', 'Stammdaten der Agenturen', [
    integer('AGENTUR_ID', 'ID der Agentur'),
    text('AGENTUR_NAME', 'Name des Auftraggebers', 60),
    text('AGENTUR_STRASSE', 'Straße', 60),
    text('AGENTUR_PLZ', 'Postleitzahl', 10),
    text('AGENTUR_ORT', 'Ort', 62),
    alpha('AGENTUR_LAND', 'Land', 3),
    alpha('AGENTUR_STNR', 'Steuernummer des Auftraggebers', 20),
    alpha('AGENTUR_USTID', 'USTID des Auftraggebers', 15),
  ]),
  table('tse.csv', 'Stamm_TSE', 'Stammdaten der technischen Sicherheitseinrichtungen', [
    integer('TSE_ID', 'ID der TSE - wird nur zur Referenzierung innerhalb eines Kassenabschlusses verwendet'),
    alpha(
      'TSE_SERIAL',
      'Seriennummer der TSE (Entspricht laut TR-03153 Abschnitt 7.5. dem Hashwert des im Zertifikat enthaltenen ' +
        'Schlüssels in Octet-String-Darstellung)',
      68,
    ),
    alpha('TSE_SIG_ALGO', 'Der von der TSE verwendete Signaturalgorithmus', 21),
    alpha(
      'TSE_ZEITFORMAT',
      "Das von der TSE verwendete Format für die Log-Time - 'unixTime', 'utcTime' = YYMMDDhhmmZ, " +
        "'utcTimeWithSeconds' = YYMMDDhhmmssZ, 'generalizedTime' = YYYYMMDDhhmmssZ, " +
        "'generalizedTimeWithMilliseconds' = YYYYMMDDhhmmss.fffZ",
      31,
    ),
    alpha('TSE_PD_ENCODING', 'Das Text-Encoding der ProcessData (UTF-8 oder ASCII)', 5),
    alpha(
      'TSE_PUBLIC_KEY',
      'Öffentlicher Schlüssel - extrahiert aus dem Zertifikat der TSE - in base64-Codierung',
      512,
    ),
    ...CERTIFICATE_PARTS.map((part, index) =>
      alpha(
        `TSE_ZERTIFIKAT_${part}`,
        index === 0
          ? 'Erste 1000 Zeichen des base64-codierten Zertifikats der TSE (in base64-Codierung)'
          : 'Ggf. Rest des base64-codierten Zertifikats der TSE (in base64-Codierung)',
        CERTIFICATE_PART_LENGTH,
      ),
    ),
  ]),
  table('vat.csv', 'Stamm_USt', 'Stammdaten der Umsatzsteuersätze', [
    integer('UST_SCHLUESSEL', 'ID des Umsatzsteuersatzes'),
    money('UST_SATZ', 'Prozentsatz', 2),
    text('UST_BESCHR', 'Beschreibung', 55),
  ]),
  // Kassenabschlussmodul
  table('businesscases.csv', 'Z_GV_Typ', 'Summen je Geschäftsvorfallart und USt-Satz', [
    alpha('GV_TYP', 'Geschäftsvorfall-Art', 30),
    text('GV_NAME', 'Name des Geschäftsvorfalls', 40),
    integer('AGENTUR_ID', 'ID der Agentur'),
    UST_SCHLUESSEL,
    money('Z_UMS_BRUTTO', 'Bruttoumsatz', 5),
    money('Z_UMS_NETTO', 'Nettoumsatz', 5),
    money('Z_UST', 'Umsatzsteuer', 5),
  ]),
  table('payment.csv', 'Z_Zahlart', 'Summen je Zahlart', [
    alpha('ZAHLART_TYP', 'Typ der Zahlart', 25),
    text('ZAHLART_NAME', 'Name der Zahlart', 60),
    money('Z_ZAHLART_BETRAG', 'Betrag', 2),
  ]),
  table('cash_per_currency.csv', 'Z_Waehrungen', 'Barbestand je Währung', [
    alpha('ZAHLART_WAEH', 'Währung', 3),
    money('ZAHLART_BETRAG_WAEH', 'Betrag', 2),
  ]),
  // Einzelaufzeichnungsmodul
  table('transactions.csv', 'Bonkopf', 'Vorgänge (Bonkopf)', [
    BON_ID,
    integer('BON_NR', 'Bonnummer'),
    alpha('BON_TYP', 'Bontyp', 30),
    text('BON_NAME', 'Zusatz-Beschreibung zum Bontyp', 60),
    alpha('TERMINAL_ID', 'ID des Erfassungsterminals', 50),
    alpha('BON_STORNO', 'Storno-Kennzeichen', 1),
    alpha('BON_START', 'Zeitpunkt des Vorgangsstarts', 30),
    alpha('BON_ENDE', 'Zeitpunkt der Vorgangsbeendigung', 30),
    alpha('BEDIENER_ID', 'Bediener-ID', 50),
    text('BEDIENER_NAME', 'Bediener-Name', 50),
    money('UMS_BRUTTO', 'Brutto-Gesamtumsatz', 2),
    text('KUNDE_NAME', 'Name des Leistungsempfängers', 50),
    alpha('KUNDE_ID', 'Kundennummer des Leistungsempfängers', 50),
    text('KUNDE_TYP', 'Art des Leistungsempfängers (z. B. Mitarbeiter)', 50),
    text('KUNDE_STRASSE', 'Straße und Hausnummer des Leistungsempfängers', 60),
    text('KUNDE_PLZ', 'PLZ des Leistungsempfängers', 10),
    text('KUNDE_ORT', 'Ort des Leistungsempfängers', 62),
    alpha('KUNDE_LAND', 'Land des Leistungsempfängers', 3),
    alpha('KUNDE_USTID', 'UStID des Leistungsempfängers', 15),
    text('BON_NOTIZ', 'Zusätzliche Informationen zum Bonkopf', 255),
  ]),
  table('datapayment.csv', 'Bonkopf_Zahlarten', 'Zahlarten je Vorgang', [
    BON_ID,
    alpha('ZAHLART_TYP', 'Typ der Zahlart', 25),
    text('ZAHLART_NAME', 'Name der Zahlart', 60),
    alpha('ZAHLWAEH_CODE', 'Währungscode', 3),
    money('ZAHLWAEH_BETRAG', 'Betrag in Fremdwährung', 2),
    money('BASISWAEH_BETRAG', 'Betrag in Basiswährung (i.d.R. EUR)', 2),
  ]),
  table('lines.csv', 'Bonpos', 'Positionen der Vorgänge (Bonpos)', [
    BON_ID,
    POS_ZEILE,
    alpha('GUTSCHEIN_NR', 'Gutschein-Nr.', 50),
    text('ARTIKELTEXT', 'Artikeltext', 255),
    alpha('POS_TERMINAL_ID', 'ID des POS-Terminals', 50),
    alpha('GV_TYP', 'Geschäftsvorfall-Art', 30),
    text('GV_NAME', 'Name des Geschäftsvorfalls', 40),
    alpha('INHAUS', 'Verzehr an Ort und Stelle', 1),
    alpha('P_STORNO', 'Positionsstorno-Kennzeichnung', 1),
    integer('AGENTUR_ID', 'ID der Agentur'),
    alpha('ART_NR', 'Artikelnummer', 50),
    alpha('GTIN', 'GTIN', 50),
    alpha('WARENGR_ID', 'Warengruppen-ID', 40),
    text('WARENGR', 'Bezeichnung Warengruppe', 50),
    quantity('MENGE', 'Menge'),
    quantity('FAKTOR', 'Faktor, z. B. Gebindegrößen'),
    text('EINHEIT', 'Maßeinheit, z. B. kg, Liter oder Stück', 50),
    money('STK_BR', 'Preis pro Einheit inkl. USt', 5),
  ]),
  table('itemamounts.csv', 'Bonpos_Preisfindung', 'Preisfindung der Positionen (Grundpreis, Rabatte)', [
    BON_ID,
    POS_ZEILE,
    alpha('TYP', 'Basispreis, Rabatt oder Zuschlag', 20),
    UST_SCHLUESSEL,
    money('PF_BRUTTO', 'Bruttoumsatz', 5),
    money('PF_NETTO', 'Nettoumsatz', 5),
    money('PF_UST', 'Umsatzsteuer', 5),
  ]),
  table('subitems.csv', 'Bonpos_Zusatzinfo', 'Zusatzinformationen zu Positionen', [
    BON_ID,
    POS_ZEILE,
    alpha('ZI_ART_NR', 'Artikelnummer', 50),
    alpha('ZI_GTIN', 'GTIN', 50),
    text('ZI_NAME', 'Artikelbezeichnung', 60),
    alpha('ZI_WARENGR_ID', 'Warengruppen-ID', 40),
    text('ZI_WARENGR', 'Bezeichnung Warengruppe', 50),
    quantity('ZI_MENGE', 'Menge'),
    quantity('ZI_FAKTOR', 'Faktor, z. B. Gebindegrößen'),
    text('ZI_EINHEIT', 'Maßeinheit, z. B. kg, Liter oder Stück', 50),
    integer('ZI_UST_SCHLUESSEL', 'ID USt-Satz des Basispreises'),
    money('ZI_BASISPREIS_BRUTTO', 'Basispreis brutto', 5),
    money('ZI_BASISPREIS_NETTO', 'Basispreis netto', 5),
    money('ZI_BASISPREIS_UST', 'Basispreis USt', 5),
  ]),
  table('transactions_tse.csv', 'TSE_Transaktionen', 'TSE-Transaktionen der Vorgänge', [
    BON_ID,
    integer('TSE_ID', 'Die Id der für eine Transaktion verwendeten TSE'),
    integer('TSE_TANR', 'Die Transaktionsnummer der TSE-Transaktion'),
    alpha('TSE_TA_START', 'Die Log-Time der StartTransaction-Operation', 30),
    alpha('TSE_TA_ENDE', 'Die Log-Time der FinishTransaction-Operation', 30),
    alpha('TSE_TA_VORGANGSART', 'Der processType der FinishTransaction-Operation', 30),
    integer('TSE_TA_SIGZ', 'Der Signaturzähler der FinishTransaction-Operation'),
    alpha('TSE_TA_SIG', 'Die Signatur der FinishTransaction-Operation', 512),
    text('TSE_TA_FEHLER', 'Beschreibung des TSE-Ausfalls oder Fehlers', 200),
    alpha(
      'TSE_VORGANGSDATEN',
      'An die zertifizierte technische Sicherheitseinrichtung übergebene Daten des Vorgangs (optional)',
      1000,
    ),
  ]),
  table('transactions_vat.csv', 'Bonkopf_USt', 'Umsatzsteuer je Vorgang und USt-Satz', [
    BON_ID,
    UST_SCHLUESSEL,
    money('BON_BRUTTO', 'Bruttoumsatz', 5),
    money('BON_NETTO', 'Nettoumsatz', 5),
    money('BON_UST', 'Umsatzsteuer', 5),
  ]),
  table('lines_vat.csv', 'Bonpos_USt', 'Umsatzsteuer je Position und USt-Satz', [
    BON_ID,
    POS_ZEILE,
    UST_SCHLUESSEL,
    money('POS_BRUTTO', 'Bruttoumsatz', 5),
    money('POS_NETTO', 'Nettoumsatz', 5),
    money('POS_UST', 'Umsatzsteuer', 5),
  ]),
  table('allocation_groups.csv', 'Bonkopf_AbrKreis', 'Abrechnungskreise der Vorgänge', [
    BON_ID,
    alpha('ABRECHNUNGSKREIS', 'z. B. Tischnummer', 50),
  ]),
  table('references.csv', 'Bon_Referenzen', 'Referenzen der Vorgänge', [
    BON_ID,
    alpha('POS_ZEILE', 'Zeilennummer des referenzierenden Vorgangs (nicht bei Verweis aus einem Bonkopf heraus)', 50),
    alpha('REF_TYP', 'Art der Referenz', 20),
    text('REF_NAME', 'Beschreibung bei Art “ExterneSonstige”', 40),
    alpha('REF_DATUM', 'Datum des Kassenabschlusses', 30),
    alpha('REF_Z_KASSE_ID', 'ID der (Abschluss-) Kasse', 50),
    integer('REF_Z_NR', 'Nr. des Kassenabschlusses'),
    alpha('REF_BON_ID', 'Vorgangs-ID', 40),
  ]),
];

const BY_FILE: ReadonlyMap<DsfinvkFile, DsfinvkTable> = new Map(DSFINVK_TABLES.map((t) => [t.file, t]));

export function tableOf(file: DsfinvkFile): DsfinvkTable {
  const found = BY_FILE.get(file);
  if (found === undefined) throw new Error(`No DSFinV-K table ${file}`);
  return found;
}
