import { generateKeyPairSync, verify, X509Certificate, type KeyObject } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  certificateSerialHex,
  checkEs256Signature,
  closedSystemKeyId,
  createClosedSystemSoftwareDevice,
  createOpenSystemSoftwareDevice,
  randomCertificateSerial,
  SignatureDeviceUnavailableError,
  unavailableSigner,
} from './signature-device.js';

const verifies = (publicKey: KeyObject, data: Buffer, signature: Buffer) =>
  verify('sha256', data, { key: publicKey, dsaEncoding: 'ieee-p1363' }, signature);

describe('open-system software device', () => {
  it('signs ES256 (raw r‖s) under a self-signed certificate whose hex serial the receipts name', () => {
    const device = createOpenSystemSoftwareDevice({ serialNumber: Buffer.from('0003e9', 'hex') });
    expect(device.signer.zda).toBe('AT100');
    expect(device.signer.certificateSerial).toBe('3e9');
    expect(device.material.containerId).toBe('3e9');
    const certificate = new X509Certificate(device.material.certificate ?? Buffer.alloc(0));
    expect(certificate.serialNumber).toBe('03E9');
    expect(certificate.verify(certificate.publicKey)).toBe(true);
    const data = Buffer.from('eyJhbGciOiJFUzI1NiJ9.X1IxLUFUMTAw');
    const signature = device.signer.sign(data);
    expect(signature).toHaveLength(64);
    expect(verifies(certificate.publicKey, data, signature)).toBe(true);
  });

  it('writes the serial in decimal on request and keeps the container id in hex', () => {
    const device = createOpenSystemSoftwareDevice({
      serialNumber: Buffer.from('03e9', 'hex'),
      serialFormat: 'decimal',
    });
    expect(device.signer.certificateSerial).toBe('1001');
    expect(device.material.containerId).toBe('3e9');
  });

  it('uses a given P-256 key and refuses other curves', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const device = createOpenSystemSoftwareDevice({ privateKey, zda: 'AT1' });
    expect(device.signer.zda).toBe('AT1');
    expect(device.material.publicKey.export({ format: 'jwk' })).toEqual(publicKey.export({ format: 'jwk' }));
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
    expect(() => createOpenSystemSoftwareDevice({ privateKey: p384.privateKey })).toThrow(/P-256/);
  });

  it('draws positive 16-byte serials', () => {
    for (let i = 0; i < 50; i++) {
      const serial = randomCertificateSerial();
      expect(serial).toHaveLength(16);
      expect((serial[0] ?? 0) & 0x80).toBe(0);
      expect(certificateSerialHex(serial)).toMatch(/^[1-9a-f][0-9a-f]*$/);
    }
    expect(() => certificateSerialHex(Buffer.alloc(3))).toThrow(/positive/);
  });
});

describe('closed-system software device', () => {
  it('signs as AT0 under <Ordnungsbegriff>-K<n> and is registered as a bare public key', () => {
    const device = createClosedSystemSoftwareDevice({ companyId: 'U:ATU12345678', keyNumber: 1 });
    expect(device.signer.zda).toBe('AT0');
    expect(device.signer.certificateSerial).toBe('U:ATU12345678-K1');
    expect(device.material.certificate).toBeNull();
    const data = Buffer.from('x');
    expect(verifies(device.material.publicKey, data, device.signer.sign(data))).toBe(true);
  });

  it('accepts the three kinds of Ordnungsbegriff and nothing else', () => {
    expect(closedSystemKeyId('S:123456789', 0)).toBe('S:123456789-K0');
    expect(closedSystemKeyId('G:1234567890123', 2)).toBe('G:1234567890123-K2');
    for (const bad of ['ATU12345678', 'U:atu12345678', 'S:12345678', 'G:123', 'U:ATU12345678-K1']) {
      expect(() => closedSystemKeyId(bad, 1)).toThrow(/Ordnungsbegriff/);
    }
    expect(() => closedSystemKeyId('U:ATU12345678', -1)).toThrow(/key number/);
  });
});

describe('failed devices and broken signers', () => {
  it('an unavailable signer keeps its name and throws on sign', () => {
    const signer = unavailableSigner({ zda: 'AT0', certificateSerial: 'U:ATU12345678-K1' }, 'card removed');
    expect(signer.certificateSerial).toBe('U:ATU12345678-K1');
    expect(() => signer.sign(Buffer.from('x'))).toThrow(SignatureDeviceUnavailableError);
  });

  it('a DER signature is not an ES256 signature', () => {
    expect(() => checkEs256Signature(Buffer.alloc(70))).toThrow(/64 bytes/);
    expect(checkEs256Signature(Buffer.alloc(64))).toHaveLength(64);
  });
});
