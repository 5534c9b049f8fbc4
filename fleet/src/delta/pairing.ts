/**
 * Which old file a new file is diffed against: the same path when it exists; else
 * the old file whose path is the same once version numbers are set aside
 * (`/lib/modules/6.1.0-17-arm64/x.ko` and `/lib/modules/6.1.0-18-arm64/x.ko`,
 * `libfoo.so.1.2` and `libfoo.so.1.3`), then whose name is (a file moved and
 * renamed); among several, and for a file no name pairs, the one whose content
 * sketch (the smallest hashes of its 16-byte windows, a bottom-k MinHash) shares most.
 */
import type { Ext4File } from './ext4.js';

/** Hashes kept per file sketch. */
const SKETCH_SIZE = 32;
const SKETCH_WINDOW_BYTES = 16;
/** A pairing by content alone needs this many sketch hashes in common (a quarter). */
const MIN_SHARED = SKETCH_SIZE / 4;
const PRIME = 0x01000193;

/** How a new file found its old counterpart. */
export type PairedBy = 'path' | 'name' | 'content';

/** The old file a new one is diffed against, and how it was found. */
export interface Pairing { readonly old: Ext4File; readonly by: PairedBy }

/** A path with every run of digits replaced by '#': versions set aside. */
export function versionless(path: string): string {
  return path.replace(/[0-9]+/g, '#');
}

function basename(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/** The bottom-k sketch of `bytes`: its SKETCH_SIZE smallest distinct window hashes, ascending. */
export function sketch(bytes: Uint8Array): Uint32Array {
  const kept: number[] = [];
  let h = 0;
  let weight = 1;
  for (let i = 1; i < SKETCH_WINDOW_BYTES; i++) weight = Math.imul(weight, PRIME);
  for (let i = 0; i < bytes.length; i++) {
    if (i >= SKETCH_WINDOW_BYTES) h = (h - Math.imul(bytes[i - SKETCH_WINDOW_BYTES]!, weight)) | 0;
    h = (Math.imul(h, PRIME) + bytes[i]!) | 0;
    if (i + 1 < SKETCH_WINDOW_BYTES) continue;
    const v = Math.imul(h, 0x9e3779b1) >>> 0;
    if (kept.length === SKETCH_SIZE && v >= kept[SKETCH_SIZE - 1]!) continue;
    insertSorted(kept, v);
  }
  return Uint32Array.from(kept);
}

function insertSorted(kept: number[], v: number): void {
  let at = kept.length;
  while (at > 0 && kept[at - 1]! > v) at--;
  if (kept[at - 1] === v) return;
  kept.splice(at, 0, v);
  if (kept.length > SKETCH_SIZE) kept.pop();
}

/** Hashes two ascending sketches share. */
export function shared(a: Uint32Array, b: Uint32Array): number {
  let i = 0, j = 0, n = 0;
  while (i < a.length && j < b.length) {
    if (a[i] === b[j]) { n++; i++; j++; } else if (a[i]! < b[j]!) i++; else j++;
  }
  return n;
}

/** Finds each new file's old counterpart; old sketches are made once, when first needed. */
export class FilePairer {
  private readonly byVersionless = new Map<string, Ext4File[]>();
  private readonly byName = new Map<string, Ext4File[]>();
  private sketches: Map<Ext4File, Uint32Array> | undefined;
  private byHash: Map<number, Ext4File[]> | undefined;

  /** `bytesOf` reads an old file's bytes (called once per old file, only when content decides). */
  constructor(
    private readonly oldFiles: readonly Ext4File[], private readonly byPath: ReadonlyMap<string, Ext4File>,
    private readonly bytesOf: (file: Ext4File) => Uint8Array,
  ) {
    for (const f of oldFiles) {
      if (f.sizeBytes === 0) continue;
      push(this.byVersionless, versionless(f.path), f);
      push(this.byName, versionless(basename(f.path)), f);
    }
  }

  /** The old file to diff `file` (whose bytes are `bytes`) against, or undefined when none is alike. */
  pair(file: Ext4File, bytes: Uint8Array): Pairing | undefined {
    const same = this.byPath.get(file.path);
    if (same !== undefined && same.directory === file.directory) return { old: same, by: 'path' };
    if (file.sizeBytes === 0) return undefined;
    const named = this.byVersionless.get(versionless(file.path)) ?? this.byName.get(versionless(basename(file.path)));
    const alike = named?.filter((f) => f.directory === file.directory) ?? [];
    if (alike.length === 1) return { old: alike[0]!, by: 'name' };
    const mine = sketch(bytes);
    if (alike.length > 1) return { old: this.closest(alike, mine, file.sizeBytes), by: 'name' };
    if (file.directory) return undefined;
    const found = this.byContent(mine);
    return found === undefined ? undefined : { old: found, by: 'content' };
  }

  private closest(files: readonly Ext4File[], mine: Uint32Array, sizeBytes: number): Ext4File {
    let best = files[0]!;
    let bestKey = -Infinity;
    for (const f of files) {
      // Shared content first; between equals, the nearer size.
      const key = shared(this.sketchOf(f), mine) * 2 ** 40 - Math.abs(f.sizeBytes - sizeBytes);
      if (key > bestKey) { best = f; bestKey = key; }
    }
    return best;
  }

  private byContent(mine: Uint32Array): Ext4File | undefined {
    const byHash = this.hashIndex();
    const votes = new Map<Ext4File, number>();
    for (const v of mine) for (const f of byHash.get(v) ?? []) votes.set(f, (votes.get(f) ?? 0) + 1);
    let best: Ext4File | undefined;
    let most = MIN_SHARED - 1;
    for (const [f, n] of votes) if (n > most) { best = f; most = n; }
    return best;
  }

  private sketchOf(f: Ext4File): Uint32Array {
    this.sketches ??= new Map();
    let s = this.sketches.get(f);
    if (s === undefined) { s = sketch(this.bytesOf(f)); this.sketches.set(f, s); }
    return s;
  }

  private hashIndex(): Map<number, Ext4File[]> {
    if (this.byHash !== undefined) return this.byHash;
    const byHash = new Map<number, Ext4File[]>();
    for (const f of this.oldFiles) {
      if (f.directory || f.sizeBytes < SKETCH_WINDOW_BYTES) continue;
      for (const v of this.sketchOf(f)) push(byHash, v, f);
    }
    this.byHash = byHash;
    return byHash;
  }
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [value]); else list.push(value);
}
