/**
 * Gzip members diffed uncompressed: split a member (the header, CRC and size
 * checks of agent/src/delta/gzip's splitGzipMember) and find the level whose
 * deflate (our reusable GNU gzip port in agent/src/formats/delta, which the
 * device runs too) recompresses the inflated text to the very same bytes.
 */
import { splitGzipMember } from '../../../agent/src/delta/gzip/index.js';
import {
  DEFLATE_ENGINE, DELTA_MAX_DEFLATE_BYTES, GzipDeflater, type DeflateParams,
} from '../../../agent/src/formats/index.js';

// Tried in this order: gzip -9 (dh_compress, most Debian files) first, then gzip's default.
const LEVELS = [9, 6, 8, 7, 5, 4];

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

/** How to rebuild `file` (one gzip member), or undefined when it is not gzip or no level reproduces it. */
export function findGzipRebuild(file: Uint8Array, deflater = new GzipDeflater()): GzipRebuild | undefined {
  const parts = splitGzipMember(file, DELTA_MAX_DEFLATE_BYTES);
  if (parts === undefined) return undefined;
  const bodyEnd = parts.headerBytes.length + parts.deflateSizeBytes;
  const body = file.subarray(parts.headerBytes.length, bodyEnd);
  for (const level of LEVELS) {
    const out = deflater.deflate(parts.raw, level);
    if (out.length === body.length && Buffer.compare(out, body) === 0) {
      return {
        head: parts.headerBytes, text: parts.raw, params: { engine: DEFLATE_ENGINE.gzip, level },
        deflatedSizeBytes: parts.deflateSizeBytes, tail: file.subarray(bodyEnd),
      };
    }
  }
  return undefined;
}
