/**
 * The gzip member header (RFC 1952): parse one, and build the one GNU gzip
 * writes. `gzip -n -9` writes 1f 8b 08 00, mtime 0, xfl 2 (4 for -1, 0 for
 * the other levels), os 3 (Unix); without -n it adds the mtime and the name.
 */
import { crc32 } from '../../checksum/index.js';

const ID1 = 0x1f;
const ID2 = 0x8b;
const CM_DEFLATE = 8;
/** FLG bits (RFC 1952 2.3.1). */
export const FTEXT = 0x01;
export const FHCRC = 0x02;
export const FEXTRA = 0x04;
export const FNAME = 0x08;
export const FCOMMENT = 0x10;
const FRESERVED = 0xe0;
/** OS byte gzip writes on Unix. */
export const OS_UNIX = 3;

/** The fields of a gzip header. */
export interface GzipHeaderFields {
  /** MTIME, seconds since the epoch; 0 means none (`gzip -n`). */
  readonly mtimeSec?: number;
  /** XFL; defaults to what gzip writes for the level: 4 for -1, 2 for -9, else 0. */
  readonly extraFlags?: number;
  /** OS; defaults to 3 (Unix). */
  readonly os?: number;
  /** FTEXT set. */
  readonly text?: boolean;
  /** FEXTRA payload (without its length). */
  readonly extra?: Uint8Array;
  /** FNAME, without the terminating zero. */
  readonly name?: Uint8Array;
  /** FCOMMENT, without the terminating zero. */
  readonly comment?: Uint8Array;
  /** Add FHCRC (low 16 bits of the CRC-32 of the header before it). */
  readonly headerCrc?: boolean;
}

/** A parsed header: its fields and its size in bytes. */
export interface ParsedGzipHeader {
  readonly fields: GzipHeaderFields;
  readonly flags: number;
  readonly sizeBytes: number;
}

/** XFL that gzip writes for `level` (deflate.c lm_init: FAST = 4 for -1, SLOW = 2 for -9). */
export function gzipExtraFlags(level: number): number {
  if (level === 1) return 4;
  return level === 9 ? 2 : 0;
}

/** Header bytes for `fields`, with gzip's defaults for `level`. */
export function buildGzipHeader(fields: GzipHeaderFields, level: number): Uint8Array {
  const parts: number[] = [];
  let flags = fields.text === true ? FTEXT : 0;
  if (fields.headerCrc === true) flags |= FHCRC;
  if (fields.extra !== undefined) flags |= FEXTRA;
  if (fields.name !== undefined) flags |= FNAME;
  if (fields.comment !== undefined) flags |= FCOMMENT;
  const mtime = fields.mtimeSec ?? 0;
  parts.push(ID1, ID2, CM_DEFLATE, flags, mtime & 0xff, (mtime >>> 8) & 0xff, (mtime >>> 16) & 0xff, (mtime >>> 24) & 0xff);
  parts.push(fields.extraFlags ?? gzipExtraFlags(level), fields.os ?? OS_UNIX);
  if (fields.extra !== undefined) {
    if (fields.extra.length > 0xffff) throw new RangeError(`gzip FEXTRA of ${fields.extra.length} bytes exceeds 65535`);
    parts.push(fields.extra.length & 0xff, fields.extra.length >>> 8, ...fields.extra);
  }
  for (const text of [fields.name, fields.comment]) {
    if (text === undefined) continue;
    if (text.includes(0)) throw new RangeError('gzip FNAME/FCOMMENT must not contain a zero byte');
    parts.push(...text, 0);
  }
  if (fields.headerCrc === true) {
    const crc = crc32(Uint8Array.from(parts));
    parts.push(crc & 0xff, (crc >>> 8) & 0xff);
  }
  return Uint8Array.from(parts);
}

function zeroTerminated(bytes: Uint8Array, at: number): number | undefined {
  const end = bytes.indexOf(0, at);
  return end < 0 ? undefined : end;
}

/** Parse the header at the start of `bytes`; undefined when it is not a complete, valid deflate gzip header. */
export function parseGzipHeader(bytes: Uint8Array): ParsedGzipHeader | undefined {
  if (bytes.length < 10 || bytes[0] !== ID1 || bytes[1] !== ID2 || bytes[2] !== CM_DEFLATE) return undefined;
  const flags = bytes[3]!;
  if ((flags & FRESERVED) !== 0) return undefined;
  const mtimeSec = (bytes[4]! | (bytes[5]! << 8) | (bytes[6]! << 16) | (bytes[7]! << 24)) >>> 0;
  let at = 10;
  let extra: Uint8Array | undefined;
  if (flags & FEXTRA) {
    if (at + 2 > bytes.length) return undefined;
    const xlen = bytes[at]! | (bytes[at + 1]! << 8);
    if (at + 2 + xlen > bytes.length) return undefined;
    extra = bytes.slice(at + 2, at + 2 + xlen);
    at += 2 + xlen;
  }
  const texts: (Uint8Array | undefined)[] = [];
  for (const bit of [FNAME, FCOMMENT]) {
    if ((flags & bit) === 0) { texts.push(undefined); continue; }
    const end = zeroTerminated(bytes, at);
    if (end === undefined) return undefined;
    texts.push(bytes.slice(at, end));
    at = end + 1;
  }
  if (flags & FHCRC) {
    if (at + 2 > bytes.length) return undefined;
    at += 2;
  }
  const [name, comment] = texts;
  const fields: GzipHeaderFields = {
    mtimeSec, extraFlags: bytes[8]!, os: bytes[9]!, text: (flags & FTEXT) !== 0, headerCrc: (flags & FHCRC) !== 0,
    ...(extra === undefined ? {} : { extra }), ...(name === undefined ? {} : { name }), ...(comment === undefined ? {} : { comment }),
  };
  return { fields, flags, sizeBytes: at };
}
