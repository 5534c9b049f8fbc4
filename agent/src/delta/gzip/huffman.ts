/**
 * Huffman tree construction of GNU gzip's trees.c: build_tree with its heap
 * and depth tie-breaker, gen_bitlen with its overflow repair, and the
 * run-length scan and send of code lengths. Ported step for step: the exact
 * code lengths (and so the output bytes) depend on the heap's tie-breaking.
 */
import type { BitWriter } from './bits.js';
import { genCodes, L_CODES, MAX_BITS, REP_3_6, REPZ_11_138, REPZ_3_10 } from './tables.js';

/** One tree: leaves 0..elems-1, internal nodes above; `dad` and `len` share a slot in C, as do `freq` and `code`. */
export interface Tree {
  readonly freq: Uint32Array;
  readonly code: Uint16Array;
  readonly dad: Uint16Array;
  readonly len: Uint16Array;
}

/** A tree with `size` nodes. */
export function newTree(size: number): Tree {
  return { freq: new Uint32Array(size), code: new Uint16Array(size), dad: new Uint16Array(size), len: new Uint16Array(size) };
}

/** trees.c tree_desc: what build_tree needs to know about one tree. */
export interface TreeDesc {
  readonly tree: Tree;
  readonly staticLen: Uint16Array | undefined;
  readonly extraBits: readonly number[];
  readonly extraBase: number;
  readonly elems: number;
  readonly maxLength: number;
  maxCode: number;
}

/** Bit totals a block accumulates while its trees are built (trees.c opt_len, static_len). */
export interface BlockLengths { optLen: number; staticLen: number }

const SMALLEST = 1;
/** trees.c HEAP_SIZE: every tree is built in one heap of this size. */
const HEAP_SIZE = 2 * L_CODES + 1;

/** The shared heap of trees.c: one instance per encoder. */
export class TreeBuilder {
  private readonly heap = new Int32Array(HEAP_SIZE);
  private readonly depth = new Uint8Array(HEAP_SIZE);
  private readonly blCount = new Uint16Array(MAX_BITS + 1);
  private heapLen = 0;
  private heapMax = 0;

  /** build_tree: code lengths and codes for `desc`, adding its cost to `lengths`. */
  build(desc: TreeDesc, lengths: BlockLengths): void {
    const { tree, staticLen, elems } = desc;
    const heap = this.heap;
    let maxCode = -1;
    let node = elems;
    this.heapLen = 0;
    this.heapMax = HEAP_SIZE;
    for (let n = 0; n < elems; n++) {
      if (tree.freq[n] !== 0) {
        heap[++this.heapLen] = maxCode = n;
        this.depth[n] = 0;
      } else {
        tree.len[n] = 0;
      }
    }
    // Deflate needs at least two codes of non-zero frequency in every tree.
    while (this.heapLen < 2) {
      const added = maxCode < 2 ? ++maxCode : 0;
      heap[++this.heapLen] = added;
      tree.freq[added] = 1;
      this.depth[added] = 0;
      lengths.optLen--;
      if (staticLen) lengths.staticLen -= staticLen[added]!;
    }
    desc.maxCode = maxCode;
    for (let n = this.heapLen >> 1; n >= 1; n--) this.downHeap(tree, n);
    do {
      const n = heap[SMALLEST]!;
      heap[SMALLEST] = heap[this.heapLen--]!;
      this.downHeap(tree, SMALLEST);
      const m = heap[SMALLEST]!;
      heap[--this.heapMax] = n;
      heap[--this.heapMax] = m;
      tree.freq[node] = tree.freq[n]! + tree.freq[m]!;
      this.depth[node] = Math.max(this.depth[n]!, this.depth[m]!) + 1;
      tree.dad[n] = tree.dad[m] = node;
      heap[SMALLEST] = node++;
      this.downHeap(tree, SMALLEST);
    } while (this.heapLen >= 2);
    heap[--this.heapMax] = heap[SMALLEST]!;
    this.genBitlen(desc, lengths);
    genCodes(tree.len, tree.code, maxCode, this.blCount);
  }

  private smaller(tree: Tree, n: number, m: number): boolean {
    const fn = tree.freq[n]!;
    const fm = tree.freq[m]!;
    return fn < fm || (fn === fm && this.depth[n]! <= this.depth[m]!);
  }

  private downHeap(tree: Tree, start: number): void {
    const heap = this.heap;
    let k = start;
    const v = heap[k]!;
    let j = k << 1;
    while (j <= this.heapLen) {
      if (j < this.heapLen && this.smaller(tree, heap[j + 1]!, heap[j]!)) j++;
      if (this.smaller(tree, v, heap[j]!)) break;
      heap[k] = heap[j]!;
      k = j;
      j <<= 1;
    }
    heap[k] = v;
  }

