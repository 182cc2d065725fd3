import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CERTIFICATE_ORGANIZATION, createSelfSignedCertificate } from './certificate.js';
import { publicKeyPoint, tseSerialNumber } from './log-message.js';

describe('createSelfSignedCertificate', () => {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const serial = tseSerialNumber(publicKeyPoint(publicKey));
  const base = {
    privateKey,
    publicKey,
    commonName: serial.toString('hex').toUpperCase(),
    serialNumber: Buffer.from('00ff0102030405060708090a0b0c0d0e0f101112', 'hex'),
    notBefore: new Date('2026-11-21T08:19:09.500Z'),
    notAfter: new Date('2051-11-21T08:19:09Z'),
  };

  it('yields a certificate that verifies with its own key', () => {
    const certificate = new X509Certificate(createSelfSignedCertificate(base));
    expect(certificate.verify(publicKey)).toBe(true);
    expect(certificate.checkPrivateKey(privateKey)).toBe(true);
    expect(certificate.publicKey.export({ type: 'spki', format: 'der' }).subarray(-65)).toEqual(
      publicKeyPoint(publicKey),
    );
    expect(certificate.subject).toBe(`O=${CERTIFICATE_ORGANIZATION}\nCN=${base.commonName}`);
    expect(certificate.issuer).toBe(certificate.subject);
    expect(certificate.serialNumber).toBe('FF0102030405060708090A0B0C0D0E0F101112');
    expect(certificate.ca).toBe(false);
    expect(new Date(certificate.validFrom).toISOString()).toBe('2026-11-21T08:19:09.000Z');
    // After 2049 RFC 5280 switches to GeneralizedTime.
    expect(new Date(certificate.validTo).toISOString()).toBe('2051-11-21T08:19:09.000Z');
  });

  it('is read by openssl x509 as an end-entity P-256 certificate for digital signatures', () => {
    const dir = mkdtempSync(join(tmpdir(), 'de-cert-'));
    try {
      const file = join(dir, 'cert.der');
      writeFileSync(file, createSelfSignedCertificate(base));
      const text = execFileSync('openssl', ['x509', '-inform', 'DER', '-in', file, '-noout', '-text'], {
        encoding: 'utf8',
      });
      expect(text).toContain('Version: 3 (0x2)');
      expect(text).toContain('Signature Algorithm: ecdsa-with-SHA256');
      expect(text).toContain('ASN1 OID: prime256v1');
      expect(text).toMatch(/X509v3 Basic Constraints: \n\s+CA:FALSE/);
      expect(text).toMatch(/X509v3 Key Usage: critical\n\s+Digital Signature\n/);
      expect(text).toContain(`O = ${CERTIFICATE_ORGANIZATION}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses serials DER cannot hold in 20 octets, empty names and inverted validity', () => {
    expect(() => createSelfSignedCertificate({ ...base, serialNumber: Buffer.alloc(20, 0xff) })).toThrow(
      /20 DER octets/,
    );
    expect(() => createSelfSignedCertificate({ ...base, serialNumber: Buffer.alloc(3) })).toThrow(/positive/);
    expect(() => createSelfSignedCertificate({ ...base, commonName: '' })).toThrow(/common name/);
    expect(() => createSelfSignedCertificate({ ...base, notAfter: base.notBefore })).toThrow(/notBefore/);
    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    expect(() => createSelfSignedCertificate({ ...base, privateKey: other.privateKey })).toThrow(/does not match/);
  });
});
