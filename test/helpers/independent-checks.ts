/**
 * Checks that share no code with the signer or the archive writer: TAR reading with tar-stream, and ECDSA
 * verification by the `openssl` command line, fed a DER signature built here by hand from the plain r‖s.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { extract } from 'tar-stream';

/** The members of a TAR archive, in archive order. */
export async function readTarEntries(archive: Buffer): Promise<Array<{ name: string; content: Buffer }>> {
  const reader = extract();
  const entries: Array<{ name: string; content: Buffer }> = [];
  const read = (async () => {
    for await (const entry of reader) {
      const chunks: Buffer[] = [];
      for await (const chunk of entry as AsyncIterable<Buffer>) chunks.push(chunk);
      entries.push({ name: entry.header.name, content: Buffer.concat(chunks) });
    }
  })();
  reader.end(archive);
  await read;
  return entries;
}

/** r‖s (P-256, 64 bytes) → DER ECDSA-Sig-Value, as openssl expects it. */
export function ecdsaSigValue(plain: Buffer): Buffer {
  const integer = (bytes: Buffer) => {
    let start = 0;
    while (start < bytes.length - 1 && bytes[start] === 0) start++;
    let body = bytes.subarray(start);
    if ((body[0] ?? 0) & 0x80) body = Buffer.concat([Buffer.of(0), body]);
    return Buffer.concat([Buffer.of(0x02, body.length), body]);
  };
  const body = Buffer.concat([integer(plain.subarray(0, 32)), integer(plain.subarray(32))]);
  return Buffer.concat([Buffer.of(0x30, body.length), body]);
}

/**
 * `openssl dgst -sha256 -verify` of a plain r‖s signature over `data`; returns openssl's answer (trimmed),
 * `Verified OK` when it holds. Writes its inputs as `<name>.dtbs` / `<name>.sig` into `workDir`.
 */
export function opensslVerify(
  workDir: string,
  publicKeyPem: string,
  data: Buffer,
  plainSignature: Buffer,
  name = 'check',
): string {
  const dataFile = join(workDir, `${name}.dtbs`);
  const signatureFile = join(workDir, `${name}.sig`);
  writeFileSync(dataFile, data);
  writeFileSync(signatureFile, ecdsaSigValue(plainSignature));
  return execFileSync('openssl', ['dgst', '-sha256', '-verify', publicKeyPem, '-signature', signatureFile, dataFile], {
    encoding: 'utf8',
  }).trim();
}
