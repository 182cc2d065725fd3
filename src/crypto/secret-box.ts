/**
 * Authenticated encryption for data at rest (AES-256-GCM). The associated data binds a ciphertext to the row it
 * belongs to, so a ciphertext copied into another row does not decrypt.
 * @module
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

const VERSION = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** Encrypts `plaintext`; returns base64 of `version ‖ iv ‖ tag ‖ ciphertext`. */
export function seal(key: Buffer, plaintext: string, associatedData: string): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(associatedData, 'utf8'));
  const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return Buffer.concat([Buffer.of(VERSION), iv, cipher.getAuthTag(), ciphertext]).toString('base64');
}

/** Decrypts what {@link seal} produced with the same key and associated data; throws if anything was altered. */
export function open(key: Buffer, sealed: string, associatedData: string): string {
  const bytes = Buffer.from(sealed, 'base64');
  if (bytes[0] !== VERSION) throw new Error('unsupported sealed-box version');
  const iv = bytes.subarray(1, 1 + IV_BYTES);
  const tag = bytes.subarray(1 + IV_BYTES, 1 + IV_BYTES + TAG_BYTES);
  const decipher = createDecipheriv('aes-256-gcm', key, iv);
  decipher.setAAD(Buffer.from(associatedData, 'utf8'));
  decipher.setAuthTag(tag);
  return Buffer.concat([decipher.update(bytes.subarray(1 + IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8');
}
