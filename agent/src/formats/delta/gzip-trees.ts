/**
 * The Huffman half of GNU gzip's deflate (trees.c of gzip 1.x, by Jean-loup
 * Gailly), ported operation for operation so that the bytes come out identical:
 * block tallies, the early-flush guess, tree construction with gzip's tie-breaks,
 * and the choice between stored, static and dynamic blocks.
 */
import {
  BL_CODES, BL_ORDER, BitWriter, D_CODES, END_BLOCK, EXTRA_BLBITS, EXTRA_DBITS, EXTRA_LBITS, HEAP_SIZE, LITERALS, LIT_BUFSIZE, L_CODES, MAX_BITS, MAX_BL_BITS, REPZ_11_138, REPZ_3_10, REP_3_6, SMALLEST, baseDist, baseLength, dCode, genCodesInto, lengthCode, newTree, staticD, staticL, type Desc, type Tree,
} from './gzip-tables.js';

/** The block state of gzip's trees.c: tallies symbols and emits blocks. */
export class GzipTrees {
  private readonly ltree = newTree(HEAP_SIZE);
  private readonly dtree = newTree(2 * D_CODES + 1);
  private readonly bltree = newTree(2 * BL_CODES + 1);
  private readonly lDesc: Desc = { tree: this.ltree, stree: staticL, extra: EXTRA_LBITS, extraBase: LITERALS + 1, elems: L_CODES, maxLength: MAX_BITS, maxCode: 0 };
  private readonly dDesc: Desc = { tree: this.dtree, stree: staticD, extra: EXTRA_DBITS, extraBase: 0, elems: D_CODES, maxLength: MAX_BITS, maxCode: 0 };
  private readonly blDesc: Desc = { tree: this.bltree, stree: undefined, extra: EXTRA_BLBITS, extraBase: 0, elems: BL_CODES, maxLength: MAX_BL_BITS, maxCode: 0 };
  private readonly heap = new Int32Array(2 * L_CODES + 1);
  private readonly depth = new Uint8Array(2 * L_CODES + 1);
  private readonly blCount = new Uint16Array(MAX_BITS + 1);
  private heapLen = 0;
  private heapMax = 0;
  private readonly lBuf = new Uint8Array(LIT_BUFSIZE);
  private readonly dBuf = new Uint16Array(LIT_BUFSIZE);
  private readonly flagBuf = new Uint8Array(LIT_BUFSIZE / 8);
  private lastLit = 0;
  private lastDist = 0;
  private lastFlags = 0;
  private flags = 0;
  private flagBit = 1;
  private optLen = 0;
  private staticLen = 0;
  readonly out = new BitWriter();
  private level = 9;

  /** Start a new stream at `level`. */
  reset(level: number): void {
    this.level = level;
    this.out.reset();
    this.initBlock();
  }

  /** gzip's ct_tally: record a literal (dist 0) or a match; true when the block should be flushed. */
  tally(dist: number, lc: number, strstart: number, blockStart: number): boolean {
    this.lBuf[this.lastLit++] = lc;
    if (dist === 0) this.ltree.fc[lc]!++;
    else {
      const d = dist - 1;
      this.ltree.fc[lengthCode[lc]! + LITERALS + 1]!++;
      this.dtree.fc[dCode(d)]!++;
      this.dBuf[this.lastDist++] = d;
      this.flags |= this.flagBit;
    }
    this.flagBit <<= 1;
    if ((this.lastLit & 7) === 0) { this.flagBuf[this.lastFlags++] = this.flags; this.flags = 0; this.flagBit = 1; }
    if (this.level > 2 && (this.lastLit & 0xfff) === 0) {
      let outLength = this.lastLit * 8;
      const inLength = strstart - blockStart;
      for (let c = 0; c < D_CODES; c++) outLength += this.dtree.fc[c]! * (5 + EXTRA_DBITS[c]!);
      outLength = Math.floor(outLength / 8);
      if (this.lastDist < Math.floor(this.lastLit / 2) && outLength < Math.floor(inLength / 2)) return true;
    }
    return this.lastLit === LIT_BUFSIZE - 1 || this.lastDist === LIT_BUFSIZE;
  }

