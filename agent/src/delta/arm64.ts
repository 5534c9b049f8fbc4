/**
 * ARM64 PC-relative references, for executable-aware diffs (the idea of Chromium's
 * Zucchini "reference correction"): the decoder reads an old executable through a
 * prediction that rewrites each PC-relative instruction so it points where its old
 * target moved to, seen from where the instruction itself moved to. Code that moved
 * then reads as the new code, and the diff carries only real changes.
 *
 * Only the displacement field of a recognised instruction changes; every other bit
 * (and every word that is not one of these instructions: data, literal pools) is
 * kept, so the prediction is a pure function of the word, its address and the map.
 */

/** A displacement field: bit position, width, scale (log2 of the unit), and whether it counts 4 KiB pages (ADRP). */
interface Field { readonly mask: number; readonly value: number; readonly shift: number; readonly bits: number; readonly scale: number; readonly page: boolean }

// Opcode masks only test bits outside the field, so a rewritten word keeps its class.
const FIELDS: readonly Field[] = [
  { mask: 0x7c000000, value: 0x14000000, shift: 0, bits: 26, scale: 2, page: false }, // B, BL imm26
  { mask: 0xff000010, value: 0x54000000, shift: 5, bits: 19, scale: 2, page: false }, // B.cond imm19
  { mask: 0x7e000000, value: 0x34000000, shift: 5, bits: 19, scale: 2, page: false }, // CBZ, CBNZ imm19
  { mask: 0x7e000000, value: 0x36000000, shift: 5, bits: 14, scale: 2, page: false }, // TBZ, TBNZ imm14
  { mask: 0x3b000000, value: 0x18000000, shift: 5, bits: 19, scale: 2, page: false }, // LDR/LDRSW/PRFM literal imm19
];

function fieldOf(word: number): Field | 'adr' | 'adrp' | undefined {
  if ((word & 0x9f000000) === 0x10000000) return 'adr';
  if (((word & 0x9f000000) >>> 0) === 0x90000000) return 'adrp';
  for (const f of FIELDS) if (((word & f.mask) >>> 0) === f.value) return f;
  return undefined;
}

function signed(v: number, bits: number): number { return v >= 2 ** (bits - 1) ? v - 2 ** bits : v; }
function wrap(v: number, bits: number): number { const m = 2 ** bits; return ((v % m) + m) % m; }

// ADR/ADRP split their 21-bit immediate: immlo at bits 29-30, immhi at 5-23.
function adrImm(word: number): number { return signed((((word >>> 5) & 0x7ffff) * 4) + ((word >>> 29) & 3), 21); }
function withAdrImm(word: number, imm: number): number {
  const v = wrap(imm, 21);
  return ((word & ~(0x7ffff << 5) & ~(3 << 29)) | ((v >>> 2) << 5) | ((v & 3) << 29)) >>> 0;
}

/** The absolute target of a PC-relative instruction at `pc` (a page address for ADRP), or undefined for any other word. */
export function arm64Target(word: number, pc: number): number | undefined {
  const f = fieldOf(word);
  if (f === undefined) return undefined;
  if (f === 'adr') return pc + adrImm(word);
  if (f === 'adrp') return (Math.floor(pc / 4096) + adrImm(word)) * 4096;
  const imm = signed(Math.floor(word / 2 ** f.shift) % 2 ** f.bits, f.bits);
  return pc + imm * 2 ** f.scale;
}

/**
 * The word rewritten to reach `target` from `pc` (the displacement wraps modulo its field, as the
 * hardware's does); a word that is not PC-relative comes back unchanged.
 */
export function arm64WithTarget(word: number, pc: number, target: number): number {
  const f = fieldOf(word);
  if (f === undefined) return word >>> 0;
  if (f === 'adr') return withAdrImm(word, target - pc);
  if (f === 'adrp') return withAdrImm(word, Math.floor(target / 4096) - Math.floor(pc / 4096));
  const v = wrap(Math.floor((target - pc) / 2 ** f.scale), f.bits);
  const fieldMask = (2 ** f.bits - 1) * 2 ** f.shift;
  return ((word >>> 0) - ((word >>> 0) & fieldMask) + v * 2 ** f.shift) >>> 0;
}

