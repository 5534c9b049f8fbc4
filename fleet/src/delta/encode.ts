/**
 * The delta encoder: a block pass (zero runs, blocks found anywhere in the old
 * image), then for what is left a file pass inside ext4 (bsdiff per paired file,
 * gzip rebuilt from diffed text) or, where cheaper and between files, content
 * matches anywhere in the old image (matcher.ts), then a fallback per block (ADD
 * against the likeliest old block when most bytes agree, LITERAL otherwise). A
 * full image is the same container with zero runs and literals only.
 */
import { createHash } from 'node:crypto';
import { SOURCE_KIND } from '../../../agent/src/formats/index.js';
import { BLOCK_BYTES, indexBlocks, planBlocks, type Region } from './blocks.js';
import { addBytes, type DiffPiece } from './bsdiff.js';
import { ContainerBuilder, type StreamTotals } from './container.js';
import { mapExt4 } from './ext4.js';
import { FileDiffer, type FileSpan, type FileStats } from './files.js';
import { ContentIndex, matchRange, piecesCost } from './matcher.js';

/** Encoder switches (for experiments; defaults are the best measured). */
export interface EncodeOptions {
  /** Diff files inside ext4 images (default true). */
  readonly fileAware?: boolean;
  /** Pair files whose path changed by name without versions and by content (default true; false: same path only). */
  readonly pairing?: boolean;
  /** Diff ARM64 ELF files against their old version with PC-relative references re-aimed (default true). */
  readonly execAware?: boolean;
  /** Match what blocks and files leave against the whole old image by content (default true; false: per-block fallback only). */
  readonly contentMatch?: boolean;
  /** Cap on each segment's decoded streams (tests use small segments to get many). */
  readonly segmentDecodedBytes?: number;
  /** Brotli quality of the segments (default 11, the smallest). */
  readonly brotliQuality?: number;
  /** Called as the new image is encoded: bytes of it done so far, of `totalBytes`. */
  readonly onProgress?: (doneBytes: number, totalBytes: number) => void;
}

/**
 * How the encoder wrote each byte of the new image: zero runs, whole old blocks, file diffs
 * against the same path, against a file paired by name or content, against a predicted old executable
 * (exec.ts), gzip rebuilds, content
 * matches anywhere in the old image, ADD against the old block at the same or shifted offset, literal.
 */
export type Strategy = 'zero' | 'block' | 'file' | 'paired' | 'exec' | 'gzip' | 'match' | 'near' | 'literal';

/** Every strategy, in report order. */
export const STRATEGIES: readonly Strategy[] = ['zero', 'block', 'file', 'paired', 'exec', 'gzip', 'match', 'near', 'literal'];

/** What went into a delta. */
export interface EncodeStats {
  readonly zeroBytes: number;
  readonly copyBytes: number;
  readonly rawBytes: number;
  /** New image bytes written by each strategy (they sum to the image size). */
  readonly strategies: Readonly<Record<Strategy, number>>;
  readonly files: FileStats | undefined;
  readonly streams: StreamTotals;
  readonly segments: number;
  readonly deltaBytes: number;
}

interface Encoding {
  readonly old: Uint8Array;
  readonly neu: Uint8Array;
  readonly out: ContainerBuilder;
  readonly files: FileDiffer | undefined;
  /** The content index, built when first needed (undefined: content matching is off). */
  readonly index: (() => ContentIndex) | undefined;
  readonly sums: Record<Strategy, number>;
}

/** Encode the delta that rebuilds `neu` from `old` (undefined: a full image). */
export function encodeDelta(old: Uint8Array | undefined, neu: Uint8Array, options: EncodeOptions = {}): { delta: Uint8Array; stats: EncodeStats } {
  const base = old ?? new Uint8Array(0);
  const out = new ContainerBuilder(options.segmentDecodedBytes, options.brotliQuality);
  const regions = planBlocks(base, neu, old === undefined ? new Map() : indexBlocks(base));
  const oldMap = old !== undefined && options.fileAware !== false ? mapExt4(base) : undefined;
  const newMap = oldMap !== undefined ? mapExt4(neu) : undefined;
  const files = oldMap !== undefined && newMap !== undefined ? new FileDiffer(base, neu, oldMap, newMap, out, options.pairing !== false, options.execAware !== false) : undefined;
  let index: ContentIndex | undefined;
  const e: Encoding = {
    old: base, neu, out, files, sums: { zero: 0, block: 0, file: 0, paired: 0, exec: 0, gzip: 0, match: 0, near: 0, literal: 0 },
    index: old === undefined || options.contentMatch === false ? undefined : () => (index ??= new ContentIndex(base)),
  };
  const sums = { zero: 0, copy: 0, raw: 0 };
  let hint = -1;
  for (const r of regions) {
    sums[r.kind] += r.lengthBytes;
    if (r.kind === 'zero') { out.zero(r.lengthBytes); e.sums.zero += r.lengthBytes; } else if (r.kind === 'copy') {
      out.setSource(SOURCE_KIND.image, []);
      out.copy(r.oldOffsetBytes, r.lengthBytes);
      e.sums.block += r.lengthBytes;
      hint = r.oldOffsetBytes + r.lengthBytes - r.offsetBytes;
    } else emitRaw(e, r, hint);
    options.onProgress?.(r.offsetBytes + r.lengthBytes, neu.length);
  }
  const delta = out.finish({
    full: old === undefined, baseSizeBytes: base.length, baseSha256: digest(base),
    targetSizeBytes: neu.length, targetSha256: digest(neu),
  });
  const stats = {
    zeroBytes: sums.zero, copyBytes: sums.copy, rawBytes: sums.raw, strategies: e.sums,
    files: files?.stats, streams: out.totals, segments: out.segmentCount, deltaBytes: delta.length,
  };
  return { delta, stats };
}