  /** gzip's flush_block: emit the tallied block (`stored` holds its input bytes, or undefined when gone). */
  flushBlock(stored: Uint8Array | undefined, storedLen: number, eof: boolean): void {
    this.flagBuf[this.lastFlags] = this.flags;
    this.buildTree(this.lDesc);
    this.buildTree(this.dDesc);
    const maxBlIndex = this.buildBlTree();
    let optLenb = Math.floor((this.optLen + 3 + 7) / 8);
    const staticLenb = Math.floor((this.staticLen + 3 + 7) / 8);
    if (staticLenb <= optLenb) optLenb = staticLenb;
    const e = eof ? 1 : 0;
    if (storedLen + 4 <= optLenb && stored !== undefined) {
      this.out.bits((0 << 1) + e, 3);
      this.out.windup();
      this.out.bits(storedLen & 0xffff, 16);
      this.out.bits(~storedLen & 0xffff, 16);
      for (let i = 0; i < storedLen; i++) this.out.byte(stored[i]!);
    } else if (staticLenb === optLenb) {
      this.out.bits((1 << 1) + e, 3);
      this.compressBlock(staticL, staticD);
    } else {
      this.out.bits((2 << 1) + e, 3);
      this.sendAllTrees(this.lDesc.maxCode + 1, this.dDesc.maxCode + 1, maxBlIndex + 1);
      this.compressBlock(this.ltree, this.dtree);
    }
    this.initBlock();
    if (eof) this.out.windup();
  }

  private initBlock(): void {
    this.ltree.fc.fill(0, 0, L_CODES);
    this.dtree.fc.fill(0, 0, D_CODES);
    this.bltree.fc.fill(0, 0, BL_CODES);
    this.ltree.fc[END_BLOCK] = 1;
    this.optLen = this.staticLen = 0;
    this.lastLit = this.lastDist = this.lastFlags = 0;
    this.flags = 0;
    this.flagBit = 1;
  }

  private smaller(t: Tree, n: number, m: number): boolean {
    const fn = t.fc[n]!;
    const fm = t.fc[m]!;
    return fn < fm || (fn === fm && this.depth[n]! <= this.depth[m]!);
  }

  private downheap(t: Tree, k0: number): void {
    const h = this.heap;
    let k = k0;
    const v = h[k]!;
    let j = k << 1;
    while (j <= this.heapLen) {
      if (j < this.heapLen && this.smaller(t, h[j + 1]!, h[j]!)) j++;
      if (this.smaller(t, v, h[j]!)) break;
      h[k] = h[j]!;
      k = j;
      j <<= 1;
    }
    h[k] = v;
  }

  private buildTree(desc: Desc): void {
    const { tree, stree, elems } = desc;
    const h = this.heap;
    let maxCode = -1;
    let node = elems;
    this.heapLen = 0;
    this.heapMax = HEAP_SIZE;
    for (let n = 0; n < elems; n++) {
      if (tree.fc[n] !== 0) { h[++this.heapLen] = maxCode = n; this.depth[n] = 0; } else tree.dl[n] = 0;
    }
    while (this.heapLen < 2) {
      const nw = h[++this.heapLen] = maxCode < 2 ? ++maxCode : 0;
      tree.fc[nw] = 1;
      this.depth[nw] = 0;
      this.optLen--;
      if (stree !== undefined) this.staticLen -= stree.dl[nw]!;
    }
    desc.maxCode = maxCode;
    for (let n = this.heapLen >> 1; n >= 1; n--) this.downheap(tree, n);
    do {
      const n = h[SMALLEST]!;
      h[SMALLEST] = h[this.heapLen--]!;
      this.downheap(tree, SMALLEST);
      const m = h[SMALLEST]!;
      h[--this.heapMax] = n;
      h[--this.heapMax] = m;
      tree.fc[node] = tree.fc[n]! + tree.fc[m]!;
      this.depth[node] = Math.max(this.depth[n]!, this.depth[m]!) + 1;
      tree.dl[n] = tree.dl[m] = node;
      h[SMALLEST] = node++;
      this.downheap(tree, SMALLEST);
    } while (this.heapLen >= 2);
    h[--this.heapMax] = h[SMALLEST]!;
    this.genBitlen(desc);
    genCodesInto(tree, maxCode, this.blCount);
  }

