/**
 * Decompression into buffers the applier owns: node:zlib's one-shot functions
 * return a fresh buffer per call, and on a device those pile up as external
 * memory until V8 gets round to a full GC (tens of MiB for a delta with
 * hundreds of gzip rebuilds). Streaming in 64 KiB chunks into reused buffers
 * keeps peak memory flat.
 */
import * as zlib from 'node:zlib';
import { OtaError } from '../errors/index.js';

const CHUNK_BYTES = 64 * 1024;

/** A buffer that grows to the largest size asked of it and is then reused. */
export class Arena {
  private bytes = new Uint8Array(0);

  /** A view of `sizeBytes` bytes (contents undefined; valid until the next `take`). */
  take(sizeBytes: number): Uint8Array {
    if (this.bytes.length < sizeBytes) this.bytes = new Uint8Array(sizeBytes);
    return this.bytes.subarray(0, sizeBytes);
  }

  /** Grow to at least `sizeBytes`, keeping the first `keepBytes`; returns the whole buffer. */
  grow(sizeBytes: number, keepBytes: number): Uint8Array {
    if (this.bytes.length < sizeBytes) {
      const bigger = new Uint8Array(sizeBytes);
      bigger.set(this.bytes.subarray(0, keepBytes));
      this.bytes = bigger;
    }
    return this.bytes;
  }
}

/**
 * Inflate `input` (brotli or gzip) into `arena`, refusing more than `maxBytes`;
 * resolves to a view of the output. `expectedBytes` sizes the arena up front
 * (it grows if the output is larger). `oversize` makes the error for output past `maxBytes`.
 */
export async function inflateInto(kind: 'brotli' | 'gzip', input: Uint8Array, arena: Arena, maxBytes: number, what: string, expectedBytes = maxBytes,
  oversize: () => OtaError = () => new OtaError('DELTA_CORRUPT', `${what} inflates to more than ${maxBytes} bytes: the delta is corrupt; download it again`)): Promise<Uint8Array> {
  const stream = kind === 'brotli' ? zlib.createBrotliDecompress({ chunkSize: CHUNK_BYTES }) : zlib.createGunzip({ chunkSize: CHUNK_BYTES });
  let out = arena.take(Math.min(maxBytes, expectedBytes));
  let size = 0;
  const done = new Promise<void>((resolve, reject) => {
    stream.on('data', (chunk: Buffer) => {
      if (size + chunk.length > maxBytes) {
        stream.destroy(oversize());
        return;
      }
      if (size + chunk.length > out.length) out = arena.grow(Math.min(maxBytes, Math.max(out.length * 2, size + chunk.length)), size);
      out.set(chunk, size);
      size += chunk.length;
    });
    stream.on('end', resolve);
    stream.on('error', reject);
  });
  stream.end(input);
  try {
    await done;
  } catch (err) {
    if (err instanceof OtaError) throw err;
    throw new OtaError('DELTA_CORRUPT', `${what} does not decompress: the delta is corrupt or does not fit this base; download it again`, { cause: err });
  }
  return out.subarray(0, size);
}
