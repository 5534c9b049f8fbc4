/**
 * The file-aware part of the encoder: for image bytes that no old block matches
 * and that belong to a file with an old counterpart (same path, or paired by name
 * without versions or by content: pairing.ts), diff the file against it (bsdiff
 * pieces read through the old file's extents), and rebuild gzip files from their
 * diffed uncompressed text.
 */
import * as zlib from 'node:zlib';
import {
  DELTA_MAX_DEFLATE_BYTES, DELTA_MAX_SEGMENT_GZIP_BYTES, DELTA_MAX_SOURCE_EXTENTS, SOURCE_KIND, type Extent,
} from '../../../agent/src/formats/index.js';
import { addBytes, bsdiff, type DiffPiece } from './bsdiff.js';
import { DECODED_TARGET_BYTES, type ContainerBuilder } from './container.js';
import type { Ext4File, Ext4Map } from './ext4.js';
import { execDiff, type ExecDiff } from './exec.js';
import { findGzipRebuild, forwardPieces, gunzipInflations, type GzipRebuild } from './gzip.js';
import { piecesCost } from './matcher.js';
import { FilePairer, type PairedBy } from './pairing.js';

/** A gzip rebuild from the diffed texts, with the decoder's work it costs (it must fit one segment). */
interface GzipPlan {
  readonly rebuild: GzipRebuild;
  readonly oldText: Uint8Array;
  readonly pieces: readonly DiffPiece[];
  /** Decoded stream bytes at most (ADD and LITERAL bytes, op varints). */
  readonly decodedBytes: number;
  /** Gzip work of the source: packed plus inflated bytes, per inflation. */
  readonly gunzipBytes: number;
}

interface Plan {
  readonly by: PairedBy;
  readonly oldExtents: readonly Extent[];
  /** Both files' extents (logical offsets, for the exec diff's ELF reading). */
  readonly files: { readonly old: Ext4File; readonly neu: Ext4File };
  /** Old file as the decoder's extent source sees it (extents concatenated). */
  readonly oldBytes: Uint8Array;
  readonly newBytes: Uint8Array;
  /** bsdiff of the (compressed) file bytes, made when first needed. */
  pieces?: readonly DiffPiece[];
  /** The exec diff (ARM64 ELF files), made when first needed; null: not an executable. */
  exec?: ExecDiff | null;
  /** The last span's choice, so that `cover` emits what `span` costed. */
  chosen?: { readonly lo: number; readonly n: number; readonly exec: boolean; readonly cost: number };
  readonly gzip?: GzipPlan;
}

/** What the file pass did (for reports): files diffed by how they were paired. */
export interface FileStats { filesDiffed: number; pairedByName: number; pairedByContent: number; gzipRebuilt: number; bytesCovered: number }

/**
 * What a file diff would write for a stretch of the image: its bytes, how the file was paired, whether it is a
 * whole gzip rebuild or an exec diff (against the predicted old executable), its estimated cost (piecesCost; 0 for a rebuild).
 */
export interface FileSpan { readonly bytes: number; readonly by: PairedBy; readonly gzip: boolean; readonly exec: boolean; readonly cost: number }

/** Emits ops for the parts of the new image that belong to files with an old counterpart. */
export class FileDiffer {
  private readonly plans = new Map<number, Plan | undefined>();
  // Owners with a plan and the image offset past their last byte: the encoder goes through the image
  // in order, so a plan is dropped (its file bytes, pieces and gzip text freed) once the encoder is past it.
  private readonly live = new Map<number, number>();
  private readonly pairer: FilePairer;
  readonly stats: FileStats = { filesDiffed: 0, pairedByName: 0, pairedByContent: 0, gzipRebuilt: 0, bytesCovered: 0 };

  constructor(
    private readonly old: Uint8Array, private readonly neu: Uint8Array,
    oldMap: Ext4Map, private readonly newMap: Ext4Map, private readonly out: ContainerBuilder,
    pairing = true, private readonly execAware = true,
  ) {
    const byPath = oldMap.byPath;
    this.pairer = new FilePairer(pairing ? oldMap.files : [], byPath, (f) => concat(old, f));
  }

  /** What a file diff would write from `atBytes` (at most `maxBytes`), or undefined when no file diff covers those bytes. */
  span(atBytes: number, maxBytes: number): FileSpan | undefined {
    const at = this.locate(atBytes, maxBytes);
    if (at === undefined) return undefined;
    const { plan, lo, n } = at;
    if (plan.gzip !== undefined && lo === 0 && n === plan.newBytes.length) return { bytes: n, by: plan.by, gzip: true, exec: false, cost: 0 };
    const { exec, cost } = choose(plan, lo, n, this.execAware);
    return { bytes: n, by: plan.by, gzip: false, exec, cost };
  }