  private genBitlen(desc: Desc): void {
    const { tree, stree, extra, extraBase, maxCode, maxLength } = desc;
    const h = this.heap;
    const blCount = this.blCount;
    blCount.fill(0);
    let overflow = 0;
    tree.dl[h[this.heapMax]!] = 0;
    let hi: number;
    for (hi = this.heapMax + 1; hi < HEAP_SIZE; hi++) {
      const n = h[hi]!;
      let bits = tree.dl[tree.dl[n]!]! + 1;
      if (bits > maxLength) { bits = maxLength; overflow++; }
      tree.dl[n] = bits;
      if (n > maxCode) continue;
      blCount[bits]!++;
      const xbits = n >= extraBase ? extra[n - extraBase]! : 0;
      const f = tree.fc[n]!;
      this.optLen += f * (bits + xbits);
      if (stree !== undefined) this.staticLen += f * (stree.dl[n]! + xbits);
    }
    if (overflow === 0) return;
    do {
      let bits = maxLength - 1;
      while (blCount[bits] === 0) bits--;
      blCount[bits]!--;
      blCount[bits + 1]! += 2;
      blCount[maxLength]!--;
      overflow -= 2;
    } while (overflow > 0);
    hi = HEAP_SIZE;
    for (let bits = maxLength; bits !== 0; bits--) {
      let n = blCount[bits]!;
      while (n !== 0) {
        const m = h[--hi]!;
        if (m > maxCode) continue;
        if (tree.dl[m] !== bits) {
          this.optLen += (bits - tree.dl[m]!) * tree.fc[m]!;
          tree.dl[m] = bits;
        }
        n--;
      }
    }
  }

  private scanTree(tree: Tree, maxCode: number, send: boolean): void {
    let prevlen = -1;
    let nextlen = tree.dl[0]!;
    let count = 0;
    let maxCount = 7;
    let minCount = 4;
    if (nextlen === 0) { maxCount = 138; minCount = 3; }
    if (!send) tree.dl[maxCode + 1] = 0xffff;
    const bl = this.bltree;
    const emit = (code: number): void => { if (send) this.out.bits(bl.fc[code]!, bl.dl[code]!); else bl.fc[code]!++; };
    for (let n = 0; n <= maxCode; n++) {
      const curlen = nextlen;
      nextlen = tree.dl[n + 1]!;
      if (++count < maxCount && curlen === nextlen) continue;
      else if (count < minCount) {
        if (send) { do { emit(curlen); } while (--count !== 0); } else bl.fc[curlen]! += count;
      } else if (curlen !== 0) {
        if (curlen !== prevlen) { emit(curlen); if (send) count--; }
        emit(REP_3_6);
        if (send) this.out.bits(count - 3, 2);
      } else if (count <= 10) {
        emit(REPZ_3_10);
        if (send) this.out.bits(count - 3, 3);
      } else {
        emit(REPZ_11_138);
        if (send) this.out.bits(count - 11, 7);
      }
      count = 0;
      prevlen = curlen;
      if (nextlen === 0) { maxCount = 138; minCount = 3; } else if (curlen === nextlen) { maxCount = 6; minCount = 3; } else { maxCount = 7; minCount = 4; }
    }
  }

  private buildBlTree(): number {
    this.scanTree(this.ltree, this.lDesc.maxCode, false);
    this.scanTree(this.dtree, this.dDesc.maxCode, false);
    this.buildTree(this.blDesc);
    let maxBlIndex: number;
    for (maxBlIndex = BL_CODES - 1; maxBlIndex >= 3; maxBlIndex--) if (this.bltree.dl[BL_ORDER[maxBlIndex]!] !== 0) break;
    this.optLen += 3 * (maxBlIndex + 1) + 5 + 5 + 4;
    return maxBlIndex;
  }

  private sendAllTrees(lcodes: number, dcodes: number, blcodes: number): void {
    this.out.bits(lcodes - 257, 5);
    this.out.bits(dcodes - 1, 5);
    this.out.bits(blcodes - 4, 4);
    for (let rank = 0; rank < blcodes; rank++) this.out.bits(this.bltree.dl[BL_ORDER[rank]!]!, 3);
    this.scanTree(this.ltree, lcodes - 1, true);
    this.scanTree(this.dtree, dcodes - 1, true);
  }

  private compressBlock(lt: Tree, dt: Tree): void {
    let lx = 0, dx = 0, fx = 0, flag = 0;
    const o = this.out;
    while (lx < this.lastLit) {
      if ((lx & 7) === 0) flag = this.flagBuf[fx++]!;
      let lc = this.lBuf[lx++]!;
      if ((flag & 1) === 0) o.bits(lt.fc[lc]!, lt.dl[lc]!);
      else {
        let code = lengthCode[lc]!;
        o.bits(lt.fc[code + LITERALS + 1]!, lt.dl[code + LITERALS + 1]!);
        let extra = EXTRA_LBITS[code]!;
        if (extra !== 0) { lc -= baseLength[code]!; o.bits(lc, extra); }
        let dist = this.dBuf[dx++]!;
        code = dCode(dist);
        o.bits(dt.fc[code]!, dt.dl[code]!);
        extra = EXTRA_DBITS[code]!;
        if (extra !== 0) { dist -= baseDist[code]!; o.bits(dist, extra); }
      }
      flag >>= 1;
    }
    o.bits(lt.fc[END_BLOCK]!, lt.dl[END_BLOCK]!);
  }
}
