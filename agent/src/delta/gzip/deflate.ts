/**
 * The match finder of GNU gzip 1.12's deflate.c: a 64 KiB window that slides
 * by 32 KiB, hash chains over 3-byte strings (15-bit hash), longest_match with
 * gzip's chain limits, deflate_fast for levels 1-3 and lazy evaluation for 4-9,
 * with configuration_table's parameters. Ported operation for operation
 * (stale bytes past the end of input included), because the point is to
 * reproduce `gzip -n -N` byte for byte, not merely to compress.
 */
import { GZIP_MAX_LEVEL, GZIP_MIN_LEVEL } from '../../formats/index.js';
import type { BitWriter } from './bits.js';
import { BlockCoder } from './block.js';
import { MAX_DIST, MAX_MATCH, MIN_LOOKAHEAD, MIN_MATCH, WSIZE } from './tables.js';

const HASH_BITS = 15;
const HASH_SIZE = 1 << HASH_BITS;
const HASH_MASK = HASH_SIZE - 1;
const WMASK = WSIZE - 1;
const H_SHIFT = Math.floor((HASH_BITS + MIN_MATCH - 1) / MIN_MATCH);
const WINDOW_SIZE = 2 * WSIZE;
const TOO_FAR = 4096;
const NIL = 0;
const EMPTY: Uint8Array = new Uint8Array(0);

/** configuration_table of deflate.c: good_length, max_lazy, nice_length, max_chain per level. */
const CONFIG: readonly (readonly [number, number, number, number])[] = [
  [0, 0, 0, 0],
  [4, 4, 8, 4], [4, 5, 16, 8], [4, 6, 32, 32],
  [4, 4, 16, 16], [8, 16, 32, 32], [8, 16, 128, 128], [8, 32, 128, 256], [32, 128, 258, 1024], [32, 258, 258, 4096],
];

// The container format defines the levels a DEFLATE op can name; this port implements each of them.
export { GZIP_MAX_LEVEL, GZIP_MIN_LEVEL };

/**
 * The state gzip keeps in deflate.c's globals, allocated once: `run` resets it
 * and compresses one input, appending the deflate body to `out`.
 */
export class Deflater {
  // Two spare bytes: at end of input gzip zeroes MIN_MATCH-1 bytes past the data, which may be past 64 KiB.
  private readonly window = new Uint8Array(WINDOW_SIZE + MIN_MATCH - 1);
  private readonly prev = new Uint16Array(WSIZE);
  private readonly head = new Uint16Array(HASH_SIZE);
  private readonly blocks: BlockCoder;
  // The input: the whole of it for `run`; for a stream, a staging buffer filled by `push` over [inPos, inEnd).
  private input: Uint8Array = EMPTY;
  private inEnd = 0;
  private ended = true;
  private readonly stage = new Uint8Array(2 * WINDOW_SIZE);
  private steps: Generator<void, void, void> | undefined;
  private level = 0;
  private goodMatch = 0;
  private maxLazy = 0;
  private niceMatch = 0;
  private maxChain = 0;
  private inPos = 0;
  private strstart = 0;
  private blockStart = 0;
  private matchStart = 0;
  private prevLength = 0;
  private lookahead = 0;
  private eofile = false;
  private insH = 0;

  constructor(out: BitWriter) {
    this.blocks = new BlockCoder(out);
  }

  /** Append to `out` the raw deflate stream `gzip -n -<level>` writes for `input`. */
  run(input: Uint8Array, level: number): void {
    this.configure(level);
    this.input = input;
    this.inEnd = input.length;
    this.ended = true;
    if (!this.compress().next().done) throw new Error('gzip port: deflate waited for input it already had');
    this.input = EMPTY;
  }

  /**
   * Start a streamed deflate at `level`: `push` the input in pieces of any size, then `finish`.
   * The output is the same as `run` on the whole input; memory stays the window's and the staging's.
   */
  begin(level: number): void {
    this.configure(level);
    this.input = this.stage;
    this.inEnd = 0;
    this.ended = false;
    this.steps = this.compress();
    this.steps.next();
  }

  /** Feed the next input bytes of a stream `begin` opened; blocks go to `out` as they complete. */
  push(bytes: Uint8Array): void {
    const steps = this.requireStream();
    for (let done = 0; done < bytes.length;) {
      if (this.inPos > 0) {
        this.stage.copyWithin(0, this.inPos, this.inEnd);
        this.inEnd -= this.inPos;
        this.inPos = 0;
      }
      const n = Math.min(bytes.length - done, this.stage.length - this.inEnd);
      this.stage.set(bytes.subarray(done, done + n), this.inEnd);
      this.inEnd += n;
      done += n;
      if (this.canRead()) steps.next();
    }
  }

