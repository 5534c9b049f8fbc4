/**
 * One segment of a delta: instructions that write the next stretch of the target
 * image, decodable on its own (every segment starts with the base image as its
 * source and the slot as its sink). Three streams, each brotli-coded on its own:
 * the op stream (varints), the add stream (bytes added to an approximate match,
 * bsdiff's idea) and the literal stream.
 *
 * Ops (op code, then varints):
 *   0 ZERO len                  write len zero bytes
 *   1 COPY srcDelta len         copy len bytes of the source at cursor+srcDelta
 *   2 ADD  srcDelta len         source bytes plus len bytes of the add stream, byte-wise mod 256
 *   3 LIT  len                  len bytes of the literal stream
 *   4 SOURCE kind n [off len]*n choose the source: 0 base image, 1 a file made of base extents,
 *                               2 the gzip member stored in those extents, inflated,
 *                               3 that file read through an executable prediction (format version 2):
 *                               then arch (1 = ARM64), s [fileOff len address]*s executable sections,
 *                               m [startGap shift(signed)]*m the address map (agent/src/delta/arm64.ts;
 *                               each start is the gap from the previous start, the first from 0)
 *   5 DEFLATE engine level rawLen deflatedLen
 *                               the next rawLen bytes written go to a buffer that is then
 *                               deflated (engine 1: GNU gzip 1.12's deflate at level 1..9,
 *                               agent/src/delta/gzip) into deflatedLen bytes
 * The source cursor is the end of the last COPY or ADD; SOURCE resets it to 0.
 */
import * as zlib from 'node:zlib';
import { OtaError } from '../../errors/index.js';
import { VarintReader, VarintWriter } from './varint.js';

/** Most decoded bytes (ops + add + literal streams) a segment may hold: bounds the decoder's memory. */
export const DELTA_MAX_SEGMENT_DECODED_BYTES = 4 * 1024 * 1024;
/**
 * Most bytes a deflate rebuild or a gzip source may have in a delta of format version 2 or older
 * (agents before version 3 held both whole); a larger one makes the container version 3. Since
 * version 3 both stream (the rebuild through the deflate's window, the source through
 * DELTA_GUNZIP_WINDOW_BYTES), and only the segment's gzip work bounds their size.
 */
export const DELTA_MAX_DEFLATE_BYTES = 2 * 1024 * 1024;
/** The inflated bytes of a gzip source the decoder keeps behind the furthest read: a read further back inflates the member again. */
export const DELTA_GUNZIP_WINDOW_BYTES = 1024 * 1024;
/** The largest single read of a gzip source (the decoder copies in pieces this size). */
export const DELTA_GUNZIP_READ_BYTES = 256 * 1024;
/**
 * The gzip work one segment may ask of the decoder, which costs CPU far beyond the bytes it writes:
 * at most DELTA_MAX_SEGMENT_GZIP_OPS gunzip sources and deflate rebuilds, and at most
 * DELTA_MAX_SEGMENT_GZIP_BYTES of gzip bytes (each gunzip source's packed and inflated bytes, each
 * rebuild's input). A deflate rebuild runs GNU gzip's deflate in TypeScript (about 4.5 MB/s on an
 * x86 CI core), so a segment costs at most a few seconds of it; without the bound, a 4 MiB op stream
 * could ask for thousands of 2 MiB rebuilds (about 30 minutes). The encoder cuts segments to stay
 * within both; docs/trust.md states the bound.
 */
export const DELTA_MAX_SEGMENT_GZIP_OPS = 256;
export const DELTA_MAX_SEGMENT_GZIP_BYTES = 8 * 1024 * 1024;

/** The gzip work of one segment so far; `charge` refuses work past the bound before it is done. */
export class SegmentGzipWork {
  ops = 0;
  bytes = 0;

  /** Bytes still allowed. */
  get remainingBytes(): number { return DELTA_MAX_SEGMENT_GZIP_BYTES - this.bytes; }

