/**
 * Constants, code tables, static trees and the bit writer of GNU gzip's trees.c
 * and bits.c (gzip 1.x), for gzip-trees.ts.
 */

/** Longest code of the literal/length and distance trees. */
export const MAX_BITS = 15;
/** Longest code of the bit-length tree. */
export const MAX_BL_BITS = 7;
/** Number of match length codes (not counting END_BLOCK). */
export const LENGTH_CODES = 29;
/** Number of literal byte codes. */
export const LITERALS = 256;
/** The end-of-block code. */
export const END_BLOCK = 256;
/** Literal, END_BLOCK and length codes. */
export const L_CODES = LITERALS + 1 + LENGTH_CODES;
/** Distance codes. */
export const D_CODES = 30;
/** Bit-length codes. */
export const BL_CODES = 19;
/** Heap for building the trees (leaves and internal nodes). */
export const HEAP_SIZE = 2 * L_CODES + 1;
/** Symbols buffered per block (gzip's LIT_BUFSIZE). */
export const LIT_BUFSIZE = 0x8000;
/** Bit-length code: repeat the previous length 3-6 times. */
export const REP_3_6 = 16;
/** Bit-length code: repeat a zero length 3-10 times. */
export const REPZ_3_10 = 17;
/** Bit-length code: repeat a zero length 11-138 times. */
export const REPZ_11_138 = 18;
/** Index of the smallest element in the heap. */
export const SMALLEST = 1;

/** Extra bits of each length code. */
export const EXTRA_LBITS = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0];
/** Extra bits of each distance code. */
export const EXTRA_DBITS = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13];
/** Extra bits of each bit-length code. */
export const EXTRA_BLBITS = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 3, 7];
/** Order in which bit-length code lengths are sent. */
export const BL_ORDER = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];

/** Length code of each match length - 3. */
export const lengthCode = new Uint8Array(256);
/** Distance code of each distance (first 256 direct, then by distance >> 7). */
export const distCode = new Uint8Array(512);
/** First match length - 3 of each length code. */
export const baseLength = new Int32Array(LENGTH_CODES);
/** First distance - 1 of each distance code. */
export const baseDist = new Int32Array(D_CODES);
{
  let length = 0;
  let code = 0;
  for (code = 0; code < LENGTH_CODES - 1; code++) {
    baseLength[code] = length;
    for (let n = 0; n < 1 << EXTRA_LBITS[code]!; n++) lengthCode[length++] = code;
  }
  lengthCode[length - 1] = code;
  let dist = 0;
  for (code = 0; code < 16; code++) {
    baseDist[code] = dist;
    for (let n = 0; n < 1 << EXTRA_DBITS[code]!; n++) distCode[dist++] = code;
  }
  dist >>= 7;
  for (; code < D_CODES; code++) {
    baseDist[code] = dist << 7;
    for (let n = 0; n < 1 << (EXTRA_DBITS[code]! - 7); n++) distCode[256 + dist++] = code;
  }
}

/** Distance code of a distance - 1 (gzip's d_code). */
export function dCode(dist: number): number {
  return dist < 256 ? distCode[dist]! : distCode[256 + (dist >> 7)]!;
}

/** Reverse the low `len` bits of `code` (gzip's bi_reverse). */
export function reverseBits(code: number, len: number): number {
  let res = 0;
  let c = code;
  for (let i = 0; i < len; i++) { res = (res << 1) | (c & 1); c >>= 1; }
  return res;
}

/** A Huffman tree in gzip's layout: `fc` is Freq or Code, `dl` is Dad or Len (C unions). */
export interface Tree { fc: Uint16Array; dl: Uint16Array }

/** A tree with what building it needs (gzip's tree_desc). */
export interface Desc {
  readonly tree: Tree;
  readonly stree: Tree | undefined;
  readonly extra: readonly number[];
  readonly extraBase: number;
  readonly elems: number;
  readonly maxLength: number;
  maxCode: number;
}

/** A zeroed tree of `size` nodes. */
export function newTree(size: number): Tree { return { fc: new Uint16Array(size), dl: new Uint16Array(size) }; }

/** Assign canonical codes from code lengths (gzip's gen_codes). */
export function genCodesInto(tree: Tree, maxCode: number, blCount: Uint16Array): void {
  const next = new Uint16Array(MAX_BITS + 1);
  let code = 0;
  for (let bits = 1; bits <= MAX_BITS; bits++) next[bits] = code = ((code + blCount[bits - 1]!) << 1) & 0xffff;
  for (let n = 0; n <= maxCode; n++) {
    const len = tree.dl[n]!;
    if (len === 0) continue;
    tree.fc[n] = reverseBits(next[len]!++, len);
  }
}

/** The fixed literal/length tree of static blocks. */
export const staticL = newTree(L_CODES + 2);
/** The fixed distance tree of static blocks. */
export const staticD = newTree(D_CODES);
{
  const count = new Uint16Array(MAX_BITS + 1);
  for (let n = 0; n < L_CODES + 2; n++) {
    const len = n <= 143 ? 8 : n <= 255 ? 9 : n <= 279 ? 7 : 8;
    staticL.dl[n] = len;
    count[len]!++;
  }
  genCodesInto(staticL, L_CODES + 1, count);
  for (let n = 0; n < D_CODES; n++) { staticD.dl[n] = 5; staticD.fc[n] = reverseBits(n, 5); }
}

/** LSB-first bit writer (gzip's send_bits / bi_windup). */
export class BitWriter {
  private bytes = new Uint8Array(1 << 16);
  private size = 0;
  private buf = 0;
  private valid = 0;

  /** Append the low `length` bits of `value` (length <= 16). */
  bits(value: number, length: number): void {
    this.buf |= value << this.valid;
    this.valid += length;
    while (this.valid >= 8) { this.byte(this.buf & 0xff); this.buf >>>= 8; this.valid -= 8; }
  }

  /** Pad to a byte boundary with zero bits. */
  windup(): void {
    if (this.valid > 0) this.byte(this.buf & 0xff);
    this.buf = 0;
    this.valid = 0;
  }

  /** Append one byte (only on a byte boundary). */
  byte(b: number): void {
    if (this.size === this.bytes.length) { const g = new Uint8Array(this.bytes.length * 2); g.set(this.bytes); this.bytes = g; }
    this.bytes[this.size++] = b;
  }

  /** The bytes written so far (a view, valid until the next write or reset). */
  view(): Uint8Array { return this.bytes.subarray(0, this.size); }

  /** Start over, keeping the buffer. */
  reset(): void { this.size = 0; this.buf = 0; this.valid = 0; }
}

