import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createCertificate } from './x509.js';

const ORGANIZATION = 'OpenFiskal test devices';

describe('createCertificate', () => {
  const root = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const leaf = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const validity = { notBefore: new Date('2026-11-21T08:00:00Z'), notAfter: new Date('2036-11-21T08:00:00Z') };

  it('self-signs an end-entity certificate that verifies with its own key', () => {
    const der = createCertificate({
      organization: ORGANIZATION,
      subjectPublicKey: root.publicKey,
      subjectPrivateKey: root.privateKey,
      subjectCommonName: 'device 1',
      serialNumber: Buffer.from('03e9', 'hex'),
      ...validity,
    });
    const certificate = new X509Certificate(der);
    expect(certificate.verify(root.publicKey)).toBe(true);
    expect(certificate.checkPrivateKey(root.privateKey)).toBe(true);
    expect(certificate.serialNumber).toBe('03E9');
    expect(certificate.subject).toBe(`O=${ORGANIZATION}\nCN=device 1`);
    expect(certificate.issuer).toBe(certificate.subject);
    expect(certificate.ca).toBe(false);
  });

  it('issues chain certificates under another key, CA ones with keyCertSign', () => {
    const rootDer = createCertificate({
      organization: ORGANIZATION,
      subjectPublicKey: root.publicKey,
      subjectPrivateKey: root.privateKey,
      subjectCommonName: 'root',
      serialNumber: Buffer.of(1),
      ...validity,
      ca: true,
    });
    const leafDer = createCertificate({
      organization: ORGANIZATION,
      subjectPublicKey: leaf.publicKey,
      subjectCommonName: 'leaf',
      serialNumber: Buffer.of(2),
      ...validity,
      issuer: { privateKey: root.privateKey, commonName: 'root' },
    });
    const rootCertificate = new X509Certificate(rootDer);
    const leafCertificate = new X509Certificate(leafDer);
    expect(rootCertificate.ca).toBe(true);
    expect(leafCertificate.checkIssued(rootCertificate)).toBe(true);
    expect(leafCertificate.verify(root.publicKey)).toBe(true);
    expect(leafCertificate.verify(leaf.publicKey)).toBe(false);

    const dir = mkdtempSync(join(tmpdir(), 'at-cert-'));
    try {
      writeFileSync(join(dir, 'root.pem'), rootCertificate.toString());
      writeFileSync(join(dir, 'leaf.pem'), leafCertificate.toString());
      const text = execFileSync('openssl', ['x509', '-in', join(dir, 'root.pem'), '-noout', '-text'], {
        encoding: 'utf8',
      });
      expect(text).toMatch(/X509v3 Basic Constraints: critical\n\s+CA:TRUE/);
      expect(text).toMatch(/X509v3 Key Usage: critical\n\s+Digital Signature, Certificate Sign\n/);
      const verified = execFileSync(
        'openssl',
        ['verify', '-CAfile', join(dir, 'root.pem'), '-attime', '1900000000', join(dir, 'leaf.pem')],
        { encoding: 'utf8' },
      );
      expect(verified.trim()).toMatch(/leaf\.pem: OK$/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses bad serials, empty names, inverted validity and mismatched keys', () => {
    const base = {
      organization: ORGANIZATION,
      subjectPublicKey: root.publicKey,
      subjectPrivateKey: root.privateKey,
      subjectCommonName: 'x',
      serialNumber: Buffer.of(1),
      ...validity,
    };
    expect(() => createCertificate({ ...base, serialNumber: Buffer.alloc(2) })).toThrow(/positive/);
    expect(() => createCertificate({ ...base, serialNumber: Buffer.alloc(20, 0xff) })).toThrow(/20 DER octets/);
    expect(() => createCertificate({ ...base, subjectCommonName: '' })).toThrow(/common name/);
    expect(() => createCertificate({ ...base, notAfter: base.notBefore })).toThrow(/notBefore/);
    expect(() => createCertificate({ ...base, subjectPrivateKey: leaf.privateKey })).toThrow(/does not match/);
    expect(() =>
      createCertificate({
        organization: ORGANIZATION,
        subjectPublicKey: root.publicKey,
        subjectCommonName: 'x',
        serialNumber: Buffer.of(1),
        ...validity,
      }),
    ).toThrow(/issuer key/);
  });
});
