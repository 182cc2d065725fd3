/**
 * `gdpdu-01-09-2004.dtd`: the document type of the GDPdU "Beschreibungsstandard für die Datenüberlassung"
 * (version 1.5 of 2004-09-01, Audicon for the Federal Ministry of Finance), which every DSFinV-K index.xml names in its
 * DOCTYPE and which must lie next to it on the medium. The element declarations are the standard's, in its order
 * (the published file was read in a public copy, not in the BZSt package); the comments are ours and shortened.
 * @module
 */

export const GDPDU_DTD_FILE_NAME = 'gdpdu-01-09-2004.dtd';

export const GDPDU_DTD = `<?xml version="1.0" encoding="UTF-8"?>
<!-- GDPdU Beschreibungsstandard für die Datenüberlassung, version 1.5 (2004-09-01).
     1.2 added Alias, 1.3 Extension, 1.4 AcceptNoTables (Table optional), 1.5 several Alias per ForeignKey. -->

<!-- Simple types -->
<!ELEMENT Version (#PCDATA)>
<!ELEMENT Location (#PCDATA)>
<!ELEMENT Comment (#PCDATA)>
<!ELEMENT Length (#PCDATA)>
<!ELEMENT References (#PCDATA)>
<!ELEMENT From (#PCDATA)>
<!ELEMENT To (#PCDATA)>
<!-- A Media without tables, e.g. one that only carries an extension's metadata. -->
<!ELEMENT AcceptNoTables (#PCDATA)>
<!-- Maps a foreign key column to the differently named key column it references. -->
<!ELEMENT Alias (From, To)>
<!-- VariableLength columns only; without it the importer measures the column. -->
<!ELEMENT MaxLength (#PCDATA)>
<!-- Default: the double quote. -->
<!ELEMENT TextEncapsulator (#PCDATA)>
<!-- Decimals right of the decimal symbol (default 0); importing more decimals than declared is undefined. -->
<!ELEMENT Accuracy (#PCDATA)>
<!-- Decimals of numbers stored without a decimal symbol. -->
<!ELEMENT ImpliedAccuracy (#PCDATA)>
<!-- Date format, default DD.MM.YYYY. -->
<!ELEMENT Format (#PCDATA)>
<!-- Default: the comma; once per Table. -->
<!ELEMENT DecimalSymbol (#PCDATA)>
<!-- Default: the dot; once per Table. -->
<!ELEMENT DigitGroupingSymbol (#PCDATA)>
<!ELEMENT Command (#PCDATA)>
<!-- Relative file URLs only. -->
<!ELEMENT URL (#PCDATA)>
<!ELEMENT Description (#PCDATA)>
<!-- The logical (business) name; the URL stands in when it is missing. -->
<!ELEMENT Name (#PCDATA)>
<!-- Two-digit years before Epoch are 20xx (default 30). -->
<!ELEMENT Epoch (#PCDATA)>
<!-- Defaults: the semicolon and CR LF. -->
<!ELEMENT ColumnDelimiter (#PCDATA)>
<!ELEMENT RecordDelimiter (#PCDATA)>
<!-- Bytes skipped before reading the file (default 0). -->
<!ELEMENT SkipNumBytes (#PCDATA)>

<!-- Complex types -->
<!-- Application-specific additions, described in the supplementary file at URL. -->
<!ELEMENT Extension (Name, URL)>
<!ELEMENT Range (From, (To | Length)?)>
<!ELEMENT FixedRange (From, (To | Length))>
<!-- The document element. -->
<!ELEMENT DataSet (Extension*, Version, DataSupplier?, Command*, Media+, Command*)>
<!-- Data types. -->
<!ELEMENT AlphaNumeric EMPTY>
<!ELEMENT Date (Format?)>
<!ELEMENT Numeric ((ImpliedAccuracy | Accuracy)?)>
<!-- Code pages (ANSI when none is given; name the RecordDelimiter explicitly for any other). -->
<!ELEMENT ANSI EMPTY>
<!ELEMENT Macintosh EMPTY>
<!ELEMENT OEM EMPTY>
<!ELEMENT UTF16 EMPTY>
<!ELEMENT UTF7 EMPTY>
<!ELEMENT UTF8 EMPTY>
<!-- File formats. -->
<!ELEMENT FixedLength ((Length | RecordDelimiter)?, ((FixedPrimaryKey+, FixedColumn*) | (FixedColumn+)), ForeignKey*)>
<!ELEMENT FixedColumn (Name, Description?, (Numeric | AlphaNumeric | Date), Map*, FixedRange)>
<!ELEMENT FixedPrimaryKey (Name, Description?, (Numeric | AlphaNumeric | Date), Map*, FixedRange)>
<!ELEMENT VariableLength (ColumnDelimiter?, RecordDelimiter?, TextEncapsulator?, ((VariablePrimaryKey+, VariableColumn*) | (VariableColumn+)), ForeignKey*)>
<!ELEMENT VariableColumn (Name, Description?, (Numeric | (AlphaNumeric, MaxLength?) | Date), Map*)>
<!ELEMENT VariablePrimaryKey (Name, Description?, (Numeric | (AlphaNumeric, MaxLength?) | Date), Map*)>
<!-- Who supplies the data. -->
<!ELEMENT DataSupplier (Name, Location, Comment)>
<!-- The first Media holds index.xml; every Media listed is imported. -->
<!ELEMENT Media (Name, Command*, Table*, Command*, AcceptNoTables?)>
<!-- What FixedLength and VariableLength share is declared on the Table. -->
<!ELEMENT Table (URL, Name?, Description?, Validity?, (ANSI | Macintosh | OEM | UTF16 | UTF7 | UTF8)?, (DecimalSymbol, DigitGroupingSymbol)?, SkipNumBytes?, Range?, Epoch?, (VariableLength | FixedLength))>
<!-- A join to another table's primary key; key and foreign key must have the same data type. -->
<!ELEMENT ForeignKey (Name+, References, Alias*)>
<!-- Maps AlphaNumeric values (e.g. T to True); no conversion between data types. -->
<!ELEMENT Map (Description?, From, To)>
<!-- Documents for which period a table is valid. -->
<!ELEMENT Validity (Range, Format?)>
`;
