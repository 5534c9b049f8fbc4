/**
 * Content-based matching over the whole old image, for new bytes that neither a
 * whole old block nor a file diff covers: a rolling-hash index of the old image's
 * non-zero data (one 32-byte window every 16 bytes, as zstd's long mode and rsync
 * sample it), so any run of at least 47 equal bytes is found wherever it lies in
 * the old image and at any alignment. Each hit is verified, then extended both
 * ways with bsdiff's approximate rule (an ADD of new minus old, mostly zero bytes,
 * while more bytes agree than differ); what no hit reaches is left as LITERAL.
 */
import type { DiffPiece } from './bsdiff.js';

/** Bytes hashed per window: shorter matches than this are not worth an op. */
export const WINDOW_BYTES = 32;
/** Distance between indexed old windows: every run of WINDOW_BYTES + STRIDE_BYTES - 1 equal bytes holds one. */
export const STRIDE_BYTES = 16;
const WAYS = 4;
const PRIME = 0x01000193;
const SPREAD = 0x9e3779b1;
// Extension stops once the score (matches x 2 - length) is this far below its best.
const GIVE_UP_SCORE = 256;
const ZERO_BLOCK_BYTES = 4096;

/** PRIME ** (WINDOW_BYTES - 1), mod 2^32: what the byte leaving the window weighed. */
const OUT_WEIGHT = ((): number => {
  let w = 1;
  for (let i = 1; i < WINDOW_BYTES; i++) w = Math.imul(w, PRIME);
  return w;
})();

function hashAt(data: Uint8Array, at: number): number {
  let h = 0;
  for (let i = 0; i < WINDOW_BYTES; i++) h = (Math.imul(h, PRIME) + data[at + i]!) | 0;
  return h;
}

function roll(h: number, leaving: number, entering: number): number {
  return (Math.imul((h - Math.imul(leaving, OUT_WEIGHT)) | 0, PRIME) + entering) | 0;
}

// A window of one repeated byte (zero padding, 0xff fill) matches everywhere and tells nothing.
function flat(data: Uint8Array, at: number): boolean {
  const b = data[at];
  for (let i = 1; i < WINDOW_BYTES; i++) if (data[at + i] !== b) return false;
  return true;
}

function zeroBlock(data: Uint8Array, at: number): boolean {
  const end = Math.min(data.length, at + ZERO_BLOCK_BYTES);
  for (let i = at; i < end; i++) if (data[i] !== 0) return false;
  return true;
}

/**
 * Where windows of the old image are, by hash: WAYS positions per bucket (a full bucket
 * drops its oldest), about 0.5 byte of index per non-zero old byte.
 */
export class ContentIndex {
  private readonly slots: Uint32Array;
  private readonly shift: number;

  /** Index the non-zero 4 KiB blocks of `old`. */
  constructor(readonly old: Uint8Array) {
    let windows = 0;
    const live = new Uint8Array(Math.ceil(old.length / ZERO_BLOCK_BYTES));
    for (let b = 0; b < live.length; b++) if (!zeroBlock(old, b * ZERO_BLOCK_BYTES)) { live[b] = 1; windows += ZERO_BLOCK_BYTES / STRIDE_BYTES; }
    const bits = Math.max(4, Math.ceil(Math.log2(Math.max(1, windows / WAYS))));
    this.shift = 32 - bits;
    this.slots = new Uint32Array((1 << bits) * WAYS);
    for (let at = 0; at + WINDOW_BYTES <= old.length; at += STRIDE_BYTES) {
      if (live[Math.floor(at / ZERO_BLOCK_BYTES)] === 0 || flat(old, at)) continue;
      const bucket = this.bucket(hashAt(old, at));
      this.slots[bucket + ((at / STRIDE_BYTES) % WAYS)] = at + 1;
    }
  }

  /** Bytes the index holds (for memory reports). */
  get sizeBytes(): number { return this.slots.byteLength; }

  /** Ways of a bucket: `candidate(h, 0 .. WAYS - 1)`. */
  readonly ways = WAYS;

  /** An old offset whose window may equal the window of hash `h` (unverified), or -1. */
  candidate(h: number, way: number): number {
    return this.slots[this.bucket(h) + way]! - 1;
  }

  private bucket(h: number): number { return (Math.imul(h, SPREAD) >>> this.shift) * WAYS; }
}

interface Hit { readonly oldAt: number; readonly length: number; readonly score: number }

