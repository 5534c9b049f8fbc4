/**
 * A delta applied as its bytes arrive, in pieces of any size: the header is
 * parsed once it is complete, the applier is opened on it, and each complete
 * container segment goes straight into the applier. Only the bytes of one
 * unfinished container segment are ever held (none when the pieces follow the
 * container's own boundaries, as a release cuts an otadelta). `offsetBytes`
 * counts container bytes; `atBoundary` says whether every byte fed so far is
 * applied and durable: only then may the caller checkpoint `offsetBytes`.
 * A resumed stream starts at such a checkpoint, given the header bytes again.
 */
import { OtaError } from '../errors/index.js';
import { deltaHeaderSizeBytes, parseDeltaHeader, peekSegmentCount, DELTA_FIXED_HEADER_BYTES, type DeltaHeader } from '../formats/index.js';
import { outputOffsetBefore, type ApplyState, type DeltaApplier } from './applier.js';

/** Opens the applier once the header is known (`resume` undefined for a fresh apply). */
export type OpenApplier = (header: DeltaHeader, resume: ApplyState | undefined) => Promise<DeltaApplier>;

/** Container offset where segment `index` starts (the header size for segment 0). */
export function containerOffsetBefore(header: DeltaHeader, index: number): number {
  return header.segments.slice(0, index).reduce((sum, s) => sum + s.payloadSizeBytes, header.headerSizeBytes);
}

/** The segment starting at container offset `offsetBytes` (segment count at the end); undefined inside a segment or the header. */
export function segmentAtContainerOffset(header: DeltaHeader, offsetBytes: number): number | undefined {
  let at = header.headerSizeBytes;
  for (let i = 0; i <= header.segments.length; i++) {
    if (at === offsetBytes) return i;
    if (at > offsetBytes) return undefined;
    at += header.segments[i]?.payloadSizeBytes ?? 0;
  }
  return undefined;
}

/** The header at the start of `bytes`, or undefined while they are too few to hold it. */
export function headerPrefix(bytes: Uint8Array): DeltaHeader | undefined {
  if (bytes.length < DELTA_FIXED_HEADER_BYTES) return undefined;
  return bytes.length < deltaHeaderSizeBytes(peekSegmentCount(bytes)) ? undefined : parseDeltaHeader(bytes);
}

/** One delta streaming into a slot. */
export class DeltaStream {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private headerValue: DeltaHeader | undefined;
  private applierValue: DeltaApplier | undefined;

  private constructor(private readonly open: OpenApplier, private offset: number) {}

  /** A stream from the first byte of the delta. */
  static fresh(open: OpenApplier): DeltaStream {
    return new DeltaStream(open, 0);
  }

  /** A stream resumed at `offsetBytes` (a checkpoint: a segment boundary); `headBytes` start with the header. */
  static async resume(open: OpenApplier, headBytes: Uint8Array, offsetBytes: number): Promise<DeltaStream> {
    const header = headerPrefix(headBytes);
    if (header === undefined) throw new OtaError('DELTA_RESUME', 'the saved delta header is incomplete: start the install again');
    const next = segmentAtContainerOffset(header, offsetBytes);
    if (next === undefined) throw new OtaError('DELTA_RESUME', `resume point ${offsetBytes} is not a delta segment boundary: start the install again`);
    const stream = new DeltaStream(open, offsetBytes);
    stream.headerValue = header;
    stream.applierValue = await open(header, { nextSegment: next, outputOffsetBytes: outputOffsetBefore(header, next) });
    return stream;
  }

  /** Container bytes fed so far. */
  get offsetBytes(): number { return this.offset; }

  /** The header, once its bytes arrived. */
  get header(): DeltaHeader | undefined { return this.headerValue; }

  /** True when every byte fed is applied (or is the header) and durable: a checkpoint may name `offsetBytes`. */
  get atBoundary(): boolean { return this.pendingBytes === 0 && this.applierValue !== undefined; }

  /** Feed the next bytes of the container; applies every segment they complete. */
  async push(bytes: Buffer): Promise<void> {
    this.pending.push(bytes);
    this.pendingBytes += bytes.length;
    this.offset += bytes.length;
    for (;;) {
      const need = this.needBytes();
      if (need === undefined || this.pendingBytes < need) return;
      const whole = this.take(need);
      if (this.applierValue === undefined) await this.openOn(whole);
      else await this.applyNext(whole);
    }
  }

  /** After the last byte: the applier's final checks (running hash, read-back). */
  async finish(): Promise<void> {
    if (this.applierValue === undefined || this.pendingBytes > 0) throw new OtaError('DELTA_TRUNCATED', `delta stream ended after ${this.offset} bytes, inside its header or a segment: download the rest`);
    await this.applierValue.finish();
  }

  /** Close the applier (the target stays as written). */
  async close(): Promise<void> {
    await this.applierValue?.close();
  }

  /** Bytes the next unit needs (header or segment); undefined when the stream is complete. */
  private needBytes(): number | undefined {
    const header = this.headerValue;
    if (header === undefined) {
      const head = this.take(Math.min(this.pendingBytes, DELTA_FIXED_HEADER_BYTES), false);
      return head.length < DELTA_FIXED_HEADER_BYTES ? Number.MAX_SAFE_INTEGER : deltaHeaderSizeBytes(peekSegmentCount(head));
    }
    const applier = this.applierValue;
    const next = applier === undefined ? 0 : applier.state.nextSegment;
    const entry = header.segments[next];
    if (entry === undefined) {
      if (this.pendingBytes > 0) throw new OtaError('DELTA_CORRUPT', 'delta stream has bytes after its last segment: download it again');
      return undefined;
    }
    return entry.payloadSizeBytes;
  }

  private async openOn(headerBytes: Buffer): Promise<void> {
    const header = parseDeltaHeader(headerBytes);
    this.headerValue = header;
    this.applierValue = await this.open(header, undefined);
  }

  private async applyNext(payload: Buffer): Promise<void> {
    const applier = this.applierValue;
    if (applier !== undefined) await applier.applySegment(applier.state.nextSegment, payload);
  }

  /** The first `n` pending bytes as one buffer (no copy when one piece holds them); `consume` drops them. */
  private take(n: number, consume = true): Buffer {
    const first = this.pending[0];
    let out: Buffer;
    if (first !== undefined && first.length >= n) {
      out = first.subarray(0, n);
      if (consume) this.pending[0] = first.subarray(n);
    } else {
      const all = Buffer.concat(this.pending);
      out = all.subarray(0, n);
      if (consume) this.pending = [all.subarray(n)];
    }
    if (consume) {
      this.pendingBytes -= n;
      this.pending = this.pending.filter((b) => b.length > 0);
    }
    return out;
  }
}
