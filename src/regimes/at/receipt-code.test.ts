import { generateKeyPairSync, sign, verify } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  assembleJws,
  buildReceiptPayload,
  chainValue,
  formatReceiptDateTime,
  isSignatureDeviceFailed,
  isValidReceiptDateTime,
  jwsSigningInput,
  jwsToOcr,
  jwsToQr,
  ocrToQr,
  parseJws,
  parseQr,
  parseReceiptPayload,
  qrToJws,
  qrToOcr,
  receiptUrl,
  receiptUrlHash,
  SIGNATURE_DEVICE_FAILED_SIGNATURE,
  type RksvReceiptFields,
} from './receipt-code.js';

// Receipts 1 and 6 of the DEP ztp-at/RKSV generated from Mustercode scenario 1
// (shared/conformance-artifacts/austria/generated-sample); QR, OCR and URL hash computed with Python's base64/hashlib.
const SIGNED_JWS =
  'eyJhbGciOiJFUzI1NiJ9.X1IxLUFUMTkyX0NBU0hCT1gtREVNTy0xX0NBU0hCT1gtREVNTy0xLVJlY2VpcHQtSUQtMV8yMDE2LTAzLTExVDAzOjU3' +
  'OjA4XzAsMDBfMCwwMF8wLDAwXzAsMDBfMCwwMF80cjFpSWRaR2VBUT1fM2VhX2NnOGhOVTVpaHRvPQ.cXxcH60H9VgAPZcWgU3cswYKXwz79tpFFuz' +
  'GqqmGq0ba7F-9M7-8EUT3CUzckogWU7hTPIvLcEq6pY_BafhJLg';
const SIGNED_QR =
  '_R1-AT192_CASHBOX-DEMO-1_CASHBOX-DEMO-1-Receipt-ID-1_2016-03-11T03:57:08_0,00_0,00_0,00_0,00_0,00_4r1iIdZGeAQ=_3ea_' +
  'cg8hNU5ihto=_cXxcH60H9VgAPZcWgU3cswYKXwz79tpFFuzGqqmGq0ba7F+9M7+8EUT3CUzckogWU7hTPIvLcEq6pY/BafhJLg==';
const SIGNED_OCR =
  '_R1-AT192_CASHBOX-DEMO-1_CASHBOX-DEMO-1-Receipt-ID-1_2016-03-11T03:57:08_0,00_0,00_0,00_0,00_0,00_4K6WEIOWIZ4AI===_' +
  '3ea_OIHSCNKOMKDNU===_OF6FYH5NA72VQAB5S4LICTO4WMDAUXYM7P3NURIW5TDKVKMGVNDNV3C7XUZ37PARIT3QSTG4SKEBMU5YKM6IXS3QJK5KLD' +
  '6BNH4ESLQ=';
const FAILED_JWS =
  'eyJhbGciOiJFUzI1NiJ9.X1IxLUFUMTc5X0NBU0hCT1gtREVNTy0xX0NBU0hCT1gtREVNTy0xLVJlY2VpcHQtSUQtNl8yMDE2LTAzLTE2VDA5OjAy' +
  'OjEzXzEyMCwzNF8yMSw0OV8xMzUsNzJfMzQsMzlfMTkzLDA3X2s4d1VBSkRKK1JvPV8zZWJfMkNJalQ5QzJFbXM9.U2ljaGVyaGVpdHNlaW5yaWNo' +
  'dHVuZyBhdXNnZWZhbGxlbg';
const FAILED_QR =
  '_R1-AT179_CASHBOX-DEMO-1_CASHBOX-DEMO-1-Receipt-ID-6_2016-03-16T09:02:13_120,34_21,49_135,72_34,39_193,07_' +
  'k8wUAJDJ+Ro=_3eb_2CIjT9C2Ems=_U2ljaGVyaGVpdHNlaW5yaWNodHVuZyBhdXNnZWZhbGxlbg==';
const FAILED_OCR =
  '_R1-AT179_CASHBOX-DEMO-1_CASHBOX-DEMO-1-Receipt-ID-6_2016-03-16T09:02:13_120,34_21,49_135,72_34,39_193,07_' +
  'SPGBIAEQZH4RU===_3eb_3ARCGT6QWYJGW===_KNUWG2DFOJUGK2LUONSWS3TSNFRWQ5DVNZTSAYLVONTWKZTBNRWGK3Q=';

const FIELDS: RksvReceiptFields = {
  algorithmId: 'R1',
  zda: 'AT0',
  kassenId: 'K-1',
  receiptNumber: '17',
  dateTime: '2026-07-01T08:15:00',
  amounts: { normal: '12,00', ermaessigt1: '0,00', ermaessigt2: '-3,50', null: '0,00', besonders: '4,90' },
  encryptedTurnoverCounter: 'AAECAwQFBgc=',
  certificateSerial: 'U:ATU12345678-K1',
  chainValue: 'cg8hNU5ihto=',
};

describe('payload', () => {
  it('joins the twelve fields behind a leading underscore', () => {
    expect(buildReceiptPayload(FIELDS)).toBe(
      '_R1-AT0_K-1_17_2026-07-01T08:15:00_12,00_0,00_-3,50_0,00_4,90_AAECAwQFBgc=_U:ATU12345678-K1_cg8hNU5ihto=',
    );
    expect(parseReceiptPayload(buildReceiptPayload(FIELDS))).toEqual(FIELDS);
  });

  it('refuses payloads with the wrong number of fields or no suite', () => {
    expect(() => parseReceiptPayload(`${buildReceiptPayload(FIELDS)}_x`)).toThrow(/12 fields/);
    expect(() => parseReceiptPayload(buildReceiptPayload(FIELDS).slice(1))).toThrow(/12 fields/);
    expect(() => parseReceiptPayload(buildReceiptPayload({ ...FIELDS, zda: 'AT7-7' }))).toThrow(/suite/);
  });
});

