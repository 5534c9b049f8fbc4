/**
 * Writes ops into a segmented delta container: cuts a new segment when the
 * decoded streams would pass the bound (or the output passes 64 MiB, to keep
 * resumption cheap), re-states the current source at the start of each segment
 * (segments decode on their own), keeps a deflate rebuild inside one segment, and keeps each
 * segment's gzip work (gunzip sources, deflate rebuilds) within the decoder's bound.
 */
import {
  DELTA_MAX_SEGMENT_DECODED_BYTES, encodeDeltaHeader, encodeSegmentPayload, SegmentGzipWork, SegmentWriter, sha256, SOURCE_KIND,
  DELTA_FORMAT_VERSION, DELTA_FORMAT_VERSION_BASE, DELTA_FORMAT_VERSION_EXEC, DELTA_MAX_DEFLATE_BYTES, type DeflateParams, type DeltaSegmentEntry, type ExecParams, type Extent,
} from '../../../agent/src/formats/index.js';

/** Decoded bytes a segment is cut at: room is left for op varints and a re-stated source inside the decoder's bound. */
export const DECODED_TARGET_BYTES = DELTA_MAX_SEGMENT_DECODED_BYTES - 256 * 1024;
const OUTPUT_TARGET_BYTES = 64 * 1024 * 1024;
const PIECE_BYTES = 256 * 1024;

/** Sizes of the streams before compression, summed over segments (for reports). */
export interface StreamTotals { opsBytes: number; addBytes: number; literalBytes: number }

/** Accumulates ops and produces the container. */
export class ContainerBuilder {
  private current = new SegmentWriter();
  private work = new SegmentGzipWork();
  private readonly payloads: Uint8Array[] = [];
  private readonly entries: DeltaSegmentEntry[] = [];
  private source: { kind: number; extents: readonly Extent[]; exec?: ExecParams } = { kind: SOURCE_KIND.image, extents: [] };
  // The oldest version that has what the delta uses (2: an exec source; 3: a gzip member past
  // DELTA_MAX_DEFLATE_BYTES), so that older agents still read every delta they can apply.
  private formatVersion = DELTA_FORMAT_VERSION_BASE;
  private inDeflate = false;
  /** Raw stream sizes (before brotli). */
  readonly totals: StreamTotals = { opsBytes: 0, addBytes: 0, literalBytes: 0 };

  /** `segmentDecodedBytes` caps each segment's decoded streams (smaller: more, smaller segments); `brotliQuality` codes them. */
  constructor(private readonly segmentDecodedBytes = DECODED_TARGET_BYTES, private readonly brotliQuality = 11) {
    if (segmentDecodedBytes > DECODED_TARGET_BYTES) throw new RangeError(`segments decode to at most ${DECODED_TARGET_BYTES} bytes`);
  }

  /** ZERO op. */
  zero(lengthBytes: number): void { this.room(0); this.current.zero(lengthBytes); }

  /** COPY op from the current source. */
  copy(sourceOffsetBytes: number, lengthBytes: number): void {
    this.room(0);
    this.current.copy(sourceOffsetBytes, lengthBytes);
  }

  /** ADD op, split so that each piece fits a segment. */
  add(sourceOffsetBytes: number, diff: Uint8Array): void {
    for (let at = 0; at < diff.length; at += this.pieceBytes) {
      const piece = diff.subarray(at, Math.min(diff.length, at + this.pieceBytes));
      this.room(piece.length);
      this.current.addTo(sourceOffsetBytes + at, piece);
      this.totals.addBytes += piece.length;
    }
  }

  /** LITERAL op, split so that each piece fits a segment. */
  literal(bytes: Uint8Array): void {
    for (let at = 0; at < bytes.length; at += this.pieceBytes) {
      const piece = bytes.subarray(at, Math.min(bytes.length, at + this.pieceBytes));
      this.room(piece.length);
      this.current.literalBytesOp(piece);
      this.totals.literalBytes += piece.length;
    }
  }

