/**
 * Apply a delta from a file or from a stream of bytes: split it into header and
 * segments (holding at most one segment in memory) and feed a DeltaApplier.
 */
import { promises as fsp } from 'node:fs';
import { OtaError, withContext } from '../errors/index.js';
import {
  deltaContainerSizeBytes, DELTA_FIXED_HEADER_BYTES, deltaHeaderSizeBytes, parseDeltaHeader, peekSegmentCount,
  type DeltaHeader,
} from '../formats/index.js';
import { DeltaApplier } from './applier.js';
import { Arena } from './inflate.js';
import { openBaseFile, type BaseReader } from './source.js';
import { realSizeBytes, sameStorage } from '../files/index.js';

/** Read and verify the header of a delta file; refuses a file shorter or longer than its header says. */
export async function readDeltaFileHeader(path: string): Promise<DeltaHeader> {
  const fh = await fsp.open(path, 'r').catch((err: unknown) => { throw withContext(`delta (${path}): open`, err); });
  try {
    const prefix = Buffer.alloc(DELTA_FIXED_HEADER_BYTES);
    const { bytesRead } = await fh.read(prefix, 0, prefix.length, 0);
    const size = deltaHeaderSizeBytes(peekSegmentCount(prefix.subarray(0, bytesRead)));
    const bytes = Buffer.alloc(size);
    const { bytesRead: n } = await fh.read(bytes, 0, size, 0);
    const header = parseDeltaHeader(bytes.subarray(0, n));
    const { size: fileSize } = await fh.stat();
    const want = deltaContainerSizeBytes(header);
    if (fileSize < want) throw new OtaError('DELTA_TRUNCATED', `delta (${path}) has ${fileSize} bytes but its header lists ${want}: it is truncated; download it again`);
    if (fileSize > want) throw new OtaError('DELTA_CORRUPT', `delta (${path}) has ${fileSize} bytes but its header lists ${want}: it has trailing bytes; download it again`);
    return header;
  } finally {
    await fh.close();
  }
}

/** The segment payloads of a delta file, one at a time (each view is valid until the next is read). */
export async function* readDeltaFileSegments(path: string, header: DeltaHeader, from = 0): AsyncGenerator<Uint8Array> {
  const fh = await fsp.open(path, 'r');
  const arena = new Arena();
  try {
    let at = header.headerSizeBytes + header.segments.slice(0, from).reduce((sum, s) => sum + s.payloadSizeBytes, 0);
    for (const s of header.segments.slice(from)) {
      const payload = arena.take(s.payloadSizeBytes);
      const { bytesRead } = await fh.read(payload, 0, payload.length, at);
      if (bytesRead !== payload.length) throw new OtaError('DELTA_TRUNCATED', `delta (${path}) ends inside a segment: download it again`);
      at += payload.length;
      yield payload;
    }
  } finally {
    await fh.close();
  }
}

/** What to apply where. */
export interface ApplyFileOptions {
  readonly deltaPath: string;
  /** The old slot; unused for a full image. */
  readonly basePath?: string;
  readonly targetPath: string;
  readonly signal?: AbortSignal;
}

/** Apply a delta file end to end; resolves to the header once the slot is verified. */
export async function applyDeltaFile(options: ApplyFileOptions): Promise<DeltaHeader> {
  await refuseInputAsOutput(options);
  const header = await readDeltaFileHeader(options.deltaPath);
  const base = header.full || options.basePath === undefined ? undefined : await openBase(options.basePath);
  try {
    const applier = await DeltaApplier.open({
      header, targetPath: options.targetPath,
      ...(base === undefined ? {} : { base, baseName: options.basePath ?? '' }),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
    try {
      let index = 0;
      for await (const payload of readDeltaFileSegments(options.deltaPath, header)) await applier.applySegment(index++, payload);
      await applier.finish();
    } finally {
      await applier.close();
    }
  } finally {
    await base?.close();
  }
  return header;
}

/** Refuse an output that is one of the inputs (same device and inode, or the same block device) before anything is written. */
async function refuseInputAsOutput(options: ApplyFileOptions): Promise<void> {
  const inputs: [string, string | undefined][] = [['--base', options.basePath], ['--delta', options.deltaPath]];
  for (const [flag, path] of inputs) {
    if (path !== undefined && await sameStorage(path, options.targetPath, 'delta apply')) {
      throw new OtaError('DELTA_OUT_IS_INPUT', `delta apply: --out ${options.targetPath} is ${flag} ${path} (the same file or device): writing it would destroy the input; write the new image elsewhere`);
    }
  }
}

/** Split a byte stream holding a delta into its header and segment payloads. */
export async function* splitDeltaStream(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<DeltaHeader | Uint8Array> {
  let pending = Buffer.alloc(0);
  let header: DeltaHeader | undefined;
  let index = 0;
  for await (const chunk of chunks) {
    pending = Buffer.concat([pending, chunk]);
    for (;;) {
      if (header === undefined) {
        if (pending.length < 20) break;
        const size = deltaHeaderSizeBytes(peekSegmentCount(pending));
        if (pending.length < size) break;
        header = parseDeltaHeader(pending);
        pending = pending.subarray(size);
        yield header;
        continue;
      }
      const entry = header.segments[index];
      if (entry === undefined) {
        if (pending.length > 0) throw new OtaError('DELTA_CORRUPT', 'delta stream has bytes after its last segment: download it again');
        break;
      }
      if (pending.length < entry.payloadSizeBytes) break;
      yield pending.subarray(0, entry.payloadSizeBytes);
      pending = pending.subarray(entry.payloadSizeBytes);
      index++;
    }
  }
  if (header === undefined || index < header.segments.length) throw new OtaError('DELTA_TRUNCATED', 'delta stream ended early: it is truncated; download the rest');
}

async function openBase(path: string): Promise<BaseReader> {
  return openBaseFile(path, await realSizeBytes(path, 'base image'));
}
