/**
 * Suffix array by Larsson-Sadakane qsufsort (the algorithm bsdiff uses), in
 * typed arrays: I[k] is the start of the k-th smallest suffix; I[0] = n (the empty suffix).
 */

/** Suffix array of `data` (length n + 1, with the empty suffix first). */
export function suffixArray(data: Uint8Array): Int32Array {
  const n = data.length;
  const I = new Int32Array(n + 1);
  const V = new Int32Array(n + 1);
  const buckets = new Int32Array(256);
  for (let i = 0; i < n; i++) buckets[data[i] ?? 0]! += 1;
  for (let i = 1; i < 256; i++) buckets[i]! += buckets[i - 1]!;
  for (let i = 255; i > 0; i--) buckets[i] = buckets[i - 1]!;
  buckets[0] = 0;
  for (let i = 0; i < n; i++) I[++buckets[data[i]!]!] = i;
  I[0] = n;
  for (let i = 0; i < n; i++) V[i] = buckets[data[i]!]!;
  V[n] = 0;
  for (let i = 1; i < 256; i++) if (buckets[i] === buckets[i - 1]! + 1) I[buckets[i]!] = -1;
  I[0] = -1;
  for (let h = 1; I[0] !== -(n + 1); h += h) {
    let len = 0;
    let i = 0;
    while (i < n + 1) {
      const v = I[i]!;
      if (v < 0) {
        len -= v;
        i -= v;
      } else {
        if (len !== 0) I[i - len] = -len;
        len = V[v]! + 1 - i;
        split(I, V, i, len, h);
        i += len;
        len = 0;
      }
    }
    if (len !== 0) I[i - len] = -len;
  }
  for (let i = 0; i < n + 1; i++) I[V[i]!] = i;
  return I;
}

// Ternary-split quicksort on rank V[I[k] + h] (bsdiff's split; the right part loops instead of recursing).
function split(I: Int32Array, V: Int32Array, start0: number, len0: number, h: number): void {
  let start = start0;
  let len = len0;
  for (;;) {
    if (len < 16) { smallSort(I, V, start, len, h); return; }
    const x = V[I[start + (len >> 1)]! + h]!;
    let jj = 0;
    let kk = 0;
    for (let i = start; i < start + len; i++) {
      const v = V[I[i]! + h]!;
      if (v < x) jj++;
      else if (v === x) kk++;
    }
    jj += start;
    kk += jj;
    let i = start;
    let j = 0;
    let k = 0;
    while (i < jj) {
      const v = V[I[i]! + h]!;
      if (v < x) i++;
      else if (v === x) { swap(I, i, jj + j); j++; } else { swap(I, i, kk + k); k++; }
    }
    while (jj + j < kk) {
      if (V[I[jj + j]! + h] === x) j++;
      else { swap(I, jj + j, kk + k); k++; }
    }
    // Order matters (Larsson-Sadakane): sort the left part, then rank the middle group, then the right part.
    if (jj > start) split(I, V, start, jj - start, h);
    for (let t = 0; t < kk - jj; t++) V[I[jj + t]!] = kk - 1;
    if (jj === kk - 1) I[jj] = -1;
    len = start + len - kk;
    start = kk;
    if (len <= 0) return;
  }
}

function smallSort(I: Int32Array, V: Int32Array, start: number, len: number, h: number): void {
  let j = 1;
  for (let k = start; k < start + len; k += j) {
    j = 1;
    let x = V[I[k]! + h]!;
    for (let i = 1; k + i < start + len; i++) {
      const v = V[I[k + i]! + h]!;
      if (v < x) { x = v; j = 0; }
      if (V[I[k + i]! + h] === x) { swap(I, k + j, k + i); j++; }
    }
    for (let i = 0; i < j; i++) V[I[k + i]!] = k + j - 1;
    if (j === 1) I[k] = -1;
  }
}

function swap(a: Int32Array, i: number, j: number): void {
  const t = a[i]!;
  a[i] = a[j]!;
  a[j] = t;
}