  /** End the input of the stream: the last block goes to `out`. */
  finish(): void {
    const steps = this.requireStream();
    this.ended = true;
    if (!steps.next().done) throw new Error('gzip port: deflate did not finish at the end of its input');
    this.steps = undefined;
    this.input = EMPTY;
  }

  private requireStream(): Generator<void, void, void> {
    if (this.steps === undefined) throw new Error('gzip port: push or finish without begin');
    return this.steps;
  }

  private configure(level: number): void {
    const config = CONFIG[level];
    if (!Number.isInteger(level) || level < GZIP_MIN_LEVEL || level > GZIP_MAX_LEVEL || config === undefined) {
      throw new RangeError(`gzip level ${level} is not an integer in ${GZIP_MIN_LEVEL}..${GZIP_MAX_LEVEL}`);
    }
    [this.goodMatch, this.maxLazy, this.niceMatch, this.maxChain] = config;
    this.level = level;
    this.reset();
  }

  // The whole compression as a generator that yields where gzip would block in read(): the window
  // asks for up to WINDOW_SIZE bytes and gets fewer only at the end of the input.
  private *compress(): Generator<void, void, void> {
    while (!this.canRead()) yield;
    this.lmInit();
    if (this.level <= 3) yield* this.deflateFast();
    else yield* this.deflateLazy();
  }

  private canRead(): boolean {
    return this.ended || this.inEnd - this.inPos >= WINDOW_SIZE;
  }

  // Fill the lookahead as gzip does after every step, waiting for input where a stream has too little.
  private *fill(): Generator<void, void, void> {
    while (this.lookahead < MIN_LOOKAHEAD && !this.eofile) {
      if (!this.canRead()) { yield; continue; }
      this.fillWindow();
    }
  }

  // A fresh gzip process starts with zeroed globals, and stale window bytes past the input can change matches.
  private reset(): void {
    this.window.fill(0);
    this.prev.fill(0);
    this.head.fill(0);
    this.blocks.reset(this.level);
    this.inPos = this.strstart = this.blockStart = this.matchStart = this.prevLength = this.lookahead = this.insH = 0;
    this.eofile = false;
  }

  // read_buf on a regular file: as many bytes as asked, fewer only at the end.
  private readBuf(at: number, size: number): number {
    const n = Math.min(size, this.inEnd - this.inPos);
    this.window.set(this.input.subarray(this.inPos, this.inPos + n), at);
    this.inPos += n;
    return n;
  }

  private lmInit(): void {
    this.lookahead = this.readBuf(0, 2 * WSIZE);
    if (this.lookahead === 0) { this.eofile = true; return; }
    this.eofile = false;
    while (this.lookahead < MIN_LOOKAHEAD && !this.eofile) this.fillWindow();
    this.insH = 0;
    for (let j = 0; j < MIN_MATCH - 1; j++) this.updateHash(this.window[j]!);
  }

  private updateHash(c: number): void {
    this.insH = ((this.insH << H_SHIFT) ^ c) & HASH_MASK;
  }

  // INSERT_STRING: link string `s` into its hash chain; returns the previous head.
  private insertString(s: number): number {
    this.updateHash(this.window[s + MIN_MATCH - 1]!);
    const matchHead = this.head[this.insH]!;
    this.prev[s & WMASK] = matchHead;
    this.head[this.insH] = s;
    return matchHead;
  }

  private fillWindow(): void {
    let more = WINDOW_SIZE - this.lookahead - this.strstart;
    if (this.strstart >= WSIZE + MAX_DIST) {
      this.window.copyWithin(0, WSIZE, 2 * WSIZE);
      this.matchStart -= WSIZE;
      this.strstart -= WSIZE;
      this.blockStart -= WSIZE;
      const { head, prev } = this;
      for (let n = 0; n < HASH_SIZE; n++) { const m = head[n]!; head[n] = m >= WSIZE ? m - WSIZE : NIL; }
      for (let n = 0; n < WSIZE; n++) { const m = prev[n]!; prev[n] = m >= WSIZE ? m - WSIZE : NIL; }
      more += WSIZE;
    }
    if (this.eofile) return;
    const at = this.strstart + this.lookahead;
    const n = this.readBuf(at, more);
    if (n === 0) {
      this.eofile = true;
      // gzip >= 1.5: "Don't let garbage pollute the dictionary."
      this.window.fill(0, at, at + MIN_MATCH - 1);
    } else {
      this.lookahead += n;
    }
  }