  /** Emit ops for new image bytes from `atBytes` (at most `maxBytes`) if a file diff covers them; returns the bytes covered (0: not handled). */
  cover(atBytes: number, maxBytes: number): number {
    const at = this.locate(atBytes, maxBytes);
    if (at === undefined) return 0;
    const { plan, lo, n } = at;
    const x = plan.gzip !== undefined && lo === 0 && n === plan.newBytes.length ? undefined : choose(plan, lo, n, this.execAware).exec ? plan.exec : undefined;
    if (plan.gzip !== undefined && lo === 0 && n === plan.newBytes.length) this.emitGzip(plan, plan.gzip);
    else if (x) this.emitPieces(plan, x.pieces, x.predicted, plan.newBytes, lo, lo + n, SOURCE_KIND.exec, x);
    else this.emitPieces(plan, (plan.pieces ??= bsdiff(plan.oldBytes, plan.newBytes)), plan.oldBytes, plan.newBytes, lo, lo + n, SOURCE_KIND.extents);
    this.stats.bytesCovered += n;
    return n;
  }

  // The plan of the file owning `atBytes`, the file offset there and the bytes left in that extent.
  private locate(atBytes: number, maxBytes: number): { plan: Plan; lo: number; n: number } | undefined {
    for (const [owner, end] of this.live) if (end <= atBytes) { this.live.delete(owner); this.plans.delete(owner); }
    const owner = this.newMap.blockOwner[Math.floor(atBytes / this.newMap.blockSizeBytes)] ?? -1;
    const file = this.newMap.files[owner];
    if (file === undefined) return undefined;
    let virtual = 0;
    for (const e of file.extents) {
      if (atBytes >= e.physicalBytes && atBytes < e.physicalBytes + e.lengthBytes) {
        const plan = this.plan(owner, file);
        if (plan === undefined) return undefined;
        return { plan, lo: virtual + atBytes - e.physicalBytes, n: Math.min(maxBytes, e.physicalBytes + e.lengthBytes - atBytes) };
      }
      virtual += e.lengthBytes;
    }
    return undefined;
  }

  private plan(owner: number, file: Ext4File): Plan | undefined {
    if (this.plans.has(owner)) return this.plans.get(owner);
    const newBytes = concat(this.neu, file);
    const pairing = this.pairer.pair(file, newBytes);
    const before = pairing?.old;
    let plan: Plan | undefined;
    if (pairing !== undefined && before !== undefined && before.extents.length <= DELTA_MAX_SOURCE_EXTENTS) {
      const oldBytes = concat(this.old, before);
      const oldExtents = before.extents.map((e) => ({ offsetBytes: e.physicalBytes, lengthBytes: e.lengthBytes }));
      const gzip = file.extents.length === 1 && before.extents.length > 0 ? gzipPlan(oldBytes, newBytes) : undefined;
      plan = { by: pairing.by, oldExtents, files: { old: before, neu: file }, oldBytes, newBytes, ...(gzip === undefined ? {} : { gzip }) };
      this.stats.filesDiffed++;
      this.live.set(owner, Math.max(...file.extents.map((e) => e.physicalBytes + e.lengthBytes)));
      if (pairing.by === 'name') this.stats.pairedByName++;
      if (pairing.by === 'content') this.stats.pairedByContent++;
    }
    this.plans.set(owner, plan);
    return plan;
  }

  private emitGzip(plan: Plan, g: GzipPlan): void {
    const { rebuild } = g;
    this.out.literal(rebuild.head);
    if (plan.oldBytes.length > DELTA_MAX_DEFLATE_BYTES || g.oldText.length > DELTA_MAX_DEFLATE_BYTES) this.out.streamsGunzip();
    this.out.deflate(rebuild.params, rebuild.text.length, rebuild.deflatedSizeBytes, g.decodedBytes, g.gunzipBytes, () => {
      this.emitPieces(plan, g.pieces, g.oldText, rebuild.text, 0, rebuild.text.length, SOURCE_KIND.gunzip);
    });
    this.out.literal(rebuild.tail);
    this.stats.gzipRebuilt++;
  }

