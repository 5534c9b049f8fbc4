/**
 * A gzip member of the base read as its inflated text, in bounded memory: the
 * member is inflated as a stream into a window of its most recent
 * DELTA_GUNZIP_WINDOW_BYTES (plus a chunk's slack), and a read before the window
 * starts the inflation again from the top. The ops of a text diff read the old
 * text mostly forwards, so a large member (a kernel changelog, an initramfs) costs
 * the window, not its size; each inflation is charged to the segment's gzip work,
 * so a delta that reads backwards often is refused rather than run for minutes.
 */
import { Readable } from 'node:stream';
import * as zlib from 'node:zlib';
import { OtaError } from '../errors/index.js';
import { DELTA_GUNZIP_READ_BYTES, DELTA_GUNZIP_WINDOW_BYTES, DELTA_MAX_SEGMENT_GZIP_BYTES } from '../formats/index.js';
import type { Source } from './source.js';

const CHUNK_BYTES = 64 * 1024;
/** Bytes a GunzipSource's buffer needs: the window, the largest read and a chunk that overshoots it. */
export const GUNZIP_BUFFER_BYTES = DELTA_GUNZIP_WINDOW_BYTES + DELTA_GUNZIP_READ_BYTES + 2 * CHUNK_BYTES;

/** Counts the work of each inflation: `bytes` packed bytes read again (on a restart) or inflated. */
export type GunzipCharge = (bytes: number, what: string) => void;

/** The inflated text of a gzip member stored in `packed` (a source over the base's extents). */
export class GunzipSource implements Source {
  // The buffer holds inflated bytes [start, end).
  private start = 0;
  private end = 0;
  private chunks: AsyncIterator<Buffer> | undefined;
  private stream: zlib.Gunzip | undefined;
  private inflations = 0;

  /** `buffer` holds at least GUNZIP_BUFFER_BYTES (reused across sources); `charge` counts the work. */
  constructor(private readonly packed: Source, private readonly buffer: Uint8Array, private readonly charge: GunzipCharge) {
    if (buffer.length < GUNZIP_BUFFER_BYTES) throw new RangeError(`a gunzip source needs a ${GUNZIP_BUFFER_BYTES}-byte buffer`);
  }

  /**
   * An upper bound of the text's size: a multi-member file's trailer states only its last member's, so
   * the size is known only at the end of the inflation; a read past the real end is refused there.
   */
  get sizeBytes(): number { return DELTA_MAX_SEGMENT_GZIP_BYTES; }

  async read(into: Uint8Array, offsetBytes: number): Promise<void> {
    if (offsetBytes + into.length > this.sizeBytes) throw corrupt(`reads ${into.length} bytes at offset ${offsetBytes} of a gzip text, past the ${this.sizeBytes} bytes a source may inflate to`);
    if (into.length > DELTA_GUNZIP_READ_BYTES) throw new RangeError(`gunzip source reads of at most ${DELTA_GUNZIP_READ_BYTES} bytes`);
    if (this.chunks === undefined || offsetBytes < this.start) this.restart();
    while (this.end < offsetBytes + into.length) await this.more();
    into.set(this.buffer.subarray(offsetBytes - this.start, offsetBytes - this.start + into.length));
  }

  /** Stop inflating (the source is no longer used). */
  close(): void {
    this.stream?.destroy();
    this.stream = undefined;
    this.chunks = undefined;
  }

  private restart(): void {
    this.close();
    if (this.inflations++ > 0) this.charge(this.packed.sizeBytes, `gunzip source inflated again (${this.inflations} times)`);
    const gunzip = zlib.createGunzip({ chunkSize: CHUNK_BYTES });
    Readable.from(packedChunks(this.packed), { objectMode: false }).on('error', (err) => gunzip.destroy(err)).pipe(gunzip);
    this.stream = gunzip;
    this.chunks = gunzip[Symbol.asyncIterator]();
    this.start = this.end = 0;
  }

  private async more(): Promise<void> {
    const chunks = this.chunks;
    if (chunks === undefined) throw new Error('gunzip source: not inflating');
    let next: IteratorResult<Buffer>;
    try {
      next = await chunks.next();
    } catch (err) {
      if (err instanceof OtaError) throw err;
      throw corrupt('reads a gzip file of the base that does not decompress', err);
    }
    if (next.done === true) throw corrupt(`reads past the end of a gzip text of ${this.end} bytes`);
    const chunk = next.value;
    this.charge(chunk.length, `gunzip source inflating to ${this.end + chunk.length} bytes`);
    const held = this.end - this.start;
    if (held + chunk.length > this.buffer.length) {
      const drop = held + chunk.length - this.buffer.length;
      this.buffer.copyWithin(0, drop, held);
      this.start += drop;
    }
    this.buffer.set(chunk, this.end - this.start);
    this.end += chunk.length;
  }
}

async function* packedChunks(packed: Source): AsyncGenerator<Uint8Array> {
  for (let at = 0; at < packed.sizeBytes; at += CHUNK_BYTES) {
    // A fresh buffer per chunk: the stream keeps it until zlib has read it.
    const chunk = new Uint8Array(Math.min(CHUNK_BYTES, packed.sizeBytes - at));
    await packed.read(chunk, at);
    yield chunk;
  }
}

function corrupt(detail: string, cause?: unknown): OtaError {
  return new OtaError('DELTA_CORRUPT', `delta op ${detail}: the delta does not fit this base; make it again`, cause === undefined ? {} : { cause });
}
