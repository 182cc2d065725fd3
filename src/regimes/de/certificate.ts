/**
 * The self-signed X.509 certificate of a software TSE's signing key. A certified TSE's certificate is issued by its
 * vendor's CA; ours can only vouch for itself, and its organisation name says so.
 * @module
 */
import type { KeyObject } from 'node:crypto';
import { createCertificate } from '../../crypto/x509.js';

export const CERTIFICATE_ORGANIZATION = 'OpenFiskal software TSE (not certified)';

/**
 * A self-signed X.509 v3 certificate (DER) for a P-256 key, signed with ecdsa-with-SHA256: end entity
 * (basicConstraints CA:FALSE), keyUsage digitalSignature (critical), subject = issuer = O + CN. `serialNumber` is an
 * unsigned big-endian number; it must be positive and fit in 20 DER octets (so at most 159 bits).
 */
export function createSelfSignedCertificate(input: {
  privateKey: KeyObject;
  publicKey: KeyObject;
  commonName: string;
  serialNumber: Buffer;
  notBefore: Date;
  notAfter: Date;
}): Buffer {
  return createCertificate({
    organization: CERTIFICATE_ORGANIZATION,
    subjectPublicKey: input.publicKey,
    subjectPrivateKey: input.privateKey,
    subjectCommonName: input.commonName,
    serialNumber: input.serialNumber,
    notBefore: input.notBefore,
    notAfter: input.notAfter,
  });
}
