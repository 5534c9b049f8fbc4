/**
 * The block pass of the encoder: classify every 4 KiB block of the new image as
 * zero, found in the old image (content-addressed: blocks move), or unknown, and
 * merge neighbours into runs.
 */
import { createHash } from 'node:crypto';

/** Block size of the index: filesystems lay data out in 4 KiB blocks. */
export const BLOCK_BYTES = 4096;

/** A run of the new image. `copy` runs come from `oldOffsetBytes` in the old image. */
export type Region =
  | { readonly kind: 'zero'; readonly offsetBytes: number; readonly lengthBytes: number }
  | { readonly kind: 'copy'; readonly offsetBytes: number; readonly lengthBytes: number; readonly oldOffsetBytes: number }
  | { readonly kind: 'raw'; readonly offsetBytes: number; readonly lengthBytes: number };

const ZERO_BLOCK = new Uint8Array(BLOCK_BYTES);

function isZero(b: Uint8Array): boolean {
  return Buffer.compare(b, ZERO_BLOCK.subarray(0, b.length)) === 0;
}

function key(b: Uint8Array): string {
  return createHash('sha1').update(b).digest('base64');
}

/** Index of the old image's non-zero blocks by content (first offset wins). */
export function indexBlocks(old: Uint8Array): Map<string, number> {
  const index = new Map<string, number>();
  for (let at = 0; at + BLOCK_BYTES <= old.length; at += BLOCK_BYTES) {
    const block = old.subarray(at, at + BLOCK_BYTES);
    if (isZero(block)) continue;
    const k = key(block);
    if (!index.has(k)) index.set(k, at);
  }
  return index;
}

/** The runs of the new image, in order, covering it exactly. */
export function planBlocks(old: Uint8Array, neu: Uint8Array, index: ReadonlyMap<string, number>): Region[] {
  const regions: Region[] = [];
  let last: { kind: Region['kind']; offsetBytes: number; lengthBytes: number; oldOffsetBytes: number } | undefined;
  const push = (kind: Region['kind'], at: number, len: number, oldAt: number): void => {
    if (last !== undefined && last.kind === kind && (kind !== 'copy' || last.oldOffsetBytes + last.lengthBytes === oldAt)) {
      last.lengthBytes += len;
      return;
    }
    if (last !== undefined) regions.push(freeze(last));
    last = { kind, offsetBytes: at, lengthBytes: len, oldOffsetBytes: oldAt };
  };
  for (let at = 0; at < neu.length; at += BLOCK_BYTES) {
    const block = neu.subarray(at, Math.min(neu.length, at + BLOCK_BYTES));
    if (isZero(block)) { push('zero', at, block.length, 0); continue; }
    const follow = last?.kind === 'copy' ? last.oldOffsetBytes + last.lengthBytes : -1;
    if (follow >= 0 && follow + block.length <= old.length && Buffer.compare(block, old.subarray(follow, follow + block.length)) === 0) {
      push('copy', at, block.length, follow);
      continue;
    }
    const found = block.length === BLOCK_BYTES ? index.get(key(block)) : undefined;
    if (found !== undefined) push('copy', at, block.length, found);
    else push('raw', at, block.length, 0);
  }
  if (last !== undefined) regions.push(freeze(last));
  return regions;
}

function freeze(r: { kind: Region['kind']; offsetBytes: number; lengthBytes: number; oldOffsetBytes: number }): Region {
  if (r.kind === 'copy') return { kind: 'copy', offsetBytes: r.offsetBytes, lengthBytes: r.lengthBytes, oldOffsetBytes: r.oldOffsetBytes };
  return { kind: r.kind, offsetBytes: r.offsetBytes, lengthBytes: r.lengthBytes };
}
