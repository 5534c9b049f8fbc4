/**
 * The streaming delta decoder. `DeltaApplier.open` refuses a wrong base before
 * writing anything (size, then sha256 of the whole base, or the sha256 the caller
 * read it as when it chose the delta); `applySegment` takes the
 * segments in order, verifies each one's sha256 before a byte of it reaches the
 * slot, writes it, and fsyncs; `finish` checks the running hash, then re-reads the
 * written slot and compares it with the target sha256.
 *
 * Resumption after a power cut: the caller persists `state` (returned by each
 * `applySegment`, valid once it returns: the segment is fsynced) and passes it
 * back to `open`. node:crypto hashes cannot be serialised, so on resume the
 * applier re-hashes the target prefix [0, outputOffsetBytes) before continuing
 * (the re-hash rule; it costs one read of what was already written).
 */
import { constants as fsConstants, promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { OtaError, withContext } from '../errors/index.js';
import {
  DELTA_GUNZIP_READ_BYTES, equalBytes, hex, readSegmentOps, SegmentGzipWork, sha256, SOURCE_KIND, splitSegmentPayload,
  type DeltaHeader, type DeltaOp, type SegmentStreams,
} from '../formats/index.js';
import { ExecSource } from './exec.js';
import { Arena, inflateInto } from './inflate.js';
import { GUNZIP_BUFFER_BYTES, GunzipSource } from './gunzip.js';
import { ExtentSource, ImageSource, type BaseReader, type Source } from './source.js';
import { newTargetHash, TargetWriter } from './sink.js';
import { hashReader, hashTargetPrefix } from './verify.js';

/** Where an apply stands: segments before `nextSegment` are written and durable. */
export interface ApplyState {
  readonly nextSegment: number;
  readonly outputOffsetBytes: number;
}

/** What `DeltaApplier.open` needs. */
export interface ApplierOptions {
  readonly header: DeltaHeader;
  /** The base image (the old slot); not read for a full image. */
  readonly base?: BaseReader;
  /** Name of the base for messages (a path). */
  readonly baseName?: string;
  /**
   * The base's sha256 as the caller read it just before (to choose this delta): compared with the
   * header's instead of reading the whole base a second time. A base that changes after that read
   * still cannot pass: `finish` checks the written slot against the target sha256.
   */
  readonly baseSha256?: Uint8Array;
  /** The target slot: a file or block device path. */
  readonly targetPath: string;
  /** Continue an interrupted apply from this state. */
  readonly resume?: ApplyState;
  readonly signal?: AbortSignal;
}

/** The one scratch buffer of an apply (copies, base hash, read-back); allocated once so memory stays flat. */
const CHUNK_BYTES = DELTA_GUNZIP_READ_BYTES;

/** Applies one delta, segment by segment, to a target slot. */
export class DeltaApplier {
  private next: number;
  /** Reused buffers: the three decoded streams, and a gzip source's window. */
  private readonly arenas = { ops: new Arena(), add: new Arena(), literal: new Arena(), gunzip: new Arena() };

  private constructor(
    private readonly scratch: Buffer,
    private readonly options: ApplierOptions,
    private readonly image: Source | undefined,
    private readonly fh: FileHandle,
    private readonly writer: TargetWriter,
    nextSegment: number,
  ) {
    this.next = nextSegment;
  }

  /** Verify the base, open the target (re-hashing its prefix on resume). */
  static async open(options: ApplierOptions): Promise<DeltaApplier> {
    const { header, resume } = options;
    const scratch = Buffer.alloc(CHUNK_BYTES);
    const image = header.full ? undefined : await verifyBase(options, scratch);
    const nextSegment = resume?.nextSegment ?? 0;
    const offset = outputOffsetBefore(header, nextSegment);
    if (resume !== undefined && resume.outputOffsetBytes !== offset) {
      throw new OtaError('DELTA_RESUME', `resume point says offset ${resume.outputOffsetBytes} but segment ${nextSegment} starts at ${offset}: start the apply again`);
    }
    // Never truncate: a slot is a fixed-size file or a block device; only a missing file is created.
    const fh = await fsp.open(options.targetPath, fsConstants.O_RDWR | fsConstants.O_CREAT)
      .catch((err: unknown) => { throw withContext(`target slot (${options.targetPath}): open`, err, 'DELTA_TARGET_WRITE'); });
    const hash = newTargetHash();
    let sparse = false;
    try {
      if (offset > 0) await hashTargetPrefix(fh, options.targetPath, offset, hash, scratch, options.signal);
      // Holes read as zeros only in a file that was empty: an existing slot gets its zeros written.
      const stat = await fh.stat();
      sparse = resume === undefined && stat.isFile() && stat.size === 0;
    } catch (err) {
      await fh.close();
      throw err;
    }
    return new DeltaApplier(scratch, options, image, fh, new TargetWriter(fh, options.targetPath, hash, offset, sparse), nextSegment);
  }

  /** The resume point: persist it after each `applySegment`. */
  get state(): ApplyState { return { nextSegment: this.next, outputOffsetBytes: this.writer.offsetBytes }; }

  /** Verify segment `index` against the header, write it, fsync. */
  async applySegment(index: number, payload: Uint8Array): Promise<ApplyState> {
    const { header, signal } = this.options;
    signal?.throwIfAborted();
    const entry = header.segments[index];
    if (entry === undefined || index !== this.next) {
      throw new OtaError('DELTA_SEGMENT_ORDER', `delta segment ${index} given but segment ${this.next} of ${header.segments.length} is next`);
    }
    if (payload.length !== entry.payloadSizeBytes || !equalBytes(sha256(payload), entry.sha256)) {
      throw new OtaError('DELTA_SEGMENT_HASH', `delta segment ${index} does not match its sha256 in the header: it was damaged in transit; download it again`, { transient: true });
    }
    this.writer.limitBytes = this.writer.offsetBytes + entry.outputSizeBytes;
    await this.run(await this.decode(index, payload));
    if (this.writer.inDeflate || this.writer.offsetBytes !== this.writer.limitBytes) {
      throw new OtaError('DELTA_CORRUPT', `delta segment ${index} wrote ${this.writer.offsetBytes - (this.writer.limitBytes - entry.outputSizeBytes)} of its ${entry.outputSizeBytes} bytes: the delta is corrupt; make it again`);
    }
    await this.writer.sync();
    this.next = index + 1;
    return this.state;
  }

  /** After the last segment: compare the running hash, re-read the slot and compare again. */
  async finish(): Promise<void> {
    const { header, targetPath, signal } = this.options;
    if (this.next !== header.segments.length) {
      throw new OtaError('DELTA_TRUNCATED', `delta apply stopped after ${this.next} of ${header.segments.length} segments: the delta is truncated; download the rest`);
    }
    const digest = this.writer.hash.digest();
    if (!equalBytes(digest, header.targetSha256)) throw mismatch(targetPath, digest, header.targetSha256, 'as written');
    const stat = await this.fh.stat();
    // Extend a file that ends in a hole; never shrink one (a slot larger than the image keeps its size).
    if (stat.isFile() && stat.size < header.targetSizeBytes) await this.fh.truncate(header.targetSizeBytes);
    await this.fh.sync();
    const reread = newTargetHash();
    await hashTargetPrefix(this.fh, targetPath, header.targetSizeBytes, reread, this.scratch, signal);
    const again = reread.digest();
    if (!equalBytes(again, header.targetSha256)) throw mismatch(targetPath, again, header.targetSha256, 'read back');
  }

  /** Close the target (after `finish`, or to abandon the apply; the state stays valid). */
  async close(): Promise<void> {
    await this.fh.close();
  }

  private async decode(index: number, payload: Uint8Array): Promise<SegmentStreams> {
    const [ops, add, literal] = splitSegmentPayload(payload);
    const one = async (p: typeof ops, arena: Arena): Promise<Uint8Array> => {
      if (p === undefined || p.rawSizeBytes === 0) return new Uint8Array(0);
      const raw = await inflateInto('brotli', p.packed, arena, p.rawSizeBytes, `delta segment ${index}`);
      if (raw.length !== p.rawSizeBytes) throw new OtaError('DELTA_CORRUPT', `delta segment ${index} stream decodes to ${raw.length} bytes, not ${p.rawSizeBytes}: the delta is corrupt; make it again`);
      return raw;
    };
    return { ops: await one(ops, this.arenas.ops), add: await one(add, this.arenas.add), literal: await one(literal, this.arenas.literal) };
  }

  private async run(streams: SegmentStreams): Promise<void> {
    let source = this.image;
    const work = new SegmentGzipWork();
    try {
      for (const op of readSegmentOps(streams)) {
        if (op.op === 'source') {
          if (source instanceof GunzipSource) source.close();
          source = await this.chooseSource(op, work);
        } else {
          if (op.op === 'deflate') work.charge(1, op.rawSizeBytes, `deflate rebuild of ${op.rawSizeBytes} bytes`);
          await this.execute(op, source);
        }
      }
    } finally {
      if (source instanceof GunzipSource) source.close();
    }
  }

  private async chooseSource(op: Extract<DeltaOp, { op: 'source' }>, work: SegmentGzipWork): Promise<Source> {
    const image = this.requireImage();
    if (op.kind === SOURCE_KIND.image) return image;
    if (op.kind === SOURCE_KIND.extents) return new ExtentSource(image, op.extents);
    if (op.exec !== undefined) return new ExecSource(new ExtentSource(image, op.extents), op.exec);
    const packed = new ExtentSource(image, op.extents);
    work.charge(1, packed.sizeBytes, `gunzip source of ${packed.sizeBytes} bytes`);
    // Each inflated chunk, and each inflation after the first, counts against the segment's bound as it happens.
    return new GunzipSource(packed, this.arenas.gunzip.take(GUNZIP_BUFFER_BYTES), (bytes, what) => work.charge(0, bytes, what));
  }

  private async execute(op: Exclude<DeltaOp, { op: 'source' }>, source: Source | undefined): Promise<void> {
    const w = this.writer;
    switch (op.op) {
      case 'zero': return w.zeros(op.lengthBytes);
      case 'literal': return w.write(op.bytes);
      case 'deflate': return w.beginDeflate(op.params, op.rawSizeBytes, op.deflatedSizeBytes);
      case 'copy': return this.copy(this.requireSource(source), op.sourceOffsetBytes, op.lengthBytes, undefined);
      case 'add': return this.copy(this.requireSource(source), op.sourceOffsetBytes, op.bytes.length, op.bytes);
    }
  }

  /** Copy (or add to) source bytes in chunks; a write past the limit is refused before the read. */
  private async copy(source: Source, offsetBytes: number, lengthBytes: number, add: Uint8Array | undefined): Promise<void> {
    for (let done = 0; done < lengthBytes;) {
      const n = Math.min(CHUNK_BYTES, lengthBytes - done);
      this.writer.ensureRoom(n);
      const chunk = this.scratch.subarray(0, n);
      await source.read(chunk, offsetBytes + done);
      if (add !== undefined) for (let i = 0; i < n; i++) chunk[i] = (chunk[i] ?? 0) + (add[done + i] ?? 0);
      await this.writer.write(chunk);
      done += n;
    }
  }

  private requireImage(): Source {
    if (this.image === undefined) throw new OtaError('DELTA_CORRUPT', 'a full-image delta reads from a base: the delta is corrupt; make it again');
    return this.image;
  }

  private requireSource(source: Source | undefined): Source {
    return source ?? this.requireImage();
  }
}

/** Target offset where segment `index` starts. */
export function outputOffsetBefore(header: DeltaHeader, index: number): number {
  if (index < 0 || index > header.segments.length) throw new OtaError('DELTA_RESUME', `resume point names segment ${index} of ${header.segments.length}: start the apply again`);
  return header.segments.slice(0, index).reduce((sum, s) => sum + s.outputSizeBytes, 0);
}

async function verifyBase(options: ApplierOptions, scratch: Buffer): Promise<Source> {
  const { header, base } = options;
  const name = options.baseName ?? 'base';
  if (base === undefined) throw new OtaError('DELTA_NO_BASE', 'this delta needs a base image (the old slot) and none was given');
  if (base.sizeBytes !== header.baseSizeBytes) {
    throw new OtaError('DELTA_WRONG_BASE', `base image (${name}) has ${base.sizeBytes} bytes but the delta was made from ${header.baseSizeBytes}: use the delta made for this base, or a full image`);
  }
  const digest = options.baseSha256 ?? await hashReader(base, name, scratch, options.signal);
  if (!equalBytes(digest, header.baseSha256)) {
    throw new OtaError('DELTA_WRONG_BASE', `base image (${name}) sha256 ${hex(digest)} is not ${hex(header.baseSha256)}, the one the delta was made from: use the delta made for this base, or a full image`);
  }
  return new ImageSource(base, name);
}

function mismatch(path: string, got: Uint8Array, want: Uint8Array, how: string): OtaError {
  return new OtaError('DELTA_TARGET_MISMATCH', `target slot (${path}) ${how} has sha256 ${hex(got)}, not ${hex(want)}: do not boot it; apply the update again`);
}
