import { describe, expect, it } from 'vitest';
import {
  childrenOf,
  decodeInteger,
  decodeOid,
  encodeContextConstructed,
  encodeContextPrimitive,
  encodeGeneralizedTime,
  encodeInteger,
  encodeLength,
  encodeOctetString,
  encodeOid,
  encodePrintableString,
  encodeSequence,
  encodeUnsignedInteger,
  encodeUtcTime,
  integerContent,
  octetsOf,
  oidContent,
  readElement,
  readElements,
} from './der.js';

const hex = (b: Buffer) => b.toString('hex');

describe('encodeInteger', () => {
  it.each([
    [0n, '020100'],
    [1n, '020101'],
    [127n, '02017f'],
    [128n, '02020080'],
    [255n, '020200ff'],
    [256n, '02020100'],
    [-1n, '0201ff'],
    [-128n, '020180'],
    [-129n, '0202ff7f'],
    [0x6b0153fdn, '02046b0153fd'],
  ])('encodes %s as minimal two’s complement', (value, expected) => {
    expect(hex(encodeInteger(value))).toBe(expected);
    expect(decodeInteger(integerContent(value))).toBe(value);
  });

  it('round-trips large values', () => {
    for (const value of [2n ** 64n, -(2n ** 70n) + 3n, 123456789012345678901234567890n]) {
      expect(decodeInteger(integerContent(value))).toBe(value);
    }
  });

  it('rejects non-minimal and empty INTEGER content', () => {
    expect(() => decodeInteger(Buffer.from('0001', 'hex'))).toThrow(/minimal/);
    expect(() => decodeInteger(Buffer.from('ff80', 'hex'))).toThrow(/minimal/);
    expect(() => decodeInteger(Buffer.alloc(0))).toThrow(/no content/);
  });

  it('encodes unsigned magnitudes with a sign byte when needed', () => {
    expect(hex(encodeUnsignedInteger(Buffer.from('0080', 'hex')))).toBe('02020080');
    expect(hex(encodeUnsignedInteger(Buffer.from('000001', 'hex')))).toBe('020101');
    expect(hex(encodeUnsignedInteger(Buffer.from('7f', 'hex')))).toBe('02017f');
  });
});

describe('OID', () => {
  it('encodes the TR-03151 and X.509 identifiers like the BSI simulator and OpenSSL', () => {
    expect(hex(encodeOid('0.4.0.127.0.7.3.7.1.1'))).toBe('060904007f0007030701' + '01');
    expect(hex(encodeOid('0.4.0.127.0.7.1.1.4.1.3'))).toBe('060a04007f00070101040103');
    expect(hex(encodeOid('1.2.840.10045.2.1'))).toBe('06072a8648ce3d0201');
  });

  it('round-trips', () => {
    for (const oid of ['1.2.840.10045.3.1.7', '2.5.29.15', '2.999.3', '0.4.0.127.0.7.3.7.1.3']) {
      expect(decodeOid(oidContent(oid))).toBe(oid);
    }
  });

  it('rejects malformed identifiers', () => {
    expect(() => encodeOid('1')).toThrow();
    expect(() => encodeOid('1.40.1')).toThrow();
    expect(() => encodeOid('3.1')).toThrow();
    expect(() => decodeOid(Buffer.from('2a86', 'hex'))).toThrow(/ends inside/);
  });
});

describe('lengths and strings', () => {
  it('uses the short and long length forms', () => {
    expect(hex(encodeLength(0))).toBe('00');
    expect(hex(encodeLength(127))).toBe('7f');
    expect(hex(encodeLength(128))).toBe('8180');
    expect(hex(encodeLength(300))).toBe('82012c');
    const long = encodeOctetString(Buffer.alloc(70000));
    expect(hex(long.subarray(0, 5))).toBe('0483011170');
    expect(readElement(long).content.length).toBe(70000);
  });

  it('accepts only the PrintableString repertoire', () => {
    expect(hex(encodePrintableString('POS1'))).toBe('1304504f5331');
    expect(() => encodePrintableString('a_b')).toThrow(/PrintableString/);
    expect(() => encodePrintableString('Kasse\u00e4')).toThrow(/PrintableString/);
  });

  it('writes UTCTime and GeneralizedTime', () => {
    const date = new Date('2026-11-21T08:19:09.999Z');
    expect(readElement(encodeUtcTime(date)).content.toString()).toBe('261121081909Z');
    expect(readElement(encodeGeneralizedTime(date)).content.toString()).toBe('20261121081909Z');
    expect(() => encodeUtcTime(new Date('2050-01-01T00:00:00Z'))).toThrow(/UTCTime/);
  });

  it('builds context tags', () => {
    expect(hex(encodeContextPrimitive(4, Buffer.alloc(0)))).toBe('8400');
    expect(hex(encodeContextConstructed(0, encodeInteger(2n)))).toBe('a003020102');
    expect(() => encodeContextPrimitive(31, Buffer.alloc(0))).toThrow();
  });
});

describe('reader', () => {
  it('walks nested TLVs with offsets', () => {
    const bytes = encodeSequence(encodeInteger(2n), encodeOctetString(Buffer.from('abc')));
    const outer = readElement(bytes);
    expect(outer).toMatchObject({ tag: 0x30, constructed: true, tagClass: 'universal', start: 0, end: bytes.length });
    const [version, octets] = childrenOf(outer);
    expect(version?.start).toBe(0);
    expect(octets?.content.toString()).toBe('abc');
    expect(octets?.raw.equals(encodeOctetString(Buffer.from('abc')))).toBe(true);
  });

  it('reads an indefinite-length constructed [2] made of OCTET STRING chunks', () => {
    const bytes = Buffer.from('a280' + '0403426567' + '04026c65' + '0000' + '020101', 'hex');
    const [processData, next] = readElements(bytes);
    expect(processData).toMatchObject({ tag: 0xa2, indefinite: true, tagClass: 'context', tagNumber: 2 });
    expect(processData?.raw.toString('hex')).toBe('a280' + '0403426567' + '04026c65' + '0000');
    expect(processData && octetsOf(processData).toString()).toBe('Begle');
    expect(next?.tag).toBe(0x02);
  });

  it('reads raw bytes up to 00 00 in an indefinite-length context element', () => {
    const bytes = Buffer.from('a280' + Buffer.from('Beleg^1').toString('hex') + '0000', 'hex');
    const element = readElement(bytes);
    expect(element.end).toBe(bytes.length);
    expect(octetsOf(element).toString()).toBe('Beleg^1');
  });

  it('rejects truncated and malformed input with the offset', () => {
    expect(() => readElement(Buffer.from('3005020102', 'hex'))).toThrow(/offset 0 claims 5/);
    expect(() => readElement(Buffer.from('30', 'hex'))).toThrow(/length missing/);
    expect(() => readElement(Buffer.from('0480', 'hex'))).toThrow(/primitive/);
    expect(() => readElement(Buffer.from('3080020101', 'hex'))).toThrow(/no end/);
    expect(() => readElement(Buffer.from('1f0100', 'hex'))).toThrow(/high tag/);
    expect(() => readElement(Buffer.alloc(0))).toThrow(/input ends/);
  });
});
