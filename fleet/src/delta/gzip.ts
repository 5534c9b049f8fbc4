/**
 * Gzip members diffed uncompressed: find the level at which our GNU gzip port
 * (agent/src/delta/gzip, which the device runs too) recompresses a member's
 * inflated text to the very same deflate stream (detectGzip, with its header,
 * CRC and size checks).
 */
import { detectGzip, DETECT_LEVELS, GzipCompressor } from '../../../agent/src/delta/gzip/index.js';
import type { DiffPiece } from './bsdiff.js';
import { DEFLATE_ENGINE, DELTA_GUNZIP_WINDOW_BYTES, DELTA_MAX_SEGMENT_GZIP_BYTES, type DeflateParams } from '../../../agent/src/formats/index.js';

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
  const found = detectGzip(file, { maxRawBytes: DELTA_MAX_SEGMENT_GZIP_BYTES, levels: DETECT_LEVELS, compressor });
  if (found === undefined) return undefined;
  const bodyEnd = found.headerBytes.length + found.deflateSizeBytes;
  return {
    head: found.headerBytes, text: found.raw, params: { engine: DEFLATE_ENGINE.gzip, level: found.level },
    deflatedSizeBytes: found.deflateSizeBytes, tail: file.subarray(bodyEnd),
  };
}

/**
 * How many times the decoder may inflate a gzip source whose text is read at `reads` (offset and
 * length, in op order): it keeps DELTA_GUNZIP_WINDOW_BYTES behind the furthest read since it last
 * started, and starts again from the top for a read further back (agent/src/delta/gunzip.ts). An upper
 * bound (the decoder keeps a little more), so the segment's gzip work charged with it is never short.
 */
export function gunzipInflations(reads: Iterable<{ readonly offsetBytes: number; readonly lengthBytes: number }>): number {
  let inflations = 0;
  let furthest = 0;
  for (const r of reads) {
    if (r.lengthBytes === 0) continue;
    if (inflations === 0 || r.offsetBytes < furthest - DELTA_GUNZIP_WINDOW_BYTES) {
      inflations++;
      furthest = 0;
    }
    furthest = Math.max(furthest, r.offsetBytes + r.lengthBytes);
  }
  return inflations;
}

/** ADD pieces shorter than this become literal: their op costs about what their bytes do. */
const MIN_ADD_BYTES = 16;

/**
 * `pieces` (a diff against a gzip member's old text) rewritten so that the decoder inflates the old
 * text once: of the ADD pieces, the heaviest set whose old offsets rise in new-text order is kept
 * (a weighted longest increasing subsequence: bsdiff also finds short matches anywhere in a text,
 * a repeated signature line, that would send the decoder back), then any that still reads further
 * back than DELTA_GUNZIP_WINDOW_BYTES behind the furthest read, or is too short to pay for its op,
 * becomes literal; neighbouring literals merge.
 */
export function forwardPieces(pieces: readonly DiffPiece[]): DiffPiece[] {
  const rising = risingAdds(pieces);
  const out: DiffPiece[] = [];
  let furthest = 0;
  pieces.forEach((p, i) => {
    if (p.kind === 'add' && rising.has(i) && p.lengthBytes >= MIN_ADD_BYTES && p.oldOffsetBytes >= furthest - DELTA_GUNZIP_WINDOW_BYTES) {
      out.push(p);
      furthest = Math.max(furthest, p.oldOffsetBytes + p.lengthBytes);
      return;
    }
    const last = out[out.length - 1];
    if (last?.kind === 'literal' && last.newOffsetBytes + last.lengthBytes === p.newOffsetBytes) {
      out[out.length - 1] = { kind: 'literal', newOffsetBytes: last.newOffsetBytes, lengthBytes: last.lengthBytes + p.lengthBytes };
    } else {
      out.push({ kind: 'literal', newOffsetBytes: p.newOffsetBytes, lengthBytes: p.lengthBytes });
    }
  });
  return out;
}

// Indexes of the ADD pieces in the heaviest (by length) subsequence with non-decreasing old offsets:
// a Fenwick tree of prefix maxima over the offsets' ranks, O(n log n).
function risingAdds(pieces: readonly DiffPiece[]): Set<number> {
  const adds = pieces.flatMap((p, i) => p.kind === 'add' && p.lengthBytes >= MIN_ADD_BYTES ? [{ i, off: p.oldOffsetBytes, w: p.lengthBytes }] : []);
  const ranks = [...new Set(adds.map((a) => a.off))].sort((x, y) => x - y);
  const rankOf = new Map(ranks.map((o, r) => [o, r + 1]));
  const treeBest = new Float64Array(ranks.length + 1);
  const treeAt = new Int32Array(ranks.length + 1).fill(-1);
  const best = new Float64Array(adds.length);
  const back = new Int32Array(adds.length).fill(-1);
  adds.forEach((a, k) => {
    const r = rankOf.get(a.off) ?? 0;
    let top = 0;
    let from = -1;
    for (let j = r; j > 0; j -= j & -j) if (treeBest[j]! > top) { top = treeBest[j]!; from = treeAt[j]!; }
    best[k] = top + a.w;
    back[k] = from;
    for (let j = r; j <= ranks.length; j += j & -j) if (best[k]! > treeBest[j]!) { treeBest[j] = best[k]!; treeAt[j] = k; }
  });
  let k = best.reduce((arg, v, i) => v > (best[arg] ?? 0) ? i : arg, 0);
  const kept = new Set<number>();
  for (; k >= 0 && adds[k] !== undefined; k = back[k]!) kept.add(adds[k]!.i);
  return kept;
}