/** Where old addresses moved: from each of the sorted old addresses `starts` on, addresses shift by `shifts` (new minus old). */
export interface AddressMap {
  readonly starts: readonly number[];
  readonly shifts: readonly number[];
}

/** An old address's new address: the shift of the last start at or before it (none: unchanged). */
export function mapAddress(map: AddressMap, address: number): number {
  let a = 0;
  let b = map.starts.length;
  while (a < b) {
    const m = (a + b) >> 1;
    if ((map.starts[m] ?? 0) <= address) a = m + 1; else b = m;
  }
  return address + (a === 0 ? 0 : map.shifts[a - 1] ?? 0);
}

/** The old word at `pc` as predicted in the new code: its target and itself moved by `map`. */
export function arm64Predict(word: number, pc: number, map: AddressMap): number {
  const target = arm64Target(word, pc);
  if (target === undefined) return word >>> 0;
  return arm64WithTarget(word, mapAddress(map, pc), mapAddress(map, target));
}

/** The low half of an ADRP pair: ADD (immediate) or a load/store with an unsigned 12-bit offset, and the offset's scale (log2). */
const LOW_FORMS: readonly { readonly mask: number; readonly value: number; readonly scale: number }[] = [
  { mask: 0xffc00000, value: 0x91000000, scale: 0 }, // ADD Xd, Xn, #imm
  { mask: 0xffc00000, value: 0xf9400000, scale: 3 }, // LDR Xt, [Xn, #imm]
  { mask: 0xffc00000, value: 0xb9400000, scale: 2 }, // LDR Wt, [Xn, #imm]
  { mask: 0xffc00000, value: 0xf9000000, scale: 3 }, // STR Xt, [Xn, #imm]
  { mask: 0xffc00000, value: 0xb9000000, scale: 2 }, // STR Wt, [Xn, #imm]
  { mask: 0xffc00000, value: 0x39400000, scale: 0 }, // LDRB Wt, [Xn, #imm]
  { mask: 0xffc00000, value: 0xfd400000, scale: 3 }, // LDR Dt, [Xn, #imm]
  { mask: 0xffc00000, value: 0x3dc00000, scale: 4 }, // LDR Qt, [Xn, #imm]
];

// The scale of `low` when it completes the ADRP `high` (same register), else undefined.
function lowScale(high: number, low: number): number | undefined {
  if (((high & 0x9f000000) >>> 0) !== 0x90000000 || ((low >>> 5) & 31) !== (high & 31)) return undefined;
  for (const f of LOW_FORMS) if (((low & f.mask) >>> 0) === f.value) return f.scale;
  return undefined;
}

// The full address an ADRP at `pc` and its low half reach.
function pairTarget(high: number, low: number, pc: number, scale: number): number {
  return (Math.floor(pc / 4096) + adrImm(high)) * 4096 + ((low >>> 10) & 0xfff) * 2 ** scale;
}

/**
 * `arm64Predict`, and for an ADRP pair (ADRP then ADD or a load/store off the same register, as compilers
 * emit them) the full address the pair reaches moves as one: the page of the ADRP and the low 12 bits of its
 * partner. `prev` and `next` are the old words around `word` (undefined at a section's edge).
 */
export function arm64PredictInContext(word: number, pc: number, map: AddressMap, prev: number | undefined, next: number | undefined): number {
  const asHigh = next === undefined ? undefined : lowScale(word, next);
  if (asHigh !== undefined && next !== undefined) {
    const target = mapAddress(map, pairTarget(word, next, pc, asHigh));
    return withAdrImm(word, Math.floor(target / 4096) - Math.floor(mapAddress(map, pc) / 4096));
  }
  const asLow = prev === undefined ? undefined : lowScale(prev, word);
  if (asLow !== undefined && prev !== undefined) {
    const target = mapAddress(map, pairTarget(prev, word, pc - 4, asLow));
    const unit = 2 ** asLow;
    if (target % unit !== 0) return word >>> 0;
    return ((word & ~(0xfff << 10)) | ((((target % 4096) + 4096) % 4096 / unit) << 10)) >>> 0;
  }
  return arm64Predict(word, pc, map);
}
