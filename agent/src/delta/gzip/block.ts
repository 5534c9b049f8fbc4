/**
 * The block layer of GNU gzip's trees.c: ct_tally buffers literals and
 * matches and decides when a block ends (buffer full, or gzip's estimate that
 * ending here pays, at levels above 2); flush_block picks stored, static or
 * dynamic trees by gzip's exact size comparison and writes the block.
 */
import type { BitWriter } from './bits.js';
import { newTree, scanTree, sendTree, TreeBuilder, type BlockLengths, type Tree, type TreeDesc } from './huffman.js';
import {
  BASE_DIST, BASE_LENGTH, BL_CODES, BL_ORDER, D_CODES, DIST_BUFSIZE, distCode, END_BLOCK, EXTRA_BLBITS, EXTRA_DBITS,
  EXTRA_LBITS, L_CODES, LENGTH_CODE, LIT_BUFSIZE, LITERALS, MAX_BITS, MAX_BL_BITS,
  STATIC_DTREE_CODE, STATIC_DTREE_LEN, STATIC_LTREE_CODE, STATIC_LTREE_LEN,
} from './tables.js';

const STORED_BLOCK = 0;
const STATIC_TREES = 1;
const DYN_TREES = 2;

/** Collects one block's symbols and writes blocks to a BitWriter. */
export class BlockCoder {
  private readonly ltree: Tree = newTree(2 * L_CODES + 1);
  private readonly dtree: Tree = newTree(2 * D_CODES + 1);
  private readonly bltree: Tree = newTree(2 * BL_CODES + 1);
  private readonly lDesc: TreeDesc;
  private readonly dDesc: TreeDesc;
  private readonly blDesc: TreeDesc;
  private readonly builder = new TreeBuilder();
  private readonly lBuf = new Uint8Array(LIT_BUFSIZE);
  private readonly dBuf = new Uint16Array(DIST_BUFSIZE);
  private readonly flagBuf = new Uint8Array(LIT_BUFSIZE / 8);
  private lastLit = 0;
  private lastDist = 0;
  private lastFlags = 0;
  private flags = 0;
  private flagBit = 1;
  private readonly lengths: BlockLengths = { optLen: 0, staticLen: 0 };
  private level = 0;

  constructor(private readonly out: BitWriter) {
    this.lDesc = { tree: this.ltree, staticLen: STATIC_LTREE_LEN, extraBits: EXTRA_LBITS, extraBase: LITERALS + 1, elems: L_CODES, maxLength: MAX_BITS, maxCode: 0 };
    this.dDesc = { tree: this.dtree, staticLen: STATIC_DTREE_LEN, extraBits: EXTRA_DBITS, extraBase: 0, elems: D_CODES, maxLength: MAX_BITS, maxCode: 0 };
    this.blDesc = { tree: this.bltree, staticLen: undefined, extraBits: EXTRA_BLBITS, extraBase: 0, elems: BL_CODES, maxLength: MAX_BL_BITS, maxCode: 0 };
  }

  /** Start a new stream at gzip level `level` (-N: above 2 it switches the early block-end estimate on). */
  reset(level: number): void {
    this.level = level;
    this.initBlock();
  }

  /**
   * ct_tally: record a literal (`dist` 0, `lc` the byte) or a match (`dist` >= 1,
   * `lc` its length - 3). `inLengthBytes` is strstart - block_start at the call.
   * True when the block must be flushed now.
   */
  tally(dist: number, lc: number, inLengthBytes: number): boolean {
    this.lBuf[this.lastLit++] = lc;
    if (dist === 0) {
      this.ltree.freq[lc] = this.ltree.freq[lc]! + 1;
    } else {
      const d = dist - 1;
      const lcode = LENGTH_CODE[lc]! + LITERALS + 1;
      const dcode = distCode(d);
      this.ltree.freq[lcode] = this.ltree.freq[lcode]! + 1;
      this.dtree.freq[dcode] = this.dtree.freq[dcode]! + 1;
      this.dBuf[this.lastDist++] = d;
      this.flags |= this.flagBit;
    }
    this.flagBit <<= 1;
    if ((this.lastLit & 7) === 0) {
      this.flagBuf[this.lastFlags++] = this.flags;
      this.flags = 0;
      this.flagBit = 1;
    }
    if (this.level > 2 && (this.lastLit & 0xfff) === 0 && this.worthEndingHere(inLengthBytes)) return true;
    return this.lastLit === LIT_BUFSIZE - 1 || this.lastDist === DIST_BUFSIZE;
  }

  // gzip's guess: an upper bound of the compressed size against the input size.
  private worthEndingHere(inLengthBytes: number): boolean {
    let outLength = this.lastLit * 8;
    for (let dcode = 0; dcode < D_CODES; dcode++) outLength += this.dtree.freq[dcode]! * (5 + EXTRA_DBITS[dcode]!);
    outLength = Math.floor(outLength / 8);
    return this.lastDist < this.lastLit >>> 1 && outLength < Math.floor(inLengthBytes / 2);
  }