  /** Choose the source of the next COPY/ADD ops. */
  setSource(kind: number, extents: readonly Extent[], exec?: ExecParams): void {
    if (this.source.kind === kind && (kind === SOURCE_KIND.image || (this.source.extents === extents && this.source.exec === exec))) return;
    this.source = exec === undefined ? { kind, extents } : { kind, extents, exec };
    if (kind === SOURCE_KIND.exec) this.needs(DELTA_FORMAT_VERSION_EXEC);
    this.room(0);
    this.current.source(kind, extents, exec);
  }

  /**
   * Run `body` (which writes exactly `rawSizeBytes`, reading one gunzip source of `gunzipBytes`: its
   * packed plus inflated bytes) as one deflate rebuild in one segment.
   */
  deflate(params: DeflateParams, rawSizeBytes: number, deflatedSizeBytes: number, maxDecodedBytes: number, gunzipBytes: number, body: () => void): void {
    const gzipBytes = rawSizeBytes + gunzipBytes;
    this.room(maxDecodedBytes, gzipBytes);
    this.work.charge(2, gzipBytes, `of ${this.entries.length}: one rebuild`);
    if (rawSizeBytes > DELTA_MAX_DEFLATE_BYTES) this.needs(DELTA_FORMAT_VERSION);
    this.current.deflate(params, rawSizeBytes, deflatedSizeBytes);
    this.inDeflate = true;
    try { body(); } finally { this.inDeflate = false; }
  }

  /** Mark the delta as reading a gzip source past DELTA_MAX_DEFLATE_BYTES (packed or inflated): format version 3. */
  streamsGunzip(): void { this.needs(DELTA_FORMAT_VERSION); }

  private needs(version: number): void { this.formatVersion = Math.max(this.formatVersion, version); }

  /** Close the last segment and encode the container. */
  finish(h: { full: boolean; baseSizeBytes: number; baseSha256: Uint8Array; targetSizeBytes: number; targetSha256: Uint8Array }): Uint8Array {
    this.cut();
    const header = encodeDeltaHeader({ ...h, segments: this.entries, formatVersion: this.formatVersion });
    return Buffer.concat([header, ...this.payloads]);
  }

  private get pieceBytes(): number { return Math.max(1, Math.min(PIECE_BYTES, this.segmentDecodedBytes >> 2)); }

  /** Number of segments so far. */
  get segmentCount(): number { return this.entries.length; }

  private room(moreBytes: number, gzipBytes = 0): void {
    if (this.inDeflate) return;
    const c = this.current;
    const gzipFits = gzipBytes === 0 || this.work.fits(2, gzipBytes);
    if (c.decodedSizeBytes + moreBytes <= this.segmentDecodedBytes && c.outputSizeBytes < OUTPUT_TARGET_BYTES && gzipFits) return;
    if (c.decodedSizeBytes === 0 && this.work.ops === 0) return;
    this.cut();
    // A gunzip source serves only the rebuild that chose it (never cut): a new segment starts on the image
    // rather than inflate it again for nothing; an extents source is re-stated.
    if (this.source.kind === SOURCE_KIND.gunzip) this.source = { kind: SOURCE_KIND.image, extents: [] };
    else if (this.source.kind !== SOURCE_KIND.image) this.current.source(this.source.kind, this.source.extents, this.source.exec);
  }

  private cut(): void {
    if (this.current.outputSizeBytes === 0 && this.current.decodedSizeBytes === 0 && this.entries.length > 0) return;
    const streams = this.current.finish();
    this.totals.opsBytes += streams.ops.length;
    const payload = encodeSegmentPayload(streams, this.brotliQuality);
    this.payloads.push(payload);
    this.entries.push({ payloadSizeBytes: payload.length, outputSizeBytes: this.current.outputSizeBytes, sha256: sha256(payload) });
    this.current = new SegmentWriter();
    this.work = new SegmentGzipWork();
  }
}
