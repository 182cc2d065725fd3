/**
 * The small part of ASN.1 DER that TR-03151 log messages and a self-signed X.509 certificate need: encoders for the
 * few universal types used, context-specific tags, and a reader that walks TLVs. The reader also accepts the BER
 * indefinite-length form (`A2 80 … 00 00`) because certified TSEs emit it for `processData`.
 * @module
 */

export const TAG_BOOLEAN = 0x01;
export const TAG_INTEGER = 0x02;
export const TAG_BIT_STRING = 0x03;
export const TAG_OCTET_STRING = 0x04;
export const TAG_NULL = 0x05;
export const TAG_OID = 0x06;
export const TAG_UTF8_STRING = 0x0c;
export const TAG_PRINTABLE_STRING = 0x13;
export const TAG_UTC_TIME = 0x17;
export const TAG_GENERALIZED_TIME = 0x18;
export const TAG_SEQUENCE = 0x30;
export const TAG_SET = 0x31;

const CLASS_CONTEXT = 0x80;
const CONSTRUCTED = 0x20;
// Low-tag-number form only: numbers 0–30 fit in the identifier byte, which covers every tag used here.
const MAX_LOW_TAG_NUMBER = 30;
// Nesting in these formats is shallow; the limit only keeps hostile input from exhausting the stack.
const MAX_DEPTH = 32;

/** The definite length octets for `length`: short form below 128, long form above. */
export function encodeLength(length: number): Buffer {
  if (!Number.isSafeInteger(length) || length < 0) throw new RangeError(`Invalid DER length: ${length}`);
  if (length < 0x80) return Buffer.of(length);
  const bytes: number[] = [];
  for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest % 256);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/** One TLV: identifier byte `tag`, definite length, `content`. */
export function encodeTlv(tag: number, content: Buffer): Buffer {
  if (!Number.isInteger(tag) || tag < 0 || tag > 0xff || (tag & 0x1f) === 0x1f) {
    throw new RangeError(`Unsupported DER tag: ${tag}`);
  }
  return Buffer.concat([Buffer.of(tag), encodeLength(content.length), content]);
}

/** The content octets of an INTEGER: minimal two's complement, big-endian (`0n` → `00`, `128n` → `00 80`). */
export function integerContent(value: bigint): Buffer {
  const bytes: number[] = [];
  let rest = value;
  for (;;) {
    const byte = Number(BigInt.asUintN(8, rest));
    bytes.unshift(byte);
    rest >>= 8n;
    // Done when the remaining bits are pure sign extension of the byte just written.
    if ((rest === 0n && (byte & 0x80) === 0) || (rest === -1n && (byte & 0x80) !== 0)) break;
  }
  return Buffer.from(bytes);
}

/** INTEGER from a bigint. */
export function encodeInteger(value: bigint): Buffer {
  return encodeTlv(TAG_INTEGER, integerContent(value));
}

/** INTEGER whose value is the unsigned big-endian number in `magnitude` (leading zeros dropped, sign byte added). */
export function encodeUnsignedInteger(magnitude: Buffer): Buffer {
  return encodeTlv(TAG_INTEGER, unsignedIntegerContent(magnitude));
}

/** The content octets of a non-negative INTEGER given as unsigned big-endian bytes. */
export function unsignedIntegerContent(magnitude: Buffer): Buffer {
  let start = 0;
  while (start < magnitude.length - 1 && magnitude[start] === 0) start++;
  const trimmed = magnitude.subarray(start);
  if (trimmed.length === 0) return Buffer.of(0);
  return (trimmed[0] ?? 0) & 0x80 ? Buffer.concat([Buffer.of(0), trimmed]) : Buffer.from(trimmed);
}

/** Reads INTEGER content octets as a two's-complement bigint; rejects empty and non-minimal encodings. */
export function decodeInteger(content: Buffer): bigint {
  const first = content[0];
  const second = content[1];
  if (first === undefined) throw new Error('DER INTEGER has no content octets');
  if (second !== undefined && ((first === 0x00 && !(second & 0x80)) || (first === 0xff && second & 0x80))) {
    throw new Error('DER INTEGER is not minimally encoded');
  }
  let value = 0n;
  for (const byte of content) value = (value << 8n) | BigInt(byte);
  return first & 0x80 ? value - (1n << BigInt(content.length * 8)) : value;
}