  // gen_bitlen: optimal lengths, then gzip's repair when some exceed maxLength.
  private genBitlen(desc: TreeDesc, lengths: BlockLengths): void {
    const { tree, extraBits, extraBase, maxCode, maxLength, staticLen } = desc;
    const { heap, blCount } = this;
    blCount.fill(0);
    let overflow = 0;
    tree.len[heap[this.heapMax]!] = 0;
    let h: number;
    for (h = this.heapMax + 1; h < HEAP_SIZE; h++) {
      const n = heap[h]!;
      let bits = tree.len[tree.dad[n]!]! + 1;
      if (bits > maxLength) { bits = maxLength; overflow++; }
      tree.len[n] = bits;
      if (n > maxCode) continue;
      blCount[bits] = blCount[bits]! + 1;
      const xbits = n >= extraBase ? extraBits[n - extraBase]! : 0;
      const f = tree.freq[n]!;
      lengths.optLen += f * (bits + xbits);
      if (staticLen) lengths.staticLen += f * (staticLen[n]! + xbits);
    }
    if (overflow === 0) return;
    do {
      let bits = maxLength - 1;
      while (blCount[bits] === 0) bits--;
      blCount[bits] = blCount[bits]! - 1;
      blCount[bits + 1] = blCount[bits + 1]! + 2;
      blCount[maxLength] = blCount[maxLength]! - 1;
      overflow -= 2;
    } while (overflow > 0);
    for (let bits = maxLength; bits !== 0; bits--) {
      let n = blCount[bits]!;
      while (n !== 0) {
        const m = heap[--h]!;
        if (m > maxCode) continue;
        if (tree.len[m] !== bits) {
          lengths.optLen += (bits - tree.len[m]!) * tree.freq[m]!;
          tree.len[m] = bits;
        }
        n--;
      }
    }
  }
}

/** The run-length walk shared by scan_tree and send_tree: calls `emit(curlen, count)` for each run. */
function walkLengths(len: Uint16Array, maxCode: number, emit: (curlen: number, count: number, prevlen: number, minCount: number) => void): void {
  let prevlen = -1;
  let nextlen = len[0]!;
  let count = 0;
  let maxCount = 7;
  let minCount = 4;
  if (nextlen === 0) { maxCount = 138; minCount = 3; }
  for (let n = 0; n <= maxCode; n++) {
    const curlen = nextlen;
    nextlen = len[n + 1]!;
    if (++count < maxCount && curlen === nextlen) continue;
    emit(curlen, count, prevlen, minCount);
    count = 0;
    prevlen = curlen;
    if (nextlen === 0) { maxCount = 138; minCount = 3; }
    else if (curlen === nextlen) { maxCount = 6; minCount = 3; }
    else { maxCount = 7; minCount = 4; }
  }
}

// The run kind trees.c picks for a run: plain lengths, repeat previous, or zero runs.
function runKind(curlen: number, count: number, minCount: number): 'plain' | 'rep' | 'z10' | 'z138' {
  if (count < minCount) return 'plain';
  if (curlen !== 0) return 'rep';
  return count <= 10 ? 'z10' : 'z138';
}

/** scan_tree: count the bit-length codes `len[0..maxCode]` will need into `blFreq`. */
export function scanTree(len: Uint16Array, maxCode: number, blFreq: Uint32Array): void {
  len[maxCode + 1] = 0xffff; // guard
  walkLengths(len, maxCode, (curlen, count, prevlen, minCount) => {
    const kind = runKind(curlen, count, minCount);
    if (kind === 'plain') blFreq[curlen] = blFreq[curlen]! + count;
    else if (kind === 'rep') {
      if (curlen !== prevlen) blFreq[curlen] = blFreq[curlen]! + 1;
      blFreq[REP_3_6] = blFreq[REP_3_6]! + 1;
    } else if (kind === 'z10') blFreq[REPZ_3_10] = blFreq[REPZ_3_10]! + 1;
    else blFreq[REPZ_11_138] = blFreq[REPZ_11_138]! + 1;
  });
}

/** send_tree: write `len[0..maxCode]` with the bit-length tree `bl`. */
export function sendTree(out: BitWriter, len: Uint16Array, maxCode: number, bl: Tree): void {
  const code = (c: number): void => out.sendBits(bl.code[c]!, bl.len[c]!);
  walkLengths(len, maxCode, (curlen, count, prevlen, minCount) => {
    const kind = runKind(curlen, count, minCount);
    if (kind === 'plain') { for (let i = 0; i < count; i++) code(curlen); }
    else if (kind === 'rep') {
      let c = count;
      if (curlen !== prevlen) { code(curlen); c--; }
      code(REP_3_6); out.sendBits(c - 3, 2);
    } else if (kind === 'z10') { code(REPZ_3_10); out.sendBits(count - 3, 3); }
    else { code(REPZ_11_138); out.sendBits(count - 11, 7); }
  });
}
