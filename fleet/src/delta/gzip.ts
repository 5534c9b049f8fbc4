/**
 * Gzip members diffed uncompressed: find the level at which our GNU gzip port
 * (agent/src/delta/gzip, which the device runs too) recompresses a member's
 * inflated text to the very same deflate stream (detectGzip, with its header,
 * CRC and size checks).
 */
import { detectGzip, DETECT_LEVELS, GzipCompressor } from '../../../agent/src/delta/gzip/index.js';
import { DEFLATE_ENGINE, DELTA_MAX_DEFLATE_BYTES, type DeflateParams } from '../../../agent/src/formats/index.js';

/** A gzip file whose deflate stream the device can rebuild bit-exactly. */
export interface GzipRebuild {
  /** Bytes before the deflate stream (gzip header). */
  readonly head: Uint8Array;
  /** The inflated content. */
  readonly text: Uint8Array;
  readonly params: DeflateParams;
  readonly deflatedSizeBytes: number;
  /** Bytes after the deflate stream (CRC-32 and size). */
  readonly tail: Uint8Array;
}

/**
 * How to rebuild `file` (one gzip member), or undefined when it is not gzip or
 * no level 1..9 reproduces it. Pass `compressor` to reuse one across files.
 */
export function findGzipRebuild(file: Uint8Array, compressor = new GzipCompressor()): GzipRebuild | undefined {
  const found = detectGzip(file, { maxRawBytes: DELTA_MAX_DEFLATE_BYTES, levels: DETECT_LEVELS, compressor });
  if (found === undefined) return undefined;
  const bodyEnd = found.headerBytes.length + found.deflateSizeBytes;
  return {
    head: found.headerBytes, text: found.raw, params: { engine: DEFLATE_ENGINE.gzip, level: found.level },
    deflatedSizeBytes: found.deflateSizeBytes, tail: file.subarray(bodyEnd),
  };
}