const OID_PATTERN = /^(0|[1-9]\d*)(\.(0|[1-9]\d*))+$/;

/** The content octets of an OBJECT IDENTIFIER in dotted notation (`'1.2.840.10045.2.1'`). */
export function oidContent(dotted: string): Buffer {
  if (!OID_PATTERN.test(dotted)) throw new Error(`Not a dotted object identifier: ${JSON.stringify(dotted)}`);
  const arcs = dotted.split('.').map((arc) => BigInt(arc));
  const [first = 0n, second = 0n, ...rest] = arcs;
  if (first > 2n || (first < 2n && second > 39n)) throw new Error(`Invalid object identifier: ${dotted}`);
  const bytes: number[] = [];
  for (const arc of [first * 40n + second, ...rest]) {
    const group: number[] = [Number(arc & 0x7fn)];
    for (let v = arc >> 7n; v > 0n; v >>= 7n) group.unshift(Number(v & 0x7fn) | 0x80);
    bytes.push(...group);
  }
  return Buffer.from(bytes);
}

/** OBJECT IDENTIFIER from dotted notation. */
export function encodeOid(dotted: string): Buffer {
  return encodeTlv(TAG_OID, oidContent(dotted));
}

/** Reads OBJECT IDENTIFIER content octets back to dotted notation. */
export function decodeOid(content: Buffer): string {
  if (content.length === 0) throw new Error('DER OBJECT IDENTIFIER has no content octets');
  const arcs: bigint[] = [];
  let value = 0n;
  let fresh = true;
  for (const byte of content) {
    if (fresh && byte === 0x80) throw new Error('DER OBJECT IDENTIFIER arc is not minimally encoded');
    value = (value << 7n) | BigInt(byte & 0x7f);
    fresh = !(byte & 0x80);
    if (fresh) {
      arcs.push(value);
      value = 0n;
    }
  }
  if (!fresh) throw new Error('DER OBJECT IDENTIFIER ends inside an arc');
  const [head = 0n, ...rest] = arcs;
  const first = head < 80n ? head / 40n : 2n;
  return [first, head - first * 40n, ...rest].join('.');
}

/** OCTET STRING. */
export function encodeOctetString(bytes: Buffer): Buffer {
  return encodeTlv(TAG_OCTET_STRING, bytes);
}