// New bytes no old block holds: file diffs where a file covers them, content matches between.
function emitRaw(e: Encoding, r: Region, hint: number): void {
  const end = r.offsetBytes + r.lengthBytes;
  let gap = r.offsetBytes;
  for (let at = r.offsetBytes; at < end;) {
    const span = e.files?.span(at, end - at);
    if (span === undefined) { at += Math.min(BLOCK_BYTES - (at % BLOCK_BYTES), end - at); continue; }
    emitGap(e, gap, at, hint);
    emitFile(e, at, span, hint);
    at += span.bytes;
    gap = at;
  }
  emitGap(e, gap, end, hint);
}

// A file diff, unless matching the same bytes against the whole old image is cheaper.
function emitFile(e: Encoding, at: number, span: FileSpan, hint: number): void {
  if (!span.gzip && e.index !== undefined) {
    const pieces = matchRange(e.index(), e.neu, at, at + span.bytes, [hint, 0]);
    if (piecesCost(pieces, e.old, e.neu) < span.cost) { emitImagePieces(e, pieces, hint); return; }
  }
  e.files?.cover(at, span.bytes);
  e.sums[span.gzip ? 'gzip' : span.exec ? 'exec' : span.by === 'path' ? 'file' : 'paired'] += span.bytes;
}

function emitGap(e: Encoding, lo: number, hi: number, hint: number): void {
  if (hi <= lo) return;
  if (e.index === undefined) emitFallback(e, lo, hi, hint);
  else emitImagePieces(e, matchRange(e.index(), e.neu, lo, hi, [hint, 0]), hint);
}

function emitImagePieces(e: Encoding, pieces: readonly DiffPiece[], hint: number): void {
  for (const p of pieces) {
    if (p.kind === 'literal') { emitFallback(e, p.newOffsetBytes, p.newOffsetBytes + p.lengthBytes, hint); continue; }
    const diff = addBytes(e.old, e.neu, p);
    e.out.setSource(SOURCE_KIND.image, []);
    if (diff.every((b) => b === 0)) e.out.copy(p.oldOffsetBytes, p.lengthBytes);
    else e.out.add(p.oldOffsetBytes, diff);
    e.sums.match += p.lengthBytes;
  }
}

function emitFallback(e: Encoding, lo: number, hi: number, hint: number): void {
  for (let at = lo; at < hi;) {
    const n = Math.min(BLOCK_BYTES - (at % BLOCK_BYTES), hi - at);
    e.sums[fallbackBlock(e.old, e.neu, at, n, hint, e.out) ? 'near' : 'literal'] += n;
    at += n;
  }
}

/** One block nothing else covers: ADD against the old block at the same or the neighbours' shifted offset (true), or LITERAL. */
function fallbackBlock(old: Uint8Array, neu: Uint8Array, at: number, n: number, hint: number, out: ContainerBuilder): boolean {
  const block = neu.subarray(at, at + n);
  let best = -1;
  let bestSame = 0;
  for (const candidate of [at + hint, at]) {
    if (hint < -at || candidate < 0 || candidate + n > old.length) continue;
    let same = 0;
    for (let i = 0; i < n; i++) if (old[candidate + i] === block[i]) same++;
    if (same > bestSame) { best = candidate; bestSame = same; }
  }
  if (best >= 0 && bestSame * 2 >= n) {
    const diff = new Uint8Array(n);
    for (let i = 0; i < n; i++) diff[i] = block[i]! - old[best + i]!;
    out.setSource(SOURCE_KIND.image, []);
    out.add(best, diff);
    return true;
  }
  out.literal(block);
  return false;
}

function digest(b: Uint8Array): Uint8Array {
  const h = createHash('sha256');
  for (let at = 0; at < b.length; at += 64 * 1024 * 1024) h.update(b.subarray(at, Math.min(b.length, at + 64 * 1024 * 1024)));
  return h.digest();
}
