/**
 * Constant tables of GNU gzip's deflate (trees.c `ct_init` and gzip.h): code
 * lengths and extra bits, the length and distance code maps, the static trees.
 * Built once at module load; read-only afterwards.
 */

/** Sliding window half size; matches reach at most this far back (gzip.h WSIZE). */
export const WSIZE = 0x8000;
export const MIN_MATCH = 3;
export const MAX_MATCH = 258;
/** Lookahead kept ahead of `strstart` except at end of input (gzip.h). */
export const MIN_LOOKAHEAD = MAX_MATCH + MIN_MATCH + 1;
export const MAX_DIST = WSIZE - MIN_LOOKAHEAD;
export const MAX_BITS = 15;
export const MAX_BL_BITS = 7;
export const LENGTH_CODES = 29;
export const LITERALS = 256;
export const END_BLOCK = 256;
export const L_CODES = LITERALS + 1 + LENGTH_CODES;
export const D_CODES = 30;
export const BL_CODES = 19;
/** Symbols buffered per block before a forced flush (trees.c, not SMALL_MEM/MEDIUM_MEM). */
export const LIT_BUFSIZE = 0x8000;
/** Distances buffered per block before a forced flush (gzip.h DIST_BUFSIZE). */
export const DIST_BUFSIZE = 0x8000;
export const REP_3_6 = 16;
export const REPZ_3_10 = 17;
export const REPZ_11_138 = 18;

export const EXTRA_LBITS: readonly number[] = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0];
export const EXTRA_DBITS: readonly number[] = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13];
export const EXTRA_BLBITS: readonly number[] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 3, 7];
/** Order in which the bit-length code lengths are sent. */
export const BL_ORDER: readonly number[] = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];

/**
 * Reverse the low `len` bits of `code`, `len` <= 16 (bits.c bi_reverse). Swaps halves instead of
 * looping per bit: the static trees are built at module load, and a loop here was hot enough to
 * start V8's optimizing compiler in the idle agent (about 3.5 MiB of RSS; bench/README.md, footprint).
 */
export function reverseBits(code: number, len: number): number {
  let c = code & 0xffff;
  c = ((c & 0x5555) << 1) | ((c >>> 1) & 0x5555);
  c = ((c & 0x3333) << 2) | ((c >>> 2) & 0x3333);
  c = ((c & 0x0f0f) << 4) | ((c >>> 4) & 0x0f0f);
  c = ((c & 0x00ff) << 8) | ((c >>> 8) & 0x00ff);
  return c >>> (16 - len);
}

/** length_code[match length - MIN_MATCH] and base_length[code]. */
export const LENGTH_CODE = new Uint8Array(MAX_MATCH - MIN_MATCH + 1);
export const BASE_LENGTH = new Int32Array(LENGTH_CODES);
/** dist_code[] indexed as trees.c d_code(): first 256 direct, then by dist >> 7. */
export const DIST_CODE = new Uint8Array(512);
export const BASE_DIST = new Int32Array(D_CODES);

/** The static literal/length and distance trees (codes already bit-reversed). */
export const STATIC_LTREE_LEN = new Uint16Array(L_CODES + 2);
export const STATIC_LTREE_CODE = new Uint16Array(L_CODES + 2);
export const STATIC_DTREE_LEN = new Uint16Array(D_CODES);
export const STATIC_DTREE_CODE = new Uint16Array(D_CODES);

/** Canonical codes from code lengths (trees.c gen_codes); `blCount[bits]` counts codes per length. */
export function genCodes(len: Uint16Array, code: Uint16Array, maxCode: number, blCount: Uint16Array): void {
  const nextCode = new Uint16Array(MAX_BITS + 1);
  let c = 0;
  for (let bits = 1; bits <= MAX_BITS; bits++) {
    c = ((c + blCount[bits - 1]!) << 1) & 0xffff;
    nextCode[bits] = c;
  }
  for (let n = 0; n <= maxCode; n++) {
    const l = len[n]!;
    if (l === 0) continue;
    code[n] = reverseBits(nextCode[l]!, l);
    nextCode[l] = nextCode[l]! + 1;
  }
}

function initTables(): void {
  let length = 0;
  let code = 0;
  for (code = 0; code < LENGTH_CODES - 1; code++) {
    BASE_LENGTH[code] = length;
    for (let n = 0; n < 1 << EXTRA_LBITS[code]!; n++) LENGTH_CODE[length++] = code;
  }
  // Length 258 has two encodings (284 + 5 bits, or 285): gzip takes 285.
  LENGTH_CODE[length - 1] = code;
  let dist = 0;
  for (code = 0; code < 16; code++) {
    BASE_DIST[code] = dist;
    for (let n = 0; n < 1 << EXTRA_DBITS[code]!; n++) DIST_CODE[dist++] = code;
  }
  dist >>= 7;
  for (; code < D_CODES; code++) {
    BASE_DIST[code] = dist << 7;
    for (let n = 0; n < 1 << (EXTRA_DBITS[code]! - 7); n++) DIST_CODE[256 + dist++] = code;
  }
  const blCount = new Uint16Array(MAX_BITS + 1);
  for (let n = 0; n <= 287; n++) {
    const bits = n <= 143 ? 8 : n <= 255 ? 9 : n <= 279 ? 7 : 8;
    STATIC_LTREE_LEN[n] = bits;
    blCount[bits] = blCount[bits]! + 1;
  }
  genCodes(STATIC_LTREE_LEN, STATIC_LTREE_CODE, L_CODES + 1, blCount);
  for (let n = 0; n < D_CODES; n++) {
    STATIC_DTREE_LEN[n] = 5;
    STATIC_DTREE_CODE[n] = reverseBits(n, 5);
  }
}
initTables();

/** trees.c d_code(): the distance code of `dist` (match distance - 1). */
export function distCode(dist: number): number {
  return dist < 256 ? DIST_CODE[dist]! : DIST_CODE[256 + (dist >> 7)]!;
}