  /** True when `ops` more operations of `bytes` more fit. */
  fits(ops: number, bytes: number): boolean {
    return this.ops + ops <= DELTA_MAX_SEGMENT_GZIP_OPS && this.bytes + bytes <= DELTA_MAX_SEGMENT_GZIP_BYTES;
  }

  /** Count `ops` operations of `bytes`; DELTA_TOO_COSTLY when past the bound. */
  charge(ops: number, bytes: number, what: string): void {
    if (!this.fits(ops, bytes)) throw this.refusal(what);
    this.ops += ops;
    this.bytes += bytes;
  }

  /** The refusal of `what`, work past the bound. */
  refusal(what: string): OtaError {
    return new OtaError('DELTA_TOO_COSTLY', `delta segment ${what} passes the gzip work bound of a segment (${DELTA_MAX_SEGMENT_GZIP_OPS} operations, ${DELTA_MAX_SEGMENT_GZIP_BYTES} bytes): the delta is refused; make it again with this ota-fleet`);
  }
}

/** Most extents one SOURCE op may list (a file this fragmented is diffed as blocks instead). */
export const DELTA_MAX_SOURCE_EXTENTS = 4096;
/** Brotli window (log2) for the streams: covers a whole segment. */
export const DELTA_BROTLI_WINDOW_LOG = 22;

/** Op codes of the op stream. */
export const OP = { zero: 0, copy: 1, add: 2, literal: 3, source: 4, deflate: 5 } as const;
/** Source kinds of the SOURCE op. */
export const SOURCE_KIND = { image: 0, extents: 1, gunzip: 2, exec: 3 } as const;

/** Architectures an exec source can name. */
export const EXEC_ARCH = { arm64: 1 } as const;
/** Most executable sections and address map entries one exec source may list (bounds the decoder's memory). */
export const DELTA_MAX_EXEC_SECTIONS = 64;
export const DELTA_MAX_EXEC_MAP = 1 << 16;

/** An executable section of an old file: where it is in the file (4-byte aligned) and its address when loaded. */
export interface ExecSection { readonly fileOffsetBytes: number; readonly lengthBytes: number; readonly address: number }

/** How an exec source predicts the old file: its sections, and where old addresses moved (sorted starts, signed shifts). */
export interface ExecParams {
  readonly arch: number;
  readonly sections: readonly ExecSection[];
  readonly map: { readonly starts: readonly number[]; readonly shifts: readonly number[] };
}

/** A byte range of the base image. */
export interface Extent { readonly offsetBytes: number; readonly lengthBytes: number }

/** Deflate engines a rebuild can name. */
export const DEFLATE_ENGINE = { gzip: 1 } as const;

/** Lowest and highest gzip level (`gzip -1` .. `gzip -9`) a DEFLATE op can name; the decoder's gzip port has each. */
export const GZIP_MIN_LEVEL = 1;
export const GZIP_MAX_LEVEL = 9;


/** What rebuilds a deflate stream bit-exactly: the engine and its level. */
export interface DeflateParams { readonly engine: number; readonly level: number }

/** One decoded instruction. `bytes` views the segment's add or literal stream. */
export type DeltaOp =
  | { readonly op: 'zero'; readonly lengthBytes: number }
  | { readonly op: 'copy'; readonly sourceOffsetBytes: number; readonly lengthBytes: number }
  | { readonly op: 'add'; readonly sourceOffsetBytes: number; readonly bytes: Uint8Array }
  | { readonly op: 'literal'; readonly bytes: Uint8Array }
  | { readonly op: 'source'; readonly kind: number; readonly extents: readonly Extent[]; readonly exec?: ExecParams }
  | { readonly op: 'deflate'; readonly params: DeflateParams; readonly rawSizeBytes: number; readonly deflatedSizeBytes: number };

/** The three raw streams of a segment. */
export interface SegmentStreams { readonly ops: Uint8Array; readonly add: Uint8Array; readonly literal: Uint8Array }