describe('chainValue', () => {
  it('chains the first receipt to the Kassen-ID and later ones to the previous JWS', () => {
    expect(chainValue(null, 'CASHBOX-DEMO-1')).toBe('cg8hNU5ihto=');
    // Receipt 2 of the sample names receipt 1.
    expect(chainValue(SIGNED_JWS, 'CASHBOX-DEMO-1')).toBe('OIRRjrDvQXs=');
  });
});

describe('JWS', () => {
  it('signs b64url(header).b64url(payload) and parses back', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const payload = buildReceiptPayload(FIELDS);
    const input = jwsSigningInput(payload);
    expect(input.split('.')[0]).toBe('eyJhbGciOiJFUzI1NiJ9');
    const signature = sign('sha256', Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' });
    const jws = assembleJws(payload, signature);
    const parsed = parseJws(jws);
    expect(parsed).toMatchObject({ header: '{"alg":"ES256"}', payload, fields: FIELDS, signingInput: input });
    expect(parsed.signatureDeviceFailed).toBe(false);
    expect(
      verify(
        'sha256',
        Buffer.from(parsed.signingInput),
        { key: publicKey, dsaEncoding: 'ieee-p1363' },
        parsed.signature,
      ),
    ).toBe(true);
  });

  it('marks a failed device with Base64-URL("Sicherheitseinrichtung ausgefallen")', () => {
    expect(SIGNATURE_DEVICE_FAILED_SIGNATURE).toBe('U2ljaGVyaGVpdHNlaW5yaWNodHVuZyBhdXNnZWZhbGxlbg');
    const jws = assembleJws(buildReceiptPayload(FIELDS), null);
    expect(isSignatureDeviceFailed(jws)).toBe(true);
    expect(parseJws(jws).signatureDeviceFailed).toBe(true);
    expect(parseJws(FAILED_JWS).signature.toString()).toBe('Sicherheitseinrichtung ausgefallen');
    expect(isSignatureDeviceFailed(SIGNED_JWS)).toBe(false);
  });

  it('refuses malformed compact serialisations', () => {
    expect(() => parseJws('a.b')).toThrow(/three/);
    expect(() => parseJws(`ab==.${SIGNED_JWS.split('.').slice(1).join('.')}`)).toThrow(RangeError);
    expect(() => parseJws(`${SIGNED_JWS}=`)).toThrow(RangeError);
  });
});

describe('QR, OCR and URL forms', () => {
  it('reproduce the forms of receipts ztp-at/RKSV generated', () => {
    expect(jwsToQr(SIGNED_JWS)).toBe(SIGNED_QR);
    expect(jwsToOcr(SIGNED_JWS)).toBe(SIGNED_OCR);
    expect(jwsToQr(FAILED_JWS)).toBe(FAILED_QR);
    expect(qrToOcr(FAILED_QR)).toBe(FAILED_OCR);
    expect(receiptUrlHash(SIGNED_QR)).toBe('dmpil_wtO78');
    expect(receiptUrlHash(FAILED_QR)).toBe('4Ne7HA1Bylw');
  });

  it('convert back without loss', () => {
    for (const [jws, qr, ocr] of [
      [SIGNED_JWS, SIGNED_QR, SIGNED_OCR],
      [FAILED_JWS, FAILED_QR, FAILED_OCR],
    ] as const) {
      expect(qrToJws(qr)).toBe(jws);
      expect(ocrToQr(ocr)).toBe(qr);
    }
    expect(parseQr(SIGNED_QR).signature).toEqual(parseJws(SIGNED_JWS).signature);
  });

  it('build the URL from a base URL and the hash', () => {
    expect(receiptUrl('https://receipts.example.at/at/', SIGNED_QR)).toBe('https://receipts.example.at/at/dmpil_wtO78');
    expect(receiptUrl('https://receipts.example.at', SIGNED_QR)).toBe('https://receipts.example.at/dmpil_wtO78');
    expect(() => receiptUrl('ftp://receipts.example.at', SIGNED_QR)).toThrow(/http/);
    expect(() => receiptUrl('https://receipts.example.at/?x=1', SIGNED_QR)).toThrow(/last path element/);
  });
});

describe('receipt date-time', () => {
  it('accepts real calendar seconds only', () => {
    expect(isValidReceiptDateTime('2016-03-11T03:57:08')).toBe(true);
    expect(isValidReceiptDateTime('2024-02-29T23:59:59')).toBe(true);
    for (const bad of [
      '2016-03-11T03:57:60',
      '2023-02-29T00:00:00',
      '2016-03-11 03:57:08',
      '2016-03-11T03:57:08Z',
      '',
    ]) {
      expect(isValidReceiptDateTime(bad)).toBe(false);
    }
  });

  it('writes Vienna wall-clock time across the DST switch', () => {
    expect(formatReceiptDateTime(new Date('2026-01-15T11:00:00Z'))).toBe('2026-01-15T12:00:00');
    expect(formatReceiptDateTime(new Date('2026-07-15T11:00:00.900Z'))).toBe('2026-07-15T13:00:00');
    expect(formatReceiptDateTime(new Date('2026-03-29T00:59:59Z'))).toBe('2026-03-29T01:59:59');
    expect(formatReceiptDateTime(new Date('2026-03-29T01:00:00Z'))).toBe('2026-03-29T03:00:00');
    expect(formatReceiptDateTime(new Date('2026-01-01T00:00:00Z'), 'UTC')).toBe('2026-01-01T00:00:00');
    expect(() => formatReceiptDateTime(new Date(Number.NaN))).toThrow(RangeError);
  });
});
