/**
 * What a delta file instructs, by kind of op: how many target bytes each way of
 * writing them produced and how many bytes each carried that cost (literal bytes,
 * and the add bytes that are not zero: brotli squeezes the zero ones away). Read
 * from the ops themselves, so it describes any delta, whichever encoder made it.
 */
import { readDeltaFileSegments } from '../../../agent/src/delta/index.js';
import { OtaError } from '../../../agent/src/errors/index.js';
import { decodeSegmentPayload, equalBytes, readSegmentOps, sha256, SOURCE_KIND, type DeltaHeader, type DeltaOp } from '../../../agent/src/formats/index.js';

/**
 * How target bytes were written: zero runs; copies and approximate matches (ADD) from
 * anywhere in the old image (whole blocks and content matches); diffs against an old file
 * (its extents) or against an old executable's prediction (exec-diff); gzip members rebuilt from diffed text; literal bytes.
 */
export type OpKind = 'zero' | 'image-copy' | 'image-add' | 'file-diff' | 'exec-diff' | 'gzip-rebuild' | 'literal';

/** Every kind, in report order. */
export const OP_KINDS: readonly OpKind[] = ['zero', 'image-copy', 'image-add', 'file-diff', 'exec-diff', 'gzip-rebuild', 'literal'];

/** Per kind: target bytes written, bytes carried that cost (literal, non-zero add), ops. */
export interface KindTotals { targetBytes: number; costBytes: number; ops: number }

/** The totals of every kind over a delta. */
export type DeltaReport = Record<OpKind, KindTotals>;

function emptyReport(): DeltaReport {
  const zero = (): KindTotals => ({ targetBytes: 0, costBytes: 0, ops: 0 });
  return { 'zero': zero(), 'image-copy': zero(), 'image-add': zero(), 'file-diff': zero(), 'exec-diff': zero(), 'gzip-rebuild': zero(), 'literal': zero() };
}

/** Walks ops in order, keeping the current source and any open deflate rebuild. */
class Tally {
  readonly report = emptyReport();
  private source: number = SOURCE_KIND.image;
  // Raw bytes the open deflate rebuild still takes (its ops count as the rebuild).
  private rebuildLeft = 0;

  /** A segment starts: it reads the base image until it says otherwise. */
  segment(): void { this.source = SOURCE_KIND.image; this.rebuildLeft = 0; }

  /** Count one op. */
  op(op: DeltaOp): void {
    if (op.op === 'source') { this.source = op.kind; return; }
    if (op.op === 'deflate') {
      this.rebuildLeft = op.rawSizeBytes;
      this.count('gzip-rebuild', op.deflatedSizeBytes, 0);
      return;
    }
    const target = op.op === 'zero' || op.op === 'copy' ? op.lengthBytes : op.bytes.length;
    const stream = op.op === 'literal' ? op.bytes.length : op.op === 'add' ? nonZero(op.bytes) : 0;
    if (this.rebuildLeft > 0) {
      this.rebuildLeft -= target;
      this.count('gzip-rebuild', 0, stream);
      return;
    }
    this.count(this.kind(op), target, stream);
  }

  private kind(op: DeltaOp): OpKind {
    if (op.op === 'zero') return 'zero';
    if (op.op === 'literal') return 'literal';
    if (this.source === SOURCE_KIND.exec) return 'exec-diff';
    if (this.source !== SOURCE_KIND.image) return 'file-diff';
    return op.op === 'copy' ? 'image-copy' : 'image-add';
  }

  private count(kind: OpKind, targetBytes: number, costBytes: number): void {
    const t = this.report[kind];
    t.targetBytes += targetBytes;
    t.costBytes += costBytes;
    t.ops++;
  }
}

function nonZero(bytes: Uint8Array): number {
  let n = 0;
  for (const b of bytes) if (b !== 0) n++;
  return n;
}

/** The report of the delta file at `path` (whose parsed header is `header`); a segment whose hash differs is DELTA_CORRUPT. */
export async function reportDeltaFile(path: string, header: DeltaHeader): Promise<DeltaReport> {
  const tally = new Tally();
  let index = 0;
  for await (const payload of readDeltaFileSegments(path, header)) {
    const entry = header.segments[index];
    if (entry === undefined || !equalBytes(sha256(payload), entry.sha256)) {
      throw new OtaError('DELTA_CORRUPT', `delta (${path}) segment ${index} does not match its sha256 in the header: the delta is corrupt; make or download it again`);
    }
    tally.segment();
    for (const op of readSegmentOps(decodeSegmentPayload(payload))) tally.op(op);
    index++;
  }
  return tally.report;
}