/** Builds the streams of one segment, op by op. */
export class SegmentWriter {
  private readonly ops = new VarintWriter();
  private readonly add: Uint8Array[] = [];
  private readonly literal: Uint8Array[] = [];
  private cursor = 0;
  private addBytes = 0;
  private literalBytes = 0;
  /** Target bytes this segment writes so far. */
  outputSizeBytes = 0;

  /** Decoded size so far (what the decoder must hold). */
  get decodedSizeBytes(): number { return this.ops.sizeBytes + this.addBytes + this.literalBytes; }

  /** ZERO: `lengthBytes` zero bytes. */
  zero(lengthBytes: number): void { this.code(OP.zero); this.ops.uint(lengthBytes); this.outputSizeBytes += lengthBytes; }

  /** COPY: `lengthBytes` of the source from `sourceOffsetBytes`. */
  copy(sourceOffsetBytes: number, lengthBytes: number): void {
    this.code(OP.copy); this.seek(sourceOffsetBytes, lengthBytes); this.outputSizeBytes += lengthBytes;
  }

  /** ADD: source bytes from `sourceOffsetBytes` plus `diff`, byte-wise. */
  addTo(sourceOffsetBytes: number, diff: Uint8Array): void {
    this.code(OP.add); this.seek(sourceOffsetBytes, diff.length);
    this.add.push(diff); this.addBytes += diff.length; this.outputSizeBytes += diff.length;
  }

  /** LITERAL: `bytes` as they are. */
  literalBytesOp(bytes: Uint8Array): void {
    this.code(OP.literal); this.ops.uint(bytes.length);
    this.literal.push(bytes); this.literalBytes += bytes.length; this.outputSizeBytes += bytes.length;
  }

  /** SOURCE: read the next COPY/ADD ops from the base image, a file of base extents, or that file inflated. */
  source(kind: number, extents: readonly Extent[], exec?: ExecParams): void {
    this.code(OP.source); this.ops.uint(kind); this.ops.uint(extents.length);
    for (const e of extents) { this.ops.uint(e.offsetBytes); this.ops.uint(e.lengthBytes); }
    if (kind === SOURCE_KIND.exec) this.execParams(exec ?? { arch: EXEC_ARCH.arm64, sections: [], map: { starts: [], shifts: [] } });
    this.cursor = 0;
  }

  private execParams(x: ExecParams): void {
    this.ops.uint(x.arch); this.ops.uint(x.sections.length);
    for (const s of x.sections) { this.ops.uint(s.fileOffsetBytes); this.ops.uint(s.lengthBytes); this.ops.uint(s.address); }
    this.ops.uint(x.map.starts.length);
    // Starts go as gaps from the previous one (small, repetitive: brotli likes them).
    x.map.starts.forEach((start, i) => { this.ops.uint(start - (i === 0 ? 0 : x.map.starts[i - 1] ?? 0)); this.ops.int(x.map.shifts[i] ?? 0); });
  }

  /** Start a deflate rebuild; the ops that follow write its `rawSizeBytes` uncompressed bytes. */
  deflate(params: DeflateParams, rawSizeBytes: number, deflatedSizeBytes: number): void {
    this.code(OP.deflate);
    for (const v of [params.engine, params.level, rawSizeBytes, deflatedSizeBytes]) this.ops.uint(v);
    // The raw bytes that follow are not target bytes; the deflated ones are.
    this.outputSizeBytes += deflatedSizeBytes - rawSizeBytes;
  }

  /** The raw streams. */
  finish(): SegmentStreams {
    return { ops: this.ops.finish(), add: Buffer.concat(this.add), literal: Buffer.concat(this.literal) };
  }

  private code(op: number): void { this.ops.uint(op); }

  private seek(sourceOffsetBytes: number, lengthBytes: number): void {
    this.ops.int(sourceOffsetBytes - this.cursor);
    this.ops.uint(lengthBytes);
    this.cursor = sourceOffsetBytes + lengthBytes;
  }
}