function sameWindow(old: Uint8Array, oldAt: number, neu: Uint8Array, newAt: number): boolean {
  if (oldAt < 0 || oldAt + WINDOW_BYTES > old.length) return false;
  for (let i = 0; i < WINDOW_BYTES; i++) if (old[oldAt + i] !== neu[newAt + i]) return false;
  return true;
}

// bsdiff's forward rule: the length that maximises matches x 2 - length, from a verified window.
function extendForward(old: Uint8Array, neu: Uint8Array, newAt: number, oldAt: number, newEnd: number): Hit {
  let same = 0, best = 0, length = 0;
  const n = Math.min(newEnd - newAt, old.length - oldAt);
  for (let i = 0; i < n; i++) {
    if (old[oldAt + i] === neu[newAt + i]) same++;
    const score = same * 2 - (i + 1);
    if (score > best) { best = score; length = i + 1; } else if (score < best - GIVE_UP_SCORE) break;
  }
  return { oldAt, length, score: best };
}

function extendBackward(old: Uint8Array, neu: Uint8Array, newAt: number, oldAt: number, newStart: number): number {
  let same = 0, best = 0, length = 0;
  const n = Math.min(newAt - newStart, oldAt);
  for (let i = 1; i <= n; i++) {
    if (old[oldAt - i] === neu[newAt - i]) same++;
    const score = same * 2 - i;
    if (score > best) { best = score; length = i; } else if (score < best - GIVE_UP_SCORE) break;
  }
  return length;
}

/**
 * The pieces that write `neu[lo, hi)` from anywhere in the old image: ADD pieces (offsets
 * into the old image) where the index or one of `diagonals` (old offset minus new offset
 * worth trying first: the neighbours' shift, the same offset) finds a verified window,
 * LITERAL pieces elsewhere. Pieces are in order and cover the range exactly; new offsets
 * are image offsets.
 */
export function matchRange(index: ContentIndex, neu: Uint8Array, lo: number, hi: number, diagonals: readonly number[] = []): DiffPiece[] {
  const old = index.old;
  const pieces: DiffPiece[] = [];
  let pending = lo;
  let scan = lo;
  let last: number | undefined;
  let h = scan + WINDOW_BYTES <= hi ? hashAt(neu, scan) : 0;
  while (scan + WINDOW_BYTES <= hi) {
    let best: Hit | undefined;
    const consider = (oldAt: number): void => {
      if (oldAt === best?.oldAt || !sameWindow(old, oldAt, neu, scan)) return;
      const hit = extendForward(old, neu, scan, oldAt, hi);
      if (best === undefined || hit.score > best.score) best = hit;
    };
    if (last !== undefined) consider(scan + last);
    for (const d of diagonals) consider(scan + d);
    if (!flat(neu, scan)) for (let w = 0; w < index.ways; w++) { const oldAt = index.candidate(h, w); if (oldAt >= 0) consider(oldAt); }
    if (best === undefined) {
      if (scan + WINDOW_BYTES < hi) h = roll(h, neu[scan]!, neu[scan + WINDOW_BYTES]!);
      scan++;
      continue;
    }
    const back = extendBackward(old, neu, scan, best.oldAt, pending);
    if (scan - back > pending) pieces.push({ kind: 'literal', newOffsetBytes: pending, lengthBytes: scan - back - pending });
    pieces.push({ kind: 'add', newOffsetBytes: scan - back, oldOffsetBytes: best.oldAt - back, lengthBytes: back + best.length });
    last = best.oldAt - scan;
    scan += best.length;
    pending = scan;
    if (scan + WINDOW_BYTES <= hi) h = hashAt(neu, scan);
  }
  if (pending < hi) pieces.push({ kind: 'literal', newOffsetBytes: pending, lengthBytes: hi - pending });
  return pieces;
}

/**
 * A rough cost in delta bytes of writing pieces (brotli squeezes the zero bytes of an
 * ADD to almost nothing, literal and differing bytes much less): used to choose between
 * strategies for one region, never to size anything.
 */
export function piecesCost(pieces: readonly DiffPiece[], oldBytes: Uint8Array, newBytes: Uint8Array, oldBase = 0, newBase = 0): number {
  let cost = 0;
  for (const p of pieces) {
    cost += 6;
    if (p.kind === 'literal') { cost += p.lengthBytes; continue; }
    for (let i = 0; i < p.lengthBytes; i++) if (oldBytes[p.oldOffsetBytes - oldBase + i] !== newBytes[p.newOffsetBytes - newBase + i]) cost++;
  }
  return cost;
}
