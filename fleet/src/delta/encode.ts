/**
 * The delta encoder: a block pass (zero runs, blocks found anywhere in the old
 * image), then for what is left a file pass inside ext4 (bsdiff per file, gzip
 * rebuilt from diffed text), then a fallback per block (ADD against the likeliest
 * old block when most bytes agree, LITERAL otherwise). A full image is the same
 * container with zero runs and literals only.
 */
import { createHash } from 'node:crypto';
import { SOURCE_KIND } from '../../../agent/src/formats/index.js';
import { BLOCK_BYTES, indexBlocks, planBlocks, type Region } from './blocks.js';
import { ContainerBuilder, type StreamTotals } from './container.js';
import { mapExt4 } from './ext4.js';
import { FileDiffer, type FileStats } from './files.js';

/** Encoder switches (for experiments; defaults are the best measured). */
export interface EncodeOptions {
  /** Diff files inside ext4 images (default true). */
  readonly fileAware?: boolean;
  /** Cap on each segment's decoded streams (tests use small segments to get many). */
  readonly segmentDecodedBytes?: number;
  /** Brotli quality of the segments (default 11, the smallest). */
  readonly brotliQuality?: number;
  /** Called as the new image is encoded: bytes of it done so far, of `totalBytes`. */
  readonly onProgress?: (doneBytes: number, totalBytes: number) => void;
}

/** What went into a delta. */
export interface EncodeStats {
  readonly zeroBytes: number;
  readonly copyBytes: number;
  readonly rawBytes: number;
  readonly files: FileStats | undefined;
  readonly streams: StreamTotals;
  readonly segments: number;
  readonly deltaBytes: number;
}

/** Encode the delta that rebuilds `neu` from `old` (undefined: a full image). */
export function encodeDelta(old: Uint8Array | undefined, neu: Uint8Array, options: EncodeOptions = {}): { delta: Uint8Array; stats: EncodeStats } {
  const base = old ?? new Uint8Array(0);
  const out = new ContainerBuilder(options.segmentDecodedBytes, options.brotliQuality);
  const regions = planBlocks(base, neu, old === undefined ? new Map() : indexBlocks(base));
  const oldMap = old !== undefined && options.fileAware !== false ? mapExt4(base) : undefined;
  const newMap = oldMap !== undefined ? mapExt4(neu) : undefined;
  const files = oldMap !== undefined && newMap !== undefined ? new FileDiffer(base, neu, oldMap, newMap, out) : undefined;
  const sums = { zero: 0, copy: 0, raw: 0 };
  let hint = -1;
  for (const r of regions) {
    sums[r.kind] += r.lengthBytes;
    if (r.kind === 'zero') out.zero(r.lengthBytes);
    else if (r.kind === 'copy') {
      out.setSource(SOURCE_KIND.image, []);
      out.copy(r.oldOffsetBytes, r.lengthBytes);
      hint = r.oldOffsetBytes + r.lengthBytes - r.offsetBytes;
    } else emitRaw(base, neu, r, hint, files, out);
    options.onProgress?.(r.offsetBytes + r.lengthBytes, neu.length);
  }
  const delta = out.finish({
    full: old === undefined, baseSizeBytes: base.length, baseSha256: digest(base),
    targetSizeBytes: neu.length, targetSha256: digest(neu),
  });
  const stats = { zeroBytes: sums.zero, copyBytes: sums.copy, rawBytes: sums.raw, files: files?.stats, streams: out.totals, segments: out.segmentCount, deltaBytes: delta.length };
  return { delta, stats };
}

function emitRaw(old: Uint8Array, neu: Uint8Array, r: Region, hint: number, files: FileDiffer | undefined, out: ContainerBuilder): void {
  const end = r.offsetBytes + r.lengthBytes;
  for (let at = r.offsetBytes; at < end;) {
    const covered = files?.cover(at, end - at) ?? 0;
    if (covered > 0) { at += covered; continue; }
    const n = Math.min(BLOCK_BYTES - (at % BLOCK_BYTES), end - at);
    fallbackBlock(old, neu, at, n, hint, out);
    at += n;
  }
}

/** One block nothing else covers: ADD against the old block at the same or the neighbours' shifted offset, or LITERAL. */
function fallbackBlock(old: Uint8Array, neu: Uint8Array, at: number, n: number, hint: number, out: ContainerBuilder): void {
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
  } else {
    out.literal(block);
  }
}

function digest(b: Uint8Array): Uint8Array {
  const h = createHash('sha256');
  for (let at = 0; at < b.length; at += 64 * 1024 * 1024) h.update(b.subarray(at, Math.min(b.length, at + 64 * 1024 * 1024)));
  return h.digest();
}