/** Compress the streams into a segment payload (brotli, quality 11 unless `quality` says otherwise). */
export function encodeSegmentPayload(s: SegmentStreams, quality = 11): Uint8Array {
  const parts = [s.ops, s.add, s.literal].map((raw) => (raw.length === 0 ? new Uint8Array(0) : zlib.brotliCompressSync(raw, {
    params: {
      [zlib.constants.BROTLI_PARAM_QUALITY]: quality,
      [zlib.constants.BROTLI_PARAM_LGWIN]: DELTA_BROTLI_WINDOW_LOG,
      [zlib.constants.BROTLI_PARAM_SIZE_HINT]: raw.length,
    },
  })));
  const head = new VarintWriter();
  [s.ops, s.add, s.literal].forEach((raw, i) => { head.uint(raw.length); head.uint(parts[i]?.length ?? 0); });
  return Buffer.concat([head.finish(), ...parts]);
}

/** One brotli stream of a payload: where its bytes are and how large it decodes. */
export interface PackedStream { readonly packed: Uint8Array; readonly rawSizeBytes: number }

/** Split a (hash-verified) payload into its three packed streams, refusing more than the decoded bound. */
export function splitSegmentPayload(payload: Uint8Array): PackedStream[] {
  const head = new VarintReader(payload, 'delta segment');
  const sizes = [0, 1, 2].map(() => ({ raw: head.uint(), packed: head.uint() }));
  const total = sizes.reduce((sum, s) => sum + s.raw, 0);
  if (total > DELTA_MAX_SEGMENT_DECODED_BYTES) throw corrupt(`decodes to ${total} bytes (at most ${DELTA_MAX_SEGMENT_DECODED_BYTES})`);
  let at = payload.length - sizes.reduce((sum, s) => sum + s.packed, 0);
  if (at < 0) throw corrupt('is shorter than its streams');
  return sizes.map((s) => {
    const packed = payload.subarray(at, at + s.packed);
    at += s.packed;
    return { packed, rawSizeBytes: s.raw };
  });
}

/** Decompress a (hash-verified) payload into its streams (one-shot; the device decoder streams instead). */
export function decodeSegmentPayload(payload: Uint8Array): SegmentStreams {
  const streams = splitSegmentPayload(payload).map(({ packed, rawSizeBytes }) => {
    const s = { raw: rawSizeBytes };
    if (s.raw === 0) return new Uint8Array(0);
    let raw: Uint8Array;
    try {
      raw = zlib.brotliDecompressSync(packed, { maxOutputLength: s.raw + 1 });
    } catch (err) {
      throw new OtaError('DELTA_CORRUPT', 'delta segment stream does not decompress: the delta is corrupt; download it again', { cause: err });
    }
    if (raw.length !== s.raw) throw corrupt(`stream decodes to ${raw.length} bytes, not ${s.raw}`);
    return raw;
  });
  return { ops: streams[0] ?? new Uint8Array(0), add: streams[1] ?? new Uint8Array(0), literal: streams[2] ?? new Uint8Array(0) };
}