// X.680 PrintableString: letters, digits, space and ' ( ) + , - . / : = ?
const PRINTABLE = /^[A-Za-z0-9 '()+,\-./:=?]*$/;

/** True when `text` may be written as a PrintableString. */
export function isPrintableString(text: string): boolean {
  return PRINTABLE.test(text);
}

/** The content octets of a PrintableString; throws for characters outside its repertoire. */
export function printableStringContent(text: string): Buffer {
  if (!isPrintableString(text)) throw new Error(`Not a PrintableString: ${JSON.stringify(text)}`);
  return Buffer.from(text, 'latin1');
}

/** PrintableString. */
export function encodePrintableString(text: string): Buffer {
  return encodeTlv(TAG_PRINTABLE_STRING, printableStringContent(text));
}

/** UTF8String. */
export function encodeUtf8String(text: string): Buffer {
  return encodeTlv(TAG_UTF8_STRING, Buffer.from(text, 'utf8'));
}

/** BOOLEAN (DER: TRUE is `FF`). */
export function encodeBoolean(value: boolean): Buffer {
  return encodeTlv(TAG_BOOLEAN, Buffer.of(value ? 0xff : 0x00));
}

/** BIT STRING over whole bytes, or with `unusedBits` trailing bits of the last byte unused. */
export function encodeBitString(bytes: Buffer, unusedBits = 0): Buffer {
  if (!Number.isInteger(unusedBits) || unusedBits < 0 || unusedBits > 7 || (unusedBits > 0 && bytes.length === 0)) {
    throw new RangeError(`Invalid number of unused bits: ${unusedBits}`);
  }
  return encodeTlv(TAG_BIT_STRING, Buffer.concat([Buffer.of(unusedBits), bytes]));
}

/** SEQUENCE of already encoded elements. */
export function encodeSequence(...elements: Buffer[]): Buffer {
  return encodeTlv(TAG_SEQUENCE, Buffer.concat(elements));
}

/** SET of already encoded elements, in the order given (callers pass single-element sets or pre-sorted ones). */
export function encodeSet(...elements: Buffer[]): Buffer {
  return encodeTlv(TAG_SET, Buffer.concat(elements));
}

function contextTag(tagNumber: number, constructed: boolean): number {
  if (!Number.isInteger(tagNumber) || tagNumber < 0 || tagNumber > MAX_LOW_TAG_NUMBER) {
    throw new RangeError(`Unsupported context tag number: ${tagNumber}`);
  }
  return CLASS_CONTEXT | (constructed ? CONSTRUCTED : 0) | tagNumber;
}

/** `[n] IMPLICIT` of a primitive type: the given content octets under tag `8n`. */
export function encodeContextPrimitive(tagNumber: number, content: Buffer): Buffer {
  return encodeTlv(contextTag(tagNumber, false), content);
}

/** `[n]` constructed (an EXPLICIT tag, or IMPLICIT of a constructed type): the given elements under tag `An`. */
export function encodeContextConstructed(tagNumber: number, ...elements: Buffer[]): Buffer {
  return encodeTlv(contextTag(tagNumber, true), Buffer.concat(elements));
}

function twoDigits(n: number): string {
  return String(n).padStart(2, '0');
}

/** UTCTime `YYMMDDhhmmssZ`; only years 1950–2049 are representable. Sub-second parts are dropped. */
export function encodeUtcTime(date: Date): Buffer {
  const year = date.getUTCFullYear();
  if (year < 1950 || year > 2049) throw new RangeError(`UTCTime cannot hold the year ${year}`);
  return encodeTlv(TAG_UTC_TIME, Buffer.from(`${twoDigits(year % 100)}${timeOfYear(date)}Z`, 'latin1'));
}

/** GeneralizedTime `YYYYMMDDhhmmssZ`. Sub-second parts are dropped. */
export function encodeGeneralizedTime(date: Date): Buffer {
  const year = date.getUTCFullYear();
  if (year < 0 || year > 9999) throw new RangeError(`GeneralizedTime cannot hold the year ${year}`);
  return encodeTlv(TAG_GENERALIZED_TIME, Buffer.from(`${String(year).padStart(4, '0')}${timeOfYear(date)}Z`, 'latin1'));
}

function timeOfYear(date: Date): string {
  if (Number.isNaN(date.getTime())) throw new RangeError('Invalid date');
  return [date.getUTCMonth() + 1, date.getUTCDate(), date.getUTCHours(), date.getUTCMinutes(), date.getUTCSeconds()]
    .map(twoDigits)
    .join('');
}

/** One TLV found by the reader. Offsets are into the buffer it was read from. */
export interface DerElement {
  /** The identifier byte, e.g. `0x30` for SEQUENCE, `0x82` for primitive `[2]`, `0xa2` for constructed `[2]`. */
  readonly tag: number;
  readonly tagClass: 'universal' | 'application' | 'context' | 'private';
  readonly constructed: boolean;
  readonly tagNumber: number;
  /** True for the BER indefinite-length form, which ends with the end-of-contents octets `00 00`. */
  readonly indefinite: boolean;
  /** The whole TLV exactly as it appears in the input (for an indefinite form: up to and including `00 00`). */
  readonly raw: Buffer;
  /** The content octets (for an indefinite form: without the end-of-contents octets). */
  readonly content: Buffer;
  readonly start: number;
  readonly end: number;
}

const TAG_CLASSES = ['universal', 'application', 'context', 'private'] as const;

/** Reads the TLV that starts at `offset`; throws a descriptive error for truncated or malformed input. */
export function readElement(input: Buffer, offset = 0): DerElement {
  return readAt(input, offset, 0);
}

function readAt(input: Buffer, offset: number, depth: number): DerElement {
  if (depth > MAX_DEPTH) throw new Error('DER nesting too deep');
  const tag = input[offset];
  if (tag === undefined) throw new Error(`DER element expected at offset ${offset}, input ends`);
  if ((tag & 0x1f) === 0x1f) throw new Error(`DER high tag numbers are not supported (offset ${offset})`);
  const firstLength = input[offset + 1];
  if (firstLength === undefined) throw new Error(`DER length missing at offset ${offset + 1}`);
  const constructed = (tag & CONSTRUCTED) !== 0;
  const tagClass = TAG_CLASSES[tag >> 6] ?? 'universal';
  const tagNumber = tag & 0x1f;

  if (firstLength === 0x80) {
    if (!constructed) throw new Error(`DER indefinite length on a primitive element (offset ${offset})`);
    const contentStart = offset + 2;
    const contentEnd = endOfContents(input, offset, contentStart, tagClass === 'context', depth);
    const end = contentEnd + 2;
    return {
      tag,
      tagClass,
      constructed,
      tagNumber,
      indefinite: true,
      raw: input.subarray(offset, end),
      content: input.subarray(contentStart, contentEnd),
      start: offset,
      end,
    };
  }

  let length: number;
  let contentStart: number;
  if (firstLength < 0x80) {
    length = firstLength;
    contentStart = offset + 2;
  } else {
    const count = firstLength & 0x7f;
    if (count > 4) throw new Error(`DER length too large at offset ${offset + 1}`);
    const lengthBytes = input.subarray(offset + 2, offset + 2 + count);
    if (lengthBytes.length !== count) throw new Error(`DER length truncated at offset ${offset + 1}`);
    length = lengthBytes.readUIntBE(0, count);
    contentStart = offset + 2 + count;
  }
  const end = contentStart + length;
  if (end > input.length) {
    throw new Error(
      `DER element at offset ${offset} claims ${length} content bytes, only ${input.length - contentStart} left`,
    );
  }
  return {
    tag,
    tagClass,
    constructed,
    tagNumber,
    indefinite: false,
    raw: input.subarray(offset, end),
    content: input.subarray(contentStart, end),
    start: offset,
    end,
  };
}

/**
 * Where the content of an indefinite-length element ends (the offset of its `00 00`). The content is normally a
 * series of TLVs; for a context-specific element whose content is not (some encoders put raw bytes there), the first
 * `00 00` ends it.
 */
function endOfContents(
  input: Buffer,
  offset: number,
  contentStart: number,
  rawAllowed: boolean,
  depth: number,
): number {
  let cursor = contentStart;
  try {
    for (;;) {
      if (input[cursor] === 0x00 && input[cursor + 1] === 0x00) return cursor;
      if (cursor >= input.length) throw new Error(`DER indefinite-length element at offset ${offset} has no end`);
      cursor = readAt(input, cursor, depth + 1).end;
    }
  } catch (error) {
    if (!rawAllowed) throw error;
    for (let i = contentStart; i + 1 < input.length; i++) {
      if (input[i] === 0x00 && input[i + 1] === 0x00) return i;
    }
    throw new Error(`DER indefinite-length element at offset ${offset} has no end`, { cause: error });
  }
}

/** Reads consecutive TLVs that must fill `input` exactly (e.g. the content of a SEQUENCE). */
export function readElements(input: Buffer): DerElement[] {
  const elements: DerElement[] = [];
  for (let offset = 0; offset < input.length;) {
    const element = readAt(input, offset, 0);
    elements.push(element);
    offset = element.end;
  }
  return elements;
}

/** The children of a constructed element. */
export function childrenOf(element: DerElement): DerElement[] {
  if (!element.constructed) throw new Error(`DER element with tag 0x${hexByte(element.tag)} is not constructed`);
  return readElements(element.content);
}

/**
 * The octets an (implicitly tagged) OCTET STRING carries, whatever form it was sent in: a primitive element's content,
 * or for a constructed one the concatenated chunks when all children are OCTET STRINGs (BER segmentation), else
 * its raw content bytes (also when those are not TLVs at all).
 */
export function octetsOf(element: DerElement): Buffer {
  if (!element.constructed) return element.content;
  let chunks: DerElement[];
  try {
    chunks = childrenOf(element);
  } catch {
    return element.content;
  }
  if (chunks.every((chunk) => chunk.tag === TAG_OCTET_STRING || chunk.tag === (TAG_OCTET_STRING | CONSTRUCTED))) {
    return Buffer.concat(chunks.map(octetsOf));
  }
  return element.content;
}

/** The identifier byte as two lower-case hex digits (`0x82` → `'82'`). */
export function hexByte(byte: number): string {
  return byte.toString(16).padStart(2, '0');
}
