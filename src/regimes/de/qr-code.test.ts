import { describe, expect, it } from 'vitest';
import { parseQrCodeData, qrCodeData, type QrCodeFields } from './qr-code.js';

// Signature and key are those of the BSI simulator sample's FinishTransaction log.
const fields: QrCodeFields = {
  clientId: 'POS1',
  processType: 'Kassenbeleg-V1',
  processData: 'Beleg^12.50_0.00_0.00_0.00_0.00^10.00:Bar_2.50:Unbar',
  transactionNumber: 1n,
  signatureCounter: 8n,
  startTime: new Date(1795249149_000),
  logTime: new Date(1795249150_000),
  signatureAlgorithm: 'ecdsa-plain-SHA256',
  timeFormat: 'unixTime',
  signature: 'kD0qrX5LiWGDdzYF3x1VCeRtvDd7GJC9RjM5bi0Wu+kXnaT+jIvPMty1sMQ0NjLGNCLZMPtTsana4DQJfR16vQ==',
  publicKey: 'BFLqPzHXq2jyamRi5bxk9bx7vBhc0dpzhPV9Cnt96HsbAZnAj5BOtys6Pp6YJUhVP001tkSFUXiz0OrZ/TKAp2A=',
};

describe('qrCodeData', () => {
  it('writes the twelve V0 fields with millisecond UTC times', () => {
    const text = qrCodeData(fields);
    expect(text).toBe(
      'V0;POS1;Kassenbeleg-V1;Beleg^12.50_0.00_0.00_0.00_0.00^10.00:Bar_2.50:Unbar;1;8;' +
        '2026-11-21T08:19:09.000Z;2026-11-21T08:19:10.000Z;ecdsa-plain-SHA256;unixTime;' +
        `${fields.signature};${fields.publicKey}`,
    );
    expect(text.split(';')).toHaveLength(12);
  });

  it('round-trips', () => {
    expect(parseQrCodeData(qrCodeData(fields))).toEqual(fields);
    const order = { ...fields, processType: 'Bestellung-V1', processData: '1;"Eiskaffee";2.99' };
    expect(parseQrCodeData(qrCodeData(order))).toEqual(order);
    const empty = { ...fields, processData: '' };
    expect(parseQrCodeData(qrCodeData(empty))).toEqual(empty);
  });

  it('refuses a ; where it would shift the fields', () => {
    expect(() => qrCodeData({ ...fields, clientId: 'a;b' })).toThrow(/clientId/);
    expect(() => qrCodeData({ ...fields, startTime: new Date(Number.NaN) })).toThrow(/startTime/);
  });
});

describe('parseQrCodeData', () => {
  const good = qrCodeData(fields);
  const replace = (index: number, value: string) => {
    const parts = good.split(';');
    parts[index] = value;
    return parts.join(';');
  };

  it('throws on malformed codes', () => {
    expect(() => parseQrCodeData('V0;POS1')).toThrow(/2 fields/);
    expect(() => parseQrCodeData(replace(0, 'V1'))).toThrow(/version/);
    expect(() => parseQrCodeData(replace(1, ''))).toThrow(/client id/);
    expect(() => parseQrCodeData(replace(4, '-1'))).toThrow(/transactionNumber/);
    expect(() => parseQrCodeData(replace(5, '08'))).toThrow(/signatureCounter/);
    expect(() => parseQrCodeData(replace(6, '2026-11-21T08:19:09Z'))).toThrow(/startTime/);
    expect(() => parseQrCodeData(replace(7, '2026-13-21T08:19:09.000Z'))).toThrow(/logTime/);
    expect(() => parseQrCodeData(replace(8, ''))).toThrow(/algorithm/);
    expect(() => parseQrCodeData(replace(10, 'not base64!'))).toThrow(/signature/);
    expect(() => parseQrCodeData(replace(11, 'abc'))).toThrow(/publicKey/);
  });
});
