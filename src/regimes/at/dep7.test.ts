import { readFileSync } from 'node:fs';
import { verify } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  buildCryptographicMaterialContainer,
  buildDep7,
  certificateEntry,
  deviceEntry,
  dep7Receipts,
  entryPublicKey,
  parseCryptographicMaterialContainer,
  parseDep7,
  publicKeyEntry,
} from './dep7.js';
import { RKSV_TAX_SETS, parseRksvAmount } from './amounts.js';
import { buildReceiptPayload, chainValue, jwsToQr, parseJws, parseQr, qrToJws } from './receipt-code.js';
import { createClosedSystemSoftwareDevice, createOpenSystemSoftwareDevice } from './signature-device.js';
import { decryptTurnoverCounter, encryptTurnoverCounter, parseAesKey } from './turnover-counter.js';
import { artifact } from '../../../test/helpers/conformance.js';

const SAMPLE_DIR = artifact('austria', 'generated-sample') + '/';
const readSample = (file: string): unknown => JSON.parse(readFileSync(SAMPLE_DIR + file, 'utf8')) as unknown;

describe('the DEP7 export ztp-at/RKSV generated from Mustercode scenario 1', () => {
  const dep = parseDep7(readSample('dep-export.json'));
  const container = parseCryptographicMaterialContainer(readSample('cryptographicMaterialContainer.json'));
  const receipts = dep7Receipts(dep);

  it('parses: one group without certificate, 81 receipts, three certificates in the container', () => {
    expect(dep['Belege-Gruppe']).toHaveLength(1);
    expect(dep['Belege-Gruppe'][0]?.Signaturzertifikat).toBe('');
    expect(receipts).toHaveLength(81);
    expect(Object.keys(container.certificateOrPublicKeyMap).sort()).toEqual(['3e9', '3ea', '3eb']);
    expect(Object.values(container.certificateOrPublicKeyMap).map((entry) => entry.signatureDeviceType)).toEqual([
      'CERTIFICATE',
      'CERTIFICATE',
      'CERTIFICATE',
    ]);
  });

  it('round-trips every receipt: JWS → fields → payload, and JWS → QR → JWS', () => {
    for (const jws of receipts) {
      const parsed = parseJws(jws);
      expect(buildReceiptPayload(parsed.fields)).toBe(parsed.payload);
      expect(buildReceiptPayload(parseQr(jwsToQr(jws)).fields)).toBe(parsed.payload);
      expect(qrToJws(jwsToQr(jws))).toBe(jws);
    }
  });

  it('agrees with our chaining, turnover counter and signature checks byte for byte', () => {
    const aesKey = parseAesKey(container.base64AESKey);
    let previous: string | null = null;
    let turnover = 0n;
    let signed = 0;
    for (const jws of receipts) {
      const { fields, signingInput, signature, signatureDeviceFailed } = parseJws(jws);
      expect(fields.chainValue).toBe(chainValue(previous, fields.kassenId));
      const sum = RKSV_TAX_SETS.reduce((total, set) => total + parseRksvAmount(fields.amounts[set]), 0n);
      if (fields.encryptedTurnoverCounter !== 'VFJB') turnover += sum;
      if (fields.encryptedTurnoverCounter !== 'VFJB' && fields.encryptedTurnoverCounter !== 'U1RP') {
        const context = { aesKey, kassenId: fields.kassenId, receiptNumber: fields.receiptNumber };
        expect(decryptTurnoverCounter(context, fields.encryptedTurnoverCounter)).toBe(turnover);
        expect(encryptTurnoverCounter(context, turnover)).toBe(fields.encryptedTurnoverCounter);
      }
      if (!signatureDeviceFailed) {
        const entry = container.certificateOrPublicKeyMap[fields.certificateSerial];
        if (entry === undefined) throw new Error(`no certificate ${fields.certificateSerial}`);
        const key = entryPublicKey(entry);
        expect(verify('sha256', Buffer.from(signingInput), { key, dsaEncoding: 'ieee-p1363' }, signature)).toBe(true);
        signed++;
      }
      previous = jws;
    }
    expect(signed).toBeGreaterThan(40);
    expect(turnover).toBe(1324168n);
  });
});

