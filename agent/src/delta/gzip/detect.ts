/**
 * Which gzip level (and header) reproduces a .gz file bit-exactly with our
 * port: parse the header, inflate with node:zlib, check the trailer, then
 * recompress at each level until one matches the original deflate body.
 */
import * as zlib from 'node:zlib';
import { crc32 } from '../../checksum/index.js';
import { GzipCompressor } from './api.js';
import { parseGzipHeader } from './header.js';

/** Levels tried, most likely first: dh_compress uses -9, gzip's default is -6. */
export const DETECT_LEVELS: readonly number[] = [9, 6, 1, 2, 3, 4, 5, 7, 8];
const DEFAULT_MAX_RAW_BYTES = 64 * 1024 * 1024;

/** A gzip file our port rebuilds bit-exactly with `gzipMember(raw, { level, header: headerBytes })`. */
export interface GzipDetection extends GzipMemberParts {
  /** A gzip level that writes this exact deflate body (two levels may write the same one). */
  readonly level: number;
  readonly rawSizeBytes: number;
}

/** Limits for `detectGzip`. */
export interface DetectOptions {
  /** Give up on members that inflate to more than this (default 64 MiB). */
  readonly maxRawBytes?: number | undefined;
  /** Levels to try, in order (default DETECT_LEVELS). */
  readonly levels?: readonly number[];
  /** Compressor to reuse across calls (default: a fresh one for this call). */
  readonly compressor?: GzipCompressor;
}

/** One gzip member taken apart: its header verbatim, its content, the size of its deflate body. */
export interface GzipMemberParts {
  readonly headerBytes: Uint8Array;
  readonly raw: Uint8Array;
  readonly deflateSizeBytes: number;
}

/**
 * Take a single-member gzip file apart (header, inflated content), checking its
 * CRC-32 and ISIZE; undefined when it is not exactly one valid member
 * (multi-member, trailing bytes, truncated, corrupt) or inflates past `maxRawBytes`.
 */
export function splitGzipMember(file: Uint8Array, maxRawBytes = DEFAULT_MAX_RAW_BYTES): GzipMemberParts | undefined {
  const header = parseGzipHeader(file);
  if (header === undefined) return undefined;
  const inflated = inflateBody(file.subarray(header.sizeBytes), maxRawBytes);
  if (inflated === undefined) return undefined;
  const { raw, usedBytes } = inflated;
  const trailerAt = header.sizeBytes + usedBytes;
  if (file.length !== trailerAt + 8) return undefined;
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  if (view.getUint32(trailerAt, true) !== crc32(raw) || view.getUint32(trailerAt + 4, true) !== (raw.length >>> 0)) return undefined;
  return { headerBytes: file.slice(0, header.sizeBytes), raw, deflateSizeBytes: usedBytes };
}

/**
 * How to rebuild `file`, or undefined when it is not exactly one valid gzip
 * member (see splitGzipMember) or no level reproduces its deflate body.
 */
export function detectGzip(file: Uint8Array, options: DetectOptions = {}): GzipDetection | undefined {
  const parts = splitGzipMember(file, options.maxRawBytes);
  if (parts === undefined) return undefined;
  const bodyAt = parts.headerBytes.length;
  const body = file.subarray(bodyAt, bodyAt + parts.deflateSizeBytes);
  const compressor = options.compressor ?? new GzipCompressor();
  for (const level of options.levels ?? DETECT_LEVELS) {
    if (sameBytes(compressor.deflate(parts.raw, level), body)) return { ...parts, level, rawSizeBytes: parts.raw.length };
  }
  return undefined;
}

function inflateBody(stream: Uint8Array, maxRawBytes: number): { raw: Uint8Array; usedBytes: number } | undefined {
  try {
    const result: unknown = zlib.inflateRawSync(stream, { info: true, maxOutputLength: maxRawBytes });
    // With `info`, Node returns the buffer and the engine, whose bytesWritten is the input consumed.
    if (typeof result !== 'object' || result === null || !('buffer' in result) || !('engine' in result)) return undefined;
    const { buffer, engine } = result;
    if (!(buffer instanceof Uint8Array) || typeof engine !== 'object' || engine === null || !('bytesWritten' in engine)) return undefined;
    const used = engine.bytesWritten;
    return typeof used === 'number' ? { raw: buffer, usedBytes: used } : undefined;
  } catch {
    return undefined;
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}