  /**
   * flush_block: write the pending block. `stored` is the block's input bytes
   * when still in the window (gzip's `buf`), or undefined when it slid out.
   */
  flush(stored: Uint8Array | undefined, storedLengthBytes: number, eof: boolean): void {
    this.flagBuf[this.lastFlags] = this.flags;
    const lengths = this.lengths;
    this.builder.build(this.lDesc, lengths);
    this.builder.build(this.dDesc, lengths);
    const maxBlindex = this.buildBlTree();
    let optLenb = (lengths.optLen + 3 + 7) >>> 3;
    const staticLenb = (lengths.staticLen + 3 + 7) >>> 3;
    if (staticLenb <= optLenb) optLenb = staticLenb;
    const eofBit = eof ? 1 : 0;
    // gzip's seekable() is 0, so the whole-file stored form is never taken.
    if (storedLengthBytes + 4 <= optLenb && stored !== undefined) {
      this.out.sendBits((STORED_BLOCK << 1) + eofBit, 3);
      this.out.copyBlock(stored, true);
    } else if (staticLenb === optLenb) {
      this.out.sendBits((STATIC_TREES << 1) + eofBit, 3);
      this.compressBlock(STATIC_LTREE_CODE, STATIC_LTREE_LEN, STATIC_DTREE_CODE, STATIC_DTREE_LEN);
    } else {
      this.out.sendBits((DYN_TREES << 1) + eofBit, 3);
      this.sendAllTrees(this.lDesc.maxCode + 1, this.dDesc.maxCode + 1, maxBlindex + 1);
      this.compressBlock(this.ltree.code, this.ltree.len, this.dtree.code, this.dtree.len);
    }
    this.initBlock();
    if (eof) this.out.windup();
  }

  private initBlock(): void {
    this.ltree.freq.fill(0, 0, L_CODES);
    this.dtree.freq.fill(0, 0, D_CODES);
    this.bltree.freq.fill(0, 0, BL_CODES);
    this.ltree.freq[END_BLOCK] = 1;
    this.lengths.optLen = 0;
    this.lengths.staticLen = 0;
    this.lastLit = this.lastDist = this.lastFlags = 0;
    this.flags = 0;
    this.flagBit = 1;
  }

  private buildBlTree(): number {
    scanTree(this.ltree.len, this.lDesc.maxCode, this.bltree.freq);
    scanTree(this.dtree.len, this.dDesc.maxCode, this.bltree.freq);
    this.builder.build(this.blDesc, this.lengths);
    let maxBlindex: number;
    for (maxBlindex = BL_CODES - 1; maxBlindex >= 3; maxBlindex--) {
      if (this.bltree.len[BL_ORDER[maxBlindex]!] !== 0) break;
    }
    this.lengths.optLen += 3 * (maxBlindex + 1) + 5 + 5 + 4;
    return maxBlindex;
  }

  private sendAllTrees(lcodes: number, dcodes: number, blcodes: number): void {
    this.out.sendBits(lcodes - 257, 5);
    this.out.sendBits(dcodes - 1, 5);
    this.out.sendBits(blcodes - 4, 4);
    for (let rank = 0; rank < blcodes; rank++) this.out.sendBits(this.bltree.len[BL_ORDER[rank]!]!, 3);
    sendTree(this.out, this.ltree.len, lcodes - 1, this.bltree);
    sendTree(this.out, this.dtree.len, dcodes - 1, this.bltree);
  }

  private compressBlock(lcode: Uint16Array, llen: Uint16Array, dcode: Uint16Array, dlen: Uint16Array): void {
    const out = this.out;
    let dx = 0;
    let fx = 0;
    let flag = 0;
    for (let lx = 0; lx < this.lastLit; lx++) {
      if ((lx & 7) === 0) flag = this.flagBuf[fx++]!;
      const lc = this.lBuf[lx]!;
      if ((flag & 1) === 0) {
        out.sendBits(lcode[lc]!, llen[lc]!);
      } else {
        const code = LENGTH_CODE[lc]!;
        out.sendBits(lcode[code + LITERALS + 1]!, llen[code + LITERALS + 1]!);
        const lextra = EXTRA_LBITS[code]!;
        if (lextra !== 0) out.sendBits(lc - BASE_LENGTH[code]!, lextra);
        const dist = this.dBuf[dx++]!;
        const dc = distCode(dist);
        out.sendBits(dcode[dc]!, dlen[dc]!);
        const dextra = EXTRA_DBITS[dc]!;
        if (dextra !== 0) out.sendBits(dist - BASE_DIST[dc]!, dextra);
      }
      flag >>= 1;
    }
    out.sendBits(lcode[END_BLOCK]!, llen[END_BLOCK]!);
  }
}