describe('buildDep7', () => {
  const first = createOpenSystemSoftwareDevice();
  const second = createOpenSystemSoftwareDevice();
  const closed = createClosedSystemSoftwareDevice({ companyId: 'U:ATU12345678', keyNumber: 1 });

  it('starts a new group whenever the certificate changes, keeping receipt order', () => {
    const dep = buildDep7([
      { jws: 'a', device: first.material },
      { jws: 'b', device: first.material },
      { jws: 'c', device: second.material },
      { jws: 'd', device: first.material },
    ]);
    expect(dep['Belege-Gruppe'].map((group) => group['Belege-kompakt'])).toEqual([['a', 'b'], ['c'], ['d']]);
    expect(dep['Belege-Gruppe'][0]?.Signaturzertifikat).toBe(first.material.certificate?.toString('base64'));
    expect(dep['Belege-Gruppe'][1]?.Signaturzertifikat).toBe(second.material.certificate?.toString('base64'));
    expect(dep['Belege-Gruppe'][0]?.Zertifizierungsstellen).toEqual([]);
    expect(dep7Receipts(dep)).toEqual(['a', 'b', 'c', 'd']);
  });

  it('puts keys without certificate into groups with an empty Signaturzertifikat', () => {
    const dep = buildDep7([
      { jws: 'a', device: closed.material },
      { jws: 'b', device: closed.material },
    ]);
    expect(dep).toEqual({
      'Belege-Gruppe': [{ Signaturzertifikat: '', Zertifizierungsstellen: [], 'Belege-kompakt': ['a', 'b'] }],
    });
  });

  it('writes one certificate-less group on request', () => {
    const dep = buildDep7(
      [
        { jws: 'a', device: first.material },
        { jws: 'b', device: second.material },
      ],
      { grouping: 'single' },
    );
    expect(dep['Belege-Gruppe']).toEqual([
      { Signaturzertifikat: '', Zertifizierungsstellen: [], 'Belege-kompakt': ['a', 'b'] },
    ]);
  });
});

describe('crypto material container', () => {
  it('holds certificates under their hex serial and bare keys under their key id, and reads back', () => {
    const open = createOpenSystemSoftwareDevice({ serialNumber: Buffer.from('0a0b', 'hex') });
    const closed = createClosedSystemSoftwareDevice({ companyId: 'U:ATU12345678', keyNumber: 1 });
    const container = buildCryptographicMaterialContainer('WQRtiiya3hYh/Uz44Bv3x8ETl1nrH6nCdErn69g5/lU=', [
      deviceEntry(open.material),
      deviceEntry(closed.material),
    ]);
    expect(Object.keys(container.certificateOrPublicKeyMap)).toEqual(['a0b', 'U:ATU12345678-K1']);
    expect(container.certificateOrPublicKeyMap['a0b']).toMatchObject({ id: 'a0b', signatureDeviceType: 'CERTIFICATE' });
    expect(container.certificateOrPublicKeyMap['U:ATU12345678-K1']?.signatureDeviceType).toBe('PUBLIC_KEY');
    const reread = parseCryptographicMaterialContainer(JSON.parse(JSON.stringify(container)) as unknown);
    expect(reread).toEqual(container);
    const closedEntry = reread.certificateOrPublicKeyMap['U:ATU12345678-K1'];
    if (closedEntry === undefined) throw new Error('missing entry');
    expect(entryPublicKey(closedEntry).export({ format: 'jwk' })).toEqual(
      closed.material.publicKey.export({ format: 'jwk' }),
    );
  });

  it('refuses two different keys under one id and malformed containers', () => {
    const open = createOpenSystemSoftwareDevice();
    const other = createOpenSystemSoftwareDevice();
    expect(() =>
      buildCryptographicMaterialContainer('k', [
        publicKeyEntry('x', open.material.publicKey),
        publicKeyEntry('x', other.material.publicKey),
      ]),
    ).toThrow(/Two different keys/);
    expect(certificateEntry(open.material.certificate ?? Buffer.alloc(0)).id).toBe(open.material.containerId);
    expect(() =>
      parseCryptographicMaterialContainer({ base64AESKey: 'k', certificateOrPublicKeyMap: { a: { id: 'b' } } }),
    ).toThrow(/Malformed/);
    expect(() =>
      parseDep7({ 'Belege-Gruppe': [{ Signaturzertifikat: '', Zertifizierungsstellen: [], 'Belege-kompakt': [1] }] }),
    ).toThrow(/array of strings/);
    expect(() => parseDep7([])).toThrow(/Belege-Gruppe/);
  });
});
