/**
 * GNU gzip's deflate (deflate.c of gzip 1.x, lazy matching, levels 4-9), ported
 * operation for operation, window sliding and stale bytes included, so that it
 * reproduces the deflate streams `gzip -9n` wrote into Debian packages (man
 * pages, changelogs). Node's zlib cannot: it is another deflate (and differs
 * between Node builds), so a deflate rebuild must not depend on it.
 */
import { GzipTrees } from './gzip-trees.js';

const WSIZE = 0x8000;
const WMASK = WSIZE - 1;
const HASH_BITS = 15;
const HASH_SIZE = 1 << HASH_BITS;
const HASH_MASK = HASH_SIZE - 1;
const H_SHIFT = Math.floor((HASH_BITS + 3 - 1) / 3);
const MIN_MATCH = 3;
const MAX_MATCH = 258;
const MIN_LOOKAHEAD = MAX_MATCH + MIN_MATCH + 1;
const MAX_DIST = WSIZE - MIN_LOOKAHEAD;
const WINDOW_SIZE = 2 * WSIZE;
const TOO_FAR = 4096;

/** gzip's configuration table: good, lazy, nice, chain per level. */
const CONFIG: readonly (readonly [number, number, number, number])[] = [
  [0, 0, 0, 0], [4, 4, 8, 4], [4, 5, 16, 8], [4, 6, 32, 32], [4, 4, 16, 16],
  [8, 16, 32, 32], [8, 16, 128, 128], [8, 32, 128, 256], [32, 128, 258, 1024], [32, 258, 258, 4096],
];

/** Lowest level this port reproduces (gzip's lazy evaluation; levels 1-3 use deflate_fast, not ported). */
export const GZIP_MIN_LEVEL = 4;
/** Highest gzip level. */
export const GZIP_MAX_LEVEL = 9;

/** The raw deflate stream `gzip -<level>` makes of `input` (a fresh copy). */
export function gzipDeflateRaw(input: Uint8Array, level: number): Uint8Array {
  return new GzipDeflater().deflate(input, level).slice();
}

/**
 * A reusable deflater: its window, hash chains and block buffers are allocated
 * once, so a device rebuilding hundreds of gzip files does not churn memory.
 */
export class GzipDeflater {
  private readonly window = new Uint8Array(WINDOW_SIZE + MAX_MATCH + 8);
  private readonly prev = new Uint16Array(WSIZE);
  private readonly head = new Uint16Array(HASH_SIZE);
  private readonly trees = new GzipTrees();

  /** The raw deflate stream of `input`; the view is valid until the next call. */
  deflate(input: Uint8Array, level: number): Uint8Array {
    if (!Number.isInteger(level) || level < GZIP_MIN_LEVEL || level > GZIP_MAX_LEVEL) throw new RangeError(`gzip level ${level} is not in ${GZIP_MIN_LEVEL}..${GZIP_MAX_LEVEL}`);
    const { window, prev, head, trees } = this;
    window.fill(0);
    prev.fill(0);
    head.fill(0);
    trees.reset(level);
    return run(input, level, window, prev, head, trees);
  }
}

/** gzip's globals that fill_window changes; the hot loop keeps them in locals and syncs around the (rare) call. */
interface Slide { strstart: number; lookahead: number; matchStart: number; blockStart: number; eofile: boolean; inPos: number }

function readBuf(st: Slide, input: Uint8Array, window: Uint8Array, at: number, size: number): number {
  const n = Math.min(size, input.length - st.inPos);
  window.set(input.subarray(st.inPos, st.inPos + n), at);
  st.inPos += n;
  return n;
}

// gzip's fill_window: slide the upper half down when strstart nears the end, then read more input.
function fillWindow(st: Slide, input: Uint8Array, window: Uint8Array, prev: Uint16Array, head: Uint16Array): void {
  let more = WINDOW_SIZE - st.lookahead - st.strstart;
  if (st.strstart >= WSIZE + MAX_DIST) {
    window.copyWithin(0, WSIZE, 2 * WSIZE);
    st.matchStart -= WSIZE;
    st.strstart -= WSIZE;
    st.blockStart -= WSIZE;
    for (let n = 0; n < HASH_SIZE; n++) { const m = head[n]!; head[n] = m >= WSIZE ? m - WSIZE : 0; }
    for (let n = 0; n < WSIZE; n++) { const m = prev[n]!; prev[n] = m >= WSIZE ? m - WSIZE : 0; }
    more += WSIZE;
  }
  if (!st.eofile) {
    const n = readBuf(st, input, window, st.strstart + st.lookahead, more);
    if (n === 0) {
      st.eofile = true;
      window.fill(0, st.strstart + st.lookahead, st.strstart + st.lookahead + MIN_MATCH - 1);
    } else st.lookahead += n;
  }
}

/**
 * gzip's longest_match. Returns bestLen + 512 * (matchStart + 1) when a longer
 * match was found, else bestLen alone (gzip then keeps its old match_start).
 */
