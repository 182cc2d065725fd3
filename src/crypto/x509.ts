/**
 * X.509 v3 certificates (DER) for the software signing devices: a software TSE or RKSV device can only vouch for
 * itself (or, for test chains, be issued by another software certificate), and its organisation name says so.
 * ECDSA P-256 keys, ecdsa-with-SHA256 signatures.
 * @module
 */
import { sign, verify, type KeyObject } from 'node:crypto';
import {
  TAG_INTEGER,
  encodeBitString,
  encodeBoolean,
  encodeContextConstructed,
  encodeGeneralizedTime,
  encodeInteger,
  encodeOctetString,
  encodeOid,
  encodeSequence,
  encodeSet,
  encodeTlv,
  encodeUtcTime,
  encodeUtf8String,
  unsignedIntegerContent,
} from './der.js';

const OID_ECDSA_WITH_SHA256 = '1.2.840.10045.4.3.2';
const OID_COMMON_NAME = '2.5.4.3';
const OID_ORGANIZATION = '2.5.4.10';
const OID_BASIC_CONSTRAINTS = '2.5.29.19';
const OID_KEY_USAGE = '2.5.29.15';
// RFC 5280 4.1.2.2: at most 20 octets.
const MAX_SERIAL_OCTETS = 20;
// RFC 5280 4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050 on.
const FIRST_GENERALIZED_TIME_YEAR = 2050;
// keyUsage bits (RFC 5280 4.2.1.3): digitalSignature = bit 0, keyCertSign = bit 5.
const KEY_USAGE_DIGITAL_SIGNATURE = 0x80;
const KEY_USAGE_KEY_CERT_SIGN = 0x04;

function encodeTime(date: Date): Buffer {
  return date.getUTCFullYear() < FIRST_GENERALIZED_TIME_YEAR ? encodeUtcTime(date) : encodeGeneralizedTime(date);
}

function encodeName(organization: string, commonName: string): Buffer {
  const attribute = (oid: string, value: string) => encodeSet(encodeSequence(encodeOid(oid), encodeUtf8String(value)));
  return encodeSequence(attribute(OID_ORGANIZATION, organization), attribute(OID_COMMON_NAME, commonName));
}

function encodeExtension(oid: string, critical: boolean, value: Buffer): Buffer {
  return encodeSequence(encodeOid(oid), ...(critical ? [encodeBoolean(true)] : []), encodeOctetString(value));
}

export interface CertificateRequest {
  /** The O of subject and issuer: says whose software made the certificate and that it is not certified. */
  readonly organization: string;
  readonly subjectPublicKey: KeyObject;
  readonly subjectCommonName: string;
  /** Unsigned big-endian; positive, at most 20 DER octets. */
  readonly serialNumber: Buffer;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** Omit both for a self-signed certificate. */
  readonly issuer?: { readonly privateKey: KeyObject; readonly commonName: string };
  /** Without `issuer`: the subject's own private key, which self-signs. */
  readonly subjectPrivateKey?: KeyObject;
  /** A CA certificate may sign other certificates (test chains); an end-entity one only signs receipts. */
  readonly ca?: boolean;
}

/** The DER certificate. Self-signed ones are checked against their own public key before they are returned. */
export function createCertificate(request: CertificateRequest): Buffer {
  const serialContent = unsignedIntegerContent(request.serialNumber);
  if (serialContent.every((byte) => byte === 0)) throw new RangeError('Certificate serial number must be positive');
  if (serialContent.length > MAX_SERIAL_OCTETS) {
    throw new RangeError(`Certificate serial number must fit in ${MAX_SERIAL_OCTETS} DER octets`);
  }
  if (!(request.notBefore.getTime() < request.notAfter.getTime())) {
    throw new RangeError('notBefore must precede notAfter');
  }
  if (request.subjectCommonName.length === 0) throw new RangeError('Certificate common name must not be empty');
  const signingKey = request.issuer?.privateKey ?? request.subjectPrivateKey;
  if (signingKey === undefined) throw new RangeError('A certificate needs an issuer key or the subject private key');
  const ca = request.ca ?? false;

  const signatureAlgorithm = encodeSequence(encodeOid(OID_ECDSA_WITH_SHA256));
  const keyUsage = ca ? KEY_USAGE_DIGITAL_SIGNATURE | KEY_USAGE_KEY_CERT_SIGN : KEY_USAGE_DIGITAL_SIGNATURE;
  const tbsCertificate = encodeSequence(
    encodeContextConstructed(0, encodeInteger(2n)), // version v3
    encodeTlv(TAG_INTEGER, serialContent),
    signatureAlgorithm,
    encodeName(request.organization, request.issuer?.commonName ?? request.subjectCommonName),
    encodeSequence(encodeTime(request.notBefore), encodeTime(request.notAfter)),
    encodeName(request.organization, request.subjectCommonName),
    request.subjectPublicKey.export({ type: 'spki', format: 'der' }),
    encodeContextConstructed(
      3,
      encodeSequence(
        // cA FALSE is the DEFAULT and so omitted: an empty SEQUENCE.
        encodeExtension(OID_BASIC_CONSTRAINTS, ca, ca ? encodeSequence(encodeBoolean(true)) : encodeSequence()),
        // One byte of bits; the count of unused trailing bits follows from the lowest bit set.
        encodeExtension(OID_KEY_USAGE, true, encodeBitString(Buffer.of(keyUsage), ca ? 2 : 7)),
      ),
    ),
  );
  const signature = sign('sha256', tbsCertificate, signingKey);
  if (request.issuer === undefined && !verify('sha256', tbsCertificate, request.subjectPublicKey, signature)) {
    throw new Error('The private key does not match the public key');
  }
  return encodeSequence(tbsCertificate, signatureAlgorithm, encodeBitString(signature));
}