  private emitPieces(plan: Plan, pieces: readonly DiffPiece[], oldBytes: Uint8Array, newBytes: Uint8Array, lo: number, hi: number, kind: number, x?: ExecDiff): void {
    this.out.setSource(kind, plan.oldExtents, x?.params);
    for (const p of clip(pieces, lo, hi)) {
      if (p.kind === 'add') this.out.add(p.oldOffsetBytes, addBytes(oldBytes, newBytes, p));
      else this.out.literal(newBytes.subarray(p.newOffsetBytes, p.newOffsetBytes + p.lengthBytes));
    }
  }
}

// Diff a stretch of the file against the old bytes or, for an executable, against their prediction: the cheaper.
function choose(plan: Plan, lo: number, n: number, execAware: boolean): { exec: boolean; cost: number } {
  const c = plan.chosen;
  if (c !== undefined && c.lo === lo && c.n === n) return c;
  const pieces = plan.pieces ??= bsdiff(plan.oldBytes, plan.newBytes);
  const plain = piecesCost(clip(pieces, lo, lo + n), plan.oldBytes, plan.newBytes);
  if (plan.exec === undefined) plan.exec = (execAware ? execDiff({ bytes: plan.oldBytes, extents: plan.files.old.extents }, { bytes: plan.newBytes, extents: plan.files.neu.extents }, pieces) : undefined) ?? null;
  const x = plan.exec;
  const exec = x === null ? Infinity : piecesCost(clip(x.pieces, lo, lo + n), x.predicted, plan.newBytes) + x.mapCostBytes;
  plan.chosen = exec < plain ? { lo, n, exec: true, cost: exec } : { lo, n, exec: false, cost: plain };
  return plan.chosen;
}

// A rebuild stays in one segment (the decoder cannot resume inside one): a member whose diff or
// gzip work does not fit is diffed compressed instead.
function gzipPlan(oldBytes: Uint8Array, newBytes: Uint8Array): GzipPlan | undefined {
  const rebuild = findGzipRebuild(newBytes);
  if (rebuild === undefined || rebuild.text.length + 1024 > DECODED_TARGET_BYTES) return undefined;
  let oldText: Uint8Array;
  try {
    oldText = zlib.gunzipSync(oldBytes, { maxOutputLength: DELTA_MAX_SEGMENT_GZIP_BYTES });
  } catch {
    return undefined;
  }
  const pieces = forwardPieces(bsdiff(oldText, rebuild.text));
  const decodedBytes = rebuild.text.length + pieces.length * 16 + 1024;
  const reads = pieces.flatMap((p) => p.kind === 'add' ? [{ offsetBytes: p.oldOffsetBytes, lengthBytes: p.lengthBytes }] : []);
  const gunzipBytes = Math.max(1, gunzipInflations(reads)) * (oldBytes.length + oldText.length);
  if (decodedBytes > DECODED_TARGET_BYTES || rebuild.text.length + gunzipBytes > DELTA_MAX_SEGMENT_GZIP_BYTES) return undefined;
  return { rebuild, oldText, pieces, decodedBytes, gunzipBytes };
}

// The pieces over [lo, hi), cut at both ends.
function clip(pieces: readonly DiffPiece[], lo: number, hi: number): DiffPiece[] {
  const out: DiffPiece[] = [];
  for (let i = firstPiece(pieces, lo); i < pieces.length; i++) {
    const p = pieces[i]!;
    if (p.newOffsetBytes >= hi) break;
    const from = Math.max(lo, p.newOffsetBytes) - p.newOffsetBytes;
    const lengthBytes = Math.min(hi, p.newOffsetBytes + p.lengthBytes) - p.newOffsetBytes - from;
    out.push(p.kind === 'add'
      ? { kind: 'add', newOffsetBytes: p.newOffsetBytes + from, oldOffsetBytes: p.oldOffsetBytes + from, lengthBytes }
      : { kind: 'literal', newOffsetBytes: p.newOffsetBytes + from, lengthBytes });
  }
  return out;
}

function firstPiece(pieces: readonly DiffPiece[], lo: number): number {
  let a = 0;
  let b = pieces.length;
  while (a < b) {
    const m = (a + b) >> 1;
    const p = pieces[m]!;
    if (p.newOffsetBytes + p.lengthBytes <= lo) a = m + 1; else b = m;
  }
  return a;
}

function concat(image: Uint8Array, file: Ext4File): Uint8Array {
  return Buffer.concat(file.extents.map((e) => image.subarray(e.physicalBytes, e.physicalBytes + e.lengthBytes)));
}