/** The ops of a segment, in order; an op that reads past a stream is DELTA_CORRUPT. */
export function* readSegmentOps(s: SegmentStreams): Generator<DeltaOp> {
  const ops = new VarintReader(s.ops);
  let cursor = 0;
  let addAt = 0;
  let litAt = 0;
  const take = (stream: Uint8Array, at: number, n: number): Uint8Array => {
    if (at + n > stream.length) throw corrupt('op reads past the end of its data stream');
    return stream.subarray(at, at + n);
  };
  const seek = (): { src: number; len: number } => {
    const src = cursor + ops.int();
    const len = ops.uint();
    if (src < 0) throw corrupt('op reads before the start of its source');
    cursor = src + len;
    return { src, len };
  };
  while (!ops.done) {
    const code = ops.uint();
    if (code === OP.zero) yield { op: 'zero', lengthBytes: ops.uint() };
    else if (code === OP.copy) { const { src, len } = seek(); yield { op: 'copy', sourceOffsetBytes: src, lengthBytes: len }; }
    else if (code === OP.add) { const { src, len } = seek(); yield { op: 'add', sourceOffsetBytes: src, bytes: take(s.add, addAt, len) }; addAt += len; }
    else if (code === OP.literal) { const len = ops.uint(); yield { op: 'literal', bytes: take(s.literal, litAt, len) }; litAt += len; }
    else if (code === OP.source) { cursor = 0; yield readSource(ops); }
    else if (code === OP.deflate) yield readDeflate(ops);
    else throw corrupt(`has unknown op code ${code}`);
  }
  if (addAt !== s.add.length || litAt !== s.literal.length) throw corrupt('leaves data stream bytes unused');
}

function readSource(ops: VarintReader): DeltaOp {
  const kind = ops.uint();
  if (kind > SOURCE_KIND.exec) throw corrupt(`has unknown source kind ${kind}`);
  const n = ops.uint();
  if (n > DELTA_MAX_SOURCE_EXTENTS) throw corrupt(`names a source of ${n} extents (at most ${DELTA_MAX_SOURCE_EXTENTS})`);
  const extents: Extent[] = [];
  for (let i = 0; i < n; i++) extents.push({ offsetBytes: ops.uint(), lengthBytes: ops.uint() });
  return kind === SOURCE_KIND.exec ? { op: 'source', kind, extents, exec: readExec(ops) } : { op: 'source', kind, extents };
}

function readExec(ops: VarintReader): ExecParams {
  const arch = ops.uint();
  if (arch !== EXEC_ARCH.arm64) throw corrupt(`names executable architecture ${arch}, which this agent does not have`);
  const count = (what: string, most: number): number => {
    const c = ops.uint();
    if (c > most) throw corrupt(`names ${c} ${what} (at most ${most})`);
    return c;
  };
  const sections: ExecSection[] = [];
  for (let i = count('executable sections', DELTA_MAX_EXEC_SECTIONS); i > 0; i--) {
    const s = { fileOffsetBytes: ops.uint(), lengthBytes: ops.uint(), address: ops.uint() };
    if (s.fileOffsetBytes % 4 !== 0 || s.lengthBytes % 4 !== 0) throw corrupt('names an executable section not aligned to 4 bytes');
    sections.push(s);
  }
  const starts: number[] = [];
  const shifts: number[] = [];
  for (let i = count('address map entries', DELTA_MAX_EXEC_MAP); i > 0; i--) {
    const gap = ops.uint();
    if (starts.length > 0 && gap === 0) throw corrupt('has an address map out of order');
    starts.push((starts[starts.length - 1] ?? 0) + gap);
    shifts.push(ops.int());
  }
  return { arch, sections, map: { starts, shifts } };
}

function readDeflate(ops: VarintReader): DeltaOp {
  const [engine = 0, level = 0, raw = 0, deflated = 0] = [0, 0, 0, 0].map(() => ops.uint());
  if (engine !== DEFLATE_ENGINE.gzip || level < GZIP_MIN_LEVEL || level > GZIP_MAX_LEVEL) throw corrupt(`names deflate engine ${engine} level ${level}, which this agent does not have`);
  if (raw > DELTA_MAX_SEGMENT_GZIP_BYTES) throw corrupt(`rebuilds a deflate stream of ${raw} bytes (at most ${DELTA_MAX_SEGMENT_GZIP_BYTES})`);
  return { op: 'deflate', params: { engine, level }, rawSizeBytes: raw, deflatedSizeBytes: deflated };
}

function corrupt(detail: string): OtaError {
  return new OtaError('DELTA_CORRUPT', `delta segment ${detail}: the delta is corrupt; download it again`);
}
