/**
 * bsdiff's scan (Colin Percival, 2003) over a suffix array of the old file:
 * approximate matches become ADD pieces (new minus old, mostly zero bytes for a
 * recompiled executable) and what matches nothing becomes LITERAL pieces.
 */
import { suffixArray } from './suffix.js';

/** One piece of the new file: `add` reads the old file at `oldOffsetBytes`, `literal` carries new bytes. */
export type DiffPiece =
  | { readonly kind: 'add'; readonly newOffsetBytes: number; readonly oldOffsetBytes: number; readonly lengthBytes: number }
  | { readonly kind: 'literal'; readonly newOffsetBytes: number; readonly lengthBytes: number };

function matchLength(a: Uint8Array, ai: number, b: Uint8Array, bi: number): number {
  let i = 0;
  const n = Math.min(a.length - ai, b.length - bi);
  while (i < n && a[ai + i] === b[bi + i]) i++;
  return i;
}

// Negative when old[oi..] sorts before neu[ni..].
function compareSuffix(old: Uint8Array, oi: number, neu: Uint8Array, ni: number): number {
  const n = Math.min(old.length - oi, neu.length - ni);
  for (let i = 0; i < n; i++) {
    const d = old[oi + i]! - neu[ni + i]!;
    if (d !== 0) return d;
  }
  return (old.length - oi) - (neu.length - ni);
}

function search(I: Int32Array, old: Uint8Array, neu: Uint8Array, at: number): { pos: number; len: number } {
  let st = 0;
  let en = old.length;
  while (en - st >= 2) {
    const x = st + ((en - st) >> 1);
    if (compareSuffix(old, I[x]!, neu, at) < 0) st = x; else en = x;
  }
  const x = matchLength(old, I[st]!, neu, at);
  const y = matchLength(old, I[en]!, neu, at);
  return x > y ? { pos: I[st]!, len: x } : { pos: I[en]!, len: y };
}

/** The pieces that rebuild `neu` from `old`, in new-file order, covering every byte once. */
export function bsdiff(old: Uint8Array, neu: Uint8Array): DiffPiece[] {
  const pieces: DiffPiece[] = [];
  if (old.length === 0) {
    if (neu.length > 0) pieces.push({ kind: 'literal', newOffsetBytes: 0, lengthBytes: neu.length });
    return pieces;
  }
  const I = suffixArray(old);
  let scan = 0, len = 0, pos = 0, lastScan = 0, lastPos = 0, lastOffset = 0;
  while (scan < neu.length) {
    let oldScore = 0;
    let scsc = (scan += len);
    for (; scan < neu.length; scan++) {
      ({ pos, len } = search(I, old, neu, scan));
      for (; scsc < scan + len; scsc++) if (scsc + lastOffset < old.length && old[scsc + lastOffset] === neu[scsc]) oldScore++;
      if ((len === oldScore && len !== 0) || len > oldScore + 8) break;
      if (scan + lastOffset < old.length && old[scan + lastOffset] === neu[scan]) oldScore--;
    }
    if (len === oldScore && scan !== neu.length) continue;
    let lenF = forwardExtension(old, neu, lastScan, lastPos, scan);
    let lenB = scan < neu.length ? backwardExtension(old, neu, lastScan, scan, pos) : 0;
    if (lastScan + lenF > scan - lenB) {
      const overlap = lastScan + lenF - (scan - lenB);
      let s = 0, ss = 0, lens = 0;
      for (let i = 0; i < overlap; i++) {
        if (neu[lastScan + lenF - overlap + i] === old[lastPos + lenF - overlap + i]) s++;
        if (neu[scan - lenB + i] === old[pos - lenB + i]) s--;
        if (s > ss) { ss = s; lens = i + 1; }
      }
      lenF += lens - overlap;
      lenB -= lens;
    }
    if (lenF > 0) pieces.push({ kind: 'add', newOffsetBytes: lastScan, oldOffsetBytes: lastPos, lengthBytes: lenF });
    const extra = scan - lenB - (lastScan + lenF);
    if (extra > 0) pieces.push({ kind: 'literal', newOffsetBytes: lastScan + lenF, lengthBytes: extra });
    lastScan = scan - lenB;
    lastPos = pos - lenB;
    lastOffset = pos - scan;
  }
  return pieces;
}

function forwardExtension(old: Uint8Array, neu: Uint8Array, lastScan: number, lastPos: number, scan: number): number {
  let s = 0, sf = 0, lenF = 0;
  for (let i = 0; lastScan + i < scan && lastPos + i < old.length;) {
    if (old[lastPos + i] === neu[lastScan + i]) s++;
    i++;
    if (s * 2 - i > sf * 2 - lenF) { sf = s; lenF = i; }
  }
  return lenF;
}

function backwardExtension(old: Uint8Array, neu: Uint8Array, lastScan: number, scan: number, pos: number): number {
  let s = 0, sb = 0, lenB = 0;
  for (let i = 1; scan >= lastScan + i && pos >= i; i++) {
    if (old[pos - i] === neu[scan - i]) s++;
    if (s * 2 - i > sb * 2 - lenB) { sb = s; lenB = i; }
  }
  return lenB;
}

/** The ADD bytes of a piece: new minus old, byte-wise mod 256. */
export function addBytes(old: Uint8Array, neu: Uint8Array, piece: Extract<DiffPiece, { kind: 'add' }>, from = 0, to = piece.lengthBytes): Uint8Array {
  const out = new Uint8Array(to - from);
  for (let i = from; i < to; i++) out[i - from] = neu[piece.newOffsetBytes + i]! - old[piece.oldOffsetBytes + i]!;
  return out;
}