function longestMatch(window: Uint8Array, prev: Uint16Array, strstart: number, prevLength: number, curMatch0: number, cfg: readonly [number, number, number, number]): number {
  const goodMatch = cfg[0];
  const niceMatch = cfg[2];
  const maxChain = cfg[3];
  let curMatch = curMatch0;
  let chainLength = maxChain;
  const scan = strstart;
  let bestLen = prevLength;
  let found = -1;
  const limit = strstart > MAX_DIST ? strstart - MAX_DIST : 0;
  const strend = strstart + MAX_MATCH;
  let scanEnd1 = window[scan + bestLen - 1]!;
  let scanEnd = window[scan + bestLen]!;
  const scan0 = window[scan]!;
  const scan1 = window[scan + 1]!;
  if (prevLength >= goodMatch) chainLength >>= 2;
  do {
    const match = curMatch;
    if (window[match + bestLen] !== scanEnd || window[match + bestLen - 1] !== scanEnd1
      || window[match] !== scan0 || window[match + 1] !== scan1) continue;
    // As in C: byte 2 is not compared (equal hashes imply it), then compare from 3 up to strend.
    let s = scan + 3;
    let m = match + 3;
    while (window[s] === window[m] && s < strend) { s++; m++; }
    const len = MAX_MATCH - (strend - Math.min(s, strend));
    if (len > bestLen) {
      found = curMatch;
      bestLen = len;
      if (len >= niceMatch) break;
      scanEnd1 = window[scan + bestLen - 1]!;
      scanEnd = window[scan + bestLen]!;
    }
  } while ((curMatch = prev[curMatch & WMASK]!) > limit && --chainLength !== 0);
  return bestLen + 512 * (found + 1);
}

// gzip's lm_init + deflate() (lazy evaluation), one call per file; long because it mirrors one C function.
function run(input: Uint8Array, level: number, window: Uint8Array, prev: Uint16Array, head: Uint16Array, trees: GzipTrees): Uint8Array {
  const cfg = CONFIG[level]!;
  const maxLazy = cfg[1];
  const st: Slide = { strstart: 0, lookahead: 0, matchStart: 0, blockStart: 0, eofile: false, inPos: 0 };
  st.lookahead = readBuf(st, input, window, 0, 2 * WSIZE);
  if (st.lookahead === 0) st.eofile = true;
  let insH = 0;
  if (!st.eofile) {
    while (st.lookahead < MIN_LOOKAHEAD && !st.eofile) fillWindow(st, input, window, prev, head);
    for (let j = 0; j < MIN_MATCH - 1; j++) insH = ((insH << H_SHIFT) ^ window[j]!) & HASH_MASK;
  }
  let { strstart, lookahead, matchStart, blockStart } = st;
  let matchAvailable = false;
  let matchLength = MIN_MATCH - 1;
  let prevLength = 0;
  while (lookahead !== 0) {
    insH = ((insH << H_SHIFT) ^ window[strstart + MIN_MATCH - 1]!) & HASH_MASK;
    const hashHead = head[insH]!;
    prev[strstart & WMASK] = hashHead;
    head[insH] = strstart;
    prevLength = matchLength;
    const prevMatch = matchStart;
    matchLength = MIN_MATCH - 1;
    if (hashHead !== 0 && prevLength < maxLazy && strstart - hashHead <= MAX_DIST && strstart <= WINDOW_SIZE - MIN_LOOKAHEAD) {
      const packed = longestMatch(window, prev, strstart, prevLength, hashHead, cfg);
      matchLength = packed & 511;
      if (packed >= 512) matchStart = (packed >>> 9) - 1;
      if (matchLength > lookahead) matchLength = lookahead;
      if (matchLength === MIN_MATCH && strstart - matchStart > TOO_FAR) matchLength--;
    }
    if (prevLength >= MIN_MATCH && matchLength <= prevLength) {
      const doFlush = trees.tally(strstart - 1 - prevMatch, prevLength - MIN_MATCH, strstart, blockStart);
      lookahead -= prevLength - 1;
      prevLength -= 2;
      do {
        strstart++;
        insH = ((insH << H_SHIFT) ^ window[strstart + MIN_MATCH - 1]!) & HASH_MASK;
        prev[strstart & WMASK] = head[insH]!;
        head[insH] = strstart;
      } while (--prevLength !== 0);
      matchAvailable = false;
      matchLength = MIN_MATCH - 1;
      strstart++;
      if (doFlush) { flushBlock(trees, window, blockStart, strstart, false); blockStart = strstart; }
    } else if (matchAvailable) {
      if (trees.tally(0, window[strstart - 1]!, strstart, blockStart)) { flushBlock(trees, window, blockStart, strstart, false); blockStart = strstart; }
      strstart++;
      lookahead--;
    } else {
      matchAvailable = true;
      strstart++;
      lookahead--;
    }
    if (lookahead < MIN_LOOKAHEAD && !st.eofile) {
      Object.assign(st, { strstart, lookahead, matchStart, blockStart });
      while (st.lookahead < MIN_LOOKAHEAD && !st.eofile) fillWindow(st, input, window, prev, head);
      ({ strstart, lookahead, matchStart, blockStart } = st);
    }
  }
  if (matchAvailable) trees.tally(0, window[strstart - 1]!, strstart, blockStart);
  flushBlock(trees, window, blockStart, strstart, true);
  return trees.out.view();
}

// gzip's FLUSH_BLOCK: the block's input is still in the window unless the window slid past it.
function flushBlock(trees: GzipTrees, window: Uint8Array, blockStart: number, strstart: number, eof: boolean): void {
  trees.flushBlock(blockStart >= 0 ? window.subarray(blockStart) : undefined, strstart - blockStart, eof);
}