  private longestMatch(start: number): number {
    const { window, prev, strstart, niceMatch } = this;
    let curMatch = start;
    let chainLength = this.maxChain;
    let bestLen = this.prevLength;
    const limit = strstart > MAX_DIST ? strstart - MAX_DIST : NIL;
    const strend = strstart + MAX_MATCH;
    let scanEnd1 = window[strstart + bestLen - 1]!;
    let scanEnd = window[strstart + bestLen]!;
    if (this.prevLength >= this.goodMatch) chainLength >>>= 2;
    const scan0 = window[strstart]!;
    const scan1 = window[strstart + 1]!;
    do {
      const match = curMatch;
      if (window[match + bestLen] !== scanEnd || window[match + bestLen - 1] !== scanEnd1
        || window[match] !== scan0 || window[match + 1] !== scan1) continue;
      // scan[2] equals match[2] whenever the hashes and the first two bytes agree.
      let scan = strstart + 2;
      let m = match + 2;
      do { scan++; m++; } while (scan < strend && window[scan] === window[m]);
      const len = scan - strstart;
      if (len > bestLen) {
        this.matchStart = curMatch;
        bestLen = len;
        if (len >= niceMatch) break;
        scanEnd1 = window[strstart + bestLen - 1]!;
        scanEnd = window[strstart + bestLen]!;
      }
    } while ((curMatch = prev[curMatch & WMASK]!) > limit && --chainLength !== 0);
    return bestLen;
  }

  private flushBlock(eof: boolean): void {
    const length = this.strstart - this.blockStart;
    const stored = this.blockStart >= 0 ? this.window.subarray(this.blockStart, this.blockStart + length) : undefined;
    this.blocks.flush(stored, length, eof);
  }

  private tally(dist: number, lc: number): boolean {
    return this.blocks.tally(dist, lc, this.strstart - this.blockStart);
  }

  // deflate_fast: levels 1-3, no lazy evaluation; max_lazy bounds which matches get their strings inserted.
  private *deflateFast(): Generator<void, void, void> {
    let matchLength = 0;
    this.prevLength = MIN_MATCH - 1;
    while (this.lookahead !== 0) {
      const hashHead = this.insertString(this.strstart);
      if (hashHead !== NIL && this.strstart - hashHead <= MAX_DIST && this.strstart <= WINDOW_SIZE - MIN_LOOKAHEAD) {
        matchLength = this.longestMatch(hashHead);
        if (matchLength > this.lookahead) matchLength = this.lookahead;
      }
      let flush: boolean;
      if (matchLength >= MIN_MATCH) {
        flush = this.tally(this.strstart - this.matchStart, matchLength - MIN_MATCH);
        this.lookahead -= matchLength;
        if (matchLength <= this.maxLazy) {
          matchLength--;
          do { this.strstart++; this.insertString(this.strstart); } while (--matchLength !== 0);
          this.strstart++;
        } else {
          this.strstart += matchLength;
          matchLength = 0;
          this.insH = this.window[this.strstart]!;
          this.updateHash(this.window[this.strstart + 1]!);
        }
      } else {
        flush = this.tally(0, this.window[this.strstart]!);
        this.lookahead--;
        this.strstart++;
      }
      if (flush) { this.flushBlock(false); this.blockStart = this.strstart; }
      if (this.lookahead < MIN_LOOKAHEAD && !this.eofile) yield* this.fill();
    }
    this.flushBlock(true);
  }

  // deflate: levels 4-9; a match is taken only if the next position has no longer one.
  private *deflateLazy(): Generator<void, void, void> {
    let matchAvailable = false;
    let matchLength = MIN_MATCH - 1;
    while (this.lookahead !== 0) {
      const hashHead = this.insertString(this.strstart);
      this.prevLength = matchLength;
      const prevMatch = this.matchStart;
      matchLength = MIN_MATCH - 1;
      if (hashHead !== NIL && this.prevLength < this.maxLazy && this.strstart - hashHead <= MAX_DIST
        && this.strstart <= WINDOW_SIZE - MIN_LOOKAHEAD) {
        matchLength = this.longestMatch(hashHead);
        if (matchLength > this.lookahead) matchLength = this.lookahead;
        if (matchLength === MIN_MATCH && this.strstart - this.matchStart > TOO_FAR) matchLength--;
      }
      if (this.prevLength >= MIN_MATCH && matchLength <= this.prevLength) {
        const flush = this.tally(this.strstart - 1 - prevMatch, this.prevLength - MIN_MATCH);
        this.lookahead -= this.prevLength - 1;
        let toInsert = this.prevLength - 2;
        do { this.strstart++; this.insertString(this.strstart); } while (--toInsert !== 0);
        matchAvailable = false;
        matchLength = MIN_MATCH - 1;
        this.strstart++;
        if (flush) { this.flushBlock(false); this.blockStart = this.strstart; }
      } else if (matchAvailable) {
        const flush = this.tally(0, this.window[this.strstart - 1]!);
        if (flush) { this.flushBlock(false); this.blockStart = this.strstart; }
        this.strstart++;
        this.lookahead--;
      } else {
        matchAvailable = true;
        this.strstart++;
        this.lookahead--;
      }
      if (this.lookahead < MIN_LOOKAHEAD && !this.eofile) yield* this.fill();
    }
    if (matchAvailable) this.tally(0, this.window[this.strstart - 1]!);
    this.flushBlock(true);
  }
}
